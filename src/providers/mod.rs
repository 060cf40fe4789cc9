//! Providers: the table of known providers and one module per wire format.

pub mod catalog;
pub mod openai;
