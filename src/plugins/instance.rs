//! One plugin's instance on one core.

use std::cell::Cell;
use std::ffi::c_void;
use std::sync::Arc;

use super::error::{Hook, PluginError};
use super::loaded::LoadedPlugin;

/// A plugin instance living on one worker (`!Send`: its hooks run on the thread that made it).
///
/// Holds an `Arc` of its [`LoadedPlugin`], so the library stays loaded while the instance is
/// reachable. After a hook fails the instance is disabled: it is skipped on this core until the
/// plugin is reloaded.
pub struct PluginInstance {
    plugin: Arc<LoadedPlugin>,
    /// The plugin's instance pointer (may be null); its raw pointer makes the type `!Send`.
    ptr: *mut c_void,
    core: u32,
    disabled: Cell<bool>,
}

impl PluginInstance {
    /// Wraps an instance made by `instance_new` on this thread.
    pub(crate) fn new(plugin: Arc<LoadedPlugin>, ptr: *mut c_void, core: u32) -> Self {
        PluginInstance {
            plugin,
            ptr,
            core,
            disabled: Cell::new(false),
        }
    }

    /// The plugin this is an instance of.
    #[inline]
    pub fn plugin(&self) -> &Arc<LoadedPlugin> {
        &self.plugin
    }

    /// The worker the instance belongs to.
    #[inline]
    pub fn core(&self) -> u32 {
        self.core
    }

    /// Whether a failure disabled the instance.
    #[inline]
    pub fn is_disabled(&self) -> bool {
        self.disabled.get()
    }

    /// The plugin's instance pointer.
    #[inline]
    pub(crate) fn raw(&self) -> *mut c_void {
        self.ptr
    }

    /// Disables the instance after a failed hook, counts it, and builds the error.
    pub(crate) fn fail(&self, hook: Hook, message: String) -> PluginError {
        if !self.disabled.replace(true) {
            self.plugin.count_failure();
        }
        tracing::error!(
            plugin = %self.plugin.name(),
            core = self.core,
            hook = hook.as_str(),
            "plugin failed; its instance is disabled on this core: {message}"
        );
        PluginError::HookFailed {
            name: self.plugin.name().to_string(),
            hook,
            message,
        }
    }
}

impl Drop for PluginInstance {
    fn drop(&mut self) {
        if let Some(instance_free) = self.plugin.fns().instance_free
            && !self.ptr.is_null()
        {
            // SAFETY: the pointer came from `instance_new` on this thread (the type is `!Send`)
            // and is freed once; the library is still loaded (we hold its `Arc`).
            unsafe { instance_free(self.ptr) };
        }
    }
}
