"""Where a Passway worker spends its time per proxied request: ``python bench/profile.py``.

Starts the nginx upstream and ``passway serve --workers 1``, drives 1 KB GETs (or 64 KB POSTs) with
wrk at its main port (where the benchmark's ``passway-1w`` gets its proxy calls), and samples the
worker with py-spy (``pip install py-spy`` into the venv; not a Passway dependency). Prints the
hottest functions by own time and by inclusive time, grouped so that the steps of the request path
stand out, then the sampled time by stage of a proxied call (``STAGE_RULES``) as a share and as
microseconds of the worker's CPU per request; keeps the collapsed stacks for a flame graph tool.

``--stages-only`` prints just the stage table (``bench/run.py --profile`` appends it to its report).
Modules compiled with mypyc only show with ``--native`` (their frames are C functions such as
``CPyDef_handler___ProxyHandler_____call__``); it is turned on when the source tree has any.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import free_port
from nginx import start_upstream
from passway_target import SRC, PasswayServer
from run import BENCH_DIR, TOKEN, make_files
from tools import ensure_tools, find_py_spy
from wrk import run_wrk

# The stages of a proxied call: (stage, file path suffix, function). A frame is in a rule's stage
# when its file path ends with the suffix (one ending in "/" takes every file under that directory)
# and its function is the rule's: "name" or "Class.name" (also matches what is nested in it), or
# "*" for any function of the file. A rule naming a function wins over a "*" rule, then the longer
# path wins. A sample counts for the stage of its innermost frame that some rule matches (so helpers
# without a rule count for their caller's stage); samples matching no rule are "event loop and
# other". Frames of modules compiled with mypyc match the same rules (see ``mypyc_frame``).
STAGE_RULES: list[tuple[str, str, str]] = [
    # The server side reading the client's request.
    ("parse", "passway/http1/server/connection.py", "ClientConnection.data_received"),
    ("parse", "passway/http1/server/connection.py", "ClientConnection.on_message_begin"),
    ("parse", "passway/http1/server/connection.py", "ClientConnection.on_url"),
    ("parse", "passway/http1/server/connection.py", "ClientConnection.on_header"),
    ("parse", "passway/http1/server/connection.py", "ClientConnection.on_headers_complete"),
    ("parse", "passway/http1/server/connection.py", "ClientConnection.on_body"),
    ("parse", "passway/http1/server/connection.py", "ClientConnection.on_message_complete"),
    ("parse", "passway/http1/server/connection.py", "ClientConnection._start"),
    ("parse", "passway/proxy/request.py", "*"),
    # Which application answers.
    ("route", "passway/asgi.py", "*"),
    ("route", "passway/frontdoor.py", "route_main_port"),
    ("route", "passway/frontdoor.py", "serve"),
    ("route", "passway/observability/endpoints.py", "*"),
    # API key, project, installation and connection.
    ("resolve", "passway/proxy/resolve.py", "*"),
    ("resolve", "passway/proxy/cache.py", "*"),
    ("resolve", "passway/apikeys.py", "*"),
    # The credential placed into the provider's request.
    ("credentials", "passway/core/credentials.py", "*"),
    ("credentials", "passway/core/target.py", "*"),
    ("credentials", "passway/core/headers.py", "upstream_request_headers"),
    ("credentials", "passway/proxy/handler.py", "ProxyHandler._outgoing"),
    ("credentials", "passway/proxy/token_step.py", "*"),
    ("credentials", "passway/oauth/", "*"),
    # Sending the request to the provider.
    ("upstream write", "passway/proxy/upstream.py", "open_upstream"),
    ("upstream write", "passway/http1/client/pool.py", "*"),
    ("upstream write", "passway/http1/client/request.py", "*"),
    ("upstream write", "passway/http1/client/connection.py", "Http1Connection.begin"),
    ("upstream write", "passway/http1/client/connection.py", "Http1Connection.write"),
    ("upstream write", "passway/http1/client/connection.py", "Http1Connection.drain"),
    # Reading the provider's answer (data_received, the parser's on_* callbacks, wait_head, read,
    # _wait, _wake: the rest of the client connection).
    ("upstream parse", "passway/http1/client/connection.py", "*"),
    ("upstream parse", "passway/http1/client/deadlines.py", "*"),
    # Passing the answer on to the client.
    ("relay", "passway/proxy/upstream.py", "relay_response"),
    ("relay", "passway/core/headers.py", "downstream_response_headers"),
    ("relay", "passway/http1/server/call.py", "*"),
    ("relay", "passway/http1/server/connection.py", "ClientConnection.write"),
    ("relay", "passway/http1/server/connection.py", "ClientConnection.writelines"),
    ("relay", "passway/proxy/handler.py", "_Exchange.send_tracked"),
    # Operations, metrics and logs (in the call and in their background writers).
    ("recording", "passway/operations/", "*"),
    ("recording", "passway/observability/metrics.py", "*"),
    ("recording", "passway/observability/logs.py", "*"),
    ("recording", "passway/store/operations.py", "*"),
    ("recording", "passway/proxy/handler.py", "ProxyHandler._record"),
    ("recording", "logging/", "*"),
    ("recording", "structlog/", "*"),
    ("recording", "prometheus_client/", "*"),
    ("recording", "sqlite3/", "*"),
    # The rest of the call's own steps.
    ("call bookkeeping", "passway/proxy/handler.py", "*"),
    ("call bookkeeping", "passway/observability/request_ids.py", "*"),
    ("call bookkeeping", "passway/http1/server/connection.py", "ClientConnection._run"),
    ("call bookkeeping", "passway/http1/server/connection.py", "ClientConnection._finish"),
]
OTHER = "event loop and other"
# The event loop reading a socket (the client's or the provider's: the stack cannot tell which).
SOCKET_READS = "socket reads"
_READ_CALLS = frozenset({"read", "recv", "recvfrom", "readv"})
STAGES = [*dict.fromkeys(stage for stage, _, _ in STAGE_RULES), SOCKET_READS, OTHER]

# A thread whose innermost named C function is one of these was waiting (for a lock, an event, the
# disk), not running: native (``--native``) samples include such threads, Python-only ones do not.
WAITS = frozenset(
    {
        "PyThread_acquire_lock_timed",
        "take_gil",
        "epoll_wait",
        "epoll_pwait",
        "epoll_pwait2",
        "poll",
        "ppoll",
        "select",
        "pselect",
        "pthread_cond_wait",
        "pthread_cond_timedwait",
        "pthread_cond_clockwait",
        "sem_wait",
        "sem_timedwait",
        "sem_clockwait",
        "do_futex_wait",
        "__futex_abstimed_wait_common",
        "nanosleep",
        "clock_nanosleep",
        "fsync",
        "fdatasync",
    }
)
RATE = 200  # py-spy samples per second

_PASSWAY_PARTS = ("proxy/", "core/", "asgi.py", "store/", "oauth/", "catalog/", "api/", "egress")

Stack = tuple[list[str], int]  # frames, outermost first; samples


def read_stacks(collapsed: Path) -> list[Stack]:
    """py-spy's raw output: one ``frame;frame;... count`` line per distinct stack."""
    stacks = []
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        stacks.append(([f for f in stack.split(";") if f], int(count)))
    return stacks


