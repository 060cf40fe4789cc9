//! One provider attempt: route, admission, key, upstream exchange, retries.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::Call;
use super::codec::{ClientFormat, Codec};
use super::retry::{RetryAction, backoff, classify_status};
use super::stream::SseRelay;
use crate::error::{ErrorContext, GatewayError, ProviderError, RequestType};
use crate::http::Append;
use crate::json;
use crate::providers;
use crate::providers::catalog::WireFormat;
use crate::routing::keys::{KeyError, KeyPin};
use crate::routing::table::{Endpoint, ProviderRoute, RouteTable};
use crate::server::reply::{HeaderName, HeaderValue, Reply, ReplyBody};
use crate::server::worker::Worker;
use crate::timer::PooledTimer;
use crate::upstream::{self, Request, Response};

/// Largest error body read from a provider (the rest is dropped with the connection).
const MAX_ERROR_BODY: usize = 1 << 20;

/// Largest successful response body relayed (embeddings of large batches stay far below).
const MAX_RESPONSE_BODY: usize = 512 << 20;

/// Runs the request against `provider`/`model`, retrying per the provider's network config.
pub async fn run(
    worker: &Worker,
    table: &RouteTable,
    call: &Call<'_>,
    provider: &str,
    model: &str,
    pin: Option<KeyPin<'_>>,
    ctx: &ErrorContext,
) -> Result<Reply, GatewayError> {
    let route = table
        .provider(provider)
        .ok_or_else(|| GatewayError::UnknownProvider(provider.to_string()))?;
    route.check_serves(call.op)?;
    let codec = Codec::between(call.client, route.format_for(model))
        .map_err(|_| GatewayError::FormatNotServed(provider.to_string()))?
        .with_responses_api(providers::responses::native_on(route.spec.name))
        .on_vertex(route.spec.format == WireFormat::Vertex);
    let sent = codec.request_body(call, model)?;
    let limits = route.limits;
    let drop_excess = table.client.drop_excess_requests;
    let acquire = || async {
        worker
            .admission
            .acquire(provider, limits, drop_excess)
            .await
            .map_err(|_| GatewayError::QueueFull)
    };
    let mut permit = Some(acquire().await?);

    let mut excluded: Vec<usize> = Vec::new();
    let mut retries = 0u32;
    let mut last_auth_error: Option<ProviderError> = None;
    // A 5xx or network failure is retried on the same key; other outcomes pick again.
    let mut sticky: Option<usize> = None;
    loop {
        let key = if route.keyless {
            None
        } else if let Some(k) = sticky.take() {
            Some(k)
        } else {
            match route.keys.select(model, pin, &excluded) {
                Ok(i) => Some(i),
                Err(KeyError::NoKeyForModel(m)) => {
                    return Err(match route.spec.format {
                        WireFormat::Azure | WireFormat::Bedrock => {
                            GatewayError::NoKeyForDeployment(m)
                        }
                        _ => GatewayError::NoKeyForModel(m),
                    });
                }
                Err(KeyError::PinnedNotFound(k)) => {
                    return Err(GatewayError::PinnedKeyNotFound(k));
                }
                Err(KeyError::Exhausted) => {
                    return Err(match last_auth_error.take() {
                        Some(_) => GatewayError::CredentialsExhausted(provider.to_string()),
                        None => GatewayError::Internal("no key left to try".into()),
                    });
                }
            }
        };
        call.trail.key(key);
        let attempt_started = Instant::now();
        // Boxed: the exchange's state is most of an attempt's, and would otherwise be copied
        // at every level above it.
        let outcome =
            crate::boxed::in_place(|| exchange(worker, route, call, key, &sent, codec, model))
                .await;
        let took = attempt_started.elapsed();
        call.trail.add_wait(took);
        worker.metrics.upstream(provider, took);
        let (action, err) = match outcome {
            Ok(Exchange::Body {
                status,
                headers,
                body,
                raw_response,
            }) => {
                drop(permit.take());
                // The exchange's own time, body included (Bifrost's `latency`).
                let latency_ms = took.as_millis() as u64;
                let raw = Raw {
                    request: route.send_back_raw_request.then_some(&sent[..]),
                    response: raw_response.as_deref(),
                };
                let body = match call.client {
                    // Bifrost's extra_fields belong to its own (OpenAI-shaped) responses.
                    ClientFormat::OpenAi | ClientFormat::Responses => {
                        with_extra_fields(body, ctx, latency_ms, raw)
                    }
                    _ => body,
                };
                return Ok(Reply {
                    status,
                    headers,
                    body: ReplyBody::Full(body),
                });
            }
            Ok(Exchange::Stream(mut relay, headers)) => {
                // The slot stays held until the stream ends.
                relay.hold(permit.take());
                return Ok(Reply::stream(headers, *relay));
            }
            Ok(Exchange::Failed(perr)) => (
                classify_status(perr.status),
                GatewayError::Provider(Box::new(perr)),
            ),
            Err(e @ GatewayError::Network(_)) => (RetryAction::SameKey, e),
            Err(e) => return Err(e),
        };
        match action {
            RetryAction::Stop => return Err(err),
            RetryAction::RotateKeyNow => {
                // A refused key is dead for this request; trying the others costs no budget.
                if let (Some(i), GatewayError::Provider(p)) = (key, &err) {
                    excluded.push(i);
                    last_auth_error = Some(p.as_ref().clone());
                    continue;
                }
                return Err(err);
            }
            RetryAction::SameKey | RetryAction::RotateKeyWithBackoff => {
                if retries >= route.max_retries {
                    return Err(err);
                }
                if action == RetryAction::SameKey {
                    sticky = key;
                } else if let Some(i) = key {
                    excluded.push(i);
                    // After a full cycle of rate-limited keys, start over (Bifrost resets its used set).
                    if route.keys.select(model, pin, &excluded).is_err() {
                        excluded.clear();
                    }
                }
                let wait = backoff(route.backoff_initial, route.backoff_max, retries);
                retries += 1;
                call.trail.retries(retries);
                tracing::debug!(provider, retries, ?wait, error = %err, "retrying");
                // The backoff sleep does not hold a concurrency slot.
                drop(permit.take());
                crate::timer::sleep(wait).await;
                call.trail.add_wait(wait);
                permit = Some(acquire().await?);
            }
        }
    }
}

