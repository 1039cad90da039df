"""Passway as a benchmark target: a ``passway serve`` subprocess set up through its management API.

The set-up is what a developer does: create a project with the operator key, create a project API
key, deploy an amp.yaml, import a connection holding the provider's API key, install the
integration for a group. The load then carries the full proxy headers, so every request goes
through the whole path: API key check, installation and connection lookup, credential placement.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import wait_for_port

SRC = Path(__file__).resolve().parent.parent / "src"
ADMIN_KEY = "bench-operator-key-0123456789abcdef"
PROVIDER = "bench-upstream"
AMP_YAML = f"""specVersion: 1.0.0
integrations:
  - name: bench
    provider: {PROVIDER}
    proxy:
      enabled: true
"""


def write_catalog(path: Path, upstream_port: int) -> None:
    """An operator catalog file adding one apiKey provider that points at the local upstream."""
    provider = {
        "name": PROVIDER,
        "displayName": "Benchmark upstream",
        "authType": "apiKey",
        "baseURL": f"http://127.0.0.1:{upstream_port}",
        "support": {"proxy": True},
        "apiKeyAttachment": "header",
        "apiKeyHeaderName": "Authorization",
        "apiKeyHeaderValuePrefix": "Bearer ",
    }
    path.write_text(json.dumps({"providers": [provider]}))


def serve_command(port: int, workers: int, src: Path = SRC, *, cli: bool = True) -> list[str]:
    """``python -m passway serve`` when the CLI exists (and ``cli``), else the same app as the CLI
    would start it: ``uvicorn passway.bootstrap:create_app_from_env --factory``."""
    if cli and (src / "passway" / "__main__.py").exists():
        return [sys.executable, "-m", "passway", "serve", "--host", "127.0.0.1", "--port",
                str(port), "--workers", str(workers)]  # fmt: skip
    return [sys.executable, "-m", "uvicorn", "passway.bootstrap:create_app_from_env", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--no-access-log", "--log-level", "warning"]  # fmt: skip


def _call(method: str, url: str, key: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("X-Api-Key", key)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{method} {url}: HTTP {exc.code}: {exc.read()[:500]!r}") from None
    return json.loads(raw) if raw else None


@dataclass
class PasswayServer:
    """A running ``passway serve`` and the proxy headers that reach the bench installation."""

    data_dir: Path
    port: int
    workers: int
    upstream_port: int
    token: str
    # Another source tree (a variant under study) instead of this checkout's ``src``.
    src: Path = SRC
    # Proxy calls go to this port (the proxy listener, ``PASSWAY_PROXY_PORT``); None: the main port.
    proxy_port: int | None = None
    # More PASSWAY_* variables (a setting under study, e.g. operations recording off).
    extra_env: dict[str, str] = field(default_factory=dict)
    # A command the server runs under (e.g. valgrind's, for ``bench/instructions.py``).
    wrapper: list[str] = field(default_factory=list)
    # Seconds to wait for its ports (a server under valgrind starts some fifty times slower).
    start_timeout: float = 60.0
    process: subprocess.Popen[bytes] | None = None
    command: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def proxy_base(self) -> str:
        """Where proxy calls go."""
        return f"http://127.0.0.1:{self.proxy_port or self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        catalog = self.data_dir / "catalog.json"
        write_catalog(catalog, self.upstream_port)
        env = {
            **os.environ,
            "PASSWAY_DATA_DIR": str(self.data_dir),
            "PASSWAY_HOST": "127.0.0.1",
            "PASSWAY_PORT": str(self.port),
            "PASSWAY_WORKERS": str(self.workers),
            "PASSWAY_ADMIN_API_KEY": ADMIN_KEY,
            "PASSWAY_EGRESS_ALLOW": "127.0.0.1",
            "PASSWAY_CATALOG_FILE": str(catalog),
            # Passway's shipped log level (info: one line per proxy call, to server.log) is left
            # as it is; the access log is off, which is its shipped default too.
            "PASSWAY_ACCESS_LOG": "false",
            "PASSWAY_PUBLIC_URL": f"http://127.0.0.1:{self.port}",
            "PASSWAY_PROXY_PORT": "" if self.proxy_port is None else str(self.proxy_port),
            # The checkout's code, whether or not the package is installed in the environment.
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(self.src), os.environ.get("PYTHONPATH")])
            ),
            **self.extra_env,
        }
        for cli in (True, False):
            log = (self.data_dir / "server.log").open("wb")
            self.command = [
                *self.wrapper,
                *serve_command(self.port, self.workers, self.src, cli=cli),
            ]
            self.process = subprocess.Popen(
                self.command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            try:
                wait_for_port(self.port, process=self.process, timeout=self.start_timeout)
                if self.proxy_port is not None:
                    wait_for_port(self.proxy_port, process=self.process, timeout=self.start_timeout)
                return
            except RuntimeError:
                if not cli:
                    raise
                print(f"passway serve failed ({log.name}); starting it through uvicorn instead")

    def provision(self) -> None:
        """Project, API key, amp.yaml, connection and installation, through the management API."""
        base = f"http://127.0.0.1:{self.port}/v1"
        project = _call("POST", f"{base}/projects", ADMIN_KEY, {"name": "bench", "appName": "b"})
        pid = project["id"]
        key = _call("POST", f"{base}/projects/{pid}/api-keys", ADMIN_KEY, {"label": "bench"})
        api_key = key["key"]
        _call("PUT", f"{base}/projects/{pid}/integrations:batch", api_key, {"sourceYaml": AMP_YAML})
        integration = _call("GET", f"{base}/projects/{pid}/integrations/bench", api_key)
        _call(
            "POST",
            f"{base}/projects/{pid}/connections:generate",
            api_key,
            {
                "groupRef": "bench-group",
                "consumerRef": "bench-consumer",
                "provider": PROVIDER,
                "apiKey": self.token,
            },
        )
        installation = _call(
            "POST",
            f"{base}/projects/{pid}/integrations/{integration['id']}/installations",
            api_key,
            {"groupRef": "bench-group", "config": {"content": {"proxy": {"enabled": True}}}},
        )
        self.headers = {
            "x-amp-proxy-version": "1",
            "x-amp-project-id": pid,
            "x-api-key": api_key,
            "x-amp-installation-id": installation["id"],
        }

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()
        self.process = None
