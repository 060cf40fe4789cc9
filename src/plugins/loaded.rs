//! A loaded plugin: its checked descriptor, its config state, its library, its failure counts.

use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::path::Path;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ringway_plugins_abi::abi::{
    RW_ABI_MAJOR, RW_ABI_MINOR, RW_CONTINUE, RW_DESCRIPTOR_MIN_SIZE, RwBytes, RwPluginDescriptor,
};

use super::error::{Hook, PluginError};
use super::host_api::{HOST_API, OutState};
use super::instance::PluginInstance;
use super::library::PluginLibrary;

/// A plugin loaded into the process, shared by every core (`Arc`).
///
/// Dropping the last reference frees the config state (`config_free`) and then unloads the
/// library. Every [`PluginInstance`] holds an `Arc` of its plugin, and every hook chain holds
/// its instances, so a library is never unloaded while a request can still reach it.
pub struct LoadedPlugin {
    name: String,
    version: String,
    abi: (u16, u16),
    fns: RwPluginDescriptor,
    /// The plugin's config state, shared read-only by every core.
    state: *mut c_void,
    failures: AtomicU64,
    disabled: AtomicU64,
    /// Declared last: unloaded after `Drop::drop` ran `config_free`.
    library: Option<PluginLibrary>,
}

// SAFETY: the ABI requires the config state to be safe to share between threads (`instance_new`
// runs on every worker with it); the other fields are plain data, function pointers into the
// library, and atomics.
unsafe impl Send for LoadedPlugin {}
// SAFETY: as above; `&LoadedPlugin` only reads the state pointer and updates atomics.
unsafe impl Sync for LoadedPlugin {}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("abi", &self.abi)
            .field("source", &self.source_path())
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    /// Loads the plugin at `path` (which must contain a `/`) and runs its `config_new` with
    /// `config` (`null` when the entry has none).
    ///
    /// Each call loads a private copy of the file, so loading a path again (a reload) gets a
    /// fresh library even while the previous one is in use. Blocking: call from a control
    /// thread, never from a worker.
    pub fn load(path: &str, config: &serde_json::Value) -> Result<Arc<Self>, PluginError> {
        let library = PluginLibrary::open(path)?;
        let entry = library.entry()?;
        // SAFETY: the entry function takes nothing and returns a pointer to static data.
        let desc = unsafe { entry() };
        // SAFETY: a non-null descriptor points at `size` readable bytes (the ABI contract).
        let fns = unsafe { read_descriptor(desc, path)? };
        Self::init(fns, path, config, Some(library))
    }

    /// Registers a plugin compiled into the host (built-ins, tests) through the same ABI:
    /// version check, `config_new`, hooks and panic containment behave as for a library.
    pub fn from_static(
        desc: &'static RwPluginDescriptor,
        config: &serde_json::Value,
    ) -> Result<Arc<Self>, PluginError> {
        // SAFETY: a reference to a whole descriptor is readable for `size_of` bytes, and
        // `read_descriptor` reads at most that much.
        let fns = unsafe { read_descriptor(desc, "<static>")? };
        Self::init(fns, "<static>", config, None)
    }

    fn init(
        fns: RwPluginDescriptor,
        path: &str,
        config: &serde_json::Value,
        library: Option<PluginLibrary>,
    ) -> Result<Arc<Self>, PluginError> {
        let bad = |reason: &str| PluginError::BadDescriptor {
            path: path.to_string(),
            reason: reason.to_string(),
        };
        // SAFETY: the descriptor's strings are static data of the library (or host).
        let name = unsafe { fns.name.to_str() }.ok_or_else(|| bad("name is not UTF-8"))?;
        if name.is_empty() {
            return Err(bad("name is empty"));
        }
        // SAFETY: as above.
        let version = unsafe { fns.version.to_str() }.ok_or_else(|| bad("version is not UTF-8"))?;
        let mut plugin = LoadedPlugin {
            name: name.to_string(),
            version: version.to_string(),
            abi: (fns.abi_major, fns.abi_minor),
            fns,
            state: ptr::null_mut(),
            failures: AtomicU64::new(0),
            disabled: AtomicU64::new(0),
            library,
        };
        if let Some(config_new) = plugin.fns.config_new {
            let json = serde_json::to_vec(config).unwrap_or_else(|_| b"null".to_vec());
            let mut out = OutState::new(&plugin.name);
            let mut state: *mut c_void = ptr::null_mut();
            // SAFETY: arguments per the ABI: the static host table, the config borrowed for the
            // call, a slot for the state, and this call's output state.
            let code =
                unsafe { config_new(&HOST_API, RwBytes::new(&json), &mut state, out.as_out()) };
            if code != RW_CONTINUE {
                let message = out
                    .error
                    .take()
                    .map_or_else(|| format!("config_new returned {code}"), |e| e.message);
                // The plugin kept (or freed) whatever it allocated: the state is not ours.
                return Err(PluginError::ConfigRejected {
                    name: plugin.name.clone(),
                    message,
                });
            }
            plugin.state = state;
        }
        tracing::info!(
            plugin = %plugin.name,
            version = %plugin.version,
            abi = %format_args!("{}.{}", plugin.abi.0, plugin.abi.1),
            source = %path,
            "plugin loaded"
        );
        Ok(Arc::new(plugin))
    }

    /// Creates this plugin's instance for worker `core`. Call it on that worker's thread: the
    /// instance is `!Send` and its hooks must run where it was made.
    pub fn instance_for_core(self: &Arc<Self>, core: u32) -> Result<PluginInstance, PluginError> {
        let mut instance: *mut c_void = ptr::null_mut();
        if let Some(instance_new) = self.fns.instance_new {
            let mut out = OutState::new(&self.name);
            // SAFETY: per the ABI: the config state from `config_new`, the static host table, a
            // slot for the instance, and this call's output state.
            let code =
                unsafe { instance_new(self.state, &HOST_API, core, &mut instance, out.as_out()) };
            if code != RW_CONTINUE {
                self.failures.fetch_add(1, Ordering::Relaxed);
                let message = out.error.take().map_or_else(
                    || format!("{} returned {code}", Hook::InstanceNew),
                    |e| e.message,
                );
                return Err(PluginError::InstanceFailed {
                    name: self.name.clone(),
                    core,
                    message,
                });
            }
        }
        Ok(PluginInstance::new(Arc::clone(self), instance, core))
    }

    /// The name the plugin declares.
    #[inline]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's own version string.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The ABI version (major, minor) the plugin was built against.
    pub fn abi_version(&self) -> (u16, u16) {
        self.abi
    }

    /// The configured path, or `None` for a plugin compiled into the host.
    pub fn source_path(&self) -> Option<&Path> {
        self.library.as_ref().map(|l| l.source.as_path())
    }

    /// Bifrost's plugin types by the hooks implemented: `llm` (pre/post-LLM), `http`
    /// (transport hooks or stream hook), for the admin API's status.
    pub fn types(&self) -> Vec<&'static str> {
        let f = &self.fns;
        let mut types = Vec::new();
        if f.pre_llm.is_some() || f.post_llm.is_some() {
            types.push("llm");
        }
        if f.http_pre.is_some() || f.http_post.is_some() || f.stream_chunk.is_some() {
            types.push("http");
        }
        types
    }

    /// The plugin's functions (null where not implemented).
    #[inline]
    pub(crate) fn fns(&self) -> &RwPluginDescriptor {
        &self.fns
    }

    /// Hook failures (panics, `RW_FAIL`, failed instance creation) on every core since load.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Instances disabled after a failure, across cores.
    pub fn disabled_instances(&self) -> u64 {
        self.disabled.load(Ordering::Relaxed)
    }

    /// Counts a hook failure that disabled an instance.
    pub(crate) fn count_failure(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.disabled.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for LoadedPlugin {
    fn drop(&mut self) {
        if let Some(config_free) = self.fns.config_free
            && !self.state.is_null()
        {
            // SAFETY: every instance holds an `Arc` of this plugin, so all were freed; the state
            // came from `config_new` and is freed once.
            unsafe { config_free(self.state) };
        }
        // `library` drops after this, unloading the code the pointers above pointed into.
    }
}

/// Reads and checks a plugin's descriptor: major version first (nothing else of another
/// major's layout can be trusted), then the declared size. Functions past the declared size
/// read as null.
///
/// # Safety
/// `desc` must be null or point at a descriptor readable for its declared `size` bytes.
unsafe fn read_descriptor(
    desc: *const RwPluginDescriptor,
    path: &str,
) -> Result<RwPluginDescriptor, PluginError> {
    let bad = |reason: String| PluginError::BadDescriptor {
        path: path.to_string(),
        reason,
    };
    if desc.is_null() {
        return Err(bad("the entry function returned null".to_string()));
    }
    // SAFETY: the 8-byte head (size, major, minor) is common to every ABI version.
    let (size, major, minor) = unsafe {
        (
            ptr::addr_of!((*desc).size).read_unaligned(),
            ptr::addr_of!((*desc).abi_major).read_unaligned(),
            ptr::addr_of!((*desc).abi_minor).read_unaligned(),
        )
    };
    if major != RW_ABI_MAJOR {
        return Err(PluginError::AbiMismatch {
            path: path.to_string(),
            major,
            minor,
            host_major: RW_ABI_MAJOR,
            host_minor: RW_ABI_MINOR,
        });
    }
    let size = size as usize;
    if size < RW_DESCRIPTOR_MIN_SIZE {
        return Err(bad(format!(
            "it declares {size} bytes; at least {RW_DESCRIPTOR_MIN_SIZE} are required"
        )));
    }
    // Whole function pointers only: a size cutting one in half must not yield half a pointer.
    let ptr_size = size_of::<usize>();
    let known = size_of::<RwPluginDescriptor>();
    let take =
        (RW_DESCRIPTOR_MIN_SIZE + (size - RW_DESCRIPTOR_MIN_SIZE) / ptr_size * ptr_size).min(known);
    let mut copy = MaybeUninit::<RwPluginDescriptor>::zeroed();
    // SAFETY: `take` bytes are readable (at most the declared size); all-zero is a valid
    // descriptor (null strings, `None` functions), so the untouched tail is valid too.
    unsafe {
        ptr::copy_nonoverlapping(desc.cast::<u8>(), copy.as_mut_ptr().cast::<u8>(), take);
        Ok(copy.assume_init())
    }
}
