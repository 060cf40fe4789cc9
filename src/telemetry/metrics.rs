//! Prometheus metrics with Bifrost's names, recorded per core without shared writes.
//!
//! Each core owns its series (plain atomics only that core writes, so no cache line bounces
//! between cores on the hot path); a scrape sums every core's series per label set and encodes
//! them with `prometheus-client`.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

/// Bucket bounds of `bifrost_overhead_latency_microseconds`.
pub const OVERHEAD_BUCKETS_US: [f64; 14] = [
    10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 25000.0, 50000.0,
    100000.0, 500000.0,
];

/// Bucket bounds of `bifrost_upstream_latency_seconds`.
pub const UPSTREAM_BUCKETS_S: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// A histogram written by one core.
#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    buckets: Box<[AtomicU64]>,
    /// Sum in millionths of the unit, so it stays an integer.
    sum_micro: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micro: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, v: f64) {
        if let Some(i) = self.bounds.iter().position(|b| v <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micro
            .fetch_add((v.max(0.0) * 1e6) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sums of several cores' histograms.
#[derive(Debug, Clone)]
struct HistogramSum {
    bounds: &'static [f64],
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl HistogramSum {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    fn add(&mut self, h: &Histogram) {
        for (acc, b) in self.buckets.iter_mut().zip(h.buckets.iter()) {
            *acc += b.load(Ordering::Relaxed);
        }
        self.sum += h.sum_micro.load(Ordering::Relaxed) as f64 / 1e6;
        self.count += h.count.load(Ordering::Relaxed);
    }

    /// `(upper bound, count in that bucket alone)` pairs, ending with `+Inf` for what lies
    /// above the last bound: `prometheus-client` makes them cumulative as it writes them.
    fn per_bucket(&self) -> Vec<(f64, u64)> {
        let mut out: Vec<(f64, u64)> = self
            .bounds
            .iter()
            .copied()
            .zip(self.buckets.iter().copied())
            .collect();
        let bounded: u64 = self.buckets.iter().sum();
        out.push((f64::INFINITY, self.count.saturating_sub(bounded)));
        out
    }
}

/// One core's series for one provider.
#[derive(Debug)]
struct ProviderSeries {
    provider: Box<str>,
    overhead_us: Histogram,
    upstream_s: Histogram,
    success: AtomicU64,
    errors: AtomicU64,
}

/// Every core's series; read at scrape time only.
#[derive(Debug, Default)]
pub struct Registry {
    series: Mutex<Vec<Arc<ProviderSeries>>>,
}

/// One core's handle for recording.
#[derive(Debug)]
pub struct CoreMetrics {
    registry: Arc<Registry>,
    mine: RefCell<Vec<Arc<ProviderSeries>>>,
}

impl CoreMetrics {
    /// Creates this core's recorder, registering into `registry`.
    pub fn new(registry: Arc<Registry>) -> Self {
        Self {
            registry,
            mine: RefCell::new(Vec::new()),
        }
    }

    fn series(&self, provider: &str) -> Arc<ProviderSeries> {
        if let Some(s) = self.mine.borrow().iter().find(|s| &*s.provider == provider) {
            return Arc::clone(s);
        }
        let s = Arc::new(ProviderSeries {
            provider: provider.into(),
            overhead_us: Histogram::new(&OVERHEAD_BUCKETS_US),
            upstream_s: Histogram::new(&UPSTREAM_BUCKETS_S),
            success: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        });
        // Cold path: once per provider per core.
        self.registry
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&s));
        self.mine.borrow_mut().push(Arc::clone(&s));
        s
    }

    /// Records one finished request: the gateway's own time and whether it succeeded.
    pub fn request(&self, provider: &str, overhead: Duration, ok: bool) {
        let s = self.series(provider);
        s.overhead_us.observe(overhead.as_secs_f64() * 1e6);
        if ok {
            s.success.fetch_add(1, Ordering::Relaxed);
        } else {
            s.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records the time one upstream attempt took.
    pub fn upstream(&self, provider: &str, latency: Duration) {
        self.series(provider)
            .upstream_s
            .observe(latency.as_secs_f64());
    }
}

#[derive(Debug, Default)]
struct Totals {
    provider: String,
    overhead: Option<HistogramSum>,
    upstream: Option<HistogramSum>,
    success: u64,
    errors: u64,
}

impl Registry {
    fn totals(&self) -> Vec<Totals> {
        let series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<Totals> = Vec::new();
        for s in series.iter() {
            let idx = match out.iter().position(|t| t.provider == *s.provider) {
                Some(i) => i,
                None => {
                    out.push(Totals {
                        provider: s.provider.to_string(),
                        ..Totals::default()
                    });
                    out.len() - 1
                }
            };
            let t = &mut out[idx];
            t.overhead
                .get_or_insert_with(|| HistogramSum::new(&OVERHEAD_BUCKETS_US))
                .add(&s.overhead_us);
            t.upstream
                .get_or_insert_with(|| HistogramSum::new(&UPSTREAM_BUCKETS_S))
                .add(&s.upstream_s);
            t.success += s.success.load(Ordering::Relaxed);
            t.errors += s.errors.load(Ordering::Relaxed);
        }
        out
    }

    /// The exposition text for `GET /metrics`.
    pub fn render(self: &Arc<Self>) -> String {
        let mut reg = prometheus_client::registry::Registry::default();
        reg.register_collector(Box::new(Arc::clone(self)));
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &reg).is_err() {
            let _ = writeln!(out, "# encoding failed");
        }
        out
    }
}

impl Collector for Registry {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let totals = self.totals();
        let family = |e: &mut DescriptorEncoder,
                      name: &str,
                      help: &str,
                      kind: MetricType,
                      f: &dyn Fn(
            &Totals,
            &mut prometheus_client::encoding::MetricEncoder,
        ) -> Result<(), std::fmt::Error>|
         -> Result<(), std::fmt::Error> {
            let mut m = e.encode_descriptor(name, help, None, kind)?;
            for t in &totals {
                let labels = [("provider", t.provider.as_str())];
                let mut fam = m.encode_family(&labels)?;
                f(t, &mut fam)?;
            }
            Ok(())
        };
        family(
            &mut encoder,
            "bifrost_overhead_latency_microseconds",
            "Time spent in the gateway itself: request time minus time waiting on the provider",
            MetricType::Histogram,
            &|t, m| {
                let h = t
                    .overhead
                    .as_ref()
                    .map(|h| (h.sum, h.count, h.per_bucket()));
                let (sum, count, buckets) = h.unwrap_or((0.0, 0, Vec::new()));
                m.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
            },
        )?;
        family(
            &mut encoder,
            "bifrost_upstream_latency_seconds",
            "Time each upstream attempt took",
            MetricType::Histogram,
            &|t, m| {
                let h = t
                    .upstream
                    .as_ref()
                    .map(|h| (h.sum, h.count, h.per_bucket()));
                let (sum, count, buckets) = h.unwrap_or((0.0, 0, Vec::new()));
                m.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
            },
        )?;
        family(
            &mut encoder,
            "bifrost_success_requests",
            "Requests answered successfully",
            MetricType::Counter,
            &|t, m| m.encode_counter::<NoLabelSet, u64, u64>(&t.success, None),
        )?;
        family(
            &mut encoder,
            "bifrost_error_requests",
            "Requests answered with an error",
            MetricType::Counter,
            &|t, m| m.encode_counter::<NoLabelSet, u64, u64>(&t.errors, None),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_cores_and_renders_bifrost_names() {
        let reg = Arc::new(Registry::default());
        let a = CoreMetrics::new(Arc::clone(&reg));
        let b = CoreMetrics::new(Arc::clone(&reg));
        a.request("openai", Duration::from_micros(40), true);
        b.request("openai", Duration::from_micros(400), false);
        b.upstream("openai", Duration::from_millis(20));
        let text = reg.render();
        assert!(
            text.contains("# TYPE bifrost_overhead_latency_microseconds histogram"),
            "{text}"
        );
        assert!(
            text.contains(r#"bifrost_overhead_latency_microseconds_count{provider="openai"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"bifrost_overhead_latency_microseconds_bucket{le="50.0",provider="openai"} 1"#
            ) || text.contains(
                r#"bifrost_overhead_latency_microseconds_bucket{provider="openai",le="50.0"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"bifrost_success_requests_total{provider="openai"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"bifrost_error_requests_total{provider="openai"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"bifrost_upstream_latency_seconds_count{provider="openai"} 1"#),
            "{text}"
        );
    }

    /// The value of the sample line that starts with `prefix` (labels included).
    fn sample(text: &str, prefix: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|v| v.trim().parse().ok())
    }

    #[test]
    fn histogram_buckets_are_cumulative_once() {
        let reg = Arc::new(Registry::default());
        let a = CoreMetrics::new(Arc::clone(&reg));
        let b = CoreMetrics::new(Arc::clone(&reg));
        // 5 us, 20 us, 20 us, 70 us on two cores, and one past the last bound (600 ms).
        for us in [5, 20, 70] {
            a.request("openai", Duration::from_micros(us), true);
        }
        b.request("openai", Duration::from_micros(20), true);
        b.request("openai", Duration::from_millis(600), true);
        let text = reg.render();
        let bucket = |le: &str| {
            let name = "bifrost_overhead_latency_microseconds_bucket";
            sample(&text, &format!("{name}{{le=\"{le}\",provider=\"openai\"}}"))
                .or_else(|| sample(&text, &format!("{name}{{provider=\"openai\",le=\"{le}\"}}")))
                .unwrap_or_else(|| panic!("no le={le} bucket in {text}"))
        };
        // Each bucket counts every observation at or below its bound, and no more.
        assert_eq!(bucket("10.0"), 1.0, "{text}");
        assert_eq!(bucket("25.0"), 3.0, "{text}");
        assert_eq!(bucket("50.0"), 3.0, "{text}");
        assert_eq!(bucket("100.0"), 4.0, "{text}");
        assert_eq!(bucket("500000.0"), 4.0, "{text}");
        assert_eq!(bucket("+Inf"), 5.0, "{text}");
        assert_eq!(
            sample(
                &text,
                "bifrost_overhead_latency_microseconds_count{provider=\"openai\"}"
            ),
            Some(5.0),
            "{text}"
        );
    }
}
