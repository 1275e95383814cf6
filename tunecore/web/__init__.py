"""The experiment server's internals: auth, request checks, data sources and the dashboard.

The public entry points live in :mod:`tunecore.web.server` (``TuneServer``, ``TuneClient``)
and the ``tune dashboard`` command; this package is private.
"""
