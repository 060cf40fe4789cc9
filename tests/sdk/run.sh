#!/usr/bin/env bash
# Runs the official-SDK tests against the debug binaries (build them first: test.sh does).
# RINGWAY_BIN_DIR picks another directory holding `ringway` and `ringway-mock`.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin_dir="${RINGWAY_BIN_DIR:-$root/target/debug}"
[[ -d "$bin_dir" ]] || { echo "run.sh: $bin_dir is not a directory" >&2; exit 1; }
# Absolute, since pytest runs from the repo root.
RINGWAY_BIN_DIR="$(cd "$bin_dir" && pwd)"
export RINGWAY_BIN_DIR
for bin in ringway ringway-mock; do
    [[ -x "$RINGWAY_BIN_DIR/$bin" ]] || {
        echo "run.sh: $RINGWAY_BIN_DIR/$bin missing: run cargo build --workspace" >&2
        exit 1
    }
done
bash "$root/tests/sdk/setup.sh"
venv="${SDK_VENV:-$root/target/sdk-venv}"
cd "$root"
# No __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/sdk "$@"
