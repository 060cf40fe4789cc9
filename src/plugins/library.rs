//! Opening a plugin file: path checks, a private copy under a unique name, `dlopen`.
//!
//! The loader identifies libraries by path and file identity, so opening the same path again
//! (a reload after the file was rebuilt) would hand back the library already loaded. Each load
//! therefore copies the file to a fresh temporary name first. The copy is unlinked as soon as it
//! is mapped: the mapping keeps the file (and its inode number) alive until the library is
//! unloaded, so no later copy can be mistaken for it, and nothing is left in the temp directory.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use libloading::Library;
use libloading::os::unix::{Library as UnixLibrary, RTLD_LOCAL, RTLD_NOW};
use ringway_plugins_abi::abi::{RW_ENTRY_SYMBOL, RwEntryFn};

use super::error::PluginError;

/// Distinguishes copies made by this process.
static COPIES: AtomicU64 = AtomicU64::new(0);

/// An opened plugin library.
pub(crate) struct PluginLibrary {
    /// The library; unloaded when dropped.
    pub library: Library,
    /// The path as configured.
    pub source: PathBuf,
}

impl PluginLibrary {
    /// Validates `path`, copies the file to a unique temporary name and opens the copy.
    ///
    /// Blocking file I/O: call from a control thread, never from a worker.
    pub fn open(path: &str) -> Result<Self, PluginError> {
        if !path.contains('/') {
            return Err(PluginError::PathWithoutSlash(path.to_string()));
        }
        let source = PathBuf::from(path);
        let read_err = |source: io::Error| PluginError::Read {
            path: path.to_string(),
            source,
        };
        let meta = fs::metadata(&source).map_err(read_err)?;
        if !meta.is_file() {
            return Err(read_err(io::Error::other("not a regular file")));
        }
        let staged = stage(&source).map_err(|source| PluginError::Stage {
            path: path.to_string(),
            source,
        })?;
        // RTLD_NOW: an unresolved symbol fails here with a clear message, not mid-request.
        // SAFETY: loading a plugin runs its initialisers; trusting the configured file is the
        // premise of native plugins.
        let opened = unsafe { UnixLibrary::open(Some(&staged), RTLD_NOW | RTLD_LOCAL) };
        // Mapped (or failed): the name is no longer needed either way.
        let _ = fs::remove_file(&staged);
        let library = opened.map_err(|e| PluginError::Open {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        Ok(PluginLibrary {
            library: library.into(),
            source,
        })
    }

    /// The exported entry function.
    pub fn entry(&self) -> Result<RwEntryFn, PluginError> {
        // SAFETY: the symbol's type is fixed by the ABI; a library exporting the name with
        // another type breaks the plugin contract.
        let symbol = unsafe { self.library.get::<RwEntryFn>(RW_ENTRY_SYMBOL) };
        symbol.map(|s| *s).map_err(|_| PluginError::NoEntry {
            path: self.source.display().to_string(),
        })
    }
}

/// Copies `source` to a new file in the temp directory, readable only by us.
fn stage(source: &Path) -> io::Result<PathBuf> {
    let base = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plugin.so".to_string());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "ringway-plugin-{}-{}-{nanos}-{base}",
        std::process::id(),
        COPIES.fetch_add(1, Ordering::Relaxed)
    );
    let staged = std::env::temp_dir().join(name);
    // create_new (O_EXCL) never follows a planted symlink or reuses someone else's file.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o700)
        .open(&staged)?;
    let copied = fs::File::open(source).and_then(|mut src| io::copy(&mut src, &mut file));
    if let Err(e) = copied {
        let _ = fs::remove_file(&staged);
        return Err(e);
    }
    Ok(staged)
}
