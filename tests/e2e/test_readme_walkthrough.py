"""The README's walkthrough, run as written, so that it cannot drift from the product.

Its shell blocks are read out of README.md and run with bash: the CLI commands on a fresh data
directory, then the ``curl`` proxy call against ``passway serve`` (the same data directory) and
its Python example with the client library. Salesforce is played by a loopback upstream: an
operator catalog entry overrides the ``salesforce`` provider's base URL (``/sf/{{.workspace}}`` on
the upstream, so the workspace still shows in what arrives) and ``PASSWAY_EGRESS_ALLOW`` lets
Passway reach it, exactly as the README tells operators to do for a provider of their own. The only
other substitutions are the server's address and the line that activates the virtual environment.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

from passway.catalog import load_catalog
from support.server import run_passway_process
from support.upstream import RecordingUpstream

README = Path(__file__).resolve().parents[2] / "README.md"
TOKEN = "walkthrough-access-token"
ACCOUNT_PATH = "/services/data/v56.0/sobjects/Account/001xx000003DGb2AAG"


def walkthrough_blocks(language: str) -> list[str]:
    """The fenced ``language`` blocks of the README's "Walkthrough" section (up to its first
    subsection, which covers other ways to connect), in order."""
    text = README.read_text("utf-8")
    start = text.index("\n## Walkthrough")
    end = min(text.index("\n## ", start + 1), text.index("\n### ", start + 1))
    return re.findall(rf"```{language}\n(.*?)```", text[start:end], flags=re.DOTALL)


def catalog_override(upstream_url: str, path: Path) -> Path:
    salesforce = load_catalog().providers["salesforce"].to_json()
    salesforce["baseURL"] = f"{upstream_url}/sf/{{{{.workspace}}}}"
    path.write_text(json.dumps({"providers": [salesforce]}), "utf-8")
    return path


async def run_bash(script: str, env: dict[str, str], cwd: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        "bash", "-euo", "pipefail", "-c", script,
        cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, f"exit {process.returncode}\n{out.decode()}\n{err.decode()}"
    return out.decode()


async def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    setup, call = walkthrough_blocks("sh")
    [python_example] = walkthrough_blocks("python")
    activate = "source .venv/bin/activate"
    assert setup.startswith(activate)
    setup = setup.replace(activate, "", 1)  # the test's interpreter is on PATH instead

    async with RecordingUpstream() as upstream:
        passway_env = {
            "PASSWAY_DATA_DIR": str(tmp_path / "passway-data"),
            "PASSWAY_CATALOG_FILE": str(catalog_override(upstream.url, tmp_path / "catalog.json")),
            "PASSWAY_EGRESS_ALLOW": "127.0.0.1",
        }
        shell_env = {k: v for k, v in os.environ.items() if not k.startswith("PASSWAY_")}
        shell_env.update(passway_env)
        shell_env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), shell_env["PATH"]])
        shell_env["SF_ACCESS_TOKEN"] = TOKEN
        async with run_passway_process(passway_env, via_cli=True) as base_url:
            call = call.replace("http://127.0.0.1:8080", base_url)
            keep = 'printf "%s" "$PASSWAY_KEY" > passway-key.txt\n'
            out = await run_bash(setup + keep + call, shell_env, tmp_path)

            [seen] = [r for r in upstream.requests if r.method == "PUT"]
            assert (
                seen.raw_path == "/sf/acme/services/data/v56.0/sobjects/Account/001xx000003DGb2AAG"
            )
            assert seen.header("authorization") == f"Bearer {TOKEN}"
            assert json.loads(seen.body) == {"Name": "Acme Corporation"}
            assert not {"x-api-key", "x-amp-project-id"} & seen.header_names()
            assert '"method": "PUT"' in out or '"method":"PUT"' in out  # the provider's answer

            key = (tmp_path / "passway-key.txt").read_text()
            assert key.startswith("pw_")
            example = python_example.replace("http://127.0.0.1:8080", base_url)
            await asyncio.to_thread(
                exec, compile(example, "README.md", "exec"), {"passway_key": key}
            )
            puts = [r for r in upstream.requests if r.method == "PUT"]
            assert len(puts) == 2
            assert puts[-1].raw_path == seen.raw_path
            assert json.loads(puts[-1].body) == {"Name": "Acme"}
