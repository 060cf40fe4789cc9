//! Routing: from `provider/model` to a provider route and a key.

pub mod keys;
pub mod table;

#[cfg(test)]
mod tests;
