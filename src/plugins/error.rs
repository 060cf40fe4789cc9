//! Typed plugin errors, and their rendering as Bifrost's error JSON (always a 5xx).

use bytes::Bytes;

use crate::error::ErrorContext;
use crate::server::reply::Reply;

/// The plugin function an error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hook {
    /// `config_new`.
    ConfigNew,
    /// `instance_new`.
    InstanceNew,
    /// HTTP transport pre-hook.
    HttpPre,
    /// Pre-LLM hook.
    PreLlm,
    /// Post-LLM hook.
    PostLlm,
    /// HTTP transport post-hook.
    HttpPost,
    /// Stream-chunk hook.
    StreamChunk,
}

impl Hook {
    /// The ABI's name of the function.
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::ConfigNew => "config_new",
            Hook::InstanceNew => "instance_new",
            Hook::HttpPre => "http_pre",
            Hook::PreLlm => "pre_llm",
            Hook::PostLlm => "post_llm",
            Hook::HttpPost => "http_post",
            Hook::StreamChunk => "stream_chunk",
        }
    }
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong loading or running a plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// A bare file name would make the dynamic loader search system paths.
    #[error(
        "plugin path '{0}' must contain a '/' (write './{0}' for a file in the working directory)"
    )]
    PathWithoutSlash(String),
    /// The plugin file cannot be read (missing, not a file, no permission).
    #[error("cannot read plugin file '{path}': {source}")]
    Read {
        /// Path as configured.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Copying the file to its unique load path failed.
    #[error("cannot copy plugin '{path}' to a temporary file for loading: {source}")]
    Stage {
        /// Path as configured.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The dynamic loader refused the file (not a shared library, wrong architecture, missing
    /// symbols).
    #[error("cannot load plugin '{path}': {message}")]
    Open {
        /// Path as configured.
        path: String,
        /// The loader's message.
        message: String,
    },
    /// The library does not export the entry symbol.
    #[error("'{path}' is not a ringway plugin: it does not export `ringway_plugin_entry`")]
    NoEntry {
        /// Path as configured.
        path: String,
    },
    /// The descriptor is unusable (null, too short, bad name).
    #[error("plugin '{path}' has an invalid descriptor: {reason}")]
    BadDescriptor {
        /// Path as configured (or `<static>`).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The plugin was built against another ABI major.
    #[error(
        "plugin '{path}' was built for plugin ABI {major}.{minor}, but this ringway speaks ABI \
         {host_major}.{host_minor}: rebuild it against ringway-plugins-abi {host_major}.x"
    )]
    AbiMismatch {
        /// Path as configured.
        path: String,
        /// The plugin's ABI major.
        major: u16,
        /// The plugin's ABI minor.
        minor: u16,
        /// The host's ABI major.
        host_major: u16,
        /// The host's ABI minor.
        host_minor: u16,
    },
    /// `config_new` refused the config.
    #[error("plugin '{name}' refused its config: {message}")]
    ConfigRejected {
        /// The plugin's name.
        name: String,
        /// The plugin's message.
        message: String,
    },
    /// `instance_new` failed on a core.
    #[error("plugin '{name}' failed to create its instance on core {core}: {message}")]
    InstanceFailed {
        /// The plugin's name.
        name: String,
        /// The core.
        core: u32,
        /// The plugin's message.
        message: String,
    },
    /// A hook panicked or reported a failure; the instance is now disabled on that core.
    #[error("plugin '{name}' failed in {hook}: {message}")]
    HookFailed {
        /// The plugin's name.
        name: String,
        /// The hook.
        hook: Hook,
        /// The plugin's message (e.g. `panicked: ...`).
        message: String,
    },
}

impl PluginError {
    /// The HTTP status a request (or an admin call) failing with this error gets.
    pub fn status(&self) -> u16 {
        500
    }

    /// Renders the error as Bifrost's error JSON (`is_bifrost_error: true`, type `plugin_error`).
    pub fn to_bifrost(&self, ctx: &ErrorContext) -> Bytes {
        super::render::error_json(
            true,
            self.status(),
            Some("plugin_error"),
            None,
            &self.to_string(),
            ctx,
        )
    }

    /// The error as a JSON reply.
    pub fn reply(&self, ctx: &ErrorContext) -> Reply {
        Reply::json(self.status(), self.to_bifrost(ctx))
    }
}
