//! Server-Sent Events: framing a provider's stream into events, and reading their fields.
//!
//! The relay pushes upstream bytes into an [`SseFramer`] as they arrive and writes each complete
//! event to the client as soon as it is framed, byte for byte (one event per write). Events are
//! split off the framer's buffer without copying. [`event_data`], [`event_name`] and [`is_done`]
//! read an event's fields per the WHATWG SSE parsing rules (lines end in CRLF, LF or CR).

mod event;
mod framer;

pub use event::{event_data, event_name, is_done};
pub use framer::{MAX_EVENT_BYTES, SseError, SseFramer};
