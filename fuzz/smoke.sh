#!/usr/bin/env bash
# Builds every fuzz target and runs each for N seconds (default 15) without a sanitizer, so it
# works on stable Rust. CI calls this. Seeds (fuzz/seeds/TARGET) and dictionaries (fuzz/dicts)
# give the fuzzer valid-looking inputs to mutate from. For longer runs with AddressSanitizer:
# `RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET corpus/TARGET seeds/TARGET -- -dict=dicts/X.dict`.
set -euo pipefail

secs="${1:-15}"
cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

dict_for() {
    case "$1" in
        json_fields) echo dicts/json.dict ;;
        http_head) echo dicts/http.dict ;;
        sse_framing) echo dicts/sse.dict ;;
        chunked) echo dicts/chunked.dict ;;
        *) echo "" ;;
    esac
}

cargo fuzz build -s none
for t in $(cargo fuzz list); do
    echo "== fuzz target $t: ${secs}s"
    mkdir -p "corpus/$t"
    dirs=("corpus/$t")
    [ -d "seeds/$t" ] && dirs+=("seeds/$t")
    args=(-max_total_time="$secs" -print_final_stats=1)
    dict="$(dict_for "$t")"
    [ -n "$dict" ] && args+=(-dict="$dict")
    # The first directory receives new inputs; the seeds stay read-only.
    cargo fuzz run -s none "$t" "${dirs[@]}" -- "${args[@]}"
done
echo "all fuzz targets ran ${secs}s without a crash"
