//! What the attempts of one request did: the time spent waiting on providers (for the overhead
//! metric), and for its log row the key used, the retries, the fallback that answered. Plain
//! cells written on the request's own core; the log part is filled in only when the request is
//! logged.

use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::time::Duration;

use crate::error::RequestType;
use crate::logging::request::Outcome;
use crate::routing::table::RouteTable;

/// One request's trail.
#[derive(Debug, Default)]
pub struct Trail {
    /// Whether anything reads it (request logging on).
    pub wanted: bool,
    waited: Cell<Duration>,
    key: Cell<Option<usize>>,
    retries: Cell<u32>,
    fallback_index: Cell<u32>,
    op: Cell<Option<RequestType>>,
    messages: Cell<Option<(usize, usize)>>,
    served: RefCell<Option<Outcome>>,
}

impl Trail {
    /// A trail that records (`wanted`) or ignores what it is told.
    pub fn new(wanted: bool) -> Self {
        Self {
            wanted,
            ..Self::default()
        }
    }

    /// Adds time spent waiting on a provider (an exchange or a backoff).
    pub fn add_wait(&self, d: Duration) {
        self.waited.set(self.waited.get() + d);
    }

    /// The time added by [`Trail::add_wait`].
    pub fn waited_total(&self) -> Duration {
        self.waited.get()
    }

    /// The key index an attempt is about to use (`None`: keyless provider).
    pub fn key(&self, index: Option<usize>) {
        self.key.set(index);
    }

    /// Retries so far on the current provider.
    pub fn retries(&self, n: u32) {
        self.retries.set(n);
    }

    /// A new provider is tried: 0 for the primary, N for the N-th entry of `fallbacks`.
    pub fn fallback(&self, index: u32) {
        self.fallback_index.set(index);
        self.retries.set(0);
        self.key.set(None);
    }

    /// The key index last recorded.
    pub fn key_index(&self) -> Option<usize> {
        self.key.get()
    }

    /// The retry count last recorded.
    pub fn retry_count(&self) -> u32 {
        self.retries.get()
    }

    /// The request type, stream flag included.
    pub fn op(&self, op: RequestType) {
        self.op.set(Some(op));
    }

    /// Where the client body's chat history is, as the validating scan found it (`None`: no
    /// `messages` array, or a `system` beside it that must join the history).
    pub fn messages(&self, span: Option<Range<usize>>) {
        if self.wanted {
            self.messages.set(span.map(|s| (s.start, s.end)));
        }
    }

    /// The request ended on `provider`/`model`: resolves the key's id and name from `table` (the
    /// snapshot the request ran on).
    pub fn served(&self, table: &RouteTable, provider: &str, model: &str) {
        if !self.wanted {
            return;
        }
        let key = self.key.get().and_then(|i| {
            let k = table.provider(provider)?.keys.get(i)?;
            Some((k.id.clone(), k.name.clone()))
        });
        *self.served.borrow_mut() = Some(Outcome {
            object: self.op.get().map_or("", RequestType::as_str),
            provider: provider.to_string(),
            model: model.to_string(),
            retries: self.retries.get(),
            fallback_index: self.fallback_index.get(),
            key,
            messages: self.messages.get().map(|(start, end)| start..end),
        });
    }

    /// The outcome, once `served` was called (requests refused before routing have none).
    pub fn outcome(&self) -> Option<Outcome> {
        self.served.borrow_mut().take()
    }
}
