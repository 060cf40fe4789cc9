//! The AWS event-stream binary framing (`application/vnd.amazon.eventstream`).
//!
//! ```text
//! message  = prelude headers payload message_crc
//! prelude  = total_length:u32  headers_length:u32  prelude_crc:u32      (big endian)
//! header   = name_len:u8 name  value_type:u8 value
//! crc      = CRC-32 (IEEE) of every byte before it
//! ```
//!
//! [`EventStreamFramer`] cuts a byte stream into whole messages (CRCs checked);
//! [`Message::decode`] reads one; [`encode`] writes one (string headers only, which is all
//! Bedrock's ConverseStream uses).

use bytes::{Buf, Bytes, BytesMut};

/// Prelude (12 bytes) plus the trailing message CRC (4 bytes).
const OVERHEAD: usize = 16;

/// Largest message accepted (AWS caps event-stream messages at 16 MiB).
pub const MAX_MESSAGE: usize = 16 << 20;

/// Why a byte stream is not a valid event stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventStreamError {
    /// The prelude's CRC does not match its 8 bytes.
    #[error("event stream prelude checksum mismatch")]
    PreludeCrc,
    /// The message CRC does not match.
    #[error("event stream message checksum mismatch")]
    MessageCrc,
    /// The lengths in the prelude are impossible or above the limit.
    #[error("event stream message length {total} (headers {headers}) is invalid")]
    Length {
        /// Declared total length.
        total: u32,
        /// Declared headers length.
        headers: u32,
    },
    /// A header is truncated or has an unknown value type.
    #[error("event stream header block is malformed: {0}")]
    Headers(&'static str),
    /// The stream ended in the middle of a message.
    #[error("event stream ended in the middle of a message")]
    Truncated,
}

/// A typed header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderValue<'a> {
    /// Type 7: UTF-8 string (invalid UTF-8 is kept as bytes).
    Str(&'a str),
    /// Type 6: byte array, or a type-7 value that is not UTF-8.
    Bytes(&'a [u8]),
    /// Types 0..=5 and 8 (booleans, integers, timestamps), widened.
    Int(i64),
    /// Type 9: UUID.
    Uuid(&'a [u8]),
}

/// One decoded message, borrowing the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// Headers in wire order.
    pub headers: Vec<(&'a str, HeaderValue<'a>)>,
    /// The payload (JSON for Bedrock events).
    pub payload: &'a [u8],
}

impl<'a> Message<'a> {
    /// Decodes one complete frame (as cut by [`EventStreamFramer`], CRCs already checked there;
    /// they are checked again here so that a frame from anywhere is safe to decode).
    pub fn decode(frame: &'a [u8]) -> Result<Self, EventStreamError> {
        let (total, headers_len) = check_prelude(frame)?;
        if frame.len() != total {
            return Err(EventStreamError::Truncated);
        }
        check_message_crc(frame)?;
        let headers = parse_headers(&frame[12..12 + headers_len])?;
        Ok(Message {
            headers,
            payload: &frame[12 + headers_len..total - 4],
        })
    }

    /// The string value of header `name`.
    pub fn header_str(&self, name: &str) -> Option<&'a str> {
        self.headers.iter().find_map(|(n, v)| match v {
            HeaderValue::Str(s) if *n == name => Some(*s),
            _ => None,
        })
    }
}

/// Cuts an event stream into whole messages as bytes arrive.
#[derive(Debug, Default)]
pub struct EventStreamFramer {
    buf: BytesMut,
}

impl EventStreamFramer {
    /// An empty framer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the upstream.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes held that do not make a whole message yet.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole message (its raw frame), `None` if more bytes are needed.
    ///
    /// An error is final: the stream cannot be resynchronised after a bad prelude.
    pub fn next_message(&mut self) -> Result<Option<Bytes>, EventStreamError> {
        if self.buf.len() < 12 {
            return Ok(None);
        }
        let (total, _) = check_prelude(&self.buf)?;
        if self.buf.len() < total {
            return Ok(None);
        }
        let frame = self.buf.split_to(total).freeze();
        check_message_crc(&frame)?;
        Ok(Some(frame))
    }

