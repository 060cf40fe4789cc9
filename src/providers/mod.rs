//! Providers: the table of known providers and one module per wire format.

pub mod anthropic;
pub mod catalog;
pub mod openai;
pub mod unified;

use crate::error::RequestType;
use catalog::WireFormat;

/// The path of `op` below a provider's versioned base, or `None` when the format has no such
/// operation (the request is refused as unsupported).
pub fn operation_path(format: WireFormat, op: RequestType) -> Option<&'static str> {
    match format {
        WireFormat::OpenAi => Some(openai::operation_path(op)),
        WireFormat::Anthropic => match op {
            RequestType::ChatCompletion | RequestType::ChatCompletionStream => Some("/messages"),
            RequestType::ListModels => Some("/models"),
            _ => None,
        },
        _ => None,
    }
}

/// Headers a format sends on every request besides the key.
pub fn static_headers(format: WireFormat) -> &'static [(&'static str, &'static str)] {
    match format {
        WireFormat::Anthropic => &[("anthropic-version", anthropic::API_VERSION)],
        _ => &[],
    }
}

/// Normalises a provider's error body into a [`crate::error::ProviderError`].
pub fn parse_error(format: WireFormat, status: u16, body: &[u8]) -> crate::error::ProviderError {
    match format {
        WireFormat::Anthropic => anthropic::parse_error(status, body),
        _ => openai::parse_error(status, body),
    }
}
