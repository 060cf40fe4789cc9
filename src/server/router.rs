//! Routes a parsed request to its handler.

use bytes::Bytes;

use super::reply::Reply;
use super::worker::Worker;
use crate::error::{ErrorContext, GatewayError, RequestType};
use crate::http::head::{Method, RequestHead};
use crate::inference;

/// Dispatches one request and returns its reply.
pub async fn route(worker: &Worker, head: &RequestHead, body: Bytes) -> Reply {
    let path = head.path.as_str();
    let op = match path {
        "/health" => {
            return match head.method {
                Method::Get | Method::Head => Reply::json(200, &br#"{"status":"ok"}"#[..]),
                _ => method_not_allowed(path),
            };
        }
        "/v1/chat/completions" => InferenceRoute::Post(RequestType::ChatCompletion),
        "/v1/completions" => InferenceRoute::Post(RequestType::TextCompletion),
        "/v1/embeddings" => InferenceRoute::Post(RequestType::Embedding),
        "/v1/models" => InferenceRoute::Get,
        _ => {
            return Reply::error(
                &GatewayError::RouteNotFound(path.to_string()),
                &ErrorContext::default(),
            );
        }
    };
    match (op, head.method) {
        (InferenceRoute::Post(op), Method::Post) => inference::handle(worker, op, head, body).await,
        (InferenceRoute::Get, Method::Get) => {
            inference::models::list(worker, head.query.as_deref()).await
        }
        _ => method_not_allowed(path),
    }
}

#[derive(Clone, Copy)]
enum InferenceRoute {
    Post(RequestType),
    Get,
}

fn method_not_allowed(path: &str) -> Reply {
    let mut r = Reply::error(
        &GatewayError::BadRequest(format!("method not allowed on {path}")),
        &ErrorContext::default(),
    );
    r.status = 405;
    r
}
