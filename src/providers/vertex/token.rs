//! Access tokens: fetched with the worker's own upstream client, cached per key.
//!
//! The cache lives in the route table (shared by every core), so one fetch serves all cores
//! until the token nears its expiry; the lock is held only to copy or store the header, never
//! across an `.await`. On one core, requests that find no token while a fetch is in flight
//! wait for it (see `inflight`); two cores may each fetch once after start-up, a reload or an
//! expiry.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;

use super::{ServiceAccount, VertexAuthError, assertion};
use crate::upstream::{Client, ProxyRoute, Request, Target};

/// Largest token response read.
const MAX_TOKEN_BODY: usize = 64 << 10;

/// Refresh this long before expiry (at most half the token's lifetime).
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// One key's service account, its token endpoint and its cached token.
#[derive(Debug)]
pub struct TokenSource {
    account: ServiceAccount,
    target: Target,
    path: String,
    cached: Mutex<Option<Cached>>,
}

#[derive(Clone)]
struct Cached {
    header: Arc<str>,
    refresh_at: Instant,
}

// The bearer token is a secret: Debug never shows it.
impl std::fmt::Debug for Cached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cached(<redacted>)")
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(serde::Deserialize)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

impl TokenSource {
    /// A source for `account`, posting grants to its `token_uri`.
    pub fn new(account: ServiceAccount) -> Result<TokenSource, VertexAuthError> {
        let uri = account.token_uri.clone();
        let (target, path) = Target::parse(&uri, ProxyRoute::Direct).map_err(|e| {
            VertexAuthError::Credentials(format!("token_uri {uri:?} is not a URL: {e}"))
        })?;
        Ok(TokenSource {
            account,
            target,
            path: if path.is_empty() { "/".into() } else { path },
            cached: Mutex::new(None),
        })
    }

    /// Sends grants through `proxy` (the provider's own route) instead of directly.
    pub fn set_proxy(&mut self, proxy: ProxyRoute) {
        self.target.proxy = proxy;
    }

    /// The service account's email (for logs).
    pub fn client_email(&self) -> &str {
        &self.account.client_email
    }

    /// `Bearer <token>`: the cached one while fresh, else a new one from the token endpoint.
    pub async fn bearer(
        &self,
        client: &Client,
        timeout: Duration,
    ) -> Result<Arc<str>, VertexAuthError> {
        if let Some(h) = self.fresh(Instant::now()) {
            return Ok(h);
        }
        // Keyed by address: the source lives in the route table for as long as any fetch does.
        let key = std::ptr::from_ref(self) as usize;
        super::inflight::shared(key, || self.fetch(client, timeout)).await
    }

    /// Posts a signed grant to the token endpoint and caches the answer.
    async fn fetch(&self, client: &Client, timeout: Duration) -> Result<Arc<str>, VertexAuthError> {
        let now_unix = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let jwt = assertion(&self.account, now_unix)?;
        let body = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={jwt}"
        );
        let headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
        ];
        let req = Request {
            method: "POST",
            path: &self.path,
            headers: &headers,
            body: &Bytes::from(body),
        };
        let started = Instant::now();
        let fail = |m: String| VertexAuthError::TokenEndpoint(m);
        let resp = monoio::time::timeout(timeout, client.send(&self.target, req))
            .await
            .map_err(|_| fail(format!("no answer within {}s", timeout.as_secs())))?
            .map_err(|e| fail(e.to_string()))?;
        let status = resp.status;
        let remaining = timeout.saturating_sub(started.elapsed());
        let body = monoio::time::timeout(remaining, resp.bytes(MAX_TOKEN_BODY))
            .await
            .map_err(|_| fail("token response timed out".into()))?
            .map_err(|e| fail(e.to_string()))?;
        let (header, lifetime) = token_response(status, &body)?;
        let header: Arc<str> = Arc::from(header);
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        self.store(Cached {
            header: header.clone(),
            refresh_at: started + lifetime.saturating_sub(margin),
        });
        tracing::debug!(account = %self.account.client_email, ?lifetime, "vertex token fetched");
        Ok(header)
    }

    /// Drops the cached token (after Vertex refused it).
    pub fn invalidate(&self) {
        if let Ok(mut c) = self.cached.lock() {
            *c = None;
        }
    }

    fn fresh(&self, now: Instant) -> Option<Arc<str>> {
        let c = self.cached.lock().ok()?;
        c.as_ref()
            .filter(|c| now < c.refresh_at)
            .map(|c| c.header.clone())
    }

    fn store(&self, c: Cached) {
        if let Ok(mut slot) = self.cached.lock() {
            *slot = Some(c);
        }
    }
}

/// The `Bearer` header value and lifetime from a token endpoint answer, or why it failed.
pub fn token_response(status: u16, body: &[u8]) -> Result<(String, Duration), VertexAuthError> {
    if !(200..300).contains(&status) {
        let why = serde_json::from_slice::<TokenError>(body)
            .ok()
            .map(
                |e| match (e.error.is_empty(), e.error_description.is_empty()) {
                    (false, false) => format!("{}: {}", e.error, e.error_description),
                    (false, true) => e.error,
                    (true, _) => e.error_description,
                },
            )
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "no error description".to_string());
        return Err(VertexAuthError::TokenEndpoint(format!(
            "status {status}: {why}"
        )));
    }
    let tr: TokenResponse = serde_json::from_slice(body)
        .map_err(|_| VertexAuthError::TokenEndpoint("answer is not a token JSON object".into()))?;
    if tr.access_token.is_empty() {
        return Err(VertexAuthError::TokenEndpoint(
            "answer has no access_token".into(),
        ));
    }
    // Google's tokens live an hour; assume so when the answer does not say.
    let lifetime = Duration::from_secs(tr.expires_in.unwrap_or(3600));
    Ok((format!("Bearer {}", tr.access_token), lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_parse() {
        let (h, l) =
            token_response(200, br#"{"access_token":"ya29.x","expires_in":120}"#).expect("ok");
        assert_eq!(h, "Bearer ya29.x");
        assert_eq!(l, Duration::from_secs(120));
        let e = token_response(
            400,
            br#"{"error":"invalid_grant","error_description":"Invalid JWT"}"#,
        )
        .expect_err("refused");
        assert_eq!(
            e,
            VertexAuthError::TokenEndpoint("status 400: invalid_grant: Invalid JWT".into())
        );
        assert!(token_response(200, b"{}").is_err());
        assert!(token_response(503, b"oops").is_err());
    }
}
