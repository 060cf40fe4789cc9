#!/usr/bin/env bash
# Instructions per request through ringway, counted by callgrind: a figure that does not move
# with the machine's load, for comparing two builds (the load bench's timings do). Runs one
# worker on the epoll driver (valgrind does not follow io_uring), warms up, zeroes the counters,
# then counts a fixed-length wrk run of the ~1 KB passthrough chat request.
# Usage: benches/load/instructions.sh [path/to/ringway]   (default: the release build)
# CG_KEEP=file keeps callgrind's output there, for callgrind_annotate; STREAM=1 counts the
# streamed request (20 SSE events) instead; TRANSLATE=1 sends it to the Anthropic provider
# (the OpenAI-to-Anthropic translation both ways); LOGS=1 turns request logging on and also
# counts the log writer thread alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
REL="${CARGO_TARGET_DIR:-target}/release"
BIN="${1:-$REL/ringway}"
for tool in valgrind wrk; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install $tool)"; exit 2; }
done
[ -x "$REL/ringway-mock" ] || cargo build --release -p ringway-mock
D=$(mktemp -d)
trap 'kill $VPID $MPID 2>/dev/null || true; rm -rf "$D"' EXIT
"$REL/ringway-mock" --port 0 --workers 1 --no-record > "$D/mock.out" 2>/dev/null &
MPID=$!
for _ in $(seq 1 50); do grep -q listening "$D/mock.out" 2>/dev/null && break; sleep 0.1; done
MP=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$D/mock.out" | head -1)
cat > "$D/config.json" <<JSON
{"client": {"enable_logging": $([ "${LOGS:-0}" = 1 ] && echo true || echo false)},
 "providers": {"openai": {"keys": [{"name": "bench", "value": "sk-bench", "models": ["*"], "weight": 1}],
  "network_config": {"base_url": "http://127.0.0.1:$MP"}},
  "anthropic": {"keys": [{"name": "bench", "value": "sk-bench", "models": ["*"], "weight": 1}],
  "network_config": {"base_url": "http://127.0.0.1:$MP"}}}}
JSON
STREAM="${STREAM:-0}" TRANSLATE="${TRANSLATE:-0}" python3 - "$D/post.lua" <<'PY'
import json, os, sys
sys.path.insert(0, "benches/load")
from bench import chat_body
with open(sys.argv[1], "w") as f:
    f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
    f.write("wrk.body = " + json.dumps(chat_body(os.environ["STREAM"] == "1",
    "anthropic/claude-3-5-haiku" if os.environ["TRANSLATE"] == "1" else "openai/gpt-4o-mini")) + "\n")
PY
THREADS=()
[ "${LOGS:-0}" = 1 ] && THREADS=(--separate-threads=yes)
MONOIO_FORCE_LEGACY_DRIVER=1 valgrind --tool=callgrind "${THREADS[@]}" --callgrind-out-file="$D/cg.%p" "$BIN" \
  --app-dir "$D" --host 127.0.0.1 --port 0 --workers 1 --log-level warn > "$D/gw.out" 2>/dev/null &
VPID=$!
for _ in $(seq 1 100); do grep -q listening "$D/gw.out" 2>/dev/null && break; sleep 0.2; done
GP=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$D/gw.out" | head -1)
URL="http://127.0.0.1:$GP/v1/chat/completions"
wrk -t1 -c4 -d2s -s "$D/post.lua" "$URL" >/dev/null
callgrind_control -z "$VPID" >/dev/null 2>&1
N=$(wrk -t1 -c4 -d6s -s "$D/post.lua" "$URL" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
callgrind_control -d "$VPID" >/dev/null 2>&1
sleep 1
total() { sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$1" | head -1; }
if [ "${LOGS:-0}" = 1 ]; then
  # One file per thread: the process's count is their sum. The writer is the busiest thread
  # that is not the worker (whose file holds the connection task); the others idle.
  IR=0
  W=""
  WIR=0
  for F in "$D"/cg.*-*; do
    T=$(total "$F")
    T=${T:-0}
    IR=$((IR + T))
    if ! grep -q "server::conn::serve" "$F" && [ "$T" -gt "$WIR" ]; then W="$F"; WIR=$T; fi
  done
  [ -n "${CG_KEEP:-}" ] && cp "$W" "$CG_KEEP"
  echo "$BIN: $N requests, $IR instructions, $((IR / N)) per request, of which the log writer thread $((WIR / N))"
else
  F=$(ls -t "$D"/cg.* | head -1)
  IR=$(total "$F")
  [ -n "${CG_KEEP:-}" ] && cp "$F" "$CG_KEEP"
  echo "$BIN: $N requests, $IR instructions, $((IR / N)) per request"
fi
