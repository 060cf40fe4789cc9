#!/usr/bin/env bash
# Creates (or refreshes) the virtualenv for the SDK tests at target/sdk-venv. It is rebuilt only
# when requirements.txt or the Python version changes, so repeated runs cost nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
req="$root/tests/sdk/requirements.txt"
venv="${SDK_VENV:-$root/target/sdk-venv}"
python="${PYTHON:-python3}"

command -v "$python" >/dev/null || { echo "setup.sh: $python not found" >&2; exit 1; }
# The stamp covers the interpreter too: a venv made by another Python would be stale.
want="$( { cat "$req"; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
stamp="$venv/.requirements-sha256"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    exit 0
fi

echo "setup.sh: installing the SDK test environment in $venv" >&2
rm -rf "$venv"
if ! "$python" -m venv "$venv"; then
    echo "setup.sh: '$python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2
    rm -rf "$venv"
    exit 1
fi
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-input -r "$req"; then
    echo "setup.sh: pip install -r $req failed" >&2
    rm -rf "$venv"
    exit 1
fi
echo "$want" >"$stamp"
