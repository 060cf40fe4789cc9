"""Session fixtures: the mock provider and ringway in front of it, started from the built binaries.

Both are started once per session on free ports (`--port 0`); their ready lines give the bound
address. `RINGWAY_BIN_DIR` (default `target/debug`) says where the binaries are.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("RINGWAY_BIN_DIR", ROOT / "target" / "debug"))

# The SDKs honour HTTP(S)_PROXY; loopback traffic to the gateway and the mock must bypass it.
for _var in ("NO_PROXY", "no_proxy"):
    os.environ[_var] = ",".join(filter(None, [os.environ.get(_var), "127.0.0.1", "localhost"]))

# Keys ringway holds for each provider; the SDK's own key must never reach the mock.
OPENAI_KEY = "sk-mock-openai"
GROQ_KEY = "sk-mock-groq"
ANTHROPIC_KEY = "sk-ant-mock"
GEMINI_KEY = "gm-mock-key"
# A client-side key that ringway must drop.
CLIENT_KEY = "sk-client-never-forwarded"
# Logs of the started binaries, shown in the summary when a test failed.
LOGS: dict[str, Path] = {}
# groq answers within this many seconds or ringway gives 504 (used by the timeout test).
GROQ_TIMEOUT_S = 1


def _spawn(args: list[str], prefix: str, log: Path):
    """Starts `args`, waits for the stdout line starting with `prefix`, returns (proc, rest of it)."""
    exe = Path(args[0])
    if not exe.is_file():
        pytest.exit(f"{exe} is missing: run `cargo build --workspace` first", returncode=1)
    LOGS[exe.name] = log
    log_file = open(log, "wb")  # closed by _stop, or below when the start fails
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=log_file,
        env={**os.environ, "NO_COLOR": "1"},  # plain logs in the failure summary
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump():
        # Keeps reading after the banner so the child never blocks on a full pipe.
        found = False
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if not found and line.startswith(prefix):
                found = True
                lines.put(line[len(prefix) :])
        if not found:
            lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        rest = lines.get(timeout=30)
    except queue.Empty:
        rest = None
    if rest is None:
        proc.kill()
        proc.wait()
        log_file.close()
        raise RuntimeError(f"{exe.name} did not start; its log:\n{log.read_text(errors='replace')}")
    proc.log_file = log_file
    return proc, rest


def _stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=10)
    proc.log_file.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not terminalreporter.stats.get("failed") and not terminalreporter.stats.get("error"):
        return
    for name, log in LOGS.items():
        text = log.read_text(errors="replace") if log.exists() else "(no log)"
        terminalreporter.write_sep("-", f"{name} log (last 40 lines)")
        terminalreporter.write_line("\n".join(text.splitlines()[-40:]))


@dataclass
class MockProvider:
    """The running `ringway-mock`, with its control API."""

    addr: str
    # One keep-alive client for the control calls: a new client per call costs an SSL context.
    http: httpx.Client

    @property
    def url(self) -> str:
        return f"http://{self.addr}"

    def requests(self) -> list[dict]:
        """Every inference request the mock received since the last clear, oldest first."""
        r = self.http.get(f"{self.url}/_mock/requests")
        r.raise_for_status()
        return r.json()

    def clear(self) -> None:
        self.http.delete(f"{self.url}/_mock/requests").raise_for_status()
        self.http.delete(f"{self.url}/_mock/script").raise_for_status()

    def script(self, steps: list[dict] | dict) -> None:
        """Queues scripted answers for the next inference requests."""
        self.http.post(f"{self.url}/_mock/script", json=steps).raise_for_status()


@dataclass
class Gateway:
    """The running `ringway`."""

    addr: str
    banner: str

    @property
    def url(self) -> str:
        return f"http://{self.addr}"


@pytest.fixture(scope="session")
def mock(tmp_path_factory) -> MockProvider:
    log = tmp_path_factory.mktemp("mock") / "mock.log"
    proc, rest = _spawn(
        [str(BIN_DIR / "ringway-mock"), "--host", "127.0.0.1", "--port", "0"],
        "ringway-mock listening on ",
        log,
    )
    with httpx.Client(timeout=10, trust_env=False) as http:
        yield MockProvider(rest.split()[0], http)
    _stop(proc)


@pytest.fixture(scope="session")
def gateway(mock: MockProvider, tmp_path_factory) -> Gateway:
    app_dir = tmp_path_factory.mktemp("gateway")
    config = {
        "providers": {
            "openai": {
                "keys": [{"name": "mock", "value": OPENAI_KEY, "models": ["*"], "weight": 1}],
                "network_config": {"base_url": mock.url},
            },
            # Another OpenAI-family provider; its default base carries /openai/v1, like Groq's.
            "groq": {
                "keys": [{"name": "mock", "value": GROQ_KEY, "models": ["*"], "weight": 1}],
                "network_config": {
                    "base_url": f"{mock.url}/openai/v1",
                    "default_request_timeout_in_seconds": GROQ_TIMEOUT_S,
                },
            },
            # Anthropic's and Gemini's wire formats, both served by the same mock (it routes by
            # path: `/v1/messages`, `/v1beta/models/{model}:{method}`).
            "anthropic": {
                "keys": [{"name": "mock", "value": ANTHROPIC_KEY, "models": ["*"], "weight": 1}],
                "network_config": {"base_url": mock.url},
            },
            "gemini": {
                "keys": [{"name": "mock", "value": GEMINI_KEY, "models": ["*"], "weight": 1}],
                "network_config": {"base_url": mock.url},
            },
        }
    }
    (app_dir / "config.json").write_text(json.dumps(config, indent=2))
    proc, rest = _spawn(
        [
            str(BIN_DIR / "ringway"),
            "--app-dir",
            str(app_dir),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--workers",
            "2",
        ],
        "ringway listening on ",
        app_dir / "ringway.log",
    )
    # The ready line is `ADDR (workers: N, io: DRIVER)`.
    assert "workers: 2" in rest, rest
    yield Gateway(rest.split()[0], banner=rest)
    _stop(proc)


@pytest.fixture
def recorded(mock: MockProvider):
    """Clears the mock's recording and script queue; call the result for the requests since."""
    mock.clear()
    yield mock.requests
    mock.clear()


def header_values(record: dict, name: str) -> list[str]:
    """Values of header `name` (case-insensitive) in a request the mock recorded."""
    return [v for (n, v) in record["headers"] if n.lower() == name.lower()]


def recorded_body(record: dict) -> dict:
    """The JSON body of a recorded request."""
    assert record["body_encoding"] == "utf8", record
    return json.loads(record["body"])
