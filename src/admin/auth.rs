//! Admin credentials (`governance.auth_config`) and the sessions they open.
//!
//! The password is stored as an argon2id hash; a password given as `env.NAME` is stored as the
//! reference and read from the environment at start. `/api/*` accepts HTTP Basic credentials or a
//! session token (`Authorization: Bearer`, or the `token` cookie Bifrost's dashboard uses).
//! Sessions live in memory only: a restart logs everyone out. Everything here runs on the admin
//! thread, never on a worker (an argon2 verification takes tens of milliseconds).
//!
//! As in Bifrost, enabled credentials protect the inference routes too unless
//! `disable_auth_on_inference` is set. The workers learn whether they must check through one
//! shared word ([`InferenceGate`]): 0 when inference is open, otherwise an epoch that changes
//! whenever a credential they may have cached stops being valid (new credentials, a logout).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use base64::Engine as _;
use serde_json::{Value, json};

use super::response::AdminError;
use crate::config::{EnvVar, JsonPath};

/// How long a login session lasts (Bifrost: 30 days).
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Sessions kept at most; the oldest are dropped beyond it.
const MAX_SESSIONS: usize = 10_000;
/// Basic credentials remembered as verified, at most.
const MAX_VERIFIED: usize = 1_000;

/// How the admin password is known.
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    /// No password configured.
    None,
    /// An argon2 PHC string.
    Hash(String),
    /// From environment variable `name`; `value` was read at start.
    Env {
        /// Variable name.
        name: String,
        /// Its value.
        value: String,
    },
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Hash(_) => f.write_str("Hash(<argon2>)"),
            Self::Env { name, .. } => write!(f, "Env({name})"),
        }
    }
}

impl Password {
    /// Whether a password is configured.
    pub fn is_set(&self) -> bool {
        match self {
            Self::None => false,
            Self::Hash(_) => true,
            Self::Env { value, .. } => !value.is_empty(),
        }
    }

    /// Checks `candidate` (constant time for the environment form; argon2 otherwise).
    pub fn verify(&self, candidate: &str) -> bool {
        match self {
            Self::None => false,
            Self::Hash(phc) => Argon2::default()
                .verify_password(candidate.as_bytes(), phc.as_str())
                .is_ok(),
            Self::Env { value, .. } => {
                !value.is_empty() && ct_eq(value.as_bytes(), candidate.as_bytes())
            }
        }
    }

    fn to_stored(&self) -> Value {
        match self {
            Self::None => Value::Null,
            Self::Hash(phc) => json!({ "argon2": phc }),
            Self::Env { name, .. } => json!({ "env": name }),
        }
    }
}

/// The admin credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthConfig {
    /// Whether `/api/*` requires credentials.
    pub is_enabled: bool,
    /// Admin user name (may be `env.NAME`; resolved).
    pub username: EnvVar,
    /// Admin password.
    pub password: Password,
    /// Inference routes stay open even when `/api/*` is protected.
    pub disable_auth_on_inference: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            is_enabled: false,
            username: EnvVar::default(),
            password: Password::None,
            disable_auth_on_inference: false,
        }
    }
}

/// An `auth_config` block as `config.json` or `PUT /api/config` give it (password in clear).
#[derive(Debug, Clone, Default)]
pub struct AuthInput {
    /// `is_enabled`.
    pub is_enabled: bool,
    /// `admin_username`, unresolved.
    pub username: EnvVar,
    /// `admin_password`, unresolved (`None` when absent or empty).
    pub password: Option<EnvVar>,
    /// `disable_auth_on_inference`.
    pub disable_auth_on_inference: bool,
}

impl AuthInput {
    /// Reads `{admin_username, admin_password, is_enabled, disable_auth_on_inference}`; `path`
    /// names the block in error messages.
    pub fn decode(v: &Value, path: &JsonPath) -> Result<Self, AdminError> {
        let Value::Object(m) = v else {
            return Err(AdminError::BadRequest(format!(
                "{path}: expected an object"
            )));
        };
        let flag = |name: &str| match m.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(AdminError::BadRequest(format!(
                "{}: expected a boolean",
                path.key(name)
            ))),
        };
        let env = |name: &str| -> Result<Option<EnvVar>, AdminError> {
            match m.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => EnvVar::decode(v.clone(), &path.key(name))
                    .map(|e| (!e.is_unset()).then_some(e))
                    .map_err(AdminError::Config),
            }
        };
        Ok(Self {
            is_enabled: flag("is_enabled")?,
            username: env("admin_username")?.unwrap_or_default(),
            password: env("admin_password")?,
            disable_auth_on_inference: flag("disable_auth_on_inference")?,
        })
    }

    /// The canonical form without the password, for change detection of the file's block.
    pub fn without_password(&self) -> Value {
        json!({
            "is_enabled": self.is_enabled,
            "admin_username": self.username.config_text(),
            "disable_auth_on_inference": self.disable_auth_on_inference,
        })
    }
}

