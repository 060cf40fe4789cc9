//! HTTP/1.1 pieces shared by the server and the upstream client.

pub mod chunked;
pub mod head;

use bytes::BytesMut;

/// Appending bytes to an output buffer, inlined: `BufMut::put_slice` and `put_u8` on a
/// `BytesMut` are out-of-line calls (a one-byte `put_u8` is a `memcpy`), and the reply and
/// request heads are built from dozens of short pieces per request.
pub trait Append {
    /// Appends `bytes`.
    fn append(&mut self, bytes: &[u8]);
    /// Appends one byte.
    fn append_byte(&mut self, byte: u8);
}

impl Append for BytesMut {
    #[inline(always)]
    fn append(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    #[inline(always)]
    fn append_byte(&mut self, byte: u8) {
        self.extend_from_slice(&[byte]);
    }
}

impl Append for Vec<u8> {
    #[inline(always)]
    fn append(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    #[inline(always)]
    fn append_byte(&mut self, byte: u8) {
        self.push(byte);
    }
}

/// Whether two header names are equal ignoring ASCII case. The length test is inlined, so the
/// usual mismatch costs no call (a request's headers are looked up by name a dozen times).
#[inline]
pub fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.eq_ignore_ascii_case(b)
}

/// Appends `n` in decimal, without the formatting machinery (it runs for every request).
pub fn put_decimal(out: &mut impl Append, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.append(&digits[i..]);
}

/// A query-string component decoded: `+` is a space, `%XX` a byte (a `%` without two hex
/// digits stays as it is), invalid UTF-8 replaced.
pub fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn put_decimal_writes_every_digit() {
        for n in [0u64, 7, 10, 1234, u64::MAX] {
            let mut out = Vec::new();
            super::put_decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }
}
