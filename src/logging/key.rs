//! Row keys: the request's start time (big-endian nanoseconds) then its id, so LMDB's byte order
//! is time order and a time range is one contiguous key range.

/// Bytes of the timestamp prefix.
pub const TS_LEN: usize = 8;

/// The key of the row for request `id` started at `ts_ns`.
pub fn encode(ts_ns: u64, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(TS_LEN + id.len());
    k.extend_from_slice(&ts_ns.to_be_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

/// The timestamp of a key (`None` for a key too short to be one of ours).
pub fn timestamp(key: &[u8]) -> Option<u64> {
    let prefix: [u8; TS_LEN] = key.get(..TS_LEN)?.try_into().ok()?;
    Some(u64::from_be_bytes(prefix))
}

/// The smallest key of any row started at or after `ts_ns`.
pub fn lower_bound(ts_ns: u64) -> Vec<u8> {
    ts_ns.to_be_bytes().to_vec()
}

/// The smallest key of any row started after `ts_ns` (`None` past the end of time).
pub fn upper_bound_exclusive(ts_ns: u64) -> Option<Vec<u8>> {
    ts_ns.checked_add(1).map(lower_bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_order_is_time_order() {
        let a = encode(1, "zzz");
        let b = encode(256, "aaa");
        let c = encode(256, "aab");
        assert!(a < b && b < c);
        assert_eq!(timestamp(&b), Some(256));
        assert_eq!(timestamp(b"short"), None);
        assert!(lower_bound(256) <= b);
        let up = upper_bound_exclusive(256).expect("bound");
        assert!(c < up && up <= encode(257, ""));
        assert_eq!(upper_bound_exclusive(u64::MAX), None);
    }
}
