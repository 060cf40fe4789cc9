//! Start-up: read `config.json`, open and seed the store (or not), build the first route table
//! from the store's config, and start the admin thread.
//!
//! `config_store` decides the mode, as in Bifrost: absent or `enabled: true` is the DB-backed
//! mode (our LMDB store in `<app-dir>`; a `type` of `sqlite` or `postgres` is mapped onto it),
//! `enabled: false` keeps admin writes in memory only.
//!
//! `logs_store` and `client.enable_logging` decide request logging the same way: on when logging
//! is enabled and `logs_store` is absent or enabled; the rows go to ringway's own LMDB
//! environment in `<app-dir>` whatever `type` names.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::AdminHandle;
use super::auth::{AuthConfig, AuthInput, AuthState, Password};
use super::response::AdminError;
use super::state::{AdminCore, build_table};
use crate::config::snapshot::Publisher;
use crate::config::{ConfigError, JsonPath};
use crate::store::hash::SectionHasher;
use crate::store::sections::{self, AUTH};
use crate::store::{SectionWrite, Store, StoreContents, StoreError, seed};

use super::plugins;

/// Where things are.
#[derive(Debug, Clone)]
pub struct BootOptions {
    /// `config.json` (a missing file is allowed: the store alone is used).
    pub config_path: PathBuf,
    /// The app dir (the store lives in `<app-dir>/ringway.lmdb/`).
    pub app_dir: PathBuf,
    /// Worker threads the tables are compiled for.
    pub workers: usize,
}

/// A started admin thread and what the operator should read.
pub struct Booted {
    /// The admin thread (and the config publisher the workers read).
    pub admin: Arc<AdminHandle>,
    /// Config warnings (each starts with its JSON path).
    pub warnings: Vec<String>,
    /// What start-up did with the store.
    pub notes: Vec<String>,
}

/// Why start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// `config.json` is unreadable or invalid.
    #[error("{path}: {source}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: ConfigError,
    },
    /// The store could not be opened, read or seeded.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The stored config (after seeding) does not load.
    #[error("config store: {0}")]
    Stored(AdminError),
    /// The admin credentials are unusable.
    #[error("{0}")]
    Auth(String),
    /// The admin thread could not start.
    #[error("cannot start the admin thread: {0}")]
    Thread(String),
    /// The request log could not be opened.
    #[error("{0}")]
    Logs(#[from] crate::logging::store::LogError),
}

/// Does everything before the server starts.
pub fn boot(opts: &BootOptions) -> Result<Booted, BootError> {
    let config_err = |source| BootError::Config {
        path: opts.config_path.clone(),
        source,
    };
    let file = match std::fs::read(&opts.config_path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(config_err(ConfigError::Io {
                file: opts.config_path.clone(),
                source,
            }));
        }
    };
    let mut notes = Vec::new();
    let doc: Option<Map<String, Value>> = match &file {
        Some(bytes) => {
            // The whole file must load on its own first, with the usual errors by JSON path.
            crate::config::parse(bytes).map_err(config_err)?;
            match serde_json::from_slice(bytes) {
                Ok(Value::Object(m)) => Some(m),
                _ => None,
            }
        }
        None => {
            notes.push(format!(
                "{} not found: serving the config store's configuration",
                opts.config_path.display()
            ));
            None
        }
    };
    let store_block = doc.as_ref().and_then(|d| d.get("config_store"));
    let enabled = store_block
        .and_then(|c| c.get("enabled"))
        .and_then(Value::as_bool)
        .unwrap_or(true);

    let (store, contents) = if enabled {
        let store = Store::open(&opts.app_dir)?;
        if let Some(kind) = store_block
            .and_then(|c| c.get("type"))
            .and_then(Value::as_str)
        {
            notes.push(format!(
                "config_store.type {kind:?}: ringway keeps its config store in its embedded LMDB \
                 store at {} instead{}",
                store.path().display(),
                if kind == "sqlite" {
                    ""
                } else {
                    " (the connection settings are ignored)"
                }
            ));
        }
        let mut contents = store.load()?;
        if let Some(doc) = &doc {
            let plan = seed::plan(&sections::split(doc), &contents.hashes, store.hasher());
            let mut writes = plan.writes;
            let auth_writes = seed_auth(doc, &contents, store.hasher())?;
            if !auth_writes.is_empty() {
                notes.push("config store: admin credentials seeded from config.json".into());
            }
            writes.extend(auth_writes);
            store.apply(&writes)?;
            contents.apply(&writes);
            if !plan.reseeded.is_empty() {
                notes.push(format!(
                    "config store: seeded from config.json: {}",
                    plan.reseeded.join(", ")
                ));
            }
            if !plan.dropped.is_empty() {
                notes.push(format!(
                    "config store: removed (no longer in config.json): {}",
                    plan.dropped.join(", ")
                ));
            }
        }
        notes.push(format!("config store: {}", store.path().display()));
        (Some(store), contents)
    } else {
        let mut contents = StoreContents::default();
        if let Some(doc) = &doc {
            contents.sections = sections::split(doc);
            if let Some(raw) = sections::auth_of(doc) {
                let input = AuthInput::decode(raw, &auth_path(doc)).map_err(auth_err)?;
                let cfg = AuthConfig::from_input(&input, &crate::config::process_env)
                    .map_err(auth_err)?;
                contents.sections.insert(AUTH.to_string(), cfg.to_stored());
            }
        }
        (None, contents)
    };

    let (table, mut warnings) = build_table(&contents, opts.workers).map_err(BootError::Stored)?;
    if !enabled {
        warnings.push(
            "config_store.enabled is false: admin API changes are kept in memory only and are \
             lost on restart"
                .into(),
        );
    }
    let auth = contents
        .sections
        .get(AUTH)
        .map(|v| AuthConfig::from_stored(v, &crate::config::process_env))
        .unwrap_or_default();
    if auth.is_enabled && !auth.is_active() {
        // Refusing to start beats serving an unprotected admin API the operator meant to lock.
        return Err(BootError::Auth(
            "governance.auth_config: is_enabled is true but admin_username or admin_password \
             is empty (an env. reference to an unset variable?)"
                .into(),
        ));
    }
    let hasher = match &store {
        Some(s) => s.hasher().clone(),
        None => SectionHasher::new(crate::store::random_16()?),
    };
    let rows = plugins::rows_of(contents.sections.get(&plugins::section()));
    let (runtime, plugin_warnings) = plugins::PluginRuntime::boot(&rows, hasher);
    warnings.extend(plugin_warnings);
    let plugin_publisher = Arc::clone(runtime.publisher());
    let logs = start_logging(
        opts,
        doc.as_ref(),
        &contents,
        &table,
        &mut notes,
        &mut warnings,
    )?;
    let publisher = Arc::new(Publisher::new(Arc::new(table)));
    let mut core = AdminCore::new(
        store,
        contents,
        Arc::clone(&publisher),
        opts.workers,
        AuthState::new(auth).map_err(auth_err)?,
        runtime,
    );
    if let Some(logs) = logs {
        core.set_logs(logs);
    }
    let admin = AdminHandle::spawn(core, publisher, plugin_publisher)
        .map_err(|e| BootError::Thread(e.to_string()))?;
    Ok(Booted {
        admin,
        warnings,
        notes,
    })
}

