//! `GET /api/logs` and `/api/logs/stats`: Bifrost's filters, pagination and stats over the store.
//!
//! Parameters are read as Bifrost's handler reads them: comma lists are split and trimmed, a
//! value that does not parse (a time, a number, a sort field) is ignored, and only `limit` and
//! `offset` out of range are refused (400).

use serde::Serialize;
use serde_json::Value;

use super::entry::{LogSummary, Status, row_json};
use super::extract::search_text;
use super::store::{LogError, LogStore};
use super::time::parse_rfc3339;
use heed::RoTxn;

/// Default page size.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page size.
pub const MAX_LIMIT: usize = 1000;

/// A parameter Bifrost refuses, with its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// `limit` of 0 or less.
    #[error("limit must be greater than 0")]
    LimitTooSmall,
    /// `limit` above [`MAX_LIMIT`].
    #[error("limit cannot exceed 1000")]
    LimitTooLarge,
    /// A negative `offset`.
    #[error("offset cannot be negative")]
    NegativeOffset,
}

/// Row filters (every given one must match).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    /// `providers`.
    pub providers: Vec<String>,
    /// `models`.
    pub models: Vec<String>,
    /// `status`.
    pub status: Vec<String>,
    /// `objects`.
    pub objects: Vec<String>,
    /// `selected_key_ids`.
    pub selected_key_ids: Vec<String>,
    /// `start_time`, inclusive.
    pub start_ns: Option<u64>,
    /// `end_time`, inclusive.
    pub end_ns: Option<u64>,
    /// `min_latency` (ms).
    pub min_latency: Option<f64>,
    /// `max_latency` (ms).
    pub max_latency: Option<f64>,
    /// `min_tokens` (total).
    pub min_tokens: Option<i64>,
    /// `max_tokens` (total).
    pub max_tokens: Option<i64>,
    /// `content_search`: a substring of the messages (case-insensitive).
    pub content_search: Option<String>,
}

/// Sort field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// Start time.
    Timestamp,
    /// Latency.
    Latency,
    /// Total tokens.
    Tokens,
}

impl SortBy {
    fn as_str(self) -> &'static str {
        match self {
            Self::Timestamp => "timestamp",
            Self::Latency => "latency",
            Self::Tokens => "tokens",
        }
    }
}

/// Which page, in which order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows per page.
    pub limit: usize,
    /// Rows skipped.
    pub offset: usize,
    /// Sort field.
    pub sort_by: SortBy,
    /// Descending (the default).
    pub desc: bool,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            offset: 0,
            sort_by: SortBy::Timestamp,
            desc: true,
        }
    }
}

/// Bifrost's `pagination` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pagination {
    /// Rows per page.
    pub limit: usize,
    /// Rows skipped.
    pub offset: usize,
    /// Sort field.
    pub sort_by: &'static str,
    /// `asc` or `desc`.
    pub order: &'static str,
    /// Rows matching the filters.
    pub total_count: u64,
}

/// Bifrost's `stats` object.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Rows matching the filters.
    pub total_requests: u64,
    /// Percentage of them that succeeded.
    pub success_rate: f64,
    /// Mean latency in milliseconds.
    pub average_latency: f64,
    /// Sum of total tokens.
    pub total_tokens: u64,
    /// Sum of costs: ringway has no pricing catalog, so this is always 0.
    pub total_cost: f64,
}

/// Bifrost's search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResult {
    /// The page's rows.
    pub logs: Vec<Value>,
    /// The page.
    pub pagination: Pagination,
    /// Stats over every matching row.
    pub stats: Stats,
    /// Whether the store holds any row at all.
    pub has_logs: bool,
}

/// Parses a query string into filters and a page.
pub fn parse(query: Option<&str>) -> Result<(Filters, Page), QueryError> {
    let mut f = Filters::default();
    let mut p = Page::default();
    for (name, value) in pairs(query.unwrap_or("")) {
        if value.is_empty() {
            continue;
        }
        match name.as_str() {
            "providers" => f.providers = list(&value),
            "models" => f.models = list(&value),
            "status" => f.status = list(&value),
            "objects" => f.objects = list(&value),
            "selected_key_ids" => f.selected_key_ids = list(&value),
            "start_time" => f.start_ns = parse_rfc3339(&value).or(f.start_ns),
            "end_time" => f.end_ns = parse_rfc3339(&value).or(f.end_ns),
            "min_latency" => f.min_latency = value.parse().ok().or(f.min_latency),
            "max_latency" => f.max_latency = value.parse().ok().or(f.max_latency),
            "min_tokens" => f.min_tokens = value.parse().ok().or(f.min_tokens),
            "max_tokens" => f.max_tokens = value.parse().ok().or(f.max_tokens),
            "content_search" => f.content_search = Some(value.to_lowercase()),
            "limit" => {
                if let Ok(n) = value.parse::<i64>() {
                    if n <= 0 {
                        return Err(QueryError::LimitTooSmall);
                    }
                    if n > MAX_LIMIT as i64 {
                        return Err(QueryError::LimitTooLarge);
                    }
                    p.limit = n as usize;
                }
            }
            "offset" => {
                if let Ok(n) = value.parse::<i64>() {
                    if n < 0 {
                        return Err(QueryError::NegativeOffset);
                    }
                    p.offset = usize::try_from(n).unwrap_or(usize::MAX);
                }
            }
            "sort_by" => {
                p.sort_by = match value.as_str() {
                    "latency" => SortBy::Latency,
                    "tokens" => SortBy::Tokens,
                    "timestamp" => SortBy::Timestamp,
                    // Bifrost also sorts by cost; every cost here is 0, so time order it is.
                    _ => p.sort_by,
                }
            }
            "order" => match value.as_str() {
                "asc" => p.desc = false,
                "desc" => p.desc = true,
                _ => {}
            },
            _ => {}
        }
    }
    Ok((f, p))
}

