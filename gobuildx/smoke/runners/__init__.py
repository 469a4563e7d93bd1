"""Smoke runners: each one runs an artifact where it would run (see base.py for the interface).

Nothing is imported here, so `gobuildx.model.manifest` can import `gobuildx.smoke.runners.base` cheaply.
"""
