"""Passway: a self-hosted proxy-actions server.

Developers call their customers' SaaS APIs through it with the customers' stored credentials.
"""

__version__ = "0.1.0"
