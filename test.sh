#!/usr/bin/env bash
# Runs every test: lints, unit and integration tests (io_uring, then the legacy epoll driver),
# the official Python SDKs against the binaries (tests/sdk: its own virtualenv), and a short
# smoke run of each fuzz target. Everything a test needs is installed by these scripts.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

# The Vertex tests make throwaway RSA keys with the openssl CLI.
if ! command -v openssl >/dev/null; then
    step "installing openssl (the Vertex tests generate keys with it)"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openssl >/dev/null
fi

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "build (workspace, debug)"
cargo build --workspace --all-targets

step "tests (io_uring driver where available)"
cargo test --workspace

step "integration tests again on the legacy epoll driver"
MONOIO_FORCE_LEGACY_DRIVER=1 cargo test -p ringway --test '*'

step "official Python SDKs against ringway and the mock (tests/sdk)"
bash tests/sdk/run.sh

step "fuzz smoke (${FUZZ_SECONDS:-10}s per target)"
bash fuzz/smoke.sh "${FUZZ_SECONDS:-10}"

step "all tests passed"
