//! HTTP/1.1 pieces shared by the server and the upstream client.

pub mod chunked;
pub mod head;