    /// Whatever is left once the upstream ended (a partial message), if anything.
    pub fn take_rest(&mut self) -> Option<Bytes> {
        (!self.buf.is_empty()).then(|| self.buf.split().freeze())
    }
}

/// Validates the prelude; returns (total length, headers length).
fn check_prelude(buf: &[u8]) -> Result<(usize, usize), EventStreamError> {
    let Some(mut p) = buf.get(..12) else {
        return Err(EventStreamError::Truncated);
    };
    let total = p.get_u32();
    let headers = p.get_u32();
    let crc = p.get_u32();
    if crc32fast::hash(&buf[..8]) != crc {
        return Err(EventStreamError::PreludeCrc);
    }
    let (t, h) = (total as usize, headers as usize);
    if !(OVERHEAD..=MAX_MESSAGE).contains(&t) || h > t - OVERHEAD {
        return Err(EventStreamError::Length { total, headers });
    }
    Ok((t, h))
}

fn check_message_crc(frame: &[u8]) -> Result<(), EventStreamError> {
    let (body, crc) = frame.split_at(frame.len() - 4);
    if crc32fast::hash(body) != u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]) {
        return Err(EventStreamError::MessageCrc);
    }
    Ok(())
}

/// Splits `n` bytes off the front of `b`.
fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], EventStreamError> {
    let v = b.get(..n).ok_or(EventStreamError::Headers("value"))?;
    *b = &b[n..];
    Ok(v)
}

fn parse_headers(mut b: &[u8]) -> Result<Vec<(&str, HeaderValue<'_>)>, EventStreamError> {
    let bad = EventStreamError::Headers;
    let mut out = Vec::with_capacity(4);
    while !b.is_empty() {
        let name_len = usize::from(b[0]);
        let name = b.get(1..1 + name_len).ok_or(bad("name"))?;
        let name = std::str::from_utf8(name).map_err(|_| bad("name is not UTF-8"))?;
        b = &b[1 + name_len..];
        let (&kind, rest) = b.split_first().ok_or(bad("value type"))?;
        b = rest;

        let int = |v: &[u8]| v.iter().fold(0i64, |acc, x| (acc << 8) | i64::from(*x));
        let value = match kind {
            0 => HeaderValue::Int(1),
            1 => HeaderValue::Int(0),
            2 => HeaderValue::Int(i64::from(take(&mut b, 1)?[0] as i8)),
            3 => HeaderValue::Int(i64::from(i16::from_be_bytes(
                take(&mut b, 2)?.try_into().map_err(|_| bad("short"))?,
            ))),
            4 => HeaderValue::Int(i64::from(i32::from_be_bytes(
                take(&mut b, 4)?.try_into().map_err(|_| bad("int"))?,
            ))),
            5 | 8 => HeaderValue::Int(int(take(&mut b, 8)?)),
            6 | 7 => {
                let len = take(&mut b, 2)?;
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                let v = take(&mut b, len)?;
                match (kind, std::str::from_utf8(v)) {
                    (7, Ok(s)) => HeaderValue::Str(s),
                    _ => HeaderValue::Bytes(v),
                }
            }
            9 => HeaderValue::Uuid(take(&mut b, 16)?),
            _ => return Err(bad("unknown value type")),
        };
        out.push((name, value));
    }
    Ok(out)
}

