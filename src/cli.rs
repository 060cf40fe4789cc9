//! Command-line arguments.

use std::path::PathBuf;

use clap::Parser;

/// ringway: a thread-per-core AI gateway, drop-in compatible with Bifrost.
#[derive(Debug, Clone, Parser)]
#[command(name = "ringway", version, about)]
pub struct Args {
    /// Config file (default: <app-dir>/config.json).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Application directory: config.json and the embedded store live here.
    #[arg(long, default_value = ".")]
    pub app_dir: PathBuf,
    /// Address to bind.
    #[arg(long, default_value = "0.0.0.0")]
    pub host: String,
    /// Port to bind (0 picks a free port; the bound address is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Worker threads, one runtime and one listener each (default: available cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, default_value = "info")]
    pub log_level: String,
}

impl Args {
    /// Parses the process arguments, accepting Bifrost's single-dash spellings too.
    pub fn from_env() -> Self {
        Self::parse_from(normalize_bifrost_flags(std::env::args()))
    }

    /// The config file to load.
    pub fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| self.app_dir.join("config.json"))
    }

    /// The number of workers to start.
    pub fn worker_count(&self) -> usize {
        self.workers
            .filter(|n| *n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

/// Rewrites Bifrost's Go-style flags (`-app-dir`, `-port`, `-host`, also `-flag=value`) to `--flag`.
pub fn normalize_bifrost_flags(args: impl IntoIterator<Item = String>) -> Vec<String> {
    const GO_FLAGS: &[&str] = &["app-dir", "port", "host", "config", "workers", "log-level"];
    args.into_iter()
        .map(|a| {
            let Some(rest) = a.strip_prefix('-') else {
                return a;
            };
            if rest.starts_with('-') {
                return a;
            }
            let name = rest.split('=').next().unwrap_or(rest);
            if GO_FLAGS.contains(&name) {
                format!("--{rest}")
            } else {
                a
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        let argv = std::iter::once("ringway".to_string()).chain(args.iter().map(|s| s.to_string()));
        Args::try_parse_from(normalize_bifrost_flags(argv)).expect("parses")
    }

    #[test]
    fn defaults() {
        let a = parse(&[]);
        assert_eq!(a.port, 8080);
        assert_eq!(a.host, "0.0.0.0");
        assert_eq!(a.config_path(), PathBuf::from("./config.json"));
    }

    #[test]
    fn bifrost_spellings() {
        let a = parse(&["-app-dir", "/tmp/x", "-port=9000", "-host", "127.0.0.1"]);
        assert_eq!(a.app_dir, PathBuf::from("/tmp/x"));
        assert_eq!(a.port, 9000);
        assert_eq!(a.host, "127.0.0.1");
        assert_eq!(a.config_path(), PathBuf::from("/tmp/x/config.json"));
    }

    #[test]
    fn short_flags_untouched() {
        let out = normalize_bifrost_flags(["-h".to_string(), "--port".into(), "1".into()]);
        assert_eq!(out, vec!["-h", "--port", "1"]);
    }
}
