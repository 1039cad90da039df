"""The stages of a proxied call, and which stage a sampled stack is in (``bench/profile.py``).

``STAGE_RULES`` maps frames (file and function) to stages; ``StageClassifier`` applies them to
py-spy's stacks, frames of mypyc-compiled modules included (decoded by ``mypyc_frame``);
``waiting`` tells the samples of blocked threads apart.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterable

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


def split_frame(frame: str) -> tuple[str, str]:
    """``Class.method (passway/x.py:42)`` -> (``Class.method``, ``passway/x.py``)."""
    name, _, location = frame.rpartition(" (")
    if not name:
        return frame, ""
    path, _, line = location.rstrip(")").rpartition(":")
    return (name, path) if line.isdigit() else (name, location.rstrip(")"))


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
