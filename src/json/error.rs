//! Errors of the JSON fast path; all of them mean "answer 400".

/// Why a request body was rejected by the JSON fast path.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Arrays/objects nested deeper than the limit (checked before any parser runs).
    #[error("JSON nested deeper than {max} levels")]
    TooDeep {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The body is not valid JSON; the text says where and why.
    #[error("invalid JSON: {0}")]
    Invalid(String),
    /// The body is valid JSON but not an object.
    #[error("request body must be a JSON object")]
    NotObject,
    /// A known field has the wrong JSON type.
    #[error("field `{field}` must be {expected}")]
    WrongType {
        /// The field's name.
        field: &'static str,
        /// What it should have been, e.g. "a string".
        expected: &'static str,
    },
}

impl From<sonic_rs::Error> for JsonError {
    fn from(err: sonic_rs::Error) -> Self {
        Self::Invalid(err.to_string())
    }
}
