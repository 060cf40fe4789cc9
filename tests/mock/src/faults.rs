//! Fault injection: per-request directives in the model name, and the scripted step queue.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde_json::Value;

/// Behaviour picked by words in the request's model name (e.g. `gpt-4o-fail-503`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Directives {
    /// `fail-<status>`: answer with that status and an error body.
    pub fail: Option<u16>,
    /// `hang`: read the request, never answer.
    pub hang: bool,
    /// `reset`: abort the connection (RST) before any response byte.
    pub reset: bool,
    /// `slow-<ms>`: extra latency before the head.
    pub slow: Duration,
    /// `stream-error`: a few chunks, then an error event, then end without `[DONE]`.
    pub stream_error: bool,
    /// `stream-hang`: a few chunks, then stall.
    pub stream_hang: bool,
    /// `stream-cut`: a few chunks, then close without the terminating chunk.
    pub stream_cut: bool,
}

impl Directives {
    /// Reads the directives out of a model name; an ordinary name yields none.
    pub fn parse(model: &str) -> Self {
        let mut d = Self::default();
        if !model.contains(['-', 'h', 'r']) {
            return d;
        }
        d.stream_error = model.contains("stream-error");
        d.stream_hang = model.contains("stream-hang");
        d.stream_cut = model.contains("stream-cut");
        d.hang = model
            .match_indices("hang")
            .any(|(i, _)| !model[..i].ends_with("stream-"));
        d.reset = model.contains("reset");
        d.fail = number_after(model, "fail-").and_then(|n| u16::try_from(n).ok());
        d.fail = d.fail.filter(|s| (200..=599).contains(s));
        d.slow = Duration::from_millis(number_after(model, "slow-").unwrap_or(0));
        d
    }

    /// True when a streamed response should break off after a few chunks.
    pub fn breaks_stream(&self) -> bool {
        self.stream_error || self.stream_hang || self.stream_cut
    }
}

/// The decimal number right after the first `prefix` that is followed by a digit.
fn number_after(s: &str, prefix: &str) -> Option<u64> {
    s.match_indices(prefix).find_map(|(i, _)| {
        let rest = &s[i + prefix.len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    })
}

/// What a step does to the connection instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Abort with a TCP reset.
    Reset,
    /// Never answer.
    Hang,
    /// Close gracefully (FIN) without answering.
    Close,
}

/// A canned response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepBody {
    /// A JSON value, sent serialized as `application/json`.
    Json(Vec<u8>),
    /// Text sent as is, as `text/plain` unless a content-type header is given.
    Text(String),
}

/// One scripted step.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Step {
    /// Status of the canned response (default 200 when only a body is given).
    pub status: Option<u16>,
    /// Body of the canned response.
    pub body: Option<StepBody>,
    /// Headers added to the response (canned or normal).
    pub headers: Vec<(String, String)>,
    /// Wait before doing anything.
    pub delay: Duration,
    /// Connection action instead of a response.
    pub action: Option<Action>,
    /// How many requests this step serves.
    pub times: u32,
}

impl Step {
    /// True when the step answers with its own response (status or body given).
    pub fn is_canned(&self) -> bool {
        self.status.is_some() || self.body.is_some()
    }
}

