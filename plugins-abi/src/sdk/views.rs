//! Safe, borrowed views of what the host passes to hooks.
//!
//! Every view borrows host memory for the duration of the hook: copy what you keep. Strings the
//! host passes are UTF-8; a string that is not (which a conforming host never sends) reads as "".

use crate::abi::{
    RW_FLAG_ERROR, RW_FLAG_STREAM, RwBytes, RwHeader, RwHttpRequest, RwHttpResponse, RwLlmRequest,
    RwLlmResponse, RwStr, RwStreamChunk,
};

/// Reads a host string as `&str` ("" if malformed).
fn text<'a>(s: RwStr) -> &'a str {
    // SAFETY: the host keeps the string alive for the call, which outlives the view.
    unsafe { s.to_str() }.unwrap_or("")
}

/// Reads host bytes ("" if malformed).
fn bytes<'a>(b: RwBytes) -> &'a [u8] {
    // SAFETY: as in `text`.
    unsafe { b.as_slice() }.unwrap_or(&[])
}

/// The header fields of a view.
fn header_slice<'a>(ptr: *const RwHeader, len: usize) -> &'a [RwHeader] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: the host passes `len` valid entries, alive for the call.
    unsafe { core::slice::from_raw_parts(ptr, len) }
}

/// Header fields as `(name, value)` pairs, in order.
#[derive(Clone, Copy)]
pub struct Headers<'a>(&'a [RwHeader]);

impl<'a> Headers<'a> {
    /// All fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0.iter().map(|h| (text(h.name), text(h.value)))
    }

    /// The first value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The plugin's JSON config, borrowed for `Plugin::new`.
#[derive(Clone, Copy)]
pub struct Config<'a>(&'a [u8]);

impl<'a> Config<'a> {
    /// Wraps the host's config bytes.
    pub(crate) fn new(raw: RwBytes) -> Self {
        Config(bytes(raw))
    }

    /// The raw JSON (`null` when the plugin entry had no `config`).
    pub fn json(&self) -> &'a [u8] {
        self.0
    }

    /// The JSON as text.
    pub fn as_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.0).ok()
    }
}

/// An HTTP request (`http_pre`, `http_post`).
#[derive(Clone, Copy)]
pub struct HttpRequest<'a>(&'a RwHttpRequest);

impl<'a> HttpRequest<'a> {
    /// Wraps the host's request.
    #[inline]
    pub(crate) fn new(raw: &'a RwHttpRequest) -> Self {
        HttpRequest(raw)
    }

    /// Method token, e.g. `POST`.
    pub fn method(&self) -> &'a str {
        text(self.0.method)
    }

    /// Path, without the query.
    pub fn path(&self) -> &'a str {
        text(self.0.path)
    }

    /// Query string (empty if none).
    pub fn query(&self) -> &'a str {
        text(self.0.query)
    }

    /// Header fields.
    pub fn headers(&self) -> Headers<'a> {
        Headers(header_slice(self.0.headers, self.0.headers_len))
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers().get(name)
    }

    /// The body.
    pub fn body(&self) -> &'a [u8] {
        bytes(self.0.body)
    }
}

/// An HTTP response (`http_post`).
#[derive(Clone, Copy)]
pub struct HttpResponse<'a>(&'a RwHttpResponse);

impl<'a> HttpResponse<'a> {
    /// Wraps the host's response.
    #[inline]
    pub(crate) fn new(raw: &'a RwHttpResponse) -> Self {
        HttpResponse(raw)
    }

    /// Status code.
    pub fn status(&self) -> u16 {
        u16::try_from(self.0.status).unwrap_or(500)
    }

    /// Whether the body is an event stream (then [`HttpResponse::body`] is empty).
    pub fn is_stream(&self) -> bool {
        self.0.flags & RW_FLAG_STREAM != 0
    }

    /// Header fields.
    pub fn headers(&self) -> Headers<'a> {
        Headers(header_slice(self.0.headers, self.0.headers_len))
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers().get(name)
    }

    /// The body.
    pub fn body(&self) -> &'a [u8] {
        bytes(self.0.body)
    }
}

/// An inference request (`pre_llm`).
#[derive(Clone, Copy)]
pub struct LlmRequest<'a>(&'a RwLlmRequest);

impl<'a> LlmRequest<'a> {
    /// Wraps the host's request.
    #[inline]
    pub(crate) fn new(raw: &'a RwLlmRequest) -> Self {
        LlmRequest(raw)
    }

    /// Bifrost's request type, e.g. `chat_completion`.
    pub fn request_type(&self) -> &'a str {
        text(self.0.request_type)
    }

    /// Provider the request is routed to.
    pub fn provider(&self) -> &'a str {
        text(self.0.provider)
    }

    /// Model, without the provider prefix.
    pub fn model(&self) -> &'a str {
        text(self.0.model)
    }

    /// Whether the client asked for a stream.
    pub fn is_stream(&self) -> bool {
        self.0.flags & RW_FLAG_STREAM != 0
    }

    /// The client's header fields.
    pub fn headers(&self) -> Headers<'a> {
        Headers(header_slice(self.0.headers, self.0.headers_len))
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers().get(name)
    }

    /// The JSON body.
    pub fn body(&self) -> &'a [u8] {
        bytes(self.0.body)
    }
}

/// An inference response or error (`post_llm`).
#[derive(Clone, Copy)]
pub struct LlmResponse<'a>(&'a RwLlmResponse);

impl<'a> LlmResponse<'a> {
    /// Wraps the host's response.
    #[inline]
    pub(crate) fn new(raw: &'a RwLlmResponse) -> Self {
        LlmResponse(raw)
    }

    /// Status code.
    pub fn status(&self) -> u16 {
        u16::try_from(self.0.status).unwrap_or(500)
    }

    /// Whether this is an error (the body is Bifrost's error JSON).
    pub fn is_error(&self) -> bool {
        self.0.flags & RW_FLAG_ERROR != 0
    }

    /// Whether the body is an event stream (then [`LlmResponse::body`] is empty).
    pub fn is_stream(&self) -> bool {
        self.0.flags & RW_FLAG_STREAM != 0
    }

    /// Bifrost's request type.
    pub fn request_type(&self) -> &'a str {
        text(self.0.request_type)
    }

    /// Provider that served (or failed) the request.
    pub fn provider(&self) -> &'a str {
        text(self.0.provider)
    }

    /// Model, without the provider prefix.
    pub fn model(&self) -> &'a str {
        text(self.0.model)
    }

    /// Response header fields.
    pub fn headers(&self) -> Headers<'a> {
        Headers(header_slice(self.0.headers, self.0.headers_len))
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers().get(name)
    }

    /// The body.
    pub fn body(&self) -> &'a [u8] {
        bytes(self.0.body)
    }
}

/// One server-sent event of a stream (`stream_chunk`).
#[derive(Clone, Copy)]
pub struct StreamChunk<'a>(&'a RwStreamChunk);

impl<'a> StreamChunk<'a> {
    /// Wraps the host's chunk.
    #[inline]
    pub(crate) fn new(raw: &'a RwStreamChunk) -> Self {
        StreamChunk(raw)
    }

    /// The whole event, framing included.
    pub fn event(&self) -> &'a [u8] {
        bytes(self.0.event)
    }

    /// The value of the event's first `data:` line (without the optional space after the colon).
    pub fn data(&self) -> Option<&'a [u8]> {
        let event = self.event();
        event
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .find_map(|l| l.strip_prefix(b"data:"))
            .map(|v| v.strip_prefix(b" ").unwrap_or(v))
    }
}