/// Hashes a password with argon2id (default parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, AdminError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AdminError::Internal(format!("failed to hash password: {e}")))
}

impl AuthConfig {
    /// Builds the credentials from an input block: a literal password is hashed, a reference is
    /// resolved through `env`.
    pub fn from_input(
        input: &AuthInput,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, AdminError> {
        let mut username = input.username.clone();
        username.resolve(env);
        let password = match &input.password {
            None => Password::None,
            Some(p) => match p.env_name() {
                Some(name) => Password::Env {
                    name: name.to_string(),
                    value: env(name).unwrap_or_default(),
                },
                None => Password::Hash(hash_password(p.value())?),
            },
        };
        Ok(Self {
            is_enabled: input.is_enabled,
            username,
            password,
            disable_auth_on_inference: input.disable_auth_on_inference,
        })
    }

    /// Whether `/api/*` is protected: enabled, with a user name and a password.
    pub fn is_active(&self) -> bool {
        self.is_enabled && !self.username.value().is_empty() && self.password.is_set()
    }

    /// Whether inference routes need the same credentials (Bifrost's default once auth is on).
    pub fn protects_inference(&self) -> bool {
        self.is_active() && !self.disable_auth_on_inference
    }

    /// The store's form: user name as written, password hashed or as a reference.
    pub fn to_stored(&self) -> Value {
        json!({
            "is_enabled": self.is_enabled,
            "admin_username": self.username.config_text(),
            "admin_password": self.password.to_stored(),
            "disable_auth_on_inference": self.disable_auth_on_inference,
        })
    }

    /// Reads the store's form, resolving references through `env`.
    pub fn from_stored(v: &Value, env: &dyn Fn(&str) -> Option<String>) -> Self {
        let flag = |n: &str| v.get(n).and_then(Value::as_bool).unwrap_or(false);
        let mut username = v
            .get("admin_username")
            .and_then(|u| EnvVar::decode(u.clone(), &JsonPath::root()).ok())
            .unwrap_or_default();
        username.resolve(env);
        let p = v.get("admin_password");
        let password = if let Some(h) = p.and_then(|p| p.get("argon2")).and_then(Value::as_str) {
            Password::Hash(h.to_string())
        } else if let Some(n) = p.and_then(|p| p.get("env")).and_then(Value::as_str) {
            Password::Env {
                name: n.to_string(),
                value: env(n).unwrap_or_default(),
            }
        } else {
            Password::None
        };
        Self {
            is_enabled: flag("is_enabled"),
            username,
            password,
            disable_auth_on_inference: flag("disable_auth_on_inference"),
        }
    }

    /// `GET /api/config`'s `auth_config`: the password is never shown.
    pub fn to_response(&self) -> Value {
        json!({
            "admin_username": self.username.config_text(),
            "admin_password": if self.password.is_set() { "<redacted>" } else { "" },
            "is_enabled": self.is_enabled,
            "disable_auth_on_inference": self.disable_auth_on_inference,
        })
    }
}

/// The credentials a request carried.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `token` cookie.
    pub cookie_token: Option<String>,
}

impl Credentials {
    /// A session token: `Bearer` header first, then the cookie.
    pub fn token(&self) -> Option<&str> {
        self.authorization
            .as_deref()
            .and_then(|a| strip_scheme(a, "bearer"))
            .or(self.cookie_token.as_deref())
            .filter(|t| !t.is_empty())
    }

    /// `user:password` from `Basic`, or from a `Bearer` token holding the same base64 text
    /// (Bifrost accepts that form so SDKs, which only send Bearer keys, can authenticate).
    fn basic(&self) -> Option<(String, String)> {
        let header = self.authorization.as_deref()?;
        let b64 = strip_scheme(header, "basic").or_else(|| strip_scheme(header, "bearer"))?;
        let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (u, p) = text.split_once(':')?;
        Some((u.to_string(), p.to_string()))
    }
}

fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = header.trim().split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// What the workers read to know whether inference requests need credentials: 0 when they do
/// not, otherwise the epoch their cached verdicts must carry.
#[derive(Debug, Clone, Default)]
pub struct InferenceGate(Arc<AtomicU64>);

