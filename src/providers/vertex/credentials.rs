//! A Google service-account key, parsed once per config build.

use std::fmt;

use base64::Engine;
use ring::signature::RsaKeyPair;

use super::VertexAuthError;

/// Google's token endpoint, used when the key file names none.
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The parts of a service-account JSON needed to sign token grants.
pub struct ServiceAccount {
    /// `client_email`: the JWT issuer.
    pub client_email: String,
    /// `token_uri`: where grants are posted, and the JWT audience.
    pub token_uri: String,
    /// `private_key_id`: the JWT `kid`, when present.
    pub key_id: Option<String>,
    /// The decoded `private_key`.
    pub(super) key: RsaKeyPair,
}

// The key pair never reaches logs: Debug shows who, not the secret.
impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .field("key", &"<redacted>")
            .finish()
    }
}

#[derive(serde::Deserialize)]
struct KeyFile {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    client_email: String,
    #[serde(default)]
    private_key: String,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
}

impl ServiceAccount {
    /// Parses a service-account JSON; errors name the problem, never the key.
    pub fn from_json(json: &str) -> Result<ServiceAccount, VertexAuthError> {
        let bad = |m: &str| VertexAuthError::Credentials(m.to_string());
        // serde_json's message can quote input; the input holds a private key, so it is dropped.
        let file: KeyFile = serde_json::from_str(json.trim())
            .map_err(|_| bad("not a valid service-account JSON object"))?;
        match file.kind.as_str() {
            "service_account" => {}
            "" => return Err(bad("missing \"type\" (expected \"service_account\")")),
            other => {
                return Err(VertexAuthError::Credentials(format!(
                    "credential type {other:?} is not supported (only \"service_account\")"
                )));
            }
        }
        if file.client_email.trim().is_empty() {
            return Err(bad("missing \"client_email\""));
        }
        let der = pem_to_der(&file.private_key)
            .ok_or_else(|| bad("\"private_key\" is not a PEM \"PRIVATE KEY\" block"))?;
        let key = RsaKeyPair::from_pkcs8(&der)
            .map_err(|_| bad("\"private_key\" is not a PKCS#8 RSA key"))?;
        Ok(ServiceAccount {
            client_email: file.client_email.trim().to_string(),
            token_uri: file
                .token_uri
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| DEFAULT_TOKEN_URI.to_string()),
            key_id: file.private_key_id.filter(|k| !k.is_empty()),
            key,
        })
    }
}

/// The DER bytes of a `-----BEGIN PRIVATE KEY-----` PEM block.
fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let start = pem.find(BEGIN)? + BEGIN.len();
    let end = start + pem[start..].find(END)?;
    let b64: String = pem[start..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_name_the_problem_without_the_key() {
        let e = ServiceAccount::from_json("{not json").expect_err("bad");
        assert!(e.to_string().contains("not a valid"));
        let e = ServiceAccount::from_json(r#"{"type":"authorized_user"}"#).expect_err("bad");
        assert!(e.to_string().contains("authorized_user"));
        let e = ServiceAccount::from_json(
            r#"{"type":"service_account","client_email":"a@b","private_key":"secret-ish"}"#,
        )
        .expect_err("bad");
        assert!(e.to_string().contains("PEM"));
        assert!(!e.to_string().contains("secret-ish"));
        let e = ServiceAccount::from_json(
            "{\"type\":\"service_account\",\"client_email\":\"a@b\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n\"}",
        )
        .expect_err("bad");
        assert!(e.to_string().contains("PKCS#8"));
    }

    #[test]
    fn pem_blocks_decode() {
        let der =
            pem_to_der("x\n-----BEGIN PRIVATE KEY-----\nAAEC\nAw==\n-----END PRIVATE KEY-----\n");
        assert_eq!(der, Some(vec![0, 1, 2, 3]));
        assert_eq!(pem_to_der("no block"), None);
    }
}
