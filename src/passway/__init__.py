"""Passway: a self-hosted proxy-actions server for calling customers' SaaS APIs with their stored credentials."""

__version__ = "0.1.0"