/// The client's body with the provider's model name spliced in and `fallbacks` dropped; a body
/// without `model` (Azure deployment routes) gets one inserted.
pub(super) fn upstream_body(call: &Call<'_>, model: &str) -> Bytes {
    let body = json::rewrite(call.body, call.fields, Some(model));
    if call.fields.model_span.is_some() {
        return body;
    }
    let Some(open) = body.iter().position(|b| *b == b'{') else {
        return body;
    };
    let empty = body[open + 1..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_none_or(|b| *b == b'}');
    let mut out = BytesMut::with_capacity(body.len() + model.len() + 12);
    out.append(&body[..=open]);
    out.append(b"\"model\":");
    json::write_json_string(&mut out, model);
    if !empty {
        out.append_byte(b',');
    }
    out.append(&body[open + 1..]);
    out.freeze()
}

/// What one upstream exchange produced, read far enough to decide whether to retry.
enum Exchange {
    /// A complete successful body.
    Body {
        status: u16,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: Bytes,
        /// The provider's body before translation, kept when `send_back_raw_response` is on.
        raw_response: Option<Bytes>,
    },
    /// A successful stream whose first event was read and is not an error.
    Stream(Box<SseRelay>, Vec<(HeaderName, HeaderValue)>),
    /// An error status, or an error event first in a stream.
    Failed(ProviderError),
}

/// Sends one upstream request and reads enough to classify it.
async fn exchange(
    worker: &Worker,
    route: &ProviderRoute,
    call: &Call<'_>,
    key: Option<usize>,
    body: &Bytes,
    codec: Codec,
    model: &str,
) -> Result<Exchange, GatewayError> {
    let endpoint = route.endpoint(key);
    // AWS Bedrock: the model id is part of the path and each request is signed as it is sent.
    let bedrock = match route.spec.format {
        WireFormat::Bedrock => Some(bedrock_request(
            route,
            endpoint,
            key,
            codec.upstream_op(call.op),
            model,
            body,
        )?),
        _ => None,
    };
    // Google Vertex: project, region and model are in the path; the token is fetched (or
    // taken from the key's cache) before the request is sent.
    let vertex = match route.spec.format {
        WireFormat::Vertex => {
            // Boxed: the token fetch's state is large and only Vertex requests need it.
            Some(
                Box::pin(vertex_request(
                    worker, route, endpoint, key, codec, call.op, model,
                ))
                .await?,
            )
        }
        _ => None,
    };
    // Azure: the model's deployment is part of the path.
    let routed = route.request_path(endpoint, codec.upstream_op(call.op), model);
    let path = match (&bedrock, &vertex) {
        (Some(b), _) => b.path.as_str(),
        (None, Some(v)) => v.path.as_str(),
        (None, None) => routed.as_ref(),
    };
    let auth = match &vertex {
        Some(v) => Some(("Authorization", &*v.bearer)),
        None => route.auth_header(key),
    };
    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(4 + route.extra_headers.len());
    headers.push(("Content-Type", "application/json"));
    headers.push((
        "Accept",
        if let Some(b) = &bedrock {
            b.accept
        } else if call.op.is_stream() {
            "text/event-stream"
        } else {
            "application/json"
        },
    ));
    if let Some(h) = auth {
        headers.push(h);
    }
    if let Some(b) = &bedrock {
        for (n, v) in b.headers() {
            headers.push((n, v));
        }
    }
    headers.extend_from_slice(providers::static_headers(route.spec.format));
    if let Some(beta) = call.anthropic_beta
        && route.spec.format == WireFormat::Anthropic
    {
        headers.push(("anthropic-beta", beta));
    }
    for (n, v) in &route.extra_headers {
        headers.push((n.as_str(), v.as_str()));
    }
    for (n, v) in &call.extra_headers {
        headers.push((n, v));
    }
    let req = Request {
        method: "POST",
        path,
        headers: &headers,
        body,
    };
    let started = Instant::now();
    // One deadline for the whole exchange: sending, then reading the answer.
    let deadline = started + route.timeout;
    let mut timer = crate::timer::lease();
    let sent = timer
        .until(deadline, worker.client.send(&endpoint.target, req))
        .await;
    let resp = match sent {
        Err(_) => return Err(GatewayError::Timeout(route.timeout.as_secs())),
        Ok(Err(e)) => return Err(network_error(&e)),
        Ok(Ok(r)) => r,
    };
    if (200..300).contains(&resp.status) {
        return success(route, call, resp, started, timer, codec, model).await;
    }
    let status = resp.status;
    let raw_request = route.send_back_raw_request.then(|| body.clone());
    let headers = forwarded_headers(&resp)
        .into_iter()
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let body = match timer.until(deadline, resp.bytes(MAX_ERROR_BODY)).await {
        Ok(Ok(b)) => b,
        _ => Bytes::new(),
    };
    let mut perr = match &vertex {
        Some(_) => providers::vertex::parse_error(codec.provider(), status, &body),
        None => providers::parse_error(codec.provider(), status, &body),
    };
    perr.headers = headers;
    perr.raw_response = route.send_back_raw_response.then_some(body);
    perr.raw_request = raw_request;
    if let (Some(v), 401 | 403) = (&vertex, status) {
        // A refused token may have been revoked early: the next request fetches a new one.
        v.source.invalidate();
    }
    Ok(Exchange::Failed(perr))
}

/// The path and bearer token of one Vertex request.
struct VertexRequest {
    path: String,
    bearer: std::sync::Arc<str>,
    source: std::sync::Arc<providers::vertex::TokenSource>,
}

/// Builds a Vertex request's path and gets its token (cached per key, fetched when stale).
async fn vertex_request(
    worker: &Worker,
    route: &ProviderRoute,
    endpoint: &Endpoint,
    key: Option<usize>,
    codec: Codec,
    client_op: RequestType,
    model: &str,
) -> Result<VertexRequest, GatewayError> {
    let vk = key
        .and_then(|k| route.vertex_keys.get(k))
        .ok_or_else(|| GatewayError::Internal("vertex request without a key".into()))?;
    // The body was encoded for this publisher's format: the path must agree with it.
    let publisher = match codec.provider() {
        WireFormat::Anthropic => providers::vertex::Publisher::Anthropic,
        _ => providers::vertex::Publisher::Google,
    };
    let op = codec.upstream_op(client_op);
    let path = vk
        .path(&endpoint.base_path, model, publisher, op)
        .ok_or_else(|| GatewayError::Unsupported {
            provider: route.name.clone(),
            request_type: op.as_str(),
        })?;
    let source = vk.auth()?.clone();
    let bearer = source.bearer(&worker.client, route.timeout).await?;
    Ok(VertexRequest {
        path,
        bearer,
        source,
    })
}

/// The path and auth headers of a Bedrock request, signed for the connection's `Host`.
fn bedrock_request(
    route: &ProviderRoute,
    endpoint: &Endpoint,
    key: Option<usize>,
    op: RequestType,
    model: &str,
    body: &Bytes,
) -> Result<providers::bedrock::PreparedRequest, GatewayError> {
    let bk = key
        .and_then(|k| route.bedrock_keys.get(k))
        .ok_or_else(|| GatewayError::Internal("bedrock request without a key".into()))?;
    providers::bedrock::prepare(
        bk,
        &endpoint.base_path,
        endpoint.target.authority(),
        op,
        model,
        body,
        std::time::SystemTime::now(),
    )
}

fn network_error(e: &upstream::UpstreamError) -> GatewayError {
    GatewayError::Network(e.to_string())
}

/// Reads a successful response far enough to know it really succeeded: the whole body, or a
/// stream's first event (an error sent as the first event of a 200 stream is still retryable).
async fn success(
    route: &ProviderRoute,
    call: &Call<'_>,
    resp: Response,
    started: Instant,
    mut timer: PooledTimer,
    codec: Codec,
    model: &str,
) -> Result<Exchange, GatewayError> {
    let mut headers = forwarded_headers(&resp);
    if call.op.is_stream() {
        let content_type = match call.client {
            // AWS SDKs read ConverseStream answers in the AWS event-stream framing.
            ClientFormat::Bedrock => providers::bedrock::EVENT_STREAM_CONTENT_TYPE,
            _ => "text/event-stream",
        };
        headers.push(("content-type".into(), content_type.into()));
        headers.push(("cache-control".into(), "no-cache".into()));
        let mut relay = SseRelay::new(
            resp,
            route.stream_idle_timeout,
            timer,
            call.client,
            codec.stream_translator(call, model),
        );
        if route.spec.format == WireFormat::Bedrock {
            relay.use_event_stream();
        } else if route.send_back_raw_response && call.client == ClientFormat::OpenAi {
            // Only OpenAI-shaped chunks have Bifrost's `extra_fields`.
            relay.echo_raw_response();
        }
        if let Some(perr) = relay.first_event_error(codec.provider()).await {
            return Ok(Exchange::Failed(perr));
        }
        return Ok(Exchange::Stream(Box::new(relay), headers));
    }
    let status = resp.status;
    headers.push((
        "content-type".into(),
        if codec.is_passthrough() {
            content_type(&resp)
        } else {
            "application/json".into()
        },
    ));
    let body = match timer
        .until(started + route.timeout, resp.bytes(MAX_RESPONSE_BODY))
        .await
    {
        Err(_) => return Err(GatewayError::Timeout(route.timeout.as_secs())),
        Ok(Err(e)) => return Err(network_error(&e)),
        Ok(Ok(b)) => b,
    };
    let raw_response = route.send_back_raw_response.then(|| body.clone());
    Ok(Exchange::Body {
        status,
        headers,
        body: codec.response_body(call, body, model)?,
        raw_response,
    })
}

fn content_type(resp: &Response) -> HeaderValue {
    match resp.header("content-type") {
        // The usual answer needs no copy.
        None | Some("application/json") => "application/json".into(),
        Some(v) => v.to_owned().into(),
    }
}

/// Provider headers worth passing to the client (rate limits, request ids), minus hop-by-hop
/// and framing headers that the gateway writes itself.
fn forwarded_headers(resp: &Response) -> Vec<(HeaderName, HeaderValue)> {
    const SKIP: &[&str] = &[
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-type",
        "content-encoding",
        "date",
        "server",
        "set-cookie",
        "upgrade",
        "proxy-authenticate",
        "trailer",
        "te",
        "alt-svc",
    ];
    resp.headers()
        .iter()
        .filter(|(n, _)| !SKIP.iter().any(|s| crate::http::same_name(n, s)))
        .map(|(n, v)| {
            (
                HeaderName::Owned(n.to_ascii_lowercase()),
                v.to_owned().into(),
            )
        })
        .collect()
}

/// The raw upstream exchange echoed in `extra_fields` (`send_back_raw_request/response`).
#[derive(Clone, Copy, Default)]
struct Raw<'a> {
    request: Option<&'a [u8]>,
    response: Option<&'a [u8]>,
}

