//! HTTP/1.1 pieces shared by the server and the upstream client.

pub mod chunked;
pub mod head;

use bytes::BufMut;

/// Appends `n` in decimal, without the formatting machinery (it runs for every request).
pub fn put_decimal(out: &mut impl BufMut, mut n: u64) {
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
    out.put_slice(&digits[i..]);
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
