//! `ringway-mock` binary: parse options, start the workers, print the listening line.

use std::{
    io::Write,
    net::{SocketAddr, ToSocketAddrs},
    process::ExitCode,
    sync::Arc,
};

use clap::Parser;
use ringway_mock::{cli::Args, server, state::Shared};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = Args::parse();
    let addr: SocketAddr = match (args.host.as_str(), args.port).to_socket_addrs() {
        Ok(mut addrs) => match addrs.next() {
            Some(addr) => addr,
            None => return fail(&format!("{} resolves to no address", args.host)),
        },
        Err(e) => return fail(&format!("cannot resolve {}: {e}", args.host)),
    };
    let shared = Arc::new(Shared::new(args.settings()));
    if let Some(script) = &args.script {
        match ringway_mock::faults::parse_steps(script.as_bytes()) {
            Ok(steps) => shared.script.push(steps),
            Err(e) => return fail(&format!("--script: {e}")),
        }
    }
    let running = match server::start(shared, addr, usize::from(args.workers)) {
        Ok(running) => running,
        Err(e) => return fail(&e.to_string()),
    };
    // Tests parse this exact line; nothing else goes to stdout.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "ringway-mock listening on {}", running.addr);
    let _ = stdout.flush();
    drop(stdout);
    running.wait();
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("ringway-mock: {message}");
    ExitCode::FAILURE
}
