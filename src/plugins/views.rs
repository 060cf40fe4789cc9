//! What callers hand the hook chain (borrowed views) and what they get back (outcomes).

use std::borrow::Cow;

use bytes::Bytes;

use super::host_api::{ErrorParts, HeaderEdit};
use super::render;
use crate::error::ErrorContext;
use crate::http::head::Headers;
use crate::server::reply::{HeaderName, HeaderValue, Reply, ReplyBody};

/// Anything that lists header fields as `(name, value)` pairs, borrowed.
pub trait HeaderPairs {
    /// The fields, in order.
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)>;
}

impl HeaderPairs for Headers {
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.iter()
    }
}

impl HeaderPairs for [(&str, &str)] {
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.iter().map(|&(n, v)| (n, v))
    }
}

impl HeaderPairs for [(String, String)] {
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

impl HeaderPairs for Vec<(String, String)> {
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.as_slice().pairs()
    }
}

impl HeaderPairs for [(HeaderName, HeaderValue)] {
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }
}

/// An HTTP request as the transport hooks see it (all borrowed).
pub struct HttpRequestView<'a, H: HeaderPairs + ?Sized> {
    /// Method token.
    pub method: &'a str,
    /// Path without the query.
    pub path: &'a str,
    /// Query string (empty if none).
    pub query: &'a str,
    /// Header fields.
    pub headers: &'a H,
    /// Body.
    pub body: &'a [u8],
}

/// An inference request as the pre-LLM hooks see it (all borrowed).
pub struct LlmRequestView<'a, H: HeaderPairs + ?Sized> {
    /// Bifrost's request type (`RequestType::as_str`).
    pub request_type: &'a str,
    /// Provider the request is routed to.
    pub provider: &'a str,
    /// Model, without the provider prefix.
    pub model: &'a str,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// The client's header fields.
    pub headers: &'a H,
    /// The JSON body.
    pub body: &'a Bytes,
}

/// Changes the HTTP pre-hooks made to the request (`None`: unchanged, nothing allocated).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RequestEdits {
    /// The complete new header list, when a plugin changed headers.
    pub headers: Option<Vec<(String, String)>>,
    /// The new body, when a plugin replaced it.
    pub body: Option<Bytes>,
}

/// What the HTTP transport pre-hooks decided.
pub enum HttpPreOutcome {
    /// Serve the request (with these edits applied).
    Continue(RequestEdits),
    /// A plugin answered the request itself: send this reply (after the post-hooks).
    Respond(Reply),
    /// A plugin refused the request.
    Reject(PluginReject),
}

/// What the pre-LLM hooks decided.
pub enum PreLlmOutcome {
    /// Call the provider, with this body when a plugin replaced it (read the fields again).
    Continue {
        /// The replaced body.
        body: Option<Bytes>,
    },
    /// Short-circuit: send this reply, the provider is not called.
    Respond(Reply),
    /// Short-circuit with an error.
    Reject(PluginReject),
    /// Short-circuit with a stream of events.
    Stream(PluginStream),
}

/// What the stream hooks decided for one event.
#[derive(Debug, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// Send the event unchanged.
    Send,
    /// Send this event instead.
    Replace(Bytes),
    /// Drop the event.
    Skip,
    /// Send this error event, then end the stream.
    End(Bytes),
}

/// A deliberate refusal by a plugin (`RW_REJECT`), e.g. a 403 from a policy plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginReject {
    /// The plugin's name.
    pub plugin: String,
    /// HTTP status (400..=599).
    pub status: u16,
    /// `error.type` (and top-level `type`).
    pub kind: Option<String>,
    /// `error.code`.
    pub code: Option<String>,
    /// `error.message`.
    pub message: String,
}

impl PluginReject {
    pub(crate) fn from_parts(plugin: &str, parts: Option<ErrorParts>) -> Self {
        let parts = parts.unwrap_or_else(|| ErrorParts {
            status: 500,
            kind: None,
            code: None,
            message: format!("request rejected by plugin {plugin}"),
        });
        PluginReject {
            plugin: plugin.to_string(),
            status: parts.status,
            kind: parts.kind,
            code: parts.code,
            message: parts.message,
        }
    }

    /// Bifrost's error JSON: `is_bifrost_error: false`, as Bifrost plugins' own errors are.
    pub fn to_bifrost(&self, ctx: &ErrorContext) -> Bytes {
        render::error_json(
            false,
            self.status,
            self.kind.as_deref(),
            self.code.as_deref(),
            &self.message,
            ctx,
        )
    }

    /// The refusal as a JSON reply.
    pub fn reply(&self, ctx: &ErrorContext) -> Reply {
        Reply::json(self.status, self.to_bifrost(ctx))
    }
}

/// A stream a pre-LLM hook answered with: write the head, then each event as it is.
#[derive(Debug)]
pub struct PluginStream {
    /// HTTP status (200 unless the plugin set one).
    pub status: u16,
    /// Headers (`content-type: text/event-stream` and `cache-control: no-cache` unless set).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Complete SSE events, framing included (the plugin sends its own `data: [DONE]`).
    pub events: Vec<Bytes>,
}

/// Applies header edits to a header list (names compared case-insensitively).
pub(crate) fn apply_header_edits(
    headers: &mut Vec<(HeaderName, HeaderValue)>,
    edits: &[HeaderEdit],
) {
    for edit in edits {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&edit.name));
        if let Some(v) = &edit.value {
            headers.push((Cow::Owned(edit.name.clone()), v.clone().into()));
        }
    }
}

/// Applies header edits to an owned request header list.
pub(crate) fn apply_request_header_edits(
    headers: &mut Vec<(String, String)>,
    edits: &[HeaderEdit],
) {
    for edit in edits {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&edit.name));
        if let Some(v) = &edit.value {
            headers.push((edit.name.clone(), v.clone()));
        }
    }
}

/// Builds a reply from a plugin's edits: status (default 200), headers (JSON content type
/// unless set), body (default empty).
pub(crate) fn reply_from(
    status: Option<u16>,
    edits: &[HeaderEdit],
    body: Option<Bytes>,
    default_headers: &[(&'static str, &'static str)],
) -> (u16, Vec<(HeaderName, HeaderValue)>, ReplyBody) {
    let mut headers: Vec<(HeaderName, HeaderValue)> = default_headers
        .iter()
        .map(|&(n, v)| (Cow::Borrowed(n), Cow::Borrowed(v)))
        .collect();
    apply_header_edits(&mut headers, edits);
    (
        status.unwrap_or(200),
        headers,
        ReplyBody::Full(body.unwrap_or_default()),
    )
}
