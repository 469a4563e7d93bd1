"""gobuildx: one declarative targets.toml, every release artifact of a Go project, proven."""

__version__ = "0.1.0"
