#!/usr/bin/env bash
# Load bench: mock provider (direct, the ceiling), ringway and nginx (the reference reverse proxy),
# driven by wrk in alternating rounds of one run. Installs wrk and nginx from the distribution's
# packages when missing. Usage: benches/load/run.sh [--duration S] [--rounds N] [--connections C]
set -euo pipefail
cd "$(dirname "$0")/../.."
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} from the distribution's packages"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Every target is built as it would be deployed: the `dist` profile (fat LTO). BENCH_PROFILE=release
# measures the everyday incremental build instead (quicker to rebuild, ~5% more CPU per request).
export BENCH_PROFILE="${BENCH_PROFILE:-dist}"
cargo build --profile "$BENCH_PROFILE" -p ringway -p ringway-mock
# The floor target: a bare monoio proxy loop.
cargo build --profile "$BENCH_PROFILE" -p ringway --example floor_proxy
# The no-op plugin of the `plugin` scenario.
cargo build --profile "$BENCH_PROFILE" -p ringway-plugins-abi --example noop
exec python3 benches/load/bench.py "$@"