/// Starts request logging when `client.enable_logging` is on and `logs_store` (from the file,
/// else as the store kept it) is absent or enabled.
fn start_logging(
    opts: &BootOptions,
    doc: Option<&Map<String, Value>>,
    contents: &StoreContents,
    table: &crate::routing::table::RouteTable,
    notes: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<Option<Arc<crate::logging::Logging>>, BootError> {
    let client = &table.config.client;
    let block = doc
        .and_then(|d| d.get("logs_store"))
        .or_else(|| contents.sections.get("top/logs_store"));
    let enabled = block
        .and_then(|b| b.get("enabled"))
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if !client.enable_logging || !enabled {
        notes.push(
            "request logging is off (client.enable_logging or logs_store.enabled is false)".into(),
        );
        return Ok(None);
    }
    let settings = crate::logging::LogSettings {
        content: !client.disable_content_logging,
        headers: client
            .logging_headers
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        retention_days: client.log_retention_days,
    };
    let logs = crate::logging::Logging::start(&opts.app_dir, settings)?;
    if let Some(kind) = block.and_then(|b| b.get("type")).and_then(Value::as_str) {
        warnings.push(format!(
            "logs_store.type {kind:?}: ringway keeps request logs in its embedded LMDB store at \
             {} instead{}",
            logs.store().path().display(),
            if kind == "sqlite" {
                ""
            } else {
                " (the connection settings are ignored)"
            }
        ));
    }
    notes.push(format!("request logs: {}", logs.store().path().display()));
    Ok(Some(logs))
}

fn auth_err(e: AdminError) -> BootError {
    BootError::Auth(e.to_string())
}

fn auth_path(doc: &Map<String, Value>) -> JsonPath {
    if doc
        .get("governance")
        .and_then(|g| g.get("auth_config"))
        .is_some()
    {
        JsonPath::root().key("governance").key("auth_config")
    } else {
        JsonPath::root().key("auth_config")
    }
}

/// Seeds the `auth` section when the file's block changed. Its remembered hash covers the block
/// without the password; the password is compared through an argon2 hash of the file's value,
/// so the store never holds a fast hash of it.
fn seed_auth(
    doc: &Map<String, Value>,
    contents: &StoreContents,
    hasher: &SectionHasher,
) -> Result<Vec<SectionWrite>, BootError> {
    let Some(raw) = sections::auth_of(doc) else {
        return Ok(if contents.hashes.contains_key(AUTH) {
            vec![
                SectionWrite::Delete(AUTH.to_string()),
                SectionWrite::ForgetHash(AUTH.to_string()),
            ]
        } else {
            Vec::new()
        });
    };
    let input = AuthInput::decode(raw, &auth_path(doc)).map_err(auth_err)?;
    let fnv = hasher.hash(&input.without_password());
    if contents
        .hashes
        .get(AUTH)
        .is_some_and(|m| marker_matches(m, &fnv, &input))
    {
        return Ok(Vec::new());
    }
    let cfg = AuthConfig::from_input(&input, &crate::config::process_env).map_err(auth_err)?;
    let pw = match &cfg.password {
        Password::Hash(phc) => format!("argon2:{phc}"),
        Password::Env { name, .. } => format!("env:{name}"),
        Password::None => "none".to_string(),
    };
    Ok(vec![
        SectionWrite::Put(AUTH.to_string(), cfg.to_stored()),
        SectionWrite::SetHash(AUTH.to_string(), format!("{fnv}|{pw}")),
    ])
}

/// Whether the remembered auth marker still describes the file's block.
fn marker_matches(marker: &str, fnv: &str, input: &AuthInput) -> bool {
    let Some((h, pw)) = marker.split_once('|') else {
        return false;
    };
    if h != fnv {
        return false;
    }
    match &input.password {
        None => pw == "none",
        Some(p) => match p.env_name() {
            Some(name) => pw.strip_prefix("env:") == Some(name),
            None => pw
                .strip_prefix("argon2:")
                .is_some_and(|phc| Password::Hash(phc.to_string()).verify(p.value())),
        },
    }
}
