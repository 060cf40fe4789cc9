//! Starting the mock as a child process from tests (this crate's and the gateway's).
//!
//! ```no_run
//! use ringway_mock::harness::MockProcess;
//! let bin = ringway_mock::harness::locate_binary().expect("cargo build -p ringway-mock first");
//! let mock = MockProcess::spawn(&bin, &["--chunks", "5"]).expect("mock starts");
//! println!("upstream at {}", mock.base_url());
//! ```

use std::{
    io::{self, BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, ChildStdout, Command, Stdio},
};

/// The line prefix the binary prints once it listens.
pub const READY_PREFIX: &str = "ringway-mock listening on ";

/// A running mock; killed when dropped.
#[derive(Debug)]
pub struct MockProcess {
    child: Child,
    addr: SocketAddr,
    // Kept open so the child never writes into a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl MockProcess {
    /// Starts `bin` with `args` (plus `--port 0` unless a port is given) and waits until it
    /// listens.
    pub fn spawn(bin: &Path, args: &[&str]) -> io::Result<Self> {
        Self::spawn_with_env(bin, args, &[])
    }

    /// Like [`MockProcess::spawn`], with extra environment variables (e.g.
    /// `MONOIO_FORCE_LEGACY_DRIVER=1`).
    pub fn spawn_with_env(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> io::Result<Self> {
        let mut cmd = Command::new(bin);
        if !args.contains(&"--port") {
            cmd.args(["--port", "0"]);
        }
        cmd.args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let mut child = cmd.spawn()?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err(io::Error::other("child has no stdout"));
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let addr = stdout
            .read_line(&mut line)
            .and_then(|_| parse_ready_line(&line));
        match addr {
            Ok(addr) => Ok(Self {
                child,
                addr,
                _stdout: stdout,
            }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    /// The address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, for a provider's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses the ready line into the listening address.
pub fn parse_ready_line(line: &str) -> io::Result<SocketAddr> {
    line.trim_end()
        .strip_prefix(READY_PREFIX)
        .and_then(|addr| addr.parse().ok())
        .ok_or_else(|| io::Error::other(format!("unexpected mock output {line:?}")))
}

/// Finds a built `ringway-mock` binary for tests outside this crate: `$RINGWAY_MOCK_BIN`, or
/// the cargo target directory of the running test executable (`target/<profile>/`).
///
/// Cargo does not build a dependency's binaries, so other crates' tests need
/// `cargo build -p ringway-mock` first (this crate's tests use `CARGO_BIN_EXE_ringway-mock`).
pub fn locate_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RINGWAY_MOCK_BIN") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    let name = format!("ringway-mock{}", std::env::consts::EXE_SUFFIX);
    exe.ancestors()
        .skip(1)
        .take(3)
        .map(|dir| dir.join(&name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_line_parses_v4_and_v6() {
        let v4 = parse_ready_line("ringway-mock listening on 127.0.0.1:4000\n").expect("v4");
        assert_eq!(v4.port(), 4000);
        let v6 = parse_ready_line("ringway-mock listening on [::1]:5\n").expect("v6");
        assert!(v6.is_ipv6());
        assert!(parse_ready_line("something else").is_err());
    }
}