impl InferenceGate {
    /// The current word (one relaxed load).
    pub fn load(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Credentials, sessions, and Basic credentials already verified.
pub struct AuthState {
    config: AuthConfig,
    sessions: HashMap<String, Instant>,
    /// Keyed hashes of Basic headers that verified, so argon2 runs once per credential.
    verified: HashSet<[u8; 32]>,
    cache_key: [u8; 32],
    gate: InferenceGate,
    epoch: u64,
}

impl AuthState {
    /// Starts with `config` and no sessions.
    pub fn new(config: AuthConfig) -> Result<Self, AdminError> {
        let mut cache_key = [0u8; 32];
        for half in cache_key.chunks_mut(16) {
            let r = crate::store::random_16().map_err(|e| AdminError::Internal(e.to_string()))?;
            half.copy_from_slice(&r);
        }
        let mut state = Self {
            config,
            sessions: HashMap::new(),
            verified: HashSet::new(),
            cache_key,
            gate: InferenceGate::default(),
            epoch: 0,
        };
        state.publish_gate();
        Ok(state)
    }

    /// The word the workers read before serving inference.
    pub fn gate(&self) -> InferenceGate {
        self.gate.clone()
    }

    /// Moves the gate to a new epoch, so every verdict a worker cached is checked again.
    fn publish_gate(&mut self) {
        self.epoch += 1;
        let word = if self.config.protects_inference() {
            self.epoch
        } else {
            0
        };
        self.gate.0.store(word, Ordering::Relaxed);
    }

    /// The credentials.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Replaces the credentials; a new password (or user) ends every session.
    pub fn set_config(&mut self, config: AuthConfig) {
        if config.password != self.config.password
            || config.username != self.config.username
            || !config.is_active()
        {
            self.sessions.clear();
        }
        self.verified.clear();
        self.config = config;
        self.publish_gate();
    }

    /// Lets the request through, or says why not.
    pub fn check(&mut self, creds: &Credentials) -> Result<(), AdminError> {
        if !self.config.is_active() {
            return Ok(());
        }
        if let Some(t) = creds.token()
            && self.session_valid(t)
        {
            return Ok(());
        }
        if creds.basic().is_some() {
            let key = self.cache_key_of(creds.authorization.as_deref().unwrap_or_default());
            if key.is_some_and(|k| self.verified.contains(&k)) {
                return Ok(());
            }
            if let Some((user, pass)) = creds.basic()
                && self.credentials_valid(&user, &pass)
            {
                if let Some(k) = key {
                    if self.verified.len() >= MAX_VERIFIED {
                        self.verified.clear();
                    }
                    self.verified.insert(k);
                }
                return Ok(());
            }
        }
        Err(AdminError::Unauthorized)
    }

    /// Whether `user`/`pass` are the admin credentials.
    pub fn credentials_valid(&self, user: &str, pass: &str) -> bool {
        // Both are always checked, so a wrong user name costs the same time as a wrong password.
        let user_ok = ct_eq(self.config.username.value().as_bytes(), user.as_bytes());
        let pass_ok = self.config.password.verify(pass);
        user_ok && pass_ok && !self.config.username.value().is_empty()
    }

    /// Opens a session; returns its token.
    pub fn open_session(&mut self) -> Result<String, AdminError> {
        let now = Instant::now();
        self.sessions.retain(|_, exp| *exp > now);
        if self.sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = self
                .sessions
                .iter()
                .min_by_key(|(_, e)| **e)
                .map(|(t, _)| t.clone())
        {
            self.sessions.remove(&oldest);
        }
        let mut token = String::with_capacity(64);
        for _ in 0..2 {
            let r = crate::store::random_16().map_err(|e| AdminError::Internal(e.to_string()))?;
            for b in r {
                token.push_str(&format!("{b:02x}"));
            }
        }
        self.sessions.insert(token.clone(), now + SESSION_TTL);
        Ok(token)
    }

    /// Ends a session (unknown tokens are ignored).
    pub fn close_session(&mut self, token: &str) {
        if self.sessions.remove(token).is_some() {
            self.publish_gate();
        }
    }

    /// Whether `token` is a live session.
    pub fn session_valid(&self, token: &str) -> bool {
        self.sessions
            .get(token)
            .is_some_and(|exp| *exp > Instant::now())
    }

    /// A keyed hash of a Basic header: a cheap argon2 instance keyed with a per-process secret,
    /// so the cache never holds the credentials themselves.
    fn cache_key_of(&self, header: &str) -> Option<[u8; 32]> {
        let params = Params::new(Params::MIN_M_COST, 1, 1, Some(32)).ok()?;
        let a =
            Argon2::new_with_secret(&self.cache_key, Algorithm::Argon2id, Version::V0x13, params)
                .ok()?;
        let mut out = [0u8; 32];
        a.hash_password_into(header.as_bytes(), b"ringway-basic-cache", &mut out)
            .ok()?;
        Some(out)
    }
}

/// Equality without an early exit (lengths may differ: that alone is not secret).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "ADMIN_PW").then(|| "from-env-pw".to_string())
    }

