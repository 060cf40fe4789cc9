//! Google Vertex AI: the OAuth2 token endpoint and the publisher model routes.
//!
//! | route | answer |
//! |---|---|
//! | `POST /token` (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>`) | `{"access_token":"mock-token-N","expires_in":3600,"token_type":"Bearer"}` |
//! | `POST .../publishers/google/models/{m}:generateContent` / `:streamGenerateContent` | as the Gemini routes |
//! | `POST .../publishers/google/models/{m}:predict` | `{"predictions":[{"embeddings":{"values":[..],"statistics":{"token_count":N}}}]}` per instance |
//! | `POST .../publishers/anthropic/models/{m}:rawPredict` / `:streamRawPredict` | as Anthropic's Messages, model from the path |
//!
//! The token endpoint checks the assertion's shape (three base64url parts, header `alg`
//! RS256, claims `iss`, `scope`, `aud`, `iat`, `exp`), not its signature. Issuers starting with
//! `fail` get 400 `invalid_grant`, issuers starting with `short` get `expires_in: 2`. Model
//! routes want `Authorization: Bearer mock-token-*` (else 401 `UNAUTHENTICATED`).

use std::io;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sonic_rs::{JsonContainerTrait, JsonValueTrait};

use crate::{
    anthropic,
    dispatch::{Outcome, Req},
    gemini,
    json_read::{MAX_DEPTH, depth_ok},
    request::Method,
    response::{Conn, ExtraHeaders},
    state::Shared,
};

const JSON: &str = "application/json";

/// The grant type of a service-account token request.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A Vertex endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /token`
    Token,
    /// `POST .../publishers/google/models/{m}:generateContent|streamGenerateContent`
    Gemini(gemini::Route),
    /// `POST .../publishers/google/models/{m}:predict`
    Predict,
    /// `POST .../publishers/anthropic/models/{m}:rawPredict|streamRawPredict`
    Anthropic,
}

/// Matches a Vertex request; `None` leaves it to the other formats.
pub fn route(req: &Req<'_>) -> Option<Route> {
    if req.method() != Method::Post {
        return None;
    }
    if req.path == "/token" {
        return Some(Route::Token);
    }
    if !req.path.contains("/projects/") {
        return None;
    }
    let (head, method) = req.path.rsplit_once(':')?;
    if head.contains("/publishers/google/models/") {
        return match method {
            "generateContent" => Some(Route::Gemini(gemini::Route::Generate)),
            "streamGenerateContent" => Some(Route::Gemini(gemini::Route::Stream)),
            "predict" => Some(Route::Predict),
            _ => None,
        };
    }
    if head.contains("/publishers/anthropic/models/") {
        return matches!(method, "rawPredict" | "streamRawPredict").then_some(Route::Anthropic);
    }
    None
}

/// Serves a Vertex route.
pub async fn handle(
    route: Route,
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
) -> io::Result<Outcome> {
    if route == Route::Token {
        return token(shared, conn, req, extra).await;
    }
    let bearer = req
        .header("authorization")
        .and_then(|v| v.strip_prefix(b"Bearer mock-token-"));
    if bearer.is_none_or(<[u8]>::is_empty) {
        let message = "Request had invalid authentication credentials. Expected OAuth 2 access \
                       token (mock: Bearer mock-token-* from POST /token).";
        gemini::send_error(
            conn,
            req,
            extra,
            401,
            message,
            "ACCESS_TOKEN_TYPE_UNSUPPORTED",
        )
        .await?;
        return Ok(Outcome::Done);
    }
    let model = path_model(req.path);
    match route {
        Route::Gemini(r) => gemini::serve(r, shared, conn, req, extra).await,
        Route::Anthropic => anthropic::serve_vertex(shared, conn, req, extra, model).await,
        Route::Predict => predict(conn, req, extra).await,
        Route::Token => Ok(Outcome::Done),
    }
}

/// The model between `/models/` and `:`.
fn path_model(path: &str) -> &str {
    let start = path.rfind("/models/").map_or(0, |i| i + "/models/".len());
    let end = path
        .rfind(':')
        .filter(|e| *e >= start)
        .unwrap_or(path.len());
    &path[start..end]
}

/// Answers a JWT-bearer grant after checking the assertion's shape.
async fn token(
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
) -> io::Result<Outcome> {
    let (status, body) = match check_grant(req.body) {
        Err(why) => (400, token_error("invalid_request", &why)),
        Ok(iss) if iss.starts_with("fail") => (
            400,
            token_error(
                "invalid_grant",
                "Invalid JWT Signature. (mock: issuer starts with \"fail\")",
            ),
        ),
        Ok(iss) => {
            let expires = if iss.starts_with("short") { 2 } else { 3600 };
            let n = shared.next_response_id();
            (
                200,
                format!(
                    "{{\"access_token\":\"mock-token-{n}\",\"expires_in\":{expires},\"token_type\":\"Bearer\"}}"
                ),
            )
        }
    };
    conn.send(status, JSON, body.as_bytes(), req.close, extra)
        .await?;
    Ok(Outcome::Done)
}

