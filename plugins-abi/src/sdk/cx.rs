//! Safe wrappers over the host callbacks: [`Host`] during setup, [`Cx`] during a hook.

use core::marker::PhantomData;

use crate::abi::{self, RwBytes, RwCall, RwHostApi, RwOut, RwStr};

/// A log level for [`Cx::log`] and [`Host::log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// Normal operation.
    Info,
    /// Details for debugging.
    Debug,
}

impl Level {
    fn code(self) -> u32 {
        match self {
            Level::Error => abi::RW_LOG_ERROR,
            Level::Warn => abi::RW_LOG_WARN,
            Level::Info => abi::RW_LOG_INFO,
            Level::Debug => abi::RW_LOG_DEBUG,
        }
    }
}

/// The host during `config_new`: logging only. Valid for that call.
pub struct Host<'a> {
    api: &'a RwHostApi,
    out: *mut RwOut,
    _call: PhantomData<&'a mut RwOut>,
}

impl<'a> Host<'a> {
    /// Wraps the host table and the call's output handle.
    ///
    /// # Safety
    /// `out` must be the handle the host passed to the current call.
    pub(crate) unsafe fn new(api: &'a RwHostApi, out: *mut RwOut) -> Self {
        Host {
            api,
            out,
            _call: PhantomData,
        }
    }

    /// The host's ABI version (major, minor).
    pub fn abi_version(&self) -> (u16, u16) {
        (self.api.abi_major, self.api.abi_minor)
    }

    /// Logs through the host's logger, attributed to this plugin.
    pub fn log(&self, level: Level, msg: &str) {
        // SAFETY: `out` is the live handle of this call; the message is borrowed for the call.
        unsafe { (self.api.log)(self.out, level.code(), RwStr::new(msg)) }
    }
}

/// A hook's view of the host: request identity, the per-request slot, and the callbacks that
/// build or edit the message at hand. Valid for one hook call.
pub struct Cx<'a> {
    api: &'a RwHostApi,
    out: *mut RwOut,
    call: &'a RwCall,
}

impl<'a> Cx<'a> {
    /// Wraps the host table, the call facts and the call's output handle.
    ///
    /// # Safety
    /// All three must be what the host passed to the current call.
    #[inline]
    pub(crate) unsafe fn new(api: &'a RwHostApi, call: &'a RwCall, out: *mut RwOut) -> Self {
        Cx { api, out, call }
    }

    /// The worker (core) running this hook.
    pub fn core(&self) -> u32 {
        self.call.core
    }

    /// Identifies the request across its hooks.
    pub fn request_id(&self) -> u64 {
        self.call.request_id
    }

    /// This plugin's per-request word (0 until set).
    pub fn slot(&self) -> u64 {
        if self.call.slot.is_null() {
            return 0;
        }
        // SAFETY: the host keeps the slot alive and exclusive to this plugin during the call.
        unsafe { *self.call.slot }
    }

    /// Sets this plugin's per-request word, read back by its later hooks for the same request.
    pub fn set_slot(&mut self, value: u64) {
        if !self.call.slot.is_null() {
            // SAFETY: as in `slot`.
            unsafe { *self.call.slot = value }
        }
    }

    /// Logs through the host's logger, attributed to this plugin.
    pub fn log(&self, level: Level, msg: &str) {
        // SAFETY: `out` is this call's handle; the message is borrowed for the call.
        unsafe { (self.api.log)(self.out, level.code(), RwStr::new(msg)) }
    }

    /// Sets the status of the response being built or edited (200..=599). False if refused.
    pub fn set_status(&mut self, status: u16) -> bool {
        // SAFETY: as in `log`.
        unsafe { (self.api.set_status)(self.out, u32::from(status)) == abi::RW_OK }
    }

    /// Sets a header (replacing fields of that name) on the message being built or edited.
    /// False if refused (invalid name or value, or a framing header).
    pub fn set_header(&mut self, name: &str, value: &str) -> bool {
        // SAFETY: as in `log`.
        unsafe {
            (self.api.set_header)(self.out, RwStr::new(name), RwStr::new(value)) == abi::RW_OK
        }
    }

    /// Removes every field named `name` from the message being edited.
    pub fn remove_header(&mut self, name: &str) -> bool {
        // SAFETY: as in `log`.
        unsafe { (self.api.remove_header)(self.out, RwStr::new(name)) == abi::RW_OK }
    }

    /// Replaces the body of the message being built or edited (the host copies it).
    pub fn set_body(&mut self, body: &[u8]) -> bool {
        // SAFETY: as in `log`.
        unsafe { (self.api.set_body)(self.out, RwBytes::new(body)) == abi::RW_OK }
    }

    /// Sets the error to answer with and returns [`super::Action::Reject`], for
    /// `return Ok(cx.reject(403, "blocked", "", "no"))`. `kind` and `code` may be empty.
    pub fn reject(&mut self, status: u16, kind: &str, code: &str, message: &str) -> super::Action {
        // SAFETY: as in `log`.
        unsafe {
            (self.api.set_error)(
                self.out,
                u32::from(status),
                RwStr::new(kind),
                RwStr::new(code),
                RwStr::new(message),
            );
        }
        super::Action::Reject
    }

    /// Appends one complete server-sent event (framing included) to the stream answered with
    /// [`super::Action::Stream`].
    pub fn push_chunk(&mut self, event: &[u8]) -> bool {
        // SAFETY: as in `log`.
        unsafe { (self.api.push_chunk)(self.out, RwBytes::new(event)) == abi::RW_OK }
    }

    /// Appends `data: <data>\n\n` to the stream (one line of data, e.g. a JSON chunk or `[DONE]`).
    pub fn push_sse_data(&mut self, data: &[u8]) -> bool {
        let mut event = Vec::with_capacity(data.len() + 8);
        event.extend_from_slice(b"data: ");
        event.extend_from_slice(data);
        event.extend_from_slice(b"\n\n");
        self.push_chunk(&event)
    }

    /// Reports a failure message to the host (used by the export wrappers with `RW_FAIL`).
    pub(crate) fn fail(api: &RwHostApi, out: *mut RwOut, message: &str) {
        // SAFETY: `out` is the live handle of the current call (checked by the caller).
        unsafe {
            (api.set_error)(
                out,
                500,
                RwStr::new("plugin_error"),
                RwStr::EMPTY,
                RwStr::new(message),
            );
        }
    }
}
