//! The C ABI itself: `#[repr(C)]` types, constants and function-pointer tables, nothing else.
//!
//! `include/ringway_plugin.h` is the C spelling of this module; a test compiles the header
//! against the sizes and offsets computed here, so the two cannot drift apart.
//!
//! # Rules every type follows
//!
//! - **Versioning.** The plugin exports one symbol, [`RW_ENTRY_SYMBOL`], returning a
//!   [`RwPluginDescriptor`]. Its `abi_major` must equal the host's; the minor may differ. Structs
//!   that cross the boundary start with a `size` field: new fields are only ever appended (in a
//!   new minor), so a reader compares `size` with the end of a field before touching it. A
//!   function pointer beyond the `size` a plugin declared, or null, means "not implemented".
//! - **Ownership.** Everything the host passes is *borrowed for the duration of the call*: the
//!   plugin must copy what it wants to keep. The plugin never hands memory it owns to the host:
//!   it calls the host callbacks in [`RwHostApi`], and the host copies the data before the
//!   callback returns. Nobody frees memory allocated by the other side.
//! - **Strings.** [`RwStr`] is UTF-8 and not NUL-terminated; [`RwBytes`] is arbitrary bytes. A
//!   null pointer is allowed only with length 0.
//! - **Threads.** `config_new` runs on a control thread. `instance_new` runs on each worker
//!   thread (so several at once, all reading the same config state), and every hook of an
//!   instance, as well as its `instance_free`, runs on the thread that created it, never
//!   concurrently. `config_free` runs once, after every instance was freed, on whichever thread
//!   releases the plugin last (possibly a worker): keep it short. Hooks must not block: a worker
//!   serves thousands of connections.
//! - **Unwinding.** Nothing may unwind across this boundary (Rust aborts the process if it does).
//!   The Rust SDK catches panics in every function it exports and returns [`RW_FAIL`].

use core::ffi::c_void;
use core::marker::{PhantomData, PhantomPinned};

/// ABI major version: a plugin whose major differs is refused.
pub const RW_ABI_MAJOR: u16 = 1;
/// ABI minor version: grows when fields or functions are appended; any minor loads.
pub const RW_ABI_MINOR: u16 = 0;
/// Name of the one symbol a plugin exports, of type [`RwEntryFn`].
pub const RW_ENTRY_SYMBOL: &str = "ringway_plugin_entry";

/// Hook result: go on (applying any edits made through the callbacks).
pub const RW_CONTINUE: u32 = 0;
/// Hook result: answer with the response built through the callbacks (short-circuit in pre hooks,
/// replace the response in post hooks).
pub const RW_RESPOND: u32 = 1;
/// Hook result: answer with the error given to `set_error` (a deliberate refusal, e.g. 403).
pub const RW_REJECT: u32 = 2;
/// Hook result (`pre_llm` only): answer with the stream of events given to `push_chunk`.
pub const RW_STREAM: u32 = 3;
/// Hook result (`stream_chunk` only): drop this event.
pub const RW_SKIP: u32 = 4;
/// Hook result: the plugin itself failed (message via `set_error`). The host answers 500,
/// disables this instance on this core and counts the failure. Any unknown value means the same.
pub const RW_FAIL: u32 = 5;

/// Callback result: accepted.
pub const RW_OK: u32 = 0;
/// Callback result: refused because an argument is invalid (bad header name, CR/LF in a value,
/// status out of range, null pointer with a length, a framing header, not UTF-8).
pub const RW_INVALID: u32 = 1;

/// Flag: the request or response is an SSE stream (the body is then empty; events go through
/// `stream_chunk`).
pub const RW_FLAG_STREAM: u32 = 1;
/// Flag ([`RwLlmResponse`]): the response is an error (the body is Bifrost's error JSON).
pub const RW_FLAG_ERROR: u32 = 2;

/// Log level for [`RwHostApi::log`]: error.
pub const RW_LOG_ERROR: u32 = 0;
/// Log level: warning.
pub const RW_LOG_WARN: u32 = 1;
/// Log level: information.
pub const RW_LOG_INFO: u32 = 2;
/// Log level: debug.
pub const RW_LOG_DEBUG: u32 = 3;