def split_frame(frame: str) -> tuple[str, str]:
    """``Class.method (passway/x.py:42)`` -> (``Class.method``, ``passway/x.py``)."""
    name, _, location = frame.rpartition(" (")
    if not name:
        return frame, ""
    path, _, line = location.rstrip(")").rpartition(":")
    return (name, path) if line.isdigit() else (name, location.rstrip(")"))


def _package(frame: str) -> str:
    """``handle (aiohttp/client.py:42)`` -> ``aiohttp``; Passway's own modules -> ``passway``."""
    path = split_frame(frame)[1]
    if path.startswith(("passway/", *_PASSWAY_PARTS)) or path.startswith("__native_"):
        return "passway"
    return path.split("/")[0] if "/" in path else path or frame


def summarize(stacks: list[Stack], top: int) -> str:
    """Own and inclusive sample shares per function, for the event loop's thread."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for frames, count in stacks:
        if any("Thread._bootstrap" in f for f in frames):
            continue  # helper threads (SQLite writers, anyio); the stage table counts them
        total += count
        if frames:
            own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    by_package: collections.Counter[str] = collections.Counter()
    for name, n in own.items():
        by_package[_package(name)] += n
    out = [f"{total} samples of the event loop's thread", "", "own time by package:"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in by_package.most_common(top)]
    out += ["", "own time:"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    out += ["", "inclusive time:"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(out)


# Frames of mypyc-compiled code (``--native``). mypyc names a function
# ``CPyDef_<module>___<Class>___<name>`` (``CPyPy_`` for its Python-callable wrapper,
# ``CPyDunder_<slot>`` for type slots), where <module> is the shortest suffix of the module's name
# unique among the modules compiled together (``handler``, ``client___connection``; the full name
# with separate compilation; empty when one module is compiled alone), every "." becomes "___" and
# a "___" of the name "___3_". Coroutines and generators are classes ``<name>_<Class>_gen`` whose
# ``__mypyc_generator_helper__`` runs their body; ``__mypyc__<Class>_setup`` allocates an instance.
_MYPYC_NAME = re.compile(r"^CPy(?:Def_|Py_|Dunder_(?:am_send|_RichCompare_|__[a-z0-9_]*?__))(.+)$")
_MYPYC_CLASS = re.compile(r"^(?P<name>.+?)(?:_(?P<cls>_?[A-Z][A-Za-z0-9]*))?_(?:gen|obj|env)$")
_MYPYC_INTERNALS = frozenset(
    {"__mypyc_generator_helper__", "__next__", "__await__", "__iter__", "__call__", "__get__"}
    | {"send", "throw", "close"}
)


def exported_name(dotted: str) -> str:
    """mypyc's C spelling of a dotted name (``mypyc.namegen.exported_name``)."""
    return dotted.replace("___", "___3_").replace(".", "___")


