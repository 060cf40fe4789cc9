//! `GET /v1/models`: every configured provider's models, ids prefixed with `provider/`.

use serde_json::Value;

use crate::error::{ErrorContext, GatewayError, RequestType};
use crate::providers::catalog::WireFormat;
use crate::routing::table::ProviderRoute;
use crate::server::reply::Reply;
use crate::server::worker::Worker;
use crate::upstream::Request;

/// Largest models listing read from one provider.
const MAX_LIST_BODY: usize = 16 << 20;

/// Lists models of one provider (`?provider=`) or of all configured providers.
pub async fn list(worker: &Worker, query: Option<&str>) -> Reply {
    let table = worker.table();
    let wanted = query.and_then(|q| query_param(q, "provider"));
    let mut ctx = ErrorContext {
        request_type: Some(RequestType::ListModels.as_str()),
        ..ErrorContext::default()
    };
    let mut data: Vec<Value> = Vec::new();
    match wanted.as_deref() {
        Some(name) => {
            ctx.provider = Some(name.to_string());
            let Some(route) = table.provider(name) else {
                return Reply::error(&GatewayError::UnknownProvider(name.to_string()), &ctx);
            };
            match fetch(worker, route).await {
                Ok(models) => data.extend(models),
                Err(e) => return Reply::error(&e, &ctx),
            }
        }
        None => {
            for route in table.providers() {
                if route.check_serves(RequestType::ListModels).is_err() {
                    continue;
                }
                match fetch(worker, route).await {
                    Ok(models) => data.extend(models),
                    // One unreachable provider does not hide the others' models.
                    Err(e) => {
                        tracing::warn!(provider = %route.name, error = %e, "listing models failed")
                    }
                }
            }
        }
    }
    let body = serde_json::json!({ "object": "list", "data": data });
    match serde_json::to_vec(&body) {
        Ok(b) => Reply::json(200, b),
        Err(e) => Reply::error(&GatewayError::Internal(e.to_string()), &ctx),
    }
}

async fn fetch(worker: &Worker, route: &ProviderRoute) -> Result<Vec<Value>, GatewayError> {
    route.check_serves(RequestType::ListModels)?;
    let key = if route.keyless {
        None
    } else {
        route
            .keys
            .keys()
            .iter()
            .position(|k| k.enabled && (!k.value.is_empty() || route.spec.allows_empty_key))
    };
    if key.is_none() && !route.keyless && !route.spec.allows_empty_key {
        return Err(GatewayError::NoKeyForModel("*".into()));
    }
    let endpoint = route.endpoint(key);
    let path = route.path_for(endpoint, RequestType::ListModels);
    let auth = route.auth_header(key);
    let mut headers: Vec<(&str, &str)> = vec![("Accept", "application/json")];
    if let Some(h) = auth {
        headers.push(h);
    }
    // Anthropic refuses a listing without `anthropic-version`, as it does any other request.
    headers.extend_from_slice(crate::providers::static_headers(route.spec.format));
    for (n, v) in &route.extra_headers {
        headers.push((n.as_str(), v.as_str()));
    }
    let req = Request {
        method: "GET",
        path,
        headers: &headers,
        body: &crate::upstream::NO_BODY,
    };
    let exchange = async {
        let resp = worker
            .client
            .send(&endpoint.target, req)
            .await
            .map_err(|e| GatewayError::Network(e.to_string()))?;
        let status = resp.status;
        let body = resp
            .bytes(MAX_LIST_BODY)
            .await
            .map_err(|e| GatewayError::Network(e.to_string()))?;
        if !(200..300).contains(&status) {
            return Err(GatewayError::Provider(Box::new(
                crate::providers::parse_error(route.spec.format, status, &body),
            )));
        }
        Ok(body)
    };
    let body = monoio::time::timeout(route.timeout, exchange)
        .await
        .map_err(|_| GatewayError::Timeout(route.timeout.as_secs()))??;
    // Gemini lists `{"models": [{"name": "models/..."}]}`: read it as OpenAI's `data`.
    let body = match route.spec.format {
        WireFormat::Gemini => bytes::Bytes::from(
            crate::providers::gemini::listing_from_gemini(&body).map_err(|e| {
                GatewayError::Network(format!("invalid models listing from {}: {e}", route.name))
            })?,
        ),
        _ => body,
    };
    let parsed: Value = serde_json::from_slice(&body).map_err(|e| {
        GatewayError::Network(format!("invalid models listing from {}: {e}", route.name))
    })?;
    let list = parsed
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(list
        .into_iter()
        .map(|mut m| {
            if let Some(id) = m.get("id").and_then(Value::as_str) {
                let prefixed = format!("{}/{}", route.name, id);
                m["id"] = Value::String(prefixed);
            }
            m
        })
        .collect())
}

/// The decoded value of `name` in a query string.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| crate::http::form_decode(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params() {
        assert_eq!(
            query_param("provider=openai", "provider").as_deref(),
            Some("openai")
        );
        assert_eq!(
            query_param("a=1&provider=vllm%2Dx", "provider").as_deref(),
            Some("vllm-x")
        );
        assert_eq!(query_param("a=1", "provider"), None);
        assert_eq!(
            query_param("provider=%zz", "provider").as_deref(),
            Some("%zz")
        );
        assert_eq!(
            query_param("provider=%4", "provider").as_deref(),
            Some("%4")
        );
    }
}
