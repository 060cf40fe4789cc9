//! Telemetry: process logging and Prometheus metrics.

pub mod metrics;

use tracing::level_filters::LevelFilter;

/// Installs the global log subscriber at `level` (error, warn, info, debug, trace).
///
/// Logs never carry secrets: key values are only ever formatted through their redacting `Debug`.
pub fn init_logging(level: &str) -> Result<(), String> {
    let filter: LevelFilter = level.parse().map_err(|_| {
        format!("--log-level: unknown level '{level}' (use error, warn, info, debug or trace)")
    })?;
    tracing_subscriber::fmt()
        .with_max_level(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init()
        .map_err(|e| format!("logging: {e}"))
}
