//! Per-key Bedrock settings and the signed head of each upstream request.
//!
//! A key authenticates with its `value` when set (a Bedrock API key, sent as a bearer token, as
//! Bifrost does) and otherwise with SigV4 over `bedrock_key_config.access_key`/`secret_key`
//! (plus `session_token`), falling back to `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/
//! `AWS_SESSION_TOKEN` read when the config is compiled. The model id in the path is the key's
//! deployment for the model (prefixed with `arn` when set), percent-encoded as the AWS SDKs do.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::SystemTime;

use super::sigv4::{self, Credentials, SignRequest};
use crate::config::BedrockKeyConfig;
use crate::error::{GatewayError, RequestType};
use crate::providers::catalog::WireFormat;

/// Region used when a key names none (as Bifrost).
pub const DEFAULT_REGION: &str = "us-east-1";

/// Service name in SigV4 credential scopes for the Bedrock runtime.
pub const SIGNING_SERVICE: &str = "bedrock";

/// One key's compiled Bedrock settings.
#[derive(Debug, Clone)]
pub struct BedrockKey {
    /// AWS region (signing scope and default endpoint).
    pub region: String,
    credentials: Option<Credentials>,
    bearer: Option<String>,
    deployments: BTreeMap<String, String>,
    arn: Option<String>,
    /// Features this build cannot serve for the key (named in the request error).
    unsupported: Option<&'static str>,
}

fn non_empty(v: Option<&crate::config::EnvVar>) -> Option<String> {
    v.map(|e| e.value().trim().to_string())
        .filter(|s| !s.is_empty())
}

impl BedrockKey {
    /// Compiles a key: its `value` and its `bedrock_key_config` (absent means ambient
    /// credentials).
    pub fn new(value: &str, cfg: Option<&BedrockKeyConfig>) -> Self {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self::with_env(value, cfg, &env)
    }

    /// Like [`BedrockKey::new`] with an explicit environment (for tests).
    pub fn with_env(
        value: &str,
        cfg: Option<&BedrockKeyConfig>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Self {
        let access = cfg.and_then(|c| non_empty(c.access_key.as_ref()));
        let secret = cfg.and_then(|c| non_empty(c.secret_key.as_ref()));
        let token = cfg.and_then(|c| non_empty(c.session_token.as_ref()));
        let credentials = match (access, secret) {
            (Some(access_key), Some(secret_key)) => Some(Credentials {
                access_key,
                secret_key,
                session_token: token,
            }),
            (None, None) => match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
                (Some(access_key), Some(secret_key)) => Some(Credentials {
                    access_key,
                    secret_key,
                    session_token: env("AWS_SESSION_TOKEN"),
                }),
                _ => None,
            },
            _ => None,
        };
        let role = cfg.and_then(|c| non_empty(c.role_arn.as_ref()));
        Self {
            region: cfg
                .and_then(|c| non_empty(c.region.as_ref()))
                .unwrap_or_else(|| DEFAULT_REGION.to_string()),
            credentials,
            bearer: Some(value.trim())
                .filter(|v| !v.is_empty())
                .map(|v| format!("Bearer {v}")),
            deployments: cfg.map(|c| c.deployments.clone()).unwrap_or_default(),
            arn: cfg.and_then(|c| non_empty(c.arn.as_ref())),
            unsupported: role.map(|_| "role_arn (STS AssumeRole)"),
        }
    }

    /// `https://bedrock-runtime.{region}.amazonaws.com`, or why the region cannot be a host.
    pub fn runtime_url(&self) -> Result<String, String> {
        let r = &self.region;
        if r.is_empty()
            || !r
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!(
                "bedrock_key_config.region {r:?} is not an AWS region"
            ));
        }
        Ok(format!("https://bedrock-runtime.{r}.amazonaws.com"))
    }

    /// The model id sent for `model`: its deployment (inference profile) when the key maps it,
    /// under the key's `arn` when one is set; the model name otherwise.
    pub fn model_id<'m>(&'m self, model: &'m str) -> Cow<'m, str> {
        match (self.deployments.get(model), &self.arn) {
            (Some(d), Some(arn)) => Cow::Owned(format!("{}/{d}", arn.trim_end_matches('/'))),
            (Some(d), None) => Cow::Borrowed(d),
            (None, _) => Cow::Borrowed(model),
        }
    }
}