/// Bifrost's `parseCommaSeparated`: split on commas, trim, drop empty parts.
fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `name=value` pairs of a query string, form-decoded (`+` is a space, `%XX` a byte).
fn pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (crate::http::form_decode(n), crate::http::form_decode(v))
        })
        .collect()
}

impl Filters {
    /// Whether `s` passes every filter but `content_search`.
    fn matches(&self, s: &LogSummary) -> bool {
        let any = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        any(&self.providers, &s.provider)
            && any(&self.models, &s.model)
            && any(&self.status, s.status.as_str())
            && any(&self.objects, &s.object)
            && any(&self.selected_key_ids, &s.selected_key_id)
            && self.min_latency.is_none_or(|m| s.latency >= m)
            && self.max_latency.is_none_or(|m| s.latency <= m)
            && self
                .min_tokens
                .is_none_or(|m| i64::try_from(s.tokens()).unwrap_or(i64::MAX) >= m)
            && self
                .max_tokens
                .is_none_or(|m| i64::try_from(s.tokens()).unwrap_or(i64::MAX) <= m)
    }
}

/// Running totals over the matching rows.
#[derive(Default)]
struct Tally {
    total: u64,
    ok: u64,
    latency: f64,
    tokens: u64,
}

impl Tally {
    fn add(&mut self, s: &LogSummary) {
        self.total += 1;
        self.ok += u64::from(s.status == Status::Success);
        self.latency += s.latency;
        self.tokens += s.tokens();
    }

    fn stats(&self) -> Stats {
        if self.total == 0 {
            return Stats::default();
        }
        Stats {
            total_requests: self.total,
            success_rate: self.ok as f64 / self.total as f64 * 100.0,
            average_latency: self.latency / self.total as f64,
            total_tokens: self.tokens,
            total_cost: 0.0,
        }
    }
}

/// Calls `f` with the key and summary of every row matching `filters`, in time order (`desc`
/// newest first).
fn each_match(
    store: &LogStore,
    rtxn: &RoTxn<'_>,
    filters: &Filters,
    desc: bool,
    mut f: impl FnMut(&[u8], LogSummary),
) -> Result<(), LogError> {
    let mut failed = None;
    store.scan(rtxn, filters.start_ns, filters.end_ns, desc, |k, s| {
        if !filters.matches(&s) {
            return true;
        }
        if let Some(needle) = &filters.content_search {
            match store.content(rtxn, k) {
                // Lower-cased here rather than stored twice: searches are rare, rows are not.
                Ok(c) if search_text(&c).contains(needle.as_str()) => {}
                Ok(_) => return true,
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            }
        }
        f(k, s);
        true
    })?;
    failed.map_or(Ok(()), Err)
}

/// `GET /api/logs`. Memory stays small whatever the store holds: time order keeps only the
/// page's rows; the other orders keep one sort value and key per match, then read the page.
pub fn search(store: &LogStore, filters: &Filters, page: &Page) -> Result<SearchResult, LogError> {
    let rtxn = store.read()?;
    let mut tally = Tally::default();
    let mut rows: Vec<(Vec<u8>, LogSummary)> = Vec::new();
    let window = page.offset..page.offset.saturating_add(page.limit);
    if page.sort_by == SortBy::Timestamp {
        each_match(store, &rtxn, filters, page.desc, |k, s| {
            let i = usize::try_from(tally.total).unwrap_or(usize::MAX);
            tally.add(&s);
            if window.contains(&i) {
                rows.push((k.to_vec(), s));
            }
        })?;
    } else {
        let mut order: Vec<(f64, Vec<u8>)> = Vec::new();
        each_match(store, &rtxn, filters, page.desc, |k, s| {
            let v = match page.sort_by {
                SortBy::Latency => s.latency,
                _ => s.tokens() as f64,
            };
            order.push((v, k.to_vec()));
            tally.add(&s);
        })?;
        // Stable: ties stay in time order.
        order.sort_by(|a, b| {
            let o = a.0.total_cmp(&b.0);
            if page.desc { o.reverse() } else { o }
        });
        for (_, k) in order.into_iter().skip(page.offset).take(page.limit) {
            if let Some(s) = store.summary(&rtxn, &k)? {
                rows.push((k, s));
            }
        }
    }
    let mut logs = Vec::with_capacity(rows.len());
    for (k, s) in &rows {
        let content = store.content(&rtxn, k)?;
        logs.push(row_json(s, Some(&content)));
    }
    drop(rtxn);
    Ok(SearchResult {
        logs,
        pagination: Pagination {
            limit: page.limit,
            offset: page.offset,
            sort_by: page.sort_by.as_str(),
            order: if page.desc { "desc" } else { "asc" },
            total_count: tally.total,
        },
        stats: tally.stats(),
        has_logs: store.has_logs()?,
    })
}