/// Why a script was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The body is not JSON.
    #[error("script is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The top level is neither an array nor an object.
    #[error("script must be an array of steps")]
    NotArray,
    /// A step is malformed.
    #[error("step {index}: {reason}")]
    Step {
        /// Position of the step in the array.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Parses a `POST /_mock/script` body: an array of steps (a single object is one step).
pub fn parse_steps(body: &[u8]) -> Result<Vec<Step>, ScriptError> {
    let value: Value = serde_json::from_slice(body)?;
    let items = match value {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => return Err(ScriptError::NotArray),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| parse_step(item).map_err(|reason| ScriptError::Step { index, reason }))
        .collect()
}

fn parse_step(item: Value) -> Result<Step, String> {
    let Value::Object(map) = item else {
        return Err("a step must be an object".into());
    };
    let mut step = Step {
        times: 1,
        ..Step::default()
    };
    for (key, value) in map {
        match (key.as_str(), value) {
            (_, Value::Null) => {}
            ("status", v) => {
                let s = v.as_u64().filter(|s| (100..=599).contains(s));
                step.status = Some(s.ok_or("status must be an integer in 100..=599")? as u16);
            }
            ("body", Value::String(text)) => step.body = Some(StepBody::Text(text)),
            ("body", v) => {
                step.body = Some(StepBody::Json(serde_json::to_vec(&v).unwrap_or_default()))
            }
            ("headers", Value::Object(h)) => {
                for (name, v) in h {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    step.headers.push((name, v));
                }
            }
            ("delay_ms", v) => {
                step.delay = Duration::from_millis(v.as_u64().ok_or("delay_ms must be a number")?);
            }
            ("action", Value::String(a)) => {
                step.action = Some(match a.as_str() {
                    "reset" => Action::Reset,
                    "hang" => Action::Hang,
                    "close" => Action::Close,
                    other => return Err(format!("unknown action {other:?} (reset|hang|close)")),
                });
            }
            ("times", v) => {
                let t = v
                    .as_u64()
                    .filter(|t| *t >= 1)
                    .ok_or("times must be a positive integer")?;
                step.times = u32::try_from(t).unwrap_or(u32::MAX);
            }
            (other, _) => return Err(format!("unknown or mistyped field {other:?}")),
        }
    }
    Ok(step)
}

/// The FIFO of scripted steps, consumed by inference requests.
#[derive(Debug, Default)]
pub struct Script {
    /// Lets the hot path skip the lock while the queue is empty.
    pending: AtomicBool,
    queue: Mutex<VecDeque<(Arc<Step>, u32)>>,
}

impl Script {
    /// Appends steps.
    pub fn push(&self, steps: Vec<Step>) {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        for step in steps {
            let times = step.times;
            q.push_back((Arc::new(step), times));
        }
        self.pending.store(!q.is_empty(), Ordering::Release);
    }

    /// Takes the step for the next request, if any.
    pub fn take(&self) -> Option<Arc<Step>> {
        if !self.pending.load(Ordering::Acquire) {
            return None;
        }
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let (step, left) = q.front_mut()?;
        let step = Arc::clone(step);
        *left -= 1;
        if *left == 0 {
            q.pop_front();
        }
        self.pending.store(!q.is_empty(), Ordering::Release);
        Some(step)
    }

    /// How many requests the queued steps will still serve.
    pub fn remaining(&self) -> u64 {
        let q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        q.iter().map(|(_, left)| u64::from(*left)).sum()
    }

    /// Drops every queued step.
    pub fn clear(&self) {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        q.clear();
        self.pending.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_models_have_no_directives() {
        assert_eq!(Directives::parse("gpt-4o-mini"), Directives::default());
        assert_eq!(Directives::parse("openai/gpt-4o"), Directives::default());
    }

    #[test]
    fn directives_are_found_anywhere_in_the_name() {
        let d = Directives::parse("gpt-4o-fail-503");
        assert_eq!(d.fail, Some(503));
        let d = Directives::parse("m-slow-250-stream-cut");
        assert_eq!(d.slow, Duration::from_millis(250));
        assert!(d.stream_cut && d.breaks_stream() && !d.hang);
        assert!(Directives::parse("mock-reset").reset);
        assert_eq!(Directives::parse("fail-999").fail, None);
        assert_eq!(Directives::parse("fail-x").fail, None);
    }

    #[test]
    fn stream_hang_is_not_hang() {
        let d = Directives::parse("gpt-stream-hang");
        assert!(d.stream_hang && !d.hang);
        let d = Directives::parse("hang-stream-hang");
        assert!(d.stream_hang && d.hang);
        assert!(Directives::parse("x-hang").hang);
    }

    #[test]
    fn steps_parse_with_defaults_and_reject_typos() {
        let steps = parse_steps(
            br#"[{"status":500,"body":{"error":{"message":"x"}},"times":2},
                 {"body":"plain","headers":{"X-A":"1","X-N":5},"delay_ms":10},
                 {"action":"reset","status":null}]"#,
        )
        .expect("valid");
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[0].status, Some(500));
        assert_eq!(steps[0].times, 2);
        assert_eq!(
            steps[0].body,
            Some(StepBody::Json(br#"{"error":{"message":"x"}}"#.to_vec()))
        );
        assert_eq!(steps[1].body, Some(StepBody::Text("plain".into())));
        assert_eq!(
            steps[1].headers,
            vec![("X-A".into(), "1".into()), ("X-N".into(), "5".into())]
        );
        assert_eq!(steps[1].delay, Duration::from_millis(10));
        assert!(steps[1].is_canned());
        assert_eq!(steps[2].action, Some(Action::Reset));
        assert!(!steps[2].is_canned());
        assert!(parse_steps(br#"[{"stauts":500}]"#).is_err());
        assert!(parse_steps(br#"[{"action":"explode"}]"#).is_err());
        assert!(parse_steps(br#"[{"times":0}]"#).is_err());
        assert!(parse_steps(b"42").is_err());
        assert_eq!(parse_steps(br#"{"status":429}"#).expect("object").len(), 1);
    }

    #[test]
    fn queue_is_fifo_and_honours_times() {
        let script = Script::default();
        assert!(script.take().is_none());
        let a = Step {
            status: Some(500),
            times: 2,
            ..Step::default()
        };
        let b = Step {
            status: Some(429),
            times: 1,
            ..Step::default()
        };
        script.push(vec![a, b]);
        assert_eq!(script.remaining(), 3);
        let taken: Vec<_> = std::iter::from_fn(|| script.take())
            .map(|s| s.status)
            .collect();
        assert_eq!(taken, [Some(500), Some(500), Some(429)]);
        script.push(vec![Step {
            times: 5,
            ..Step::default()
        }]);
        script.clear();
        assert!(script.take().is_none());
        assert_eq!(script.remaining(), 0);
    }
}
