#!/usr/bin/env python3
"""Side-by-side load bench: direct-to-mock, ringway, nginx; medians and ratios from one run."""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# The binaries `run.sh` built, in its cargo profile (CARGO_TARGET_DIR is honoured, as cargo
# honours it).
PROFILE = os.environ.get("BENCH_PROFILE") or "release"
REL = os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), PROFILE)
CLK = os.sysconf("SC_CLK_TCK")
# Targets of the passthrough and stream scenarios.
PROXY_TARGETS = ("direct", "floor", "ringway", "nginx")
# Pause before each request of the paced run (wrk's timers have millisecond resolution).
PACE_DELAY_MS = 10


def spawn_listening(cmd, prefix, env=None):
    """Starts cmd and returns (proc, port) once it prints `prefix<addr>`."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = p.stdout.readline()
    m = re.search(prefix + r"\S+:(\d+)", line)
    if not m:
        p.kill()
        sys.exit(f"{cmd[0]} did not start: {line!r}")
    return p, int(m.group(1))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_kb(pid, key="VmHWM"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def nginx_pids(master):
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return [master] + [int(x) for x in out]


def start_nginx(mock_port, workers, tmp):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
worker_processes {workers};
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  upstream mock {{ server 127.0.0.1:{mock_port}; keepalive 256; }}
  server {{
    listen 127.0.0.1:{port} reuseport;
    location / {{
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }}
  }}
}}
""")
    p = subprocess.Popen([nginx, "-c", conf, "-p", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p, port


def alternating(targets, rounds):
    """(round, name, port, pids) for each target in each round, the order reversed every other
    round so that no target always runs first on a warm or a cold machine."""
    for rnd in range(rounds):
        order = list(targets.items())
        if rnd % 2:
            order.reverse()
        for name, (port, pids) in order:
            yield rnd, name, port, pids


def stop(procs):
    """Stops each process (SIGTERM, then SIGKILL after 20 s)."""
    for p in procs:
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=20)
        except Exception:
            p.kill()


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10):
    import socket
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"port {port} did not open")


def chat_body(stream, model="openai/gpt-4o-mini"):
    # About 1 KB: a system prompt, a short history and a question, as SDKs send it.
    msgs = [
        {"role": "system", "content": "You are a helpful assistant. " * 8},
        {"role": "user", "content": "What is the capital of France? Answer briefly. " * 4},
        {"role": "assistant", "content": "Paris is the capital of France. " * 4},
        {"role": "user", "content": "And of Italy? Please also say something about its history. " * 3},
    ]
    return json.dumps({"model": model, "messages": msgs, "temperature": 0.2,
                       "max_tokens": 256, "stream": stream})


def wrk_script(tmp, body, delay_ms=None):
    """wrk's Lua script for a POST of body; with delay_ms each connection pauses that long
    before each request (wrk starts the latency clock after the pause), which paces the load."""
    path = os.path.join(tmp, f"post-{abs(hash(body))}-{delay_ms}.lua")
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write('wrk.headers["Content-Type"] = "application/json"\n')
        f.write('wrk.headers["Authorization"] = "Bearer sk-bench"\n')
        f.write("wrk.body = " + json.dumps(body) + "\n")
        if delay_ms:
            f.write(f"function delay() return {delay_ms} end\n")
    return path