def mypyc_prefixes(modules: Iterable[str]) -> list[tuple[str, str]]:
    """(C name prefix, module) for modules compiled together, longest prefix first: mypyc's
    shortest unique suffix of each name (``mypyc.namegen.make_module_translation_map``) and, for
    separate compilation, the full name."""
    modules = sorted(modules)

    def suffixes(module: str) -> list[str]:
        parts = module.split(".")
        return [""] + [".".join(parts[-i:]) for i in range(1, len(parts) + 1)]

    seen = collections.Counter(s for m in modules for s in suffixes(m))
    found = set()
    for module in modules:
        unique = next((s for s in suffixes(module) if seen[s] == 1), module)
        found |= {(exported_name(unique), module), (exported_name(module), module)}
    return sorted(found, key=lambda pair: -len(pair[0]))


def _decode_part(part: str) -> list[str]:
    """A mypyc class or function name -> the Python names it stands for (``_proxy_ProxyHandler_gen``
    -> ``ProxyHandler._proxy``, ``__mypyc__Http1Connection_setup`` -> ``Http1Connection``)."""
    if part.startswith("__mypyc__") and part.endswith("_setup"):
        part = part.removeprefix("__mypyc__").removesuffix("_setup")
    for slot in ("_clear_on_completion", "_clear"):  # a class's tp_clear, a generator's cleanup
        base = part.removesuffix(slot)
        if base != part and (_MYPYC_CLASS.match(base) or base[:1].isupper()):
            part = base
    if part == "__top_level__":
        return ["<module>"]
    match = _MYPYC_CLASS.match(part)
    if not match:
        return [part]
    name, cls = match["name"], match["cls"]
    if cls and cls.startswith("_") and name.startswith("__") and not name.endswith("__"):
        name, cls = name + "_", cls[1:]  # "__call___ProxyHandler": __call__ of ProxyHandler
    return [cls, name] if cls else [name]


def mypyc_frame(name: str, prefixes: list[tuple[str, str]]) -> tuple[str, str] | None:
    """A compiled function's C name -> (qualified Python name, module file), or None when it is not
    one (mypyc's runtime helpers, C libraries)."""
    match = _MYPYC_NAME.match(name)
    if not match:
        return None
    body = match[1]
    for prefix, module in prefixes:
        if prefix and not body.startswith(prefix + "___"):
            continue
        rest = body[len(prefix) + 3 :] if prefix else body
        parts = [p.replace("\0", "___") for p in rest.replace("___3_", "\0").split("___")]
        names: list[str] = []
        for before, part in zip(["", *parts[:-1]], parts, strict=True):
            if not (_MYPYC_CLASS.match(before) and part in _MYPYC_INTERNALS):
                names += _decode_part(part)  # not the machinery of a generated class
        return ".".join(names), module.replace(".", "/") + ".py"
    return None


def _path_matches(path: str, rule: str) -> bool:
    if rule.endswith("/"):
        return path.startswith(rule) or f"/{rule}" in path
    return path == rule or path.endswith("/" + rule)