    fn basic(user: &str, pass: &str) -> Credentials {
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        Credentials {
            authorization: Some(format!("Basic {b}")),
            cookie_token: None,
        }
    }

    #[test]
    fn env_password_basic_and_sessions() {
        let input = AuthInput::decode(
            &json!({"is_enabled": true, "admin_username": "admin", "admin_password": "env.ADMIN_PW"}),
            &JsonPath::root(),
        )
        .expect("decode");
        let cfg = AuthConfig::from_input(&input, &env).expect("config");
        assert!(cfg.is_active());
        assert_eq!(
            cfg.to_stored()["admin_password"],
            json!({"env": "ADMIN_PW"})
        );
        let mut st = AuthState::new(cfg).expect("state");
        assert!(st.check(&Credentials::default()).is_err());
        assert!(st.check(&basic("admin", "wrong")).is_err());
        assert!(st.check(&basic("root", "from-env-pw")).is_err());
        assert!(st.check(&basic("admin", "from-env-pw")).is_ok());
        assert!(st.check(&basic("admin", "from-env-pw")).is_ok(), "cached");
        let t = st.open_session().expect("token");
        assert_eq!(t.len(), 64);
        let bearer = Credentials {
            authorization: Some(format!("Bearer {t}")),
            cookie_token: None,
        };
        assert!(st.check(&bearer).is_ok());
        st.close_session(&t);
        assert!(st.check(&bearer).is_err());
    }

    #[test]
    fn literal_password_is_stored_hashed() {
        let input = AuthInput::decode(
            &json!({"is_enabled": true, "admin_username": "admin", "admin_password": "s3cret"}),
            &JsonPath::root(),
        )
        .expect("decode");
        let cfg = AuthConfig::from_input(&input, &env).expect("config");
        let stored = cfg.to_stored();
        let phc = stored["admin_password"]["argon2"].as_str().expect("hash");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!stored.to_string().contains("s3cret"));
        let back = AuthConfig::from_stored(&stored, &env);
        assert!(back.password.verify("s3cret"));
        assert!(!back.password.verify("s3cret!"));
        assert_eq!(back.to_response()["admin_password"], "<redacted>");
        assert!(!format!("{:?}", back.password).contains("argon2id$"));
    }

    #[test]
    fn inference_gate_follows_config_and_logouts() {
        let input = AuthInput::decode(
            &json!({"is_enabled": true, "admin_username": "admin", "admin_password": "env.ADMIN_PW"}),
            &JsonPath::root(),
        )
        .expect("decode");
        let cfg = AuthConfig::from_input(&input, &env).expect("config");
        let mut st = AuthState::new(cfg.clone()).expect("state");
        let gate = st.gate();
        let first = gate.load();
        assert_ne!(first, 0, "enabled credentials protect inference by default");
        // Bearer carrying base64(user:pass), as SDKs send it.
        let sdk = Credentials {
            authorization: basic("admin", "from-env-pw")
                .authorization
                .map(|a| a.replacen("Basic", "Bearer", 1)),
            cookie_token: None,
        };
        assert!(st.check(&sdk).is_ok());
        let t = st.open_session().expect("token");
        assert_eq!(gate.load(), first, "a login revokes nothing");
        st.close_session(&t);
        let second = gate.load();
        assert!(second != first && second != 0, "a logout moves the epoch");
        st.close_session("not-a-session");
        assert_eq!(gate.load(), second);
        st.set_config(AuthConfig {
            disable_auth_on_inference: true,
            ..cfg
        });
        assert_eq!(gate.load(), 0, "disable_auth_on_inference opens inference");
        st.set_config(AuthConfig::default());
        assert_eq!(gate.load(), 0);
    }

    #[test]
    fn disabled_auth_lets_everything_through() {
        let mut st = AuthState::new(AuthConfig::default()).expect("state");
        assert!(st.check(&Credentials::default()).is_ok());
    }
}