/// `GET /api/logs/stats`.
pub fn stats(store: &LogStore, filters: &Filters) -> Result<Stats, LogError> {
    let rtxn = store.read()?;
    let mut tally = Tally::default();
    each_match(store, &rtxn, filters, true, |_, s| tally.add(&s))?;
    Ok(tally.stats())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::logging::entry::LogContent;
    use crate::logging::store::tests::{summary, temp_dir};

    #[test]
    fn parses_bifrost_parameters() {
        let (f, p) = parse(Some(
            "providers=openai,%20groq,&status=error&start_time=2024-05-01T12%3A30%3A45Z\
             &min_latency=abc&limit=10&offset=5&sort_by=cost&order=asc&content_search=Hello+World",
        ))
        .unwrap();
        assert_eq!(f.providers, ["openai", "groq"]);
        assert_eq!(f.status, ["error"]);
        assert_eq!(f.start_ns, Some(1_714_566_645_000_000_000));
        assert_eq!(f.min_latency, None, "unparsable values are ignored");
        assert_eq!(f.content_search.as_deref(), Some("hello world"));
        assert_eq!((p.limit, p.offset, p.desc), (10, 5, false));
        assert_eq!(p.sort_by, SortBy::Timestamp);
        assert_eq!(parse(Some("limit=0")), Err(QueryError::LimitTooSmall));
        assert_eq!(parse(Some("limit=1001")), Err(QueryError::LimitTooLarge));
        assert_eq!(parse(Some("offset=-1")), Err(QueryError::NegativeOffset));
        assert_eq!(parse(Some("limit=x")).unwrap().1.limit, DEFAULT_LIMIT);
        assert_eq!(parse(None).unwrap(), (Filters::default(), Page::default()));
    }

    #[test]
    fn search_filters_sorts_pages_and_counts() {
        let dir = temp_dir("query");
        let store = LogStore::open(&dir).unwrap();
        let mut rows = Vec::new();
        for (i, provider) in ["openai", "groq", "openai", "openai"].iter().enumerate() {
            let mut s = summary(&format!("r{i}"), 100 + i as u64, provider);
            s.latency = [5.0, 1.0, 9.0, 3.0][i];
            if i == 3 {
                s.status = Status::Error;
            }
            let c = LogContent {
                input_history: Some(
                    serde_json::json!([{"role": "user", "content": format!("Message {i}")}]),
                ),
                ..LogContent::default()
            };
            rows.push((s, c.encode()));
        }
        store.put_batch(&rows).unwrap();
        let ids = |r: &SearchResult| -> Vec<String> {
            r.logs
                .iter()
                .map(|l| l["id"].as_str().unwrap().to_string())
                .collect()
        };
        let all = search(&store, &Filters::default(), &Page::default()).unwrap();
        assert_eq!(ids(&all), ["r3", "r2", "r1", "r0"]);
        assert_eq!(all.stats.total_requests, 4);
        assert_eq!(all.stats.success_rate, 75.0);
        assert_eq!(all.stats.average_latency, 4.5);
        assert!(all.has_logs);
        let openai = Filters {
            providers: vec!["openai".into()],
            ..Filters::default()
        };
        let by_latency = Page {
            sort_by: SortBy::Latency,
            desc: false,
            limit: 2,
            offset: 1,
        };
        let r = search(&store, &openai, &by_latency).unwrap();
        assert_eq!(
            ids(&r),
            ["r0", "r2"],
            "openai by latency 3,5,9, second page of 2"
        );
        assert_eq!(r.pagination.total_count, 3);
        let window = Filters {
            start_ns: Some(101),
            end_ns: Some(102),
            ..Filters::default()
        };
        assert_eq!(
            ids(&search(&store, &window, &Page::default()).unwrap()),
            ["r2", "r1"]
        );
        let text = Filters {
            content_search: Some("message 2".into()),
            ..Filters::default()
        };
        assert_eq!(
            ids(&search(&store, &text, &Page::default()).unwrap()),
            ["r2"]
        );
        let errors = Filters {
            status: vec!["error".into()],
            ..Filters::default()
        };
        assert_eq!(stats(&store, &errors).unwrap().total_requests, 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
