"""The CLI's words for the API's field names, so an error names the flag to use.

The services check input once for the API and the CLI alike and name fields by their JSON names
(``apiKey``, ``basicAuth.password``); on the command line ``--api-key`` and ``--password`` are
what the user typed and can act on.
"""

from __future__ import annotations

import re

from passway.errors import Issue, PasswayError

FLAG_FOR_FIELD = {
    "apiKey": "--api-key",
    "basicAuth": "--username/--password",
    "basicAuth.username": "--username",
    "basicAuth.password": "--password",
    "oauth2ClientCredentials": "--client-id/--client-secret",
    "oauth2ClientCredentials.clientId": "--client-id",
    "oauth2ClientCredentials.clientSecret": "--client-secret",
    "oauth2PasswordCredentials": "--client-id/--client-secret with --username/--password",
    "oauth2PasswordCredentials.username": "--username",
    "oauth2PasswordCredentials.password": "--password",
    "oauth2PasswordCredentials.clientId": "--client-id",
    "oauth2PasswordCredentials.clientSecret": "--client-secret",
    "oauth2AuthorizationCode": "--access-token (an OAuth token, or use the OAuth connect flow)",
    "oauth2AuthorizationCode.accessToken.token": "--access-token",
    "customAuth": "--custom NAME=VALUE",
    "groupRef": "--group-ref",
    "consumerRef": "--consumer-ref",
    "groupName": "--group-name",
    "consumerName": "--consumer-name",
    "providerWorkspaceRef": "--workspace",
    "providerMetadata": "--metadata",
    "connectionId": "--connection-id",
    "provider": "--provider",
    "label": "--label",
    "scopes": "--scope",
}

# Longest first, so ``basicAuth.password`` is replaced before ``basicAuth``; only the camelCase or
# dotted names are replaced inside sentences (plain words like "provider" stay words there).
_IN_TEXT = sorted(
    (name for name in FLAG_FOR_FIELD if name != name.lower() or "." in name), key=len, reverse=True
)
_PATTERN = re.compile(r"(?<![\w.-])(" + "|".join(re.escape(n) for n in _IN_TEXT) + r")(?![\w])")
_CUSTOM = re.compile(r"(?<![\w.-])customAuth\.([\w-]+)")


def flag_words(text: str) -> str:
    """``text`` with the API's field names replaced by the CLI flags that set them."""
    text = _CUSTOM.sub(lambda m: f"--custom {m.group(1)}=...", text)
    return _PATTERN.sub(lambda m: FLAG_FOR_FIELD[m.group(1)], text)


def issue_words(issue: Issue) -> str:
    """One issue as ``flag: what``; body fields are named by their flag."""
    if issue.location != "body":
        return f"{issue.name}: {issue.detail}"
    name = FLAG_FOR_FIELD.get(issue.name) or flag_words(issue.name)
    return f"{name}: {flag_words(issue.detail)}"


def describe_for_cli(error: PasswayError) -> str:
    """One line: the detail, then each issue, in the CLI's words."""
    parts = [flag_words(error.detail.rstrip("."))]
    parts += [issue_words(issue) for issue in error.issues]
    return "; ".join(parts)