/// A borrowed UTF-8 string (not NUL-terminated). Owned by whoever passes it; valid for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RwStr {
    /// First byte; may be null when `len` is 0.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

/// A borrowed byte string. Owned by whoever passes it; valid for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RwBytes {
    /// First byte; may be null when `len` is 0.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

/// One header field. Both strings are borrowed from the host for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RwHeader {
    /// Field name, as the client spelled it (compare case-insensitively).
    pub name: RwStr,
    /// Field value.
    pub value: RwStr,
}

/// The host's per-call output state, opaque to plugins: passed back to every callback.
/// Owned by the host; valid only during the call it was passed to.
#[repr(C)]
pub struct RwOut {
    _opaque: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// Per-call facts shared by all hooks. Owned by the host; borrowed for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RwCall {
    /// `sizeof(RwCall)` as the host knows it.
    pub size: u32,
    /// Index of the worker (core) running the call.
    pub core: u32,
    /// Identifies the request across its hooks (unique per process lifetime).
    pub request_id: u64,
    /// This plugin's per-request word: 0 when the request starts, kept across all its hooks
    /// (e.g. to carry a value from `pre_llm` to `post_llm`). If a plugin stores a pointer here,
    /// it must free it in a post hook; post hooks run for every plugin whose pre hook ran.
    pub slot: *mut u64,
}

/// An HTTP request, for `http_pre` and `http_post`. Everything is borrowed for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RwHttpRequest {
    /// `sizeof(RwHttpRequest)` as the host knows it.
    pub size: u32,
    /// Reserved, 0.
    pub flags: u32,
    /// Method token, e.g. `POST`.
    pub method: RwStr,
    /// Path, without the query.
    pub path: RwStr,
    /// Query string after `?` (empty if none).
    pub query: RwStr,
    /// Header fields in arrival order.
    pub headers: *const RwHeader,
    /// Number of entries in `headers`.
    pub headers_len: usize,
    /// Request body (as modified by earlier plugins).
    pub body: RwBytes,
}

/// An HTTP response, for `http_post`. Everything is borrowed for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RwHttpResponse {
    /// `sizeof(RwHttpResponse)` as the host knows it.
    pub size: u32,
    /// HTTP status code.
    pub status: u32,
    /// [`RW_FLAG_STREAM`] when the body is an event stream (then `body` is empty).
    pub flags: u32,
    /// Reserved, 0.
    pub reserved: u32,
    /// Header fields (framing headers such as `content-length` are not included).
    pub headers: *const RwHeader,
    /// Number of entries in `headers`.
    pub headers_len: usize,
    /// Response body.
    pub body: RwBytes,
}

/// An inference request, for `pre_llm`. Everything is borrowed for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RwLlmRequest {
    /// `sizeof(RwLlmRequest)` as the host knows it.
    pub size: u32,
    /// [`RW_FLAG_STREAM`] when the client asked for a stream.
    pub flags: u32,
    /// Bifrost's request type, e.g. `chat_completion`, `chat_completion_stream`, `embedding`.
    pub request_type: RwStr,
    /// Provider the request is routed to (e.g. `openai`).
    pub provider: RwStr,
    /// Model, without the provider prefix.
    pub model: RwStr,
    /// The client's header fields.
    pub headers: *const RwHeader,
    /// Number of entries in `headers`.
    pub headers_len: usize,
    /// JSON body (OpenAI-shaped), as modified by earlier plugins.
    pub body: RwBytes,
}

/// An inference response or error, for `post_llm`. Everything is borrowed for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RwLlmResponse {
    /// `sizeof(RwLlmResponse)` as the host knows it.
    pub size: u32,
    /// HTTP status code.
    pub status: u32,
    /// [`RW_FLAG_STREAM`] and/or [`RW_FLAG_ERROR`].
    pub flags: u32,
    /// Reserved, 0.
    pub reserved: u32,
    /// Bifrost's request type.
    pub request_type: RwStr,
    /// Provider that served (or failed) the request.
    pub provider: RwStr,
    /// Model, without the provider prefix.
    pub model: RwStr,
    /// Response header fields.
    pub headers: *const RwHeader,
    /// Number of entries in `headers`.
    pub headers_len: usize,
    /// Response JSON, or Bifrost's error JSON when [`RW_FLAG_ERROR`] is set; empty for streams.
    pub body: RwBytes,
}

