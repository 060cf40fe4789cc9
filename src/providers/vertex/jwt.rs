//! The RS256-signed JWT a service account trades for an access token (RFC 7523).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::RSA_PKCS1_SHA256;

use super::{ServiceAccount, VertexAuthError};

/// The OAuth2 scope Vertex AI calls need.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// How long a requested token lives (Google's maximum).
const LIFETIME_SECS: u64 = 3600;

/// The claims of a grant assertion.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct JwtClaims {
    /// The service account's email.
    pub iss: String,
    /// Requested scopes.
    pub scope: String,
    /// The token endpoint.
    pub aud: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Expires at (Unix seconds).
    pub exp: u64,
}

#[derive(serde::Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

/// `header.claims.signature`, base64url without padding, signed with the account's key, for
/// a grant issued at `now_unix`.
pub fn assertion(account: &ServiceAccount, now_unix: u64) -> Result<String, VertexAuthError> {
    let header = Header {
        alg: "RS256",
        typ: "JWT",
        kid: account.key_id.as_deref(),
    };
    let claims = JwtClaims {
        iss: account.client_email.clone(),
        scope: SCOPE.to_string(),
        aud: account.token_uri.clone(),
        iat: now_unix,
        exp: now_unix + LIFETIME_SECS,
    };
    let enc = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
    let header = serde_json::to_vec(&header).map_err(|e| internal(&e))?;
    let claims = serde_json::to_vec(&claims).map_err(|e| internal(&e))?;
    let mut signed = format!("{}.{}", enc(&header), enc(&claims));
    let mut sig = vec![0u8; account.key.public().modulus_len()];
    account
        .key
        .sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signed.as_bytes(),
            &mut sig,
        )
        .map_err(|_| VertexAuthError::Credentials("signing the token grant failed".into()))?;
    signed.push('.');
    signed.push_str(&enc(&sig));
    Ok(signed)
}

fn internal(e: &serde_json::Error) -> VertexAuthError {
    VertexAuthError::Credentials(format!("encoding the token grant failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{KeyPair, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    /// A throwaway key from the `openssl` CLI (as `tests/vertex.rs` makes its keys).
    fn generated_key() -> String {
        let path = std::env::temp_dir().join(format!("ringway-jwt-{}.pem", std::process::id()));
        let ok = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(&path)
            .output()
            .expect("the openssl CLI")
            .status
            .success();
        assert!(ok, "openssl genpkey failed");
        let pem = std::fs::read_to_string(&path).expect("key file");
        let _ = std::fs::remove_file(&path);
        pem
    }

    #[test]
    fn assertion_is_a_verifiable_rs256_jwt() {
        let pem = generated_key();
        let json = serde_json::json!({
            "type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com",
            "private_key": pem, "private_key_id": "kid-9", "token_uri": "https://t.example/token"
        })
        .to_string();
        let account = ServiceAccount::from_json(&json).expect("account");
        assert!(!format!("{account:?}").contains("PRIVATE"));
        let jwt = assertion(&account, 1_700_000_000).expect("jwt");
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(
            header,
            serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "kid-9"})
        );
        let claims: JwtClaims =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        assert_eq!(
            claims,
            JwtClaims {
                iss: "sa@p.iam.gserviceaccount.com".into(),
                scope: SCOPE.into(),
                aud: "https://t.example/token".into(),
                iat: 1_700_000_000,
                exp: 1_700_003_600,
            }
        );
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
        let public = UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            account.key.public_key().as_ref().to_vec(),
        );
        let signed = format!("{}.{}", parts[0], parts[1]);
        assert!(public.verify(signed.as_bytes(), &sig).is_ok());
    }
}
