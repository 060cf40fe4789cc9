//! `GET/PUT /api/proxy-config`: the global outbound proxy.
//!
//! Applied live: providers without a proxy of their own inherit it when `enabled` and
//! `enable_for_inference` are set (new upstream connections go through it; the pool key includes
//! the proxy, so warm direct connections are simply not reused). The password is shown as
//! `<redacted>`, and sending `<redacted>` back keeps the stored one.

use serde_json::{Value, json};

use super::response::{AdminError, AdminReply};
use super::state::{AdminCore, Job, json_object};
use crate::config::{GlobalProxyConfig, REDACTED_PASSWORD};
use crate::store::SectionWrite;
use crate::store::sections::PROXY;
use crate::upstream::{ProxyRoute, Scheme};

/// `GET /api/proxy-config`.
pub fn get(core: &AdminCore) -> Result<AdminReply, AdminError> {
    Ok(AdminReply::ok(&core.proxy().redacted()))
}

/// `PUT /api/proxy-config`.
pub fn update(core: &mut AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let body = json_object(&job.body)?;
    let mut next: GlobalProxyConfig = serde_path_to_error::deserialize(Value::Object(body))
        .map_err(|e| {
            let path = e.path().to_string();
            AdminError::BadRequest(format!("{path}: {}", e.into_inner()))
        })?;
    if next.password == REDACTED_PASSWORD {
        next.password = core.proxy().password;
    }
    validate(&next)?;
    let stored = serde_json::to_value(&next)
        .map_err(|e| AdminError::Internal(format!("cannot encode proxy config: {e}")))?;
    core.commit(vec![SectionWrite::Put(PROXY.to_string(), stored)])?;
    Ok(core.written(json!({
        "status": "success",
        "message": "proxy configuration updated successfully",
    })))
}

/// Bifrost's checks, except that SOCKS5 is accepted (ringway's upstream speaks it).
fn validate(p: &GlobalProxyConfig) -> Result<(), AdminError> {
    if p.timeout < 0 {
        return Err(AdminError::BadRequest(format!(
            "timeout: proxy timeout must be non-negative, got {}",
            p.timeout
        )));
    }
    if !p.enabled {
        return Ok(());
    }
    let kind = p.kind_or_default();
    match kind {
        "http" | "socks5" => {}
        "tcp" => {
            return Err(AdminError::BadRequest(
                "type: proxy type tcp is not yet supported".into(),
            ));
        }
        other => {
            return Err(AdminError::BadRequest(format!(
                "type: invalid proxy type: {other:?} (expected http or socks5)"
            )));
        }
    }
    if p.url.trim().is_empty() {
        return Err(AdminError::BadRequest(
            "url: proxy URL is required when proxy is enabled".into(),
        ));
    }
    ProxyRoute::from_settings(kind, &p.url, None, None, Scheme::Https, "example.com")
        .map(drop)
        .map_err(|e| AdminError::BadRequest(format!("url: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(v: Value) -> GlobalProxyConfig {
        serde_json::from_value(v).expect("decode")
    }

    #[test]
    fn validation() {
        assert!(validate(&cfg(json!({"enabled": false}))).is_ok());
        let e = validate(&cfg(json!({"enabled": true, "type": "http"}))).expect_err("no url");
        assert!(e.to_string().starts_with("url: "), "{e}");
        let e =
            validate(&cfg(json!({"enabled": true, "type": "tcp", "url": "x:1"}))).expect_err("tcp");
        assert!(e.to_string().contains("not yet supported"));
        let e = validate(&cfg(json!({"timeout": -1}))).expect_err("negative");
        assert!(e.to_string().starts_with("timeout: "));
        assert!(
            validate(&cfg(
                json!({"enabled": true, "type": "socks5", "url": "socks5://127.0.0.1:1080"})
            ))
            .is_ok()
        );
        assert!(
            validate(&cfg(json!({"enabled": true, "url": "ftp://x"}))).is_err(),
            "bad scheme"
        );
    }
}
