//! The host side of the callbacks: the table plugins call, and the per-call state it fills.
//!
//! A hook call gets a pointer to an [`OutState`] (as the opaque `RwOut`). Each callback
//! validates and copies its arguments into it; nothing is kept pointing into plugin memory.
//! The state starts empty and allocates nothing until a plugin edits something, so a hook that
//! changes nothing costs no allocation. Callbacks never unwind into the plugin.

use std::panic::{AssertUnwindSafe, catch_unwind};

use bytes::Bytes;
use ringway_plugins_abi::abi::{
    RW_ABI_MAJOR, RW_ABI_MINOR, RW_INVALID, RW_LOG_DEBUG, RW_LOG_ERROR, RW_LOG_INFO, RW_LOG_WARN,
    RW_OK, RwBytes, RwHostApi, RwOut, RwStr, size_u32,
};

/// Headers a plugin may not set: the connection loop writes framing itself, and a second
/// `content-length` or a `transfer-encoding` would corrupt the response.
const FRAMING_HEADERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
];

/// One header change: set (replacing every field of that name) or remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderEdit {
    /// Lower-cased field name.
    pub name: String,
    /// New value, or `None` to remove.
    pub value: Option<String>,
}

/// The error given to `set_error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorParts {
    pub status: u16,
    pub kind: Option<String>,
    pub code: Option<String>,
    pub message: String,
}

/// What a plugin produced during one call.
pub(crate) struct OutState<'a> {
    /// The plugin's name, for log attribution.
    pub plugin: &'a str,
    /// Whether any callback was used since the last [`OutState::clear`].
    pub touched: bool,
    pub status: Option<u16>,
    pub headers: Vec<HeaderEdit>,
    pub body: Option<Bytes>,
    pub error: Option<ErrorParts>,
    pub chunks: Vec<Bytes>,
}

impl<'a> OutState<'a> {
    /// An empty state (no allocation).
    #[inline]
    pub fn new(plugin: &'a str) -> Self {
        OutState {
            plugin,
            touched: false,
            status: None,
            headers: Vec::new(),
            body: None,
            error: None,
            chunks: Vec::new(),
        }
    }

    /// Forgets everything, keeping allocations for the next plugin.
    #[inline]
    pub fn clear(&mut self) {
        if self.touched {
            self.touched = false;
            self.status = None;
            self.headers.clear();
            self.body = None;
            self.error = None;
            self.chunks.clear();
        }
    }

