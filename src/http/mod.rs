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
    a.len() == b.len() && eq_ignore_ascii_case(a.as_bytes(), b.as_bytes())
}

/// `[u8]::eq_ignore_ascii_case` for slices of equal length, eight bytes at a time (the std one
/// folds and compares byte by byte, about ten instructions per byte of a header name).
fn eq_ignore_ascii_case(a: &[u8], b: &[u8]) -> bool {
    let (mut wa, mut wb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut wa).zip(&mut wb) {
        if fold8(word(x)) != fold8(word(y)) {
            return false;
        }
    }
    let (ra, rb) = (wa.remainder(), wb.remainder());
    ra.len() == rb.len() && fold8(word(ra)) == fold8(word(rb))
}

/// Up to eight bytes as a little-endian word, zero-padded.
#[inline(always)]
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(w)
}

/// Each byte of `x` in ASCII lower case (bytes above 0x7f unchanged).
#[inline(always)]
fn fold8(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let h = x & LOW7;
    // A byte's top bit is set when its low seven bits are at least b'A' (0x41), resp. past
    // b'Z' (0x5b); no byte overflows into the next.
    let from_a = h + 0x3f3f_3f3f_3f3f_3f3f;
    let past_z = h + 0x2525_2525_2525_2525;
    let upper = from_a & !past_z & !x & HIGH;
    x | (upper >> 2)
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
    fn same_name_agrees_with_std() {
        // Every pair of bytes at each position of names up to 17 bytes long.
        let mut rng = fastrand::Rng::with_seed(7);
        for len in 0..=17usize {
            for _ in 0..3000 {
                let a: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
                let mut b = a.clone();
                if len > 0 {
                    let i = rng.usize(..len);
                    b[i] = match rng.u8(..3) {
                        0 => b[i] ^ 0x20,
                        1 => rng.u8(..),
                        _ => b[i].to_ascii_uppercase(),
                    };
                }
                assert_eq!(
                    super::eq_ignore_ascii_case(&a, &b),
                    a.eq_ignore_ascii_case(&b),
                    "{a:?} {b:?}"
                );
            }
        }
        for x in 0..=255u8 {
            for y in 0..=255u8 {
                let (a, b) = ([b'k', x, b'-'], [b'k', y, b'-']);
                assert_eq!(
                    super::eq_ignore_ascii_case(&a, &b),
                    a.eq_ignore_ascii_case(&b)
                );
            }
        }
        assert!(super::same_name("Content-Length", "content-length"));
        assert!(!super::same_name("content-lengtH", "content-lengti"));
    }

    #[test]
    fn put_decimal_writes_every_digit() {
        for n in [0u64, 7, 10, 1234, u64::MAX] {
            let mut out = Vec::new();
            super::put_decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }
}