/// Encodes one message with string headers (type 7) and `payload`.
///
/// Names longer than 255 bytes and values longer than 65535 bytes are cut (no Bedrock header
/// comes near either limit).
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut hdr = Vec::with_capacity(headers.len() * 32);
    for (name, value) in headers {
        let name = &name.as_bytes()[..name.len().min(255)];
        let value = &value.as_bytes()[..value.len().min(65_535)];
        hdr.push(name.len() as u8);
        hdr.extend_from_slice(name);
        hdr.push(7);
        hdr.extend_from_slice(&(value.len() as u16).to_be_bytes());
        hdr.extend_from_slice(value);
    }
    let total = OVERHEAD + hdr.len() + payload.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(hdr.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&hdr);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// An `:message-type: event` message of `event_type` with a JSON payload.
pub fn encode_event(event_type: &str, payload: &[u8]) -> Vec<u8> {
    encode(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload,
    )
}

/// An `:message-type: exception` message of `exception_type` with a JSON payload.
pub fn encode_exception(exception_type: &str, payload: &[u8]) -> Vec<u8> {
    encode(
        &[
            (":exception-type", exception_type),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        payload,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame from the AWS event-stream test suite (`int32_header`): one `event-type` header
    /// of type 4 (int32) with value 40972, payload `{'foo':'bar'}`.
    const SUITE_INT32: &[u8] = &[
        0x00, 0x00, 0x00, 0x2d, 0x00, 0x00, 0x00, 0x10, 0x41, 0xc4, 0x24, 0xb8, 0x0a, 0x65, 0x76,
        0x65, 0x6e, 0x74, 0x2d, 0x74, 0x79, 0x70, 0x65, 0x04, 0x00, 0x00, 0xa0, 0x0c, 0x7b, 0x27,
        0x66, 0x6f, 0x6f, 0x27, 0x3a, 0x27, 0x62, 0x61, 0x72, 0x27, 0x7d, 0x36, 0xf4, 0x80, 0xa0,
    ];

    #[test]
    fn decodes_the_aws_suite_vector() {
        let m = Message::decode(SUITE_INT32).expect("valid frame");
        assert_eq!(m.headers, vec![("event-type", HeaderValue::Int(40_972))]);
        assert_eq!(m.payload, b"{'foo':'bar'}");
    }

    #[test]
    fn round_trip_and_lookup() {
        let frame = encode_event("contentBlockDelta", br#"{"delta":{"text":"hi"}}"#);
        let m = Message::decode(&frame).expect("decodes");
        assert_eq!(m.header_str(":event-type"), Some("contentBlockDelta"));
        assert_eq!(m.header_str(":message-type"), Some("event"));
        assert_eq!(m.header_str(":nope"), None);
        assert_eq!(m.payload, br#"{"delta":{"text":"hi"}}"#);
        let e = encode_exception("throttlingException", b"{}");
        let m = Message::decode(&e).expect("decodes");
        assert_eq!(m.header_str(":exception-type"), Some("throttlingException"));
    }

    #[test]
    fn framer_cuts_messages_across_arbitrary_chunks() {
        let mut stream = Vec::new();
        for i in 0..5 {
            stream.extend(encode_event("e", format!("{{\"i\":{i}}}").as_bytes()));
        }
        stream.extend_from_slice(SUITE_INT32);
        for size in [1, 3, 7, 16, 64, 1000] {
            let mut f = EventStreamFramer::new();
            let mut frames = Vec::new();
            for piece in stream.chunks(size) {
                f.push(piece);
                while let Some(frame) = f.next_message().expect("valid") {
                    frames.push(frame);
                }
            }
            assert_eq!(frames.len(), 6, "chunk size {size}");
            assert_eq!(
                Message::decode(&frames[3]).expect("ok").payload,
                b"{\"i\":3}"
            );
            assert!(f.take_rest().is_none());
        }
    }

    #[test]
    fn corrupt_streams_are_refused() {
        let good = encode_event("e", b"{}");
        let mut bad_prelude = good.clone();
        bad_prelude[9] ^= 1;
        let mut f = EventStreamFramer::new();
        f.push(&bad_prelude);
        assert_eq!(f.next_message(), Err(EventStreamError::PreludeCrc));

        let mut bad_body = good.clone();
        let n = bad_body.len();
        bad_body[n - 6] ^= 1;
        let mut f = EventStreamFramer::new();
        f.push(&bad_body);
        assert_eq!(f.next_message(), Err(EventStreamError::MessageCrc));
        assert_eq!(
            Message::decode(&bad_body),
            Err(EventStreamError::MessageCrc)
        );

        // A prelude announcing a length above the limit (with a valid prelude CRC).
        let mut huge = Vec::new();
        huge.extend_from_slice(&(MAX_MESSAGE as u32 + 1).to_be_bytes());
        huge.extend_from_slice(&0u32.to_be_bytes());
        let crc = crc32fast::hash(&huge);
        huge.extend_from_slice(&crc.to_be_bytes());
        let mut f = EventStreamFramer::new();
        f.push(&huge);
        assert!(matches!(
            f.next_message(),
            Err(EventStreamError::Length { .. })
        ));

        // Headers that run past their block.
        let mut frame = encode(&[("a", "b")], b"");
        frame[13] = 200; // name length now exceeds the block; fix the CRCs so only that is wrong
        let n = frame.len();
        let crc = crc32fast::hash(&frame[..n - 4]);
        frame[n - 4..].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(
            Message::decode(&frame),
            Err(EventStreamError::Headers(_))
        ));

        // A partial message stays buffered, then is handed back as the rest.
        let mut f = EventStreamFramer::new();
        f.push(&good[..good.len() - 1]);
        assert_eq!(f.next_message(), Ok(None));
        assert_eq!(f.buffered(), good.len() - 1);
        assert_eq!(f.take_rest().map(|r| r.len()), Some(good.len() - 1));
        assert_eq!(
            Message::decode(&good[..good.len() - 1]),
            Err(EventStreamError::Truncated)
        );
    }

    #[test]
    fn every_header_type_decodes() {
        let mut hdr = Vec::new();
        let mut add = |name: &str, kind: u8, value: &[u8]| {
            hdr.push(name.len() as u8);
            hdr.extend_from_slice(name.as_bytes());
            hdr.push(kind);
            hdr.extend_from_slice(value);
        };
        add("t", 0, &[]);
        add("f", 1, &[]);
        add("b", 2, &[0xff]);
        add("s", 3, &[0xff, 0xfe]);
        add("l", 5, &7i64.to_be_bytes());
        add("y", 6, &[0, 2, 0xc3, 0x28]);
        add("x", 7, &[0, 2, 0xc3, 0x28]); // not UTF-8: kept as bytes
        add("d", 8, &1_000i64.to_be_bytes());
        add("u", 9, &[7; 16]);
        let total = OVERHEAD + hdr.len();
        let mut frame = Vec::new();
        frame.extend_from_slice(&(total as u32).to_be_bytes());
        frame.extend_from_slice(&(hdr.len() as u32).to_be_bytes());
        let crc = crc32fast::hash(&frame);
        frame.extend_from_slice(&crc.to_be_bytes());
        frame.extend_from_slice(&hdr);
        let crc = crc32fast::hash(&frame);
        frame.extend_from_slice(&crc.to_be_bytes());
        let m = Message::decode(&frame).expect("decodes");
        let values: Vec<HeaderValue<'_>> = m.headers.iter().map(|(_, v)| *v).collect();
        assert_eq!(
            values,
            [
                HeaderValue::Int(1),
                HeaderValue::Int(0),
                HeaderValue::Int(-1),
                HeaderValue::Int(-2),
                HeaderValue::Int(7),
                HeaderValue::Bytes(&[0xc3, 0x28]),
                HeaderValue::Bytes(&[0xc3, 0x28]),
                HeaderValue::Int(1_000),
                HeaderValue::Uuid(&[7; 16]),
            ]
        );
        assert!(m.payload.is_empty());
    }
}