def _function_matches(qualname: str, rule: str) -> bool:
    """``rule`` ("name", "Class.name") appears in ``qualname``'s dotted parts, in order."""
    if rule == "*":
        return True
    names = [p for p in qualname.split(".") if p != "<locals>"]
    wanted = rule.split(".")
    if len(names) == 1:
        wanted = wanted[-1:]  # a Python without qualified names in its frames
    return any(names[i : i + len(wanted)] == wanted for i in range(len(names)))


class StageClassifier:
    """Stages of frames and samples by ``STAGE_RULES``, for the modules of one source tree."""

    def __init__(self, compiled: Iterable[str] = ()) -> None:
        self._prefixes = mypyc_prefixes(compiled)
        self._rules = sorted(STAGE_RULES, key=lambda r: (r[2] == "*", -len(r[1])))
        self._frames: dict[str, str | None] = {}

    def frame_stage(self, frame: str) -> str | None:
        if frame not in self._frames:
            qualname, path = split_frame(frame)
            native = mypyc_frame(qualname, self._prefixes) if self._prefixes else None
            if native:
                qualname, path = native
            self._frames[frame] = next(
                (
                    stage
                    for stage, rule_path, function in self._rules
                    if _path_matches(path, rule_path) and _function_matches(qualname, function)
                ),
                None,
            )
        return self._frames[frame]

    def sample_stage(self, frames: list[str]) -> str:
        """The stage of the innermost frame that has one."""
        for frame in reversed(frames):
            stage = self.frame_stage(frame)
            if stage:
                return stage
        named = [split_frame(f)[0] for f in frames if not f.startswith("0x")]
        if named and named[-1] in _READ_CALLS and any(n.startswith("uv__read") for n in named):
            return SOCKET_READS
        return OTHER


def waiting(frames: list[str]) -> bool:
    """The sampled thread was blocked (its innermost named C function waits)."""
    named = (split_frame(f)[0] for f in reversed(frames) if not f.startswith("0x"))
    return next(named, "") in WAITS


@dataclass(frozen=True)
class Measured:
    """The profiled run: wrk's figures and the worker's CPU time (user + system) over it."""

    method: str
    path: str
    connections: int
    port: str  # "main port" or "proxy port"
    seconds: float
    rps: float
    requests: float
    cpu_seconds: float
    native: bool

    @property
    def cpu_us_per_request(self) -> float:
        return 1e6 * self.cpu_seconds / self.requests if self.requests else 0.0


def stage_counts(stacks: list[Stack], classifier: StageClassifier) -> tuple[dict[str, int], int]:
    """Samples per stage (every thread of the worker), and those of waiting threads left out."""
    counts = dict.fromkeys(STAGES, 0)
    idle = 0
    for frames, count in stacks:
        if waiting(frames):
            idle += count
        else:
            counts[classifier.sample_stage(frames)] += count
    return counts, idle


def stage_table(stacks: list[Stack], classifier: StageClassifier, measured: Measured) -> str:
    """Markdown: each stage's share of the sampled time and its microseconds of CPU per request."""
    counts, idle = stage_counts(stacks, classifier)
    total = sum(counts.values()) or 1
    cpu = measured.cpu_us_per_request
    mode = "Python and native frames" if measured.native else "Python frames"
    lines = [
        f"CPU per proxied call by stage: 1 Passway worker, {measured.method} {measured.path} at "
        f"{measured.connections} connections on its {measured.port}, {measured.seconds:g} s, "
        f"{measured.rps:,.0f} req/s while profiled; the worker's CPU (user + system) "
        f"{cpu:,.0f} us per request; py-spy at {RATE}/s ({mode}).",
        "",
        "| stage | share | CPU us per request |",
        "|---|---:|---:|",
    ]
    for stage in STAGES:
        share = counts[stage] / total
        lines.append(f"| {stage} | {100 * share:.1f}% | {share * cpu:,.1f} |")
    lines.append(f"| total | 100.0% | {cpu:,.1f} |")
    sampled = total / RATE
    lines += [
        "",
        f"{total:,} samples of busy threads ({sampled:.1f} s; one ready to run but waiting for a "
        f"CPU counts as busy) for {measured.cpu_seconds:.1f} s of the worker's CPU; {idle:,} "
        "samples of waiting threads left out.",
    ]
    return "\n".join(lines)