/// One server-sent event of a streamed response, for `stream_chunk`. Borrowed for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RwStreamChunk {
    /// `sizeof(RwStreamChunk)` as the host knows it.
    pub size: u32,
    /// Reserved, 0.
    pub reserved: u32,
    /// The whole event as it will be written, framing included (e.g. `data: {...}\n\n`).
    pub event: RwBytes,
}

/// Host callback: log `msg` at `level` (`RW_LOG_*`), attributed to the plugin.
pub type RwLogFn = unsafe extern "C" fn(out: *mut RwOut, level: u32, msg: RwStr);
/// Host callback: set the status of the response being built or edited (200..=599).
pub type RwSetStatusFn = unsafe extern "C" fn(out: *mut RwOut, status: u32) -> u32;
/// Host callback: set header `name` (replacing every field of that name) on the message being
/// built or edited. Framing headers (`content-length`, `transfer-encoding`, `connection`) are
/// refused.
pub type RwSetHeaderFn = unsafe extern "C" fn(out: *mut RwOut, name: RwStr, value: RwStr) -> u32;
/// Host callback: remove every field named `name` from the message being edited.
pub type RwRemoveHeaderFn = unsafe extern "C" fn(out: *mut RwOut, name: RwStr) -> u32;
/// Host callback: replace the body of the message being built or edited (the request body in
/// `http_pre`/`pre_llm` with [`RW_CONTINUE`], the response body otherwise, the event in
/// `stream_chunk`).
pub type RwSetBodyFn = unsafe extern "C" fn(out: *mut RwOut, body: RwBytes) -> u32;
/// Host callback: set the error returned with [`RW_REJECT`] (status 400..=599, else 500; `kind`
/// and `code` may be empty), or the failure message returned with [`RW_FAIL`].
pub type RwSetErrorFn = unsafe extern "C" fn(
    out: *mut RwOut,
    status: u32,
    kind: RwStr,
    code: RwStr,
    message: RwStr,
) -> u32;
/// Host callback: append one complete server-sent event (framing included, e.g.
/// `data: {...}\n\n`) to the stream returned with [`RW_STREAM`].
pub type RwPushChunkFn = unsafe extern "C" fn(out: *mut RwOut, event: RwBytes) -> u32;

/// Functions the host offers plugins. Owned by the host and valid for the whole life of the
/// process (plugins may keep the pointer). Check `size` before using a field added after 1.0.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RwHostApi {
    /// `sizeof(RwHostApi)` as the host knows it.
    pub size: u32,
    /// The host's ABI major.
    pub abi_major: u16,
    /// The host's ABI minor.
    pub abi_minor: u16,
    /// See [`RwLogFn`].
    pub log: RwLogFn,
    /// See [`RwSetStatusFn`].
    pub set_status: RwSetStatusFn,
    /// See [`RwSetHeaderFn`].
    pub set_header: RwSetHeaderFn,
    /// See [`RwRemoveHeaderFn`].
    pub remove_header: RwRemoveHeaderFn,
    /// See [`RwSetBodyFn`].
    pub set_body: RwSetBodyFn,
    /// See [`RwSetErrorFn`].
    pub set_error: RwSetErrorFn,
    /// See [`RwPushChunkFn`].
    pub push_chunk: RwPushChunkFn,
}