/// A model id as the AWS SDKs put it in a path (`anthropic.claude-v2%3A1`), decoded; an id
/// with a malformed escape is kept as it is.
pub fn decode_model_id(raw: &str) -> Cow<'_, str> {
    if !raw.contains('%') {
        return Cow::Borrowed(raw);
    }
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            else {
                return Cow::Borrowed(raw);
            };
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_or(Cow::Borrowed(raw), Cow::Owned)
}

/// The path and the auth headers of one Bedrock request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    /// `{base}/model/{model id, encoded}/converse[-stream]`.
    pub path: String,
    /// The `Accept` header value.
    pub accept: &'static str,
    headers: Vec<(&'static str, String)>,
}

impl PreparedRequest {
    /// Auth headers (`Authorization`, and the `X-Amz-*` headers of a signature).
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.headers.iter().map(|(n, v)| (*n, v.as_str()))
    }
}

/// The upstream path of `op` for `model`: `{base_path}/model/{encoded id}{operation}`.
pub fn model_path(base_path: &str, model_id: &str, op: RequestType) -> Option<String> {
    let op_path = crate::providers::operation_path(WireFormat::Bedrock, op)?;
    Some(format!(
        "{base_path}/model/{}{op_path}",
        sigv4::encode_segment(model_id)
    ))
}

