"""Smoke runners: each one runs an artifact where it would run (see base.py for the interface).

Nothing is imported here, so `gobuildx.manifest` can import `gobuildx.runners.base` cheaply.
"""