def run_wrk(port, path, script, seconds, conns):
    out = subprocess.run(
        ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", script,
         f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = {}
    for pct, val, unit in re.findall(r"\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)", out):
        lat[pct] = float(val) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    return {"rps": rps, "requests": reqs, "p50_ms": lat.get("50"), "p99_ms": lat.get("99"),
            "errors": int(errs.group(1)) if errs else 0}


def hold_idle(port, n):
    """Opens n keep-alive connections that each carried one request, then stay idle."""
    import socket
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /health HTTP/1.1\r\nhost: bench\r\n\r\n")
        socks.append(s)
    for s in socks:
        s.settimeout(5)
        try:
            s.recv(4096)
        except OSError:
            pass
    return socks


def own_overhead_us(port, provider="openai"):
    """The gateway's own time per request from its bifrost_overhead_latency_microseconds
    histogram (request time minus time waiting on the provider; for a stream, up to its first
    event): (count, mean, median interpolated within its bucket as Prometheus'
    histogram_quantile does)."""
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    name = "bifrost_overhead_latency_microseconds"
    label = f'provider="{provider}"'
    total = count = None
    buckets = []
    for line in text.splitlines():
        if label not in line:
            continue
        value = float(line.rsplit(" ", 1)[1])
        if line.startswith(name + "_sum"):
            total = value
        elif line.startswith(name + "_count"):
            count = value
        elif line.startswith(name + "_bucket"):
            le = re.search(r'le="([^"]+)"', line).group(1)
            buckets.append((float("inf") if le == "+Inf" else float(le), value))
    if not count:
        return None
    rank, lower, below = count / 2, 0.0, 0.0
    median = float("nan")
    for upper, cum in sorted(buckets):
        if cum >= rank:
            median = upper if upper == float("inf") else lower + (upper - lower) * (rank - below) / max(cum - below, 1)
            break
        lower, below = upper, cum
    return int(count), total / count, median


def stream_timing(port, requests, body):
    """Sequential streamed requests: time to first event and gaps between events, client side."""
    import socket
    ttfb, gaps = [], []
    req = (f"POST /v1/chat/completions HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
           f"authorization: Bearer sk-bench\r\ncontent-length: {len(body)}\r\n\r\n{body}").encode()
    for _ in range(requests):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.perf_counter()
        s.sendall(req)
        buf, times, seen = b"", [], 0
        while b"[DONE]" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            now = time.perf_counter()
            buf += chunk
            n = buf.count(b"data:")
            times.extend([now] * (n - seen))
            seen = n
        s.close()
        if times:
            ttfb.append((times[0] - t0) * 1e3)
            gaps.extend((b - a) * 1e3 for a, b in zip(times, times[1:]))
    return ttfb, gaps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--scenarios", default="passthrough,stream,translate,translate-stream,plugin,logging",
                    help="passthrough and stream run on every target; translate(-stream) (OpenAI client, "
                         "Anthropic provider) only through ringway, compared with its passthrough; plugin "
                         "compares passthrough through ringway with and without one no-op dylib plugin; "
                         "logging compares it with request logging off and on (metrics are always on)")
    ap.add_argument("--idle", type=int, default=1000, help="idle keep-alive connections held per proxy")
    ap.add_argument("--timing-requests", type=int, default=20, help="streams for the timing check (0 = skip)")
    ap.add_argument("--results", default=os.path.join(ROOT, "benches", "RESULTS.md"))
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="ringway-bench-")
    procs = []
    try:
        mock, mock_port = spawn_listening(
            [os.path.join(REL, "ringway-mock"), "--port", "0", "--workers", str(args.workers),
             "--no-record", "--chunks", "20"], "ringway-mock listening on ")
        procs.append(mock)
        # Request logging is on by default (as in Bifrost): off here, so every scenario measures the
        # gateway alone; the logging scenario turns it on.
        cfg = {"client": {"enable_logging": False}, "providers": {"openai": {
            "keys": [{"name": "bench", "value": "sk-bench", "models": ["*"], "weight": 1}],
            "network_config": {"base_url": f"http://127.0.0.1:{mock_port}"},
            "concurrency_and_buffer_size": {"concurrency": 10000, "buffer_size": 20000}}}}
        cfg["providers"]["anthropic"] = dict(cfg["providers"]["openai"])
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump(cfg, f)
        gw, gw_port = spawn_listening(
            [os.path.join(REL, "ringway"), "--app-dir", tmp, "--host", "127.0.0.1", "--port", "0",
             "--workers", str(args.workers), "--log-level", "warn"], "ringway listening on ")
        procs.append(gw)
        ngx, ngx_port = start_nginx(mock_port, args.workers, tmp)
        procs.append(ngx)
        # The floor: a bare monoio proxy loop (one thread, bytes forwarded untouched).
        floor, floor_port = spawn_listening(
            [os.path.join(REL, "examples", "floor_proxy"), "0", str(mock_port)], "floor listening on ")
        procs.append(floor)
        targets = {"direct": (mock_port, [mock.pid]), "floor": (floor_port, [floor.pid]),
                   "ringway": (gw_port, [gw.pid]), "nginx": (ngx_port, nginx_pids(ngx.pid))}
        if "plugin" in args.scenarios.split(","):
            # The same gateway with one no-op plugin on every hook.
            pdir = tempfile.mkdtemp(prefix="ringway-bench-p-", dir=tmp)
            pcfg = dict(cfg, plugins=[{"name": "noop", "enabled": True,
                                       "path": os.path.join(REL, "examples", "libnoop.so")}])
            with open(os.path.join(pdir, "config.json"), "w") as f:
                json.dump(pcfg, f)
            gwp, gwp_port = spawn_listening(
                [os.path.join(REL, "ringway"), "--app-dir", pdir, "--host", "127.0.0.1", "--port", "0",
                 "--workers", str(args.workers), "--log-level", "warn"], "ringway listening on ")
            procs.append(gwp)
            targets["ringway+noop"] = (gwp_port, [gwp.pid])
        if "logging" in args.scenarios.split(","):
            # The same gateway with request logging on (content included, Bifrost's default).
            ldir = tempfile.mkdtemp(prefix="ringway-bench-l-", dir=tmp)
            with open(os.path.join(ldir, "config.json"), "w") as f:
                json.dump(dict(cfg, client={"enable_logging": True}), f)
            gwl, gwl_port = spawn_listening(
                [os.path.join(REL, "ringway"), "--app-dir", ldir, "--host", "127.0.0.1", "--port", "0",
                 "--workers", str(args.workers), "--log-level", "warn"], "ringway listening on ")
            procs.append(gwl)
            targets["ringway+logs"] = (gwl_port, [gwl.pid])
        results = {}
        paced_offered = None
        idle = []
        if args.idle:
            for name in ("ringway", "nginx"):
                idle += hold_idle(targets[name][0], args.idle)
            print(f"holding {args.idle} idle keep-alive connections to ringway and to nginx", flush=True)
        for scen in args.scenarios.split(","):
            translating = scen.startswith("translate")
            model = "anthropic/claude-3-5-haiku" if translating else "openai/gpt-4o-mini"
            script = wrk_script(tmp, chat_body(scen.endswith("stream"), model))
            if translating:
                scen_targets = {"ringway": targets["ringway"]}
            elif scen == "plugin":
                scen_targets = {k: targets[k] for k in ("ringway", "ringway+noop")}
            elif scen == "logging":
                scen_targets = {k: targets[k] for k in ("ringway", "ringway+logs")}
            else:
                scen_targets = {k: targets[k] for k in PROXY_TARGETS}
            for name, (port, _) in scen_targets.items():  # warm-up
                run_wrk(port, "/v1/chat/completions", script, 2, args.connections)
            for rnd, name, port, pids in alternating(scen_targets, args.rounds):
                before = sum(cpu_seconds(p) for p in pids)
                r = run_wrk(port, "/v1/chat/completions", script, args.duration, args.connections)
                r["cpu_per_10k"] = (sum(cpu_seconds(p) for p in pids) - before) / max(r["requests"], 1) * 1e4
                results.setdefault((scen, name), []).append(r)
                print(f"{scen:12} round {rnd + 1} {name:8} {r['rps']:>10.0f} req/s  p50 {r['p50_ms']:.3f} ms"
                      f"  p99 {r['p99_ms']:.3f} ms  cpu/10k {r['cpu_per_10k']:.3f} s  errors {r['errors']}",
                      flush=True)
            if scen == "passthrough":
                # Latency at half of nginx's peak rate: enough connections, each pausing
                # PACE_DELAY_MS before each request, to offer that rate to both proxies.
                half = statistics.median(r["rps"] for r in results[(scen, "nginx")]) / 2
                conns = max(1, round(half * PACE_DELAY_MS / 1000))
                paced = wrk_script(tmp, chat_body(False, model), PACE_DELAY_MS)
                for rnd in range(args.rounds):
                    order = ["ringway", "nginx"] if rnd % 2 == 0 else ["nginx", "ringway"]
                    for name in order:
                        r = run_wrk(targets[name][0], "/v1/chat/completions", paced, args.duration, conns)
                        results.setdefault(("paced", name), []).append(r)
                        print(f"paced        round {rnd + 1} {name:8} {r['rps']:>10.0f} req/s  p50 {r['p50_ms']:.3f} ms"
                              f"  p99 {r['p99_ms']:.3f} ms  ({conns} connections)", flush=True)
                paced_offered = (half, conns)
        rss = {name: max(rss_kb(p) for p in pids) / 1024 for name, (_, pids) in targets.items()}
        rss_now = {name: sum(rss_kb(p, "VmRSS") for p in pids) / 1024 for name, (_, pids) in targets.items()}
        for s_ in idle:
            s_.close()
        timing = None
        if args.timing_requests:
            # A second mock with a 50 ms pause between events: each event must reach the client
            # as it arrives, and the time to first byte shows the gateway's own delay.
            slow, slow_port = spawn_listening(
                [os.path.join(REL, "ringway-mock"), "--port", "0", "--no-record", "--chunks", "10",
                 "--chunk-delay-ms", "50"], "ringway-mock listening on ")
            procs.append(slow)
            cfg["providers"]["openai"]["network_config"]["base_url"] = f"http://127.0.0.1:{slow_port}"
            tdir = tempfile.mkdtemp(prefix="ringway-bench-t-", dir=tmp)
            with open(os.path.join(tdir, "config.json"), "w") as f:
                json.dump(cfg, f)
            gw2, gw2_port = spawn_listening(
                [os.path.join(REL, "ringway"), "--app-dir", tdir, "--host", "127.0.0.1", "--port", "0",
                 "--workers", "1", "--log-level", "warn"], "ringway listening on ")
            procs.append(gw2)
            # nginx in front of the same mock: the reference for what one more hop costs here
            # (each hop wakes an idle process, which on a VM is tens of microseconds).
            ndir = tempfile.mkdtemp(prefix="ringway-bench-n-", dir=tmp)
            ngx2, ngx2_port = start_nginx(slow_port, 1, ndir)
            procs.append(ngx2)
            body = chat_body(True)
            d_ttfb, d_gaps = stream_timing(slow_port, args.timing_requests, body)
            r_ttfb, r_gaps = stream_timing(gw2_port, args.timing_requests, body)
            n_ttfb, _ = stream_timing(ngx2_port, args.timing_requests, body)
            timing = (d_ttfb, d_gaps, r_ttfb, r_gaps, n_ttfb, own_overhead_us(gw2_port))
    finally:
        stop(procs)
        shutil.rmtree(tmp, ignore_errors=True)

    med = lambda xs: statistics.median(xs)
    lines = []
    # The targets, each read off this run: (target, figure, met).
    verdicts = []
    for scen in args.scenarios.split(","):
        if scen in ("plugin", "logging"):
            other, what = {"plugin": ("ringway+noop", "one no-op dylib plugin"),
                           "logging": ("ringway+logs", "request logging")}[scen]
            lines.append(f"### {scen} (passthrough through ringway, without and with {what})\n")
            lines.append("| target | req/s | p50 ms | p99 ms | CPU s / 10k req | non-2xx |")
            lines.append("|---|---|---|---|---|---|")
            row = {}
            for name in ("ringway", other):
                rs = results[(scen, name)]
                row[name] = {k: med([r[k] for r in rs]) for k in ("rps", "p50_ms", "p99_ms", "cpu_per_10k")}
                x = row[name]
                lines.append(f"| {name} | {x['rps']:.0f} | {x['p50_ms']:.3f} | {x['p99_ms']:.3f} | "
                             f"{x['cpu_per_10k']:.3f} | {sum(r['errors'] for r in rs)} |")
            if scen == "plugin":
                ratio = row[other]["rps"] / row["ringway"]["rps"]
                verdicts.append(("one no-op plugin costs <= 3% of req/s", f"{ratio:.3f}x", ratio >= 0.97))
            lines.append(f"\nwith/without {what} req/s **{row[other]['rps'] / row['ringway']['rps']:.3f}x**; "
                         f"CPU per request {row[other]['cpu_per_10k'] / row['ringway']['cpu_per_10k']:.3f}x\n")
            continue
        if scen.startswith("translate"):
            base = "stream" if scen.endswith("stream") else "passthrough"
            rs = results[(scen, "ringway")]
            x = {k: med([r[k] for r in rs]) for k in ("rps", "p50_ms", "p99_ms", "cpu_per_10k")}
            errs = sum(r["errors"] for r in rs)
            lines.append(f"### {scen} (OpenAI client, Anthropic provider: full decode and re-encode both ways)\n")
            lines.append("| target | req/s | p50 ms | p99 ms | CPU s / 10k req | non-2xx |")
            lines.append("|---|---|---|---|---|---|")
            lines.append(f"| ringway | {x['rps']:.0f} | {x['p50_ms']:.3f} | {x['p99_ms']:.3f} | "
                         f"{x['cpu_per_10k']:.3f} | {errs} |")
            if (base, "ringway") in results:
                b = med([r["rps"] for r in results[(base, "ringway")]])
                lines.append(f"\ntranslation/{base} req/s through ringway **{x['rps'] / b:.2f}x**\n")
                if base == "passthrough":
                    verdicts.append(("translation >= 0.8x passthrough req/s", f"{x['rps'] / b:.2f}x", x["rps"] / b >= 0.8))
            continue
        row = {}
        for name in PROXY_TARGETS:
            rs = results[(scen, name)]
            row[name] = {k: med([r[k] for r in rs]) for k in ("rps", "p50_ms", "p99_ms", "cpu_per_10k")}
            row[name]["errors"] = sum(r["errors"] for r in rs)
        rw, ng, d, fl = row["ringway"], row["nginx"], row["direct"], row["floor"]
        lines.append(f"### {scen}\n")
        lines.append("| target | req/s | p50 ms | p99 ms | CPU s / 10k req | non-2xx |")
        lines.append("|---|---|---|---|---|---|")
        for name in PROXY_TARGETS:
            x = row[name]
            lines.append(f"| {name} | {x['rps']:.0f} | {x['p50_ms']:.3f} | {x['p99_ms']:.3f} | "
                         f"{x['cpu_per_10k']:.3f} | {x['errors']} |")
        lines.append("")
        lines.append(f"ringway/nginx req/s **{rw['rps'] / ng['rps']:.2f}x**; ringway/direct "
                     f"{rw['rps'] / d['rps']:.2f}x; CPU per request ringway/nginx "
                     f"**{rw['cpu_per_10k'] / ng['cpu_per_10k']:.2f}x**; p99 ringway/nginx "
                     f"{rw['p99_ms'] / ng['p99_ms']:.2f}x; floor (bare monoio loop)/nginx req/s "
                     f"{fl['rps'] / ng['rps']:.2f}x, CPU per request {fl['cpu_per_10k'] / ng['cpu_per_10k']:.2f}x; "
                     f"ringway/floor req/s {rw['rps'] / fl['rps']:.2f}x\n")
        if scen == "passthrough":
            rps_ratio, cpu_ratio = rw["rps"] / ng["rps"], rw["cpu_per_10k"] / ng["cpu_per_10k"]
            verdicts.append(("passthrough req/s >= 1.2x nginx", f"{rps_ratio:.2f}x (floor {fl['rps'] / ng['rps']:.2f}x)",
                             rps_ratio >= 1.2))
            verdicts.append(("CPU per request <= 0.8x nginx", f"{cpu_ratio:.2f}x (floor {fl['cpu_per_10k'] / ng['cpu_per_10k']:.2f}x)",
                             cpu_ratio <= 0.8))
        if scen == "passthrough" and paced_offered:
            half, conns = paced_offered
            pr = {n: {k: med([r[k] for r in results[("paced", n)]]) for k in ("rps", "p50_ms", "p99_ms")}
                  for n in ("ringway", "nginx")}
            lines.append(f"At half of nginx's peak rate ({half:.0f} req/s offered over {conns} paced connections): "
                         + ", ".join(f"{n} {x['rps']:.0f} req/s p50 {x['p50_ms']:.3f} ms p99 {x['p99_ms']:.3f} ms"
                                     for n, x in pr.items())
                         + f"; p99 ringway/nginx **{pr['ringway']['p99_ms'] / pr['nginx']['p99_ms']:.2f}x**\n")
            p99 = pr["ringway"]["p99_ms"] / pr["nginx"]["p99_ms"]
            verdicts.append(("p99 at half of nginx's peak rate <= nginx's", f"{p99:.2f}x", p99 <= 1.0))
    lines.append("Peak RSS (MB): " + ", ".join(f"{k} {v:.1f}" for k, v in rss.items()))
    lines.append("RSS after the run (MB)" + (f", with {args.idle} idle keep-alive connections open" if args.idle else "")
                 + ": " + ", ".join(f"{k} {v:.1f}" for k, v in rss_now.items()) + "\n")
    if args.idle:
        verdicts.append((f"RSS <= 40 MB after the run, {args.idle} idle connections open",
                         f"{rss_now['ringway']:.1f} MB", rss_now["ringway"] <= 40))
    if timing:
        d_ttfb, d_gaps, r_ttfb, r_gaps, n_ttfb, own = timing
        over = statistics.median(r_ttfb) - statistics.median(d_ttfb)
        n_over = statistics.median(n_ttfb) - statistics.median(d_ttfb)
        dev = statistics.median(abs(g - 50.0) for g in r_gaps) if r_gaps else float("nan")
        lines.append(f"Stream timing (mock pausing 50 ms between events, {len(r_ttfb)} streams): median time to "
                     f"first event direct {statistics.median(d_ttfb):.3f} ms, through ringway "
                     f"{statistics.median(r_ttfb):.3f} ms (overhead **{over * 1000:.0f} us**), through nginx "
                     f"{statistics.median(n_ttfb):.3f} ms (overhead {n_over * 1000:.0f} us); median client-side "
                     f"gap through ringway {statistics.median(r_gaps):.2f} ms (median deviation from 50 ms "
                     f"{dev:.2f} ms, max {max(r_gaps):.2f} ms)\n")
        if own:
            lines.append(f"ringway's own share of those streams' time to first event "
                         f"(`bifrost_overhead_latency_microseconds`, {own[0]} requests: request time "
                         f"minus the wait for the provider's head and first event): mean {own[1]:.0f} us, "
                         f"median {own[2]:.0f} us\n")
        devs = sorted(abs(g - 50.0) for g in r_gaps)
        p95 = devs[min(len(devs) - 1, int(len(devs) * 0.95))] if devs else float("nan")
        verdicts.append(("each event written as it arrives: client gaps within 5 ms of the 50 ms pace (p95)",
                         f"{p95:.2f} ms", p95 <= 5.0))
        own_text = f"; ringway's own share {own[2]:.0f} us" if own else ""
        verdicts.append(("time to first event overhead <= 100 us median",
                         f"+{over * 1000:.0f} us (nginx +{n_over * 1000:.0f} us{own_text})", over * 1000 <= 100))
    if verdicts:
        lines.append("Targets read off this run:\n")
        lines.append("| target | this run | |")
        lines.append("|---|---|---|")
        lines.extend(f"| {t} | {fig} | {'met' if ok else '**not met**'} |" for t, fig, ok in verdicts)
        lines.append("")
    report = "\n".join(lines)
    print("\n" + report)
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except Exception:
        pass
    header = (f"## Load bench, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n"
              f"Machine: nproc {os.cpu_count()}, kernel {platform.release()}, CPU {cpu}.\n"
              f"Command: `benches/load/run.sh --duration {args.duration} --rounds {args.rounds} "
              f"--connections {args.connections} --workers {args.workers} --scenarios {args.scenarios}` "
              f"(wrk -t1, ~1 KB OpenAI chat body, medians of {args.rounds} alternating rounds, "
              f"{args.workers} worker(s) for each proxy, ringway and the floor built with "
              f"`--profile {PROFILE}`).\n\n")
    with open(args.results, "a") as f:
        f.write(header + report + "\n")
    print(f"appended to {args.results}")


if __name__ == "__main__":
    main()
