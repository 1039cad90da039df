"""How an exchange of the HTTP/1.1 client fails (kept apart from the compiled modules: mypyc
compiles classes, and exception classes stay ordinary Python ones here)."""


class StaleConnection(ConnectionError):
    """The connection closed before any byte of the answer arrived."""


class BrokenAnswer(ConnectionError):
    """The answer broke off, or was not valid HTTP/1.1."""


class UpstreamConnectError(ConnectionError):
    """No connection could be opened to the provider (resolution or connection failed)."""
