"""The connect page's HTML (Jinja2 templates, autoescaped), its static files and its headers.

Every page loads one stylesheet and one script from ``/connect/static/`` and nothing from anywhere
else; its Content-Security-Policy allows no inline script or style (``script-src 'self'``), no
framing, and form posts only to Passway (and, on an OAuth page, to the provider's authorization
origin, where the post is redirected). No value of a secret field is ever put back into a page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import jinja2

from passway.catalog import Provider
from passway.connect.forms import ConnectForm
from passway.core.template_syntax import TemplateSyntaxError, parse_url_template

STATIC_PATH = "/connect/static"
STATIC_TYPES = {
    "connect.css": "text/css; charset=utf-8",
    "connect.js": "text/javascript; charset=utf-8",
}

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("passway.connect", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True, slots=True)
class Branding:
    """Who is asking: the project's app name and logo, and the provider's display name."""

    app_name: str
    provider_name: str | None = None
    logo_url: str | None = None


@cache
def static_file(name: str) -> bytes | None:
    if name not in STATIC_TYPES:
        return None
    return (resources.files("passway.connect") / "static" / name).read_bytes()


@cache
def _static_version() -> str:
    digest = hashlib.sha256()
    for name in sorted(STATIC_TYPES):
        digest.update(static_file(name) or b"")
    return digest.hexdigest()[:12]


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc.lower()}"


def form_targets(provider: Provider) -> tuple[str, ...]:
    """Where an OAuth page's post may be redirected: the authorization URL's origin, or its
    scheme when a template variable sits in the host (a workspace subdomain)."""
    if not provider.auth_url:
        return ()
    try:
        origin = parse_url_template(provider.auth_url).literal_origin
    except TemplateSyntaxError:
        origin = None
    if origin is not None:
        return (origin,)
    scheme = urlsplit(provider.auth_url).scheme
    return (f"{scheme}:",) if scheme in ("http", "https") else ()


def headers(*, form_to: Sequence[str] = (), logo_url: str | None = None) -> dict[str, str]:
    images = " ".join(["'self'", *([o] if logo_url and (o := _origin(logo_url)) else [])])
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "form-action " + " ".join(["'self'", *form_to]),
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "unsafe-none",
    }


def _render(template: str, branding: Branding, **values: Any) -> str:
    return _env.get_template(template).render(
        static=STATIC_PATH, version=_static_version(), brand=branding, **values
    )


def form_page(
    branding: Branding,
    form: ConnectForm,
    *,
    action: str,
    csrf: str,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    summary: Sequence[str] = (),
) -> str:
    """The form; ``values`` refills only the fields that are not secret."""
    kept = {f.name: (values or {}).get(f.name, "") for f in form.fields if not f.secret}
    return _render(
        "form.html",
        branding,
        title=f"Connect {branding.provider_name}",
        form=form,
        action=action,
        csrf=csrf,
        values=kept,
        errors=dict(errors or {}),
        summary=list(summary),
    )


def done_page(
    branding: Branding,
    *,
    message: Mapping[str, Any],
    target_origins: Sequence[str],
    continue_url: str | None,
) -> str:
    """Success. ``connect.js`` posts ``message`` to the opener (for each of ``target_origins``)
    and then goes to ``continue_url``; without script the page offers a link."""
    return _render(
        "done.html",
        branding,
        title="Connected",
        message=json.dumps(dict(message), separators=(",", ":")),
        origins=json.dumps(list(target_origins)),
        continue_url=continue_url,
    )


def problem_page(branding: Branding, title: str, detail: str, retry_url: str | None) -> str:
    return _render("problem.html", branding, title=title, detail=detail, retry_url=retry_url)
