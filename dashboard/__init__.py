"""DSMB safety-review dashboard: load, validate and analyse a trial's ADaM extract."""

__version__ = "0.1.0"