/// Writes `raw` as a JSON value when it is JSON, else as a string.
pub(super) fn put_raw(out: &mut BytesMut, raw: &[u8]) {
    let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(raw).is_ok();
    if is_json {
        out.append(raw);
    } else {
        json::write_json_string(out, &String::from_utf8_lossy(raw));
    }
}

/// Adds Bifrost's `extra_fields` (provider, model, request type, latency, and the raw exchange
/// when configured) to a JSON object body.
fn with_extra_fields(body: Bytes, ctx: &ErrorContext, latency_ms: u64, raw: Raw<'_>) -> Bytes {
    let end = match body.iter().rposition(|b| !b.is_ascii_whitespace()) {
        Some(i) if body[i] == b'}' => i,
        _ => return body,
    };
    let Some(start) = body.iter().position(|b| !b.is_ascii_whitespace()) else {
        return body;
    };
    if body[start] != b'{' {
        return body;
    }
    let empty = body[start + 1..end].iter().all(|b| b.is_ascii_whitespace());
    let mut out = BytesMut::with_capacity(body.len() + 160);
    out.append(&body[..end]);
    if !empty {
        out.append_byte(b',');
    }
    // Written by hand: this runs on every non-stream response.
    out.append(b"\"extra_fields\":{");
    let mut first = true;
    for (name, value) in [
        ("provider", ctx.provider.as_deref()),
        ("model_requested", ctx.model_requested.as_deref()),
        ("request_type", ctx.request_type),
    ] {
        if let Some(v) = value {
            if !first {
                out.append_byte(b',');
            }
            first = false;
            out.append_byte(b'"');
            out.append(name.as_bytes());
            out.append(b"\":");
            json::write_json_string(&mut out, v);
        }
    }
    if !first {
        out.append_byte(b',');
    }
    out.append(b"\"latency\":");
    crate::http::put_decimal(&mut out, latency_ms);
    if let Some(r) = raw.request {
        out.append(b",\"raw_request\":");
        put_raw(&mut out, r);
    }
    if let Some(r) = raw.response {
        out.append(b",\"raw_response\":");
        put_raw(&mut out, r);
    }
    out.append_byte(b'}');
    out.append(&body[end..]);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ErrorContext {
        ErrorContext {
            provider: Some("openai".into()),
            model_requested: Some("gpt-4o".into()),
            request_type: Some("chat_completion"),
        }
    }

    #[test]
    fn extra_fields_spliced_into_object() {
        let out = with_extra_fields(
            Bytes::from_static(b"{\"id\":\"x\"}\n"),
            &ctx(),
            12,
            Raw::default(),
        );
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["id"], "x");
        assert_eq!(v["extra_fields"]["provider"], "openai");
        assert_eq!(v["extra_fields"]["latency"], 12);
        let empty = with_extra_fields(Bytes::from_static(b"{ }"), &ctx(), 1, Raw::default());
        let v: serde_json::Value = serde_json::from_slice(&empty).expect("json");
        assert_eq!(v["extra_fields"]["model_requested"], "gpt-4o");
        let arr = with_extra_fields(Bytes::from_static(b"[1]"), &ctx(), 1, Raw::default());
        assert_eq!(&arr[..], b"[1]");
        let raw = Raw {
            request: Some(br#"{"model":"m"}"#),
            response: Some(b"not json"),
        };
        let with_raw = with_extra_fields(Bytes::from_static(b"{\"a\":1}"), &ctx(), 1, raw);
        let v: serde_json::Value = serde_json::from_slice(&with_raw).expect("json");
        assert_eq!(v["extra_fields"]["raw_request"]["model"], "m");
        assert_eq!(v["extra_fields"]["raw_response"], "not json");
    }
}
