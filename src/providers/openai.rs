//! OpenAI wire format (being written).
