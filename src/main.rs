//! The `ringway` binary: parse flags, load config.json into the config store, serve.

use std::process::ExitCode;
use std::time::Duration;

use ringway::admin::boot::{BootOptions, boot};
use ringway::cli::Args;
use ringway::server::{self, ServeOptions};

#[global_allocator]
static GLOBAL: ringway::alloc::Mimalloc = ringway::alloc::Mimalloc;

fn main() -> ExitCode {
    let args = Args::from_env();
    if let Err(e) = ringway::telemetry::init_logging(&args.log_level) {
        eprintln!("ringway: {e}");
        return ExitCode::from(2);
    }
    let workers = args.worker_count();
    // config.json seeds the store; the first table is built from the store's config.
    let booted = match boot(&BootOptions {
        config_path: args.config_path(),
        app_dir: args.app_dir.clone(),
        workers,
    }) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("ringway: {e}");
            return ExitCode::from(1);
        }
    };
    for w in &booted.warnings {
        tracing::warn!("config: {w}");
    }
    for n in &booted.notes {
        tracing::info!("{n}");
    }
    let opts = ServeOptions {
        host: args.host.clone(),
        port: args.port,
        workers,
        drain_timeout: Duration::from_secs(15),
    };
    match server::run_with_admin(opts, booted.admin) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringway: {e}");
            ExitCode::from(1)
        }
    }
}