def compiled_modules(src: Path) -> list[str]:
    """Passway modules of the tree built as C extensions (``passway/proxy/handler.*.so``)."""
    return sorted(
        ".".join(so.relative_to(src).with_name(so.name.split(".", 1)[0]).parts)
        for so in (src / "passway").rglob("*.so")
    )


def worker_pid(server_pid: int) -> int:
    """The process that serves requests: uvicorn's only child with several workers, else itself."""
    children = psutil.Process(server_pid).children(recursive=True)
    workers = [c for c in children if "multiprocessing" not in " ".join(c.cmdline())]
    return workers[0].pid if workers else server_pid


def process_cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--post", action="store_true", help="64 KB POSTs instead of 1 KB GETs")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--proxy-port",
        action="store_true",
        help="proxy calls on a port of their own (PASSWAY_PROXY_PORT) instead of the main port",
    )
    parser.add_argument("--native", action="store_true", help="include C frames (py-spy --native)")
    parser.add_argument("--stages-only", action="store_true", help="print just the stage table")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--src", type=Path, default=SRC, help="source tree (default: src/)")
    return parser.parse_args()


def sample(
    py_spy: str, passway: PasswayServer, args: argparse.Namespace, work: Path, collapsed: Path
) -> Measured:
    """Warm up, then run wrk while py-spy samples the worker; the worker's CPU over the run."""
    path, method, size = ("/sink", "POST", 65536) if args.post else ("/1k.bin", "GET", 0)
    url = passway.proxy_base + path

    def load(duration: float) -> dict[str, float]:
        return run_wrk(
            url,
            method=method,
            headers=passway.headers,
            body_size=size,
            connections=args.connections,
            duration=duration,
            threads=2,
            workdir=work,
        )

    load(3)
    pid = worker_pid(passway.pid)
    spy = [py_spy, "record", "--pid", str(pid), "--rate", str(RATE), "--format", "raw"]
    spy += ["--duration", f"{round(args.duration)}", "-o", str(collapsed)]
    # Native stacks need the process stopped while they are read.
    spy += ["--native"] if args.native else ["--nonblocking"]
    collapsed.unlink(missing_ok=True)
    cpu_before = process_cpu(pid)
    spy_proc = subprocess.Popen(spy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result = load(args.duration)
    cpu = process_cpu(pid) - cpu_before
    output = spy_proc.communicate()[0]
    if spy_proc.returncode or not collapsed.exists():
        raise SystemExit(f"py-spy failed ({spy_proc.returncode}):\n{output}")
    return Measured(
        method=method,
        path=path,
        connections=args.connections,
        port="proxy port" if args.proxy_port else "main port",
        seconds=args.duration,
        rps=result["rps"],
        requests=result["requests"],
        cpu_seconds=cpu,
        native=args.native,
    )


def main() -> None:
    args = parse_args()
    ensure_tools()
    py_spy = find_py_spy()
    if py_spy is None:
        raise SystemExit("py-spy is missing: .venv/bin/pip install py-spy")
    compiled = compiled_modules(args.src)
    if compiled and not args.native:
        print(f"{len(compiled)} compiled modules in {args.src}: --native", file=sys.stderr)
        args.native = True
    with tempfile.TemporaryDirectory(prefix="passway-profile-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        make_files(work / "root")
        upstream = start_upstream(work / "upstream", free_port(), work / "root", 1, False)
        passway = PasswayServer(
            work / "passway",
            free_port(),
            1,
            upstream.port,
            TOKEN,
            src=args.src,
            proxy_port=free_port() if args.proxy_port else None,
        )
        try:
            passway.start()
            passway.provision()
            args.out.mkdir(parents=True, exist_ok=True)
            collapsed = args.out / f"profile-{'post' if args.post else 'get'}.txt"
            measured = sample(py_spy, passway, args, work, collapsed)
        finally:
            passway.stop()
            upstream.stop()
    stacks = read_stacks(collapsed)
    stages = stage_table(stacks, StageClassifier(compiled), measured)
    if args.stages_only:
        print(stages)
        return
    print(f"{measured.method} {measured.path}: {measured.rps:,.0f} req/s while profiled")
    print(summarize(stacks, args.top))
    print("\n" + stages)
    print(f"\ncollapsed stacks: {collapsed}")


if __name__ == "__main__":
    main()