fn token_error(code: &str, description: &str) -> String {
    serde_json::json!({"error": code, "error_description": description}).to_string()
}

/// The issuer of a well-formed grant, or what is wrong with it.
pub fn check_grant(body: &[u8]) -> Result<String, String> {
    let body = std::str::from_utf8(body).map_err(|_| "body is not UTF-8".to_string())?;
    let mut grant = None;
    let mut assertion = None;
    for pair in body.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "grant_type" => grant = Some(v.replace("%3A", ":").replace("%3a", ":")),
            "assertion" => assertion = Some(v),
            _ => {}
        }
    }
    if grant.as_deref() != Some(JWT_BEARER) {
        return Err(format!("grant_type must be {JWT_BEARER}"));
    }
    let jwt = assertion.ok_or("assertion is required")?;
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err("assertion must have three parts".into());
    };
    let decode = |p: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(p)
            .map_err(|_| format!("assertion {what} is not base64url"))
    };
    let header = decode(header, "header")?;
    let claims = decode(claims, "claims")?;
    if decode(signature, "signature")?.len() < 128 {
        return Err("assertion signature is too short for RS256".into());
    }
    let header: sonic_rs::Value =
        sonic_rs::from_slice(&header).map_err(|_| "assertion header is not JSON".to_string())?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("RS256") {
        return Err("assertion alg must be RS256".into());
    }
    let claims: sonic_rs::Value =
        sonic_rs::from_slice(&claims).map_err(|_| "assertion claims are not JSON".to_string())?;
    for name in ["iss", "scope", "aud"] {
        if claims
            .get(name)
            .and_then(|v| v.as_str())
            .is_none_or(str::is_empty)
        {
            return Err(format!("assertion claim {name} is required"));
        }
    }
    let iat = claims.get("iat").and_then(|v| v.as_u64());
    let exp = claims.get("exp").and_then(|v| v.as_u64());
    match (iat, exp) {
        (Some(i), Some(e)) if e > i && e - i <= 3600 => {}
        _ => return Err("assertion needs iat and exp, at most an hour apart".into()),
    }
    Ok(claims
        .get("iss")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string())
}

/// Answers `:predict` for text embeddings: one prediction per instance.
async fn predict(conn: &mut Conn, req: &Req<'_>, extra: &ExtraHeaders) -> io::Result<Outcome> {
    let bad = "Invalid JSON payload received. instances[].content is required.";
    if !depth_ok(req.body, MAX_DEPTH) {
        return gemini::bad_request(conn, req, extra, bad).await;
    }
    let v: sonic_rs::Value = match sonic_rs::from_slice(req.body) {
        Ok(v) => v,
        Err(_) => return gemini::bad_request(conn, req, extra, bad).await,
    };
    let Some(instances) = v.get("instances").and_then(|i| i.as_array()) else {
        return gemini::bad_request(conn, req, extra, bad).await;
    };
    let dims = v
        .get("parameters")
        .and_then(|p| p.get("outputDimensionality"))
        .and_then(|d| d.as_u64())
        .map_or(8, |d| d.clamp(1, 64));
    let mut predictions = Vec::with_capacity(instances.len());
    for inst in instances.iter() {
        let Some(text) = inst.get("content").and_then(|c| c.as_str()) else {
            return gemini::bad_request(conn, req, extra, bad).await;
        };
        let values: Vec<f64> = (0..dims)
            .map(|k| gemini::embedding_value(text, k))
            .collect();
        predictions.push(serde_json::json!({
            "embeddings": {
                "values": values,
                "statistics": {"token_count": text.split_whitespace().count(), "truncated": false}
            }
        }));
    }
    let body = serde_json::json!({"predictions": predictions}).to_string();
    conn.send(200, JSON, body.as_bytes(), req.close, extra)
        .await?;
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: &str, claims: &str) -> String {
        let sig = URL_SAFE_NO_PAD.encode([7u8; 256]);
        format!(
            "{}.{}.{sig}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn grants_are_checked_for_shape() {
        let good = jwt(
            r#"{"alg":"RS256","typ":"JWT"}"#,
            r#"{"iss":"sa@p.iam","scope":"s","aud":"http://x/token","iat":10,"exp":3610}"#,
        );
        let body = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={good}"
        );
        assert_eq!(check_grant(body.as_bytes()), Ok("sa@p.iam".to_string()));
        let hs = jwt(
            r#"{"alg":"HS256"}"#,
            r#"{"iss":"a","scope":"s","aud":"a","iat":1,"exp":2}"#,
        );
        let body = format!("grant_type={JWT_BEARER}&assertion={hs}");
        assert!(check_grant(body.as_bytes()).is_err());
        assert!(check_grant(b"grant_type=password").is_err());
        let body = format!("grant_type={JWT_BEARER}&assertion=a.b");
        assert!(check_grant(body.as_bytes()).is_err());
    }

    #[test]
    fn paths_name_the_model() {
        assert_eq!(
            path_model(
                "/v1/projects/p/locations/r/publishers/anthropic/models/claude-x@1:rawPredict"
            ),
            "claude-x@1"
        );
    }
}