/// Parses the plugin's JSON config (borrowed for the call) once, on a control thread. On
/// success stores an opaque state in `*state_out` (may stay null) and returns [`RW_CONTINUE`];
/// any other result refuses the config (message via `set_error`). The state is shared by every
/// core: it must be safe to read from several threads at once. `host` stays valid forever.
pub type RwConfigNewFn = unsafe extern "C" fn(
    host: *const RwHostApi,
    config: RwBytes,
    state_out: *mut *mut c_void,
    out: *mut RwOut,
) -> u32;
/// Frees the config state (called only when non-null), once, after every instance made from it
/// was freed, on the thread that releases the plugin last. It must also stop any thread the
/// plugin started: the library is unloaded afterwards.
pub type RwConfigFreeFn = unsafe extern "C" fn(state: *mut c_void);
/// Creates the instance for worker `core`, on that worker's thread; stores it in
/// `*instance_out` (may stay null) and returns [`RW_CONTINUE`], or refuses (message via
/// `set_error`).
pub type RwInstanceNewFn = unsafe extern "C" fn(
    state: *mut c_void,
    host: *const RwHostApi,
    core: u32,
    instance_out: *mut *mut c_void,
    out: *mut RwOut,
) -> u32;
/// Frees an instance (called only when non-null), on the thread that created it.
pub type RwInstanceFreeFn = unsafe extern "C" fn(instance: *mut c_void);
/// HTTP transport pre-hook: [`RW_CONTINUE`] (header/body edits apply to the request),
/// [`RW_RESPOND`] (answer with the response built through the callbacks), [`RW_REJECT`],
/// [`RW_FAIL`].
pub type RwHttpPreFn = unsafe extern "C" fn(
    instance: *mut c_void,
    call: *const RwCall,
    req: *const RwHttpRequest,
    out: *mut RwOut,
) -> u32;
/// Pre-LLM hook: [`RW_CONTINUE`] (a `set_body` replaces the request body), [`RW_RESPOND`]
/// (short-circuit with a response; the provider is not called), [`RW_REJECT`], [`RW_STREAM`],
/// [`RW_FAIL`].
pub type RwPreLlmFn = unsafe extern "C" fn(
    instance: *mut c_void,
    call: *const RwCall,
    req: *const RwLlmRequest,
    out: *mut RwOut,
) -> u32;
/// Post-LLM hook: [`RW_CONTINUE`] (edits apply to the response), [`RW_RESPOND`] (the edited
/// response is a success, e.g. recovering from an error), [`RW_REJECT`] (replace with an error),
/// [`RW_FAIL`].
pub type RwPostLlmFn = unsafe extern "C" fn(
    instance: *mut c_void,
    call: *const RwCall,
    res: *const RwLlmResponse,
    out: *mut RwOut,
) -> u32;
/// HTTP transport post-hook: [`RW_CONTINUE`]/[`RW_RESPOND`] (edits apply to the response),
/// [`RW_REJECT`], [`RW_FAIL`].
pub type RwHttpPostFn = unsafe extern "C" fn(
    instance: *mut c_void,
    call: *const RwCall,
    req: *const RwHttpRequest,
    res: *const RwHttpResponse,
    out: *mut RwOut,
) -> u32;
/// Stream hook, once per event: [`RW_CONTINUE`] (a `set_body` replaces the event),
/// [`RW_SKIP`], [`RW_REJECT`] (send the error as the last event and stop), [`RW_FAIL`].
pub type RwStreamChunkFn = unsafe extern "C" fn(
    instance: *mut c_void,
    call: *const RwCall,
    chunk: *const RwStreamChunk,
    out: *mut RwOut,
) -> u32;
/// Type of the exported [`RW_ENTRY_SYMBOL`]: returns the plugin's descriptor, which must stay
/// valid and unchanged until the library is unloaded (a `static` in practice).
pub type RwEntryFn = unsafe extern "C" fn() -> *const RwPluginDescriptor;

