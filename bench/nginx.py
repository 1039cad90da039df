"""nginx in two roles: the fast local upstream, and the reference reverse proxy.

Both run as unprivileged-style foreground masters (``daemon off``) under a temporary prefix, so the
benchmark owns their process trees and can sample their memory.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from common import wait_for_port

# The upload sink must read the whole request body before answering. A bare ``return 200`` answers
# while the body is still arriving (nginx discards it afterwards), which would let a proxy look
# faster than it is. ``mirror_request_body on`` makes nginx read the complete body first; the mirror
# subrequest itself goes to an internal location that does nothing.
_UPSTREAM_CONF = """
worker_processes {workers};
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    log_format sink '$request_method $uri $status $bytes_sent auth=$http_authorization';
    access_log {access_log};
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    types {{ application/octet-stream bin; application/json json; }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        root {root};
        location / {{ }}
        location /sink {{
            client_max_body_size 0;
            client_body_buffer_size 256k;
            mirror /_discard;
            mirror_request_body on;
            return 200 "ok\\n";
        }}
        # The streamed upload's sink: ``return`` answers in the rewrite phase, before the mirror
        # (precontent phase) reads the body, so a large upload arriving fast could be answered
        # after its first megabyte. Here the answer comes from the content phase (a proxy to
        # ``/_ok``), which runs only once the mirror has read the whole body (kept in memory).
        location /sink/stream {{
            client_max_body_size 0;
            client_body_buffer_size 128m;
            mirror /_discard;
            mirror_request_body on;
            proxy_pass http://127.0.0.1:{port}/_ok;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
        }}
        location = /_ok {{ return 200 "ok\n"; }}
        location = /_discard {{ internal; client_max_body_size 0; return 204; }}
        # Lets the benchmark check that a proxy really injected the credential.
        location = /auth {{ return 200 "$http_authorization"; }}
    }}
}}
"""

_PROXY_CONF = """
worker_processes {workers};
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream backend {{
        server 127.0.0.1:{upstream_port};
        keepalive 256;
    }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        client_max_body_size 0;
        # Keep 64 KB request bodies in memory (the default spools bodies over 16 KB to disk) and
        # relay responses in 64 KB reads (the default 4-8 KB caps streaming at a fraction of the
        # upstream's speed): a tuned nginx, the bar Passway is measured against.
        client_body_buffer_size 128k;
        proxy_buffer_size 64k;
        proxy_buffers 8 64k;
        # Responses are relayed as they arrive (proxy_buffering off), as Passway does. Request
        # bodies are buffered (nginx's default): Passway also buffers bodies up to 1 MiB so it can
        # replay a call after a 401, and nginx 1.22 with unbuffered bodies over upstream keep-alive
        # drops about one client connection in a thousand at 500 req/s of 64 KB POSTs.
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer {token}";
            proxy_buffering off;
        }}
        # Large uploads are streamed, not spooled to disk: the fair comparison for a 100 MB upload.
        location /sink/stream {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer {token}";
            proxy_buffering off;
            proxy_request_buffering off;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    """One nginx master process with its config under ``prefix``."""

    prefix: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self, conf: str) -> None:
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        conf_file = self.prefix / "nginx.conf"
        conf_file.write_text(conf)
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        log = (self.prefix / "stderr.log").open("wb")
        self.process = subprocess.Popen(
            [binary, "-p", str(self.prefix), "-c", str(conf_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(self.port, process=self.process)
        except RuntimeError as exc:
            raise RuntimeError(
                f"nginx: {exc}: {(self.prefix / 'stderr.log').read_text()}"
            ) from None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        time.sleep(0.2)


def start_upstream(prefix: Path, port: int, root: Path, workers: int, access_log: bool) -> Nginx:
    server = Nginx(prefix, port)
    log = f"{prefix}/access.log sink" if access_log else "off"
    server.start(
        _UPSTREAM_CONF.format(workers=workers, prefix=prefix, port=port, root=root, access_log=log)
    )
    return server


def start_proxy(prefix: Path, port: int, upstream_port: int, workers: int, token: str) -> Nginx:
    server = Nginx(prefix, port)
    server.start(
        _PROXY_CONF.format(
            workers=workers, prefix=prefix, port=port, upstream_port=upstream_port, token=token
        )
    )
    return server
