//! Why a config could not be loaded; every message starts with the JSON path it is about.

use std::path::PathBuf;

use super::path::JsonPath;

/// A config that cannot be read, parsed or accepted.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("$: cannot read {file}: {source}")]
    Io {
        /// The file that was asked for.
        file: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The bytes are not JSON.
    #[error("{path}: invalid JSON at line {line} column {column}: {message}")]
    Syntax {
        /// Where the parser was when it failed.
        path: JsonPath,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A value has the wrong JSON type or shape (string where a number belongs, ...).
    #[error("{path}: {message}")]
    Type {
        /// Where the value is.
        path: JsonPath,
        /// What was expected.
        message: String,
    },
    /// A well-formed value that Bifrost (and so ringway) does not accept.
    #[error("{path}: {message}")]
    Invalid {
        /// Where the value is.
        path: JsonPath,
        /// What is wrong with it.
        message: String,
    },
}

impl ConfigError {
    /// The JSON path the error is about (`$` for the whole document).
    pub fn path(&self) -> String {
        match self {
            Self::Io { .. } => "$".to_string(),
            Self::Syntax { path, .. } | Self::Type { path, .. } | Self::Invalid { path, .. } => {
                path.to_string()
            }
        }
    }

    pub(crate) fn invalid(path: &JsonPath, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.clone(),
            message: message.into(),
        }
    }

    pub(crate) fn type_error(path: &JsonPath, message: impl Into<String>) -> Self {
        Self::Type {
            path: path.clone(),
            message: message.into(),
        }
    }
}