    /// The handle passed to the plugin.
    #[inline]
    pub fn as_out(&mut self) -> *mut RwOut {
        (self as *mut OutState<'a>).cast()
    }
}

/// The table every plugin gets; lives for the whole process.
pub(crate) static HOST_API: RwHostApi = RwHostApi {
    size: size_u32::<RwHostApi>(),
    abi_major: RW_ABI_MAJOR,
    abi_minor: RW_ABI_MINOR,
    log: host_log,
    set_status: host_set_status,
    set_header: host_set_header,
    remove_header: host_remove_header,
    set_body: host_set_body,
    set_error: host_set_error,
    push_chunk: host_push_chunk,
};

/// Runs a callback body on the state behind `out`; `RW_INVALID` if `out` is null or the body
/// panicked (it should not: the catch only guarantees nothing unwinds into the plugin).
fn with_state(out: *mut RwOut, f: impl FnOnce(&mut OutState<'_>) -> u32) -> u32 {
    // SAFETY: the host passes plugins a pointer to a live `OutState` for the duration of the
    // call, and plugins may only use it during that call; no other reference to the state is
    // used while the plugin runs.
    let Some(state) = (unsafe { out.cast::<OutState<'_>>().as_mut() }) else {
        return RW_INVALID;
    };
    catch_unwind(AssertUnwindSafe(|| {
        state.touched = true;
        f(state)
    }))
    .unwrap_or(RW_INVALID)
}

/// Whether `name` is an RFC 9110 token.
pub(crate) fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `value` can be written as a field value (no CR, LF or NUL; no surrounding blanks
/// problem since we trim nothing).
fn is_field_value(value: &str) -> bool {
    !value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

unsafe extern "C" fn host_log(out: *mut RwOut, level: u32, msg: RwStr) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: see `with_state`; a null `out` (logging outside a call) is allowed.
        let plugin = unsafe { out.cast::<OutState<'_>>().as_ref() }.map_or("?", |s| s.plugin);
        // SAFETY: the plugin passes a string valid for the call.
        let text = unsafe { msg.as_bytes() };
        let text = String::from_utf8_lossy(text);
        match level {
            RW_LOG_ERROR => tracing::error!(plugin, "{text}"),
            RW_LOG_WARN => tracing::warn!(plugin, "{text}"),
            RW_LOG_INFO => tracing::info!(plugin, "{text}"),
            RW_LOG_DEBUG => tracing::debug!(plugin, "{text}"),
            _ => tracing::trace!(plugin, "{text}"),
        }
    }));
}

unsafe extern "C" fn host_set_status(out: *mut RwOut, status: u32) -> u32 {
    with_state(out, |s| match u16::try_from(status) {
        Ok(st @ 200..=599) => {
            s.status = Some(st);
            RW_OK
        }
        _ => RW_INVALID,
    })
}

unsafe extern "C" fn host_set_header(out: *mut RwOut, name: RwStr, value: RwStr) -> u32 {
    with_state(out, |s| {
        // SAFETY: the plugin passes strings valid for the call.
        let (Some(name), Some(value)) = (unsafe { name.to_str() }, unsafe { value.to_str() })
        else {
            return RW_INVALID;
        };
        if !is_token(name)
            || !is_field_value(value)
            || FRAMING_HEADERS.iter().any(|f| f.eq_ignore_ascii_case(name))
        {
            return RW_INVALID;
        }
        let name = name.to_ascii_lowercase();
        s.headers.retain(|e| e.name != name);
        s.headers.push(HeaderEdit {
            name,
            value: Some(value.to_string()),
        });
        RW_OK
    })
}

unsafe extern "C" fn host_remove_header(out: *mut RwOut, name: RwStr) -> u32 {
    with_state(out, |s| {
        // SAFETY: the plugin passes a string valid for the call.
        let Some(name) = (unsafe { name.to_str() }) else {
            return RW_INVALID;
        };
        if !is_token(name) || FRAMING_HEADERS.iter().any(|f| f.eq_ignore_ascii_case(name)) {
            return RW_INVALID;
        }
        let name = name.to_ascii_lowercase();
        s.headers.retain(|e| e.name != name);
        s.headers.push(HeaderEdit { name, value: None });
        RW_OK
    })
}

unsafe extern "C" fn host_set_body(out: *mut RwOut, body: RwBytes) -> u32 {
    with_state(out, |s| {
        // SAFETY: the plugin passes bytes valid for the call.
        let Some(body) = (unsafe { body.as_slice() }) else {
            return RW_INVALID;
        };
        s.body = Some(Bytes::copy_from_slice(body));
        RW_OK
    })
}

unsafe extern "C" fn host_set_error(
    out: *mut RwOut,
    status: u32,
    kind: RwStr,
    code: RwStr,
    message: RwStr,
) -> u32 {
    with_state(out, |s| {
        // SAFETY: the plugin passes strings valid for the call.
        let text = |x: RwStr| String::from_utf8_lossy(unsafe { x.as_bytes() }).into_owned();
        let opt = |x: RwStr| Some(text(x)).filter(|t| !t.is_empty());
        let status = u16::try_from(status)
            .ok()
            .filter(|st| (400..=599).contains(st))
            .unwrap_or(500);
        s.error = Some(ErrorParts {
            status,
            kind: opt(kind),
            code: opt(code),
            message: text(message),
        });
        RW_OK
    })
}

unsafe extern "C" fn host_push_chunk(out: *mut RwOut, event: RwBytes) -> u32 {
    with_state(out, |s| {
        // SAFETY: the plugin passes bytes valid for the call.
        let Some(event) = (unsafe { event.as_slice() }) else {
            return RW_INVALID;
        };
        s.chunks.push(Bytes::copy_from_slice(event));
        RW_OK
    })
}