/// Builds the path and signs the request (`host` exactly as the client writes it).
pub fn prepare(
    key: &BedrockKey,
    base_path: &str,
    host: &str,
    op: RequestType,
    model: &str,
    body: &[u8],
    now: SystemTime,
) -> Result<PreparedRequest, GatewayError> {
    let path = model_path(base_path, &key.model_id(model), op).ok_or_else(|| {
        GatewayError::Internal(format!("bedrock has no path for {}", op.as_str()))
    })?;
    let accept = if op.is_stream() {
        "application/vnd.amazon.eventstream"
    } else {
        "application/json"
    };
    let headers = if let Some(bearer) = &key.bearer {
        vec![("Authorization", bearer.clone())]
    } else if let Some(creds) = &key.credentials {
        let signed = sigv4::sign(
            creds,
            &SignRequest {
                method: "POST",
                host,
                path: &path,
                content_type: "application/json",
                body,
                region: &key.region,
                service: SIGNING_SERVICE,
            },
            now,
        );
        signed.pairs().map(|(n, v)| (n, v.to_string())).collect()
    } else {
        let why = match key.unsupported {
            Some(feature) => format!("{feature} is not supported by ringway yet"),
            None => "no AWS credentials".to_string(),
        };
        return Err(GatewayError::Internal(format!(
            "bedrock key cannot sign requests: {why}; set bedrock_key_config.access_key and \
             secret_key (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or a Bedrock API key as \
             the key value"
        )));
    };
    Ok(PreparedRequest {
        path,
        accept,
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn config(v: serde_json::Value) -> BedrockKeyConfig {
        serde_json::from_value(v).expect("bedrock_key_config")
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn signs_with_configured_credentials() {
        let cfg = config(serde_json::json!({
            "access_key": "AKIAIOSFODNN7EXAMPLE",
            "secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "session_token": "FwoGZXIvYXdzEXAMPLETOKEN",
            "region": "us-west-2"
        }));
        let key = BedrockKey::with_env("", Some(&cfg), &no_env);
        assert_eq!(
            key.runtime_url().as_deref(),
            Ok("https://bedrock-runtime.us-west-2.amazonaws.com")
        );
        let p = prepare(
            &key,
            "",
            "bedrock-runtime.us-west-2.amazonaws.com",
            RequestType::ChatCompletion,
            "anthropic.claude-3-haiku-20240307-v1:0",
            br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#,
            UNIX_EPOCH + Duration::from_secs(1_714_566_645),
        )
        .expect("signed");
        assert_eq!(
            p.path,
            "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
        );
        assert_eq!(p.accept, "application/json");
        let headers: Vec<(&str, &str)> = p.headers().collect();
        // The botocore vector of sigv4.rs: same request, same signature.
        assert!(headers[0].1.ends_with(
            "Signature=9d6b56948fe2dc73cf62362a40038f68585d13c6d389064dc598f4b5a5f1bf1a"
        ));
        assert_eq!(
            headers[3],
            ("X-Amz-Security-Token", "FwoGZXIvYXdzEXAMPLETOKEN")
        );
    }

    #[test]
    fn deployments_arn_and_stream_path() {
        let cfg = config(serde_json::json!({
            "access_key": "AKID", "secret_key": "SECRET",
            "arn": "arn:aws:bedrock:us-east-1:123456789012:inference-profile",
            "deployments": {"claude-haiku": "us.anthropic.claude-3-haiku-20240307-v1:0"}
        }));
        let key = BedrockKey::with_env("", Some(&cfg), &no_env);
        assert_eq!(key.region, "us-east-1");
        assert_eq!(
            key.model_id("claude-haiku"),
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"
        );
        assert_eq!(key.model_id("other.model"), "other.model");
        let p = prepare(
            &key,
            "/prefix",
            "h",
            RequestType::ChatCompletionStream,
            "claude-haiku",
            b"{}",
            SystemTime::now(),
        )
        .expect("ok");
        assert_eq!(
            p.path,
            "/prefix/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"
        );
        assert_eq!(p.accept, "application/vnd.amazon.eventstream");
        let cfg = config(serde_json::json!({"deployments": {"a": "b"}}));
        let key = BedrockKey::with_env("", Some(&cfg), &no_env);
        assert_eq!(key.model_id("a"), "b");
        assert!(
            prepare(
                &key,
                "",
                "h",
                RequestType::Embedding,
                "a",
                b"",
                SystemTime::now()
            )
            .is_err()
        );
    }

    #[test]
    fn model_ids_decode() {
        assert_eq!(
            decode_model_id("anthropic.claude-v2%3A1"),
            "anthropic.claude-v2:1"
        );
        assert_eq!(decode_model_id("openai%2Fgpt-4o"), "openai/gpt-4o");
        assert_eq!(decode_model_id("plain"), "plain");
        assert_eq!(decode_model_id("bad%zzescape"), "bad%zzescape");
        assert_eq!(decode_model_id("cut%3"), "cut%3");
        assert_eq!(decode_model_id("%ff"), "%ff");
    }

    #[test]
    fn bearer_env_and_missing_credentials() {
        let key = BedrockKey::with_env(" ABSKbedrockapikey ", None, &no_env);
        let p = prepare(
            &key,
            "",
            "h",
            RequestType::ChatCompletion,
            "m",
            b"{}",
            SystemTime::now(),
        )
        .expect("ok");
        assert_eq!(
            p.headers().collect::<Vec<_>>(),
            [("Authorization", "Bearer ABSKbedrockapikey")]
        );

        let env = |n: &str| match n {
            "AWS_ACCESS_KEY_ID" => Some("AKIDENV".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("secret".to_string()),
            _ => None,
        };
        let key = BedrockKey::with_env("", Some(&BedrockKeyConfig::default()), &env);
        let p = prepare(
            &key,
            "",
            "h",
            RequestType::ChatCompletion,
            "m",
            b"{}",
            SystemTime::now(),
        )
        .expect("ok");
        let auth = p.headers().next().expect("auth").1.to_string();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDENV/"),
            "{auth}"
        );
        assert_eq!(p.headers().count(), 3, "no session token");

        let key = BedrockKey::with_env("", None, &no_env);
        let e = prepare(
            &key,
            "",
            "h",
            RequestType::ChatCompletion,
            "m",
            b"{}",
            SystemTime::now(),
        )
        .expect_err("no credentials");
        assert!(e.to_string().contains("no AWS credentials"), "{e}");
        let cfg = config(serde_json::json!({"role_arn": "arn:aws:iam::1:role/x"}));
        let key = BedrockKey::with_env("", Some(&cfg), &no_env);
        let e = prepare(
            &key,
            "",
            "h",
            RequestType::ChatCompletion,
            "m",
            b"{}",
            SystemTime::now(),
        )
        .expect_err("role");
        assert!(e.to_string().contains("role_arn"), "{e}");
        let cfg = config(serde_json::json!({"region": "us-east-1.evil.com/"}));
        assert!(
            BedrockKey::with_env("", Some(&cfg), &no_env)
                .runtime_url()
                .is_err()
        );
    }
}
