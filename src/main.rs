//! The `ringway` binary: parse flags, load config.json, serve.

use std::process::ExitCode;
use std::time::Duration;

use ringway::cli::Args;
use ringway::routing::table::RouteTable;
use ringway::server::{self, ServeOptions};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = Args::from_env();
    if let Err(e) = ringway::telemetry::init_logging(&args.log_level) {
        eprintln!("ringway: {e}");
        return ExitCode::from(2);
    }
    let path = args.config_path();
    let loaded = match ringway::config::load_file(&path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ringway: {}: {e}", path.display());
            return ExitCode::from(1);
        }
    };
    for w in &loaded.warnings {
        tracing::warn!("config: {w}");
    }
    let workers = args.worker_count();
    let table = match RouteTable::build(loaded.config, workers) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("ringway: {}: {e}", path.display());
            return ExitCode::from(1);
        }
    };
    let opts = ServeOptions {
        host: args.host.clone(),
        port: args.port,
        workers,
        drain_timeout: Duration::from_secs(15),
    };
    match server::run(opts, table) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringway: {e}");
            ExitCode::from(1)
        }
    }
}
