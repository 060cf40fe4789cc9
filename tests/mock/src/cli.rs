//! Command-line options.

use std::time::Duration;

use clap::Parser;

use crate::state::Settings;

/// `ringway-mock`: a mock LLM provider for tests and benchmarks.
#[derive(Debug, Clone, Parser)]
#[command(name = "ringway-mock", version, about)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Worker threads, each with its own runtime and SO_REUSEPORT listener.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: u16,
    /// Latency before every inference response head, in ms.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Pause between streamed events, in ms.
    #[arg(long, default_value_t = 0)]
    pub chunk_delay_ms: u64,
    /// Events per streamed response (role, content pieces, finish).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(3..=100_000))]
    pub chunks: u32,
    /// Do not record requests (GET /_mock/requests stays empty).
    #[arg(long)]
    pub no_record: bool,
    /// Fault steps queued at start, as `POST /_mock/script` takes them (a JSON array or one
    /// step), e.g. `[{"status": 503, "times": 2}, {"action": "reset"}]`.
    #[arg(long)]
    pub script: Option<String>,
}

impl Args {
    /// The runtime settings these options describe.
    pub fn settings(&self) -> Settings {
        Settings {
            latency: Duration::from_millis(self.latency_ms),
            chunk_delay: Duration::from_millis(self.chunk_delay_ms),
            chunks: self.chunks as usize,
            record: !self.no_record,
        }
    }
}