/// What a plugin is: versions, names and functions. Owned by the plugin (static data); the host
/// copies it at load. Every function pointer may be null (not implemented), and so is every one
/// past the `size` the plugin declared.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RwPluginDescriptor {
    /// `sizeof(RwPluginDescriptor)` as the plugin was compiled.
    pub size: u32,
    /// ABI major the plugin was built against ([`RW_ABI_MAJOR`]).
    pub abi_major: u16,
    /// ABI minor the plugin was built against ([`RW_ABI_MINOR`]).
    pub abi_minor: u16,
    /// The plugin's name (static data).
    pub name: RwStr,
    /// The plugin's own version string (static data).
    pub version: RwStr,
    /// See [`RwConfigNewFn`].
    pub config_new: Option<RwConfigNewFn>,
    /// See [`RwConfigFreeFn`].
    pub config_free: Option<RwConfigFreeFn>,
    /// See [`RwInstanceNewFn`].
    pub instance_new: Option<RwInstanceNewFn>,
    /// See [`RwInstanceFreeFn`].
    pub instance_free: Option<RwInstanceFreeFn>,
    /// See [`RwHttpPreFn`].
    pub http_pre: Option<RwHttpPreFn>,
    /// See [`RwPreLlmFn`].
    pub pre_llm: Option<RwPreLlmFn>,
    /// See [`RwPostLlmFn`].
    pub post_llm: Option<RwPostLlmFn>,
    /// See [`RwHttpPostFn`].
    pub http_post: Option<RwHttpPostFn>,
    /// See [`RwStreamChunkFn`].
    pub stream_chunk: Option<RwStreamChunkFn>,
}

// SAFETY: a descriptor is immutable after creation and its pointers refer to static data and
// functions of the library, so sharing it between threads (as a `static`) is sound.
unsafe impl Sync for RwPluginDescriptor {}
// SAFETY: the host's table holds only function pointers and sizes; it is never mutated.
unsafe impl Sync for RwHostApi {}

/// Bytes of a descriptor up to and including `version`: the least a plugin may declare.
pub const RW_DESCRIPTOR_MIN_SIZE: usize = core::mem::offset_of!(RwPluginDescriptor, config_new);

impl RwStr {
    /// The empty string.
    pub const EMPTY: RwStr = RwStr {
        ptr: core::ptr::null(),
        len: 0,
    };

    /// Borrows `s` (the caller keeps it alive for as long as the `RwStr` is used).
    #[inline]
    pub const fn new(s: &str) -> RwStr {
        RwStr {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// Views the bytes.
    ///
    /// # Safety
    /// `ptr` must be valid for `len` bytes for `'a` (or `len` must be 0).
    #[inline]
    pub unsafe fn as_bytes<'a>(self) -> &'a [u8] {
        if self.len == 0 || self.ptr.is_null() {
            return &[];
        }
        // SAFETY: guaranteed by the caller.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Views the string, or `None` if it is not UTF-8 (or a null pointer has a length).
    ///
    /// # Safety
    /// As for [`RwStr::as_bytes`].
    #[inline]
    pub unsafe fn to_str<'a>(self) -> Option<&'a str> {
        if self.len != 0 && self.ptr.is_null() {
            return None;
        }
        // SAFETY: guaranteed by the caller.
        core::str::from_utf8(unsafe { self.as_bytes() }).ok()
    }
}

impl RwBytes {
    /// No bytes.
    pub const EMPTY: RwBytes = RwBytes {
        ptr: core::ptr::null(),
        len: 0,
    };

    /// Borrows `b` (the caller keeps it alive for as long as the `RwBytes` is used).
    #[inline]
    pub const fn new(b: &[u8]) -> RwBytes {
        RwBytes {
            ptr: b.as_ptr(),
            len: b.len(),
        }
    }

    /// Views the bytes, or `None` for a null pointer with a non-zero length.
    ///
    /// # Safety
    /// `ptr` must be valid for `len` bytes for `'a` (or `len` must be 0).
    #[inline]
    pub unsafe fn as_slice<'a>(self) -> Option<&'a [u8]> {
        if self.len == 0 {
            return Some(&[]);
        }
        if self.ptr.is_null() {
            return None;
        }
        // SAFETY: guaranteed by the caller.
        Some(unsafe { core::slice::from_raw_parts(self.ptr, self.len) })
    }
}

/// Bytes of a host table with every 1.0 callback: the least a plugin may rely on. (Written as
/// the end of the last 1.0 field, so it stays put when later minors append callbacks.)
pub const RW_HOST_API_MIN_SIZE: usize =
    core::mem::offset_of!(RwHostApi, push_chunk) + core::mem::size_of::<RwPushChunkFn>();

/// Size of `T` as a `u32` for the `size` fields (every ABI struct is far below 4 GiB).
#[inline]
pub const fn size_u32<T>() -> u32 {
    core::mem::size_of::<T>() as u32
}
