//! Reading the fields of one raw SSE event (WHATWG "interpreting an event stream").

use std::borrow::Cow;

use memchr::memchr2;

/// The event's data: its `data` lines joined with `\n`, or `None` when it has no `data` line.
///
/// Borrowed from `event` unless there are several data lines.
pub fn event_data(event: &[u8]) -> Option<Cow<'_, [u8]>> {
    let mut data: Option<Cow<'_, [u8]>> = None;
    for (name, value) in fields(event) {
        if name != b"data" {
            continue;
        }
        data = Some(match data {
            None => Cow::Borrowed(value),
            Some(prev) => {
                let mut joined = prev.into_owned();
                joined.push(b'\n');
                joined.extend_from_slice(value);
                Cow::Owned(joined)
            }
        });
    }
    data
}

/// The event's `event` field (its type), if any; the last one wins.
pub fn event_name(event: &[u8]) -> Option<&[u8]> {
    fields(event)
        .filter(|(name, _)| *name == b"event")
        .map(|(_, value)| value)
        .last()
}

/// True for the OpenAI-style end-of-stream event, `data: [DONE]`.
pub fn is_done(event: &[u8]) -> bool {
    event_data(event).is_some_and(|d| d.trim_ascii() == b"[DONE]")
}

/// The `(name, value)` fields of an event, skipping comments, up to its first blank line.
fn fields(event: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    // A byte-order mark may open the stream, hence its first event.
    let event = event.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(event);
    Lines { rest: event }
        .take_while(|line| !line.is_empty())
        .filter(|line| !line.starts_with(b":"))
        .map(|line| match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        })
}

/// Lines of an event, split on CRLF, LF or CR (the endings are not included).
struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let Some(end) = memchr2(b'\n', b'\r', self.rest) else {
            let line = self.rest;
            self.rest = &[];
            return Some(line);
        };
        let line = &self.rest[..end];
        let skip = if self.rest[end] == b'\r' && self.rest.get(end + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        self.rest = &self.rest[end + skip..];
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_data_line_is_borrowed() {
        let ev = b"data: {\"id\":1}\n\n";
        let d = event_data(ev).expect("data");
        assert!(matches!(d, Cow::Borrowed(_)));
        assert_eq!(&*d, b"{\"id\":1}");
    }

    #[test]
    fn multi_line_data_is_joined_with_lf() {
        for ev in [
            &b"data: a\ndata:b\ndata:  c\n\n"[..],
            b"data: a\r\ndata:b\r\ndata:  c\r\n\r\n",
            b"data: a\rdata:b\rdata:  c\r\r",
        ] {
            assert_eq!(event_data(ev).as_deref(), Some(&b"a\nb\n c"[..]), "{ev:?}");
        }
        // A bare `data` line contributes an empty line.
        assert_eq!(
            event_data(b"data\ndata: x\n\n").as_deref(),
            Some(&b"\nx"[..])
        );
        assert_eq!(event_data(b"data:\n\n").as_deref(), Some(&b""[..]));
    }

    #[test]
    fn no_data() {
        assert_eq!(event_data(b": keep-alive\n\n"), None);
        assert_eq!(event_data(b"event: ping\n\n"), None);
        assert_eq!(event_data(b"\n"), None);
        assert_eq!(event_data(b""), None);
        // `data` must be the whole field name.
        assert_eq!(event_data(b"datum: x\ndata2: y\n :data: z\n\n"), None);
    }

    #[test]
    fn event_names() {
        assert_eq!(
            event_name(b"event: content_block_delta\ndata: {}\n\n"),
            Some(&b"content_block_delta"[..])
        );
        assert_eq!(event_name(b"event:a\r\nevent: b\r\n\r\n"), Some(&b"b"[..]));
        assert_eq!(event_name(b"data: x\n\n"), None);
        assert_eq!(
            event_name(b"\xEF\xBB\xBFevent: first\n\n"),
            Some(&b"first"[..])
        );
    }

    #[test]
    fn done_marker() {
        assert!(is_done(b"data: [DONE]\n\n"));
        assert!(is_done(b"data:[DONE]\r\n\r\n"));
        assert!(is_done(b"data: [DONE] \n\n"));
        assert!(!is_done(b"data: {\"x\":\"[DONE]\"}\n\n"));
        assert!(!is_done(b": [DONE]\n\n"));
        assert!(!is_done(b"event: done\n\n"));
    }

    #[test]
    fn fields_stop_at_the_blank_line() {
        // Only the first event counts if a caller passes more than one.
        assert_eq!(
            event_data(b"data: a\n\ndata: b\n\n").as_deref(),
            Some(&b"a"[..])
        );
    }
}
