#!/usr/bin/env python3
"""A/B of gateway builds: each binary named on the command line serves the same wrk load against
one mock, in alternating rounds of one run; medians and ratios to the first are printed.

CPU is read from /proc/<pid>/task/*/schedstat (exact on-CPU time, not tick samples), for the
whole process and for the request log's writer thread alone. For comparing two builds of one
change; the full side-by-side with nginx and the floor is run.sh.

Usage: benches/load/ab.py NAME=BINARY [NAME=BINARY ...] [--floor NAME=BINARY] [--nginx]
       [--logs] [--stream] [--translate] [--rounds N] [--duration S] [--connections C]
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402


def thread_ns(pid, only=None):
    """On-CPU nanoseconds of pid's threads (only those whose name is `only`, if given)."""
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            if only and open(f"/proc/{pid}/task/{t}/comm").read().strip() != only:
                continue
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gateways", nargs="+", help="NAME=BINARY of a ringway build")
    ap.add_argument("--floor", action="append", default=[], help="NAME=BINARY of a floor_proxy build")
    ap.add_argument("--nginx", action="store_true", help="nginx as a reverse proxy, for reference")
    ap.add_argument("--logs", action="store_true", help="request logging on (Bifrost's default)")
    ap.add_argument("--stream", action="store_true", help="streamed requests (20 events)")
    ap.add_argument("--translate", action="store_true", help="to the Anthropic provider")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", type=int, default=64)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ringway-ab-")
    procs = []
    try:
        mock, mock_port = B.spawn_listening(
            [os.path.join(B.REL, "ringway-mock"), "--port", "0", "--workers", "1", "--no-record",
             "--chunks", "20"], "ringway-mock listening on ")
        procs.append(mock)
        provider = {"keys": [{"name": "bench", "value": "sk-bench", "models": ["*"], "weight": 1}],
                    "network_config": {"base_url": f"http://127.0.0.1:{mock_port}"},
                    "concurrency_and_buffer_size": {"concurrency": 10000, "buffer_size": 20000}}
        cfg = {"client": {"enable_logging": a.logs},
               "providers": {"openai": provider, "anthropic": dict(provider)}}
        targets = {}
        for spec in a.gateways:
            name, path = spec.split("=", 1)
            d = tempfile.mkdtemp(dir=tmp)
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(cfg, f)
            p, port = B.spawn_listening(
                [path, "--app-dir", d, "--host", "127.0.0.1", "--port", "0", "--workers", "1",
                 "--log-level", "warn"], "ringway listening on ")
            procs.append(p)
            targets[name] = (port, [p.pid])
        for spec in a.floor:
            name, path = spec.split("=", 1)
            p, port = B.spawn_listening([path, "0", str(mock_port)], "floor listening on ")
            procs.append(p)
            targets[name] = (port, [p.pid])
        if a.nginx:
            n, port = B.start_nginx(mock_port, 1, tmp)
            procs.append(n)
            targets["nginx"] = (port, B.nginx_pids(n.pid))
        model = "anthropic/claude-3-5-haiku" if a.translate else "openai/gpt-4o-mini"
        script = B.wrk_script(tmp, B.chat_body(a.stream, model))
        for port, _ in targets.values():  # warm-up
            B.run_wrk(port, "/v1/chat/completions", script, 2, a.connections)
        results = {}
        for rnd, name, port, pids in B.alternating(targets, a.rounds):
            cpu0 = sum(thread_ns(p) for p in pids)
            log0 = sum(thread_ns(p, "ringway-logs") for p in pids)
            r = B.run_wrk(port, "/v1/chat/completions", script, a.duration, a.connections)
            n = max(r["requests"], 1)
            r["cpu_us"] = (sum(thread_ns(p) for p in pids) - cpu0) / n / 1e3
            r["writer_us"] = (sum(thread_ns(p, "ringway-logs") for p in pids) - log0) / n / 1e3
            results.setdefault(name, []).append(r)
            print(f"round {rnd + 1} {name:12} {r['rps']:>9.0f} req/s  CPU {r['cpu_us']:.2f} us/req"
                  f"  log writer {r['writer_us']:.2f} us/req  p99 {r['p99_ms']:.3f} ms"
                  f"  non-2xx {r['errors']}", flush=True)
        print()
        base = None
        for name, rs in results.items():
            med = {k: statistics.median(r[k] for r in rs) for k in ("rps", "cpu_us", "writer_us")}
            base = base or med
            print(f"{name:12} {med['rps']:>9.0f} req/s ({med['rps'] / base['rps']:.3f}x)  "
                  f"CPU {med['cpu_us']:.2f} us/req ({med['cpu_us'] / base['cpu_us']:.3f}x)  "
                  f"log writer {med['writer_us']:.2f} us/req")
    finally:
        B.stop(procs)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
