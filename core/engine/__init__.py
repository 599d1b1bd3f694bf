"""The sync engine: runs a built spec's flows against connectors and a state store."""

from integrate.engine.plan import Change, FlowStats
from integrate.engine.runner import RunFailed, RunOptions, RunReport, run_spec

__all__ = ["Change", "FlowStats", "RunFailed", "RunOptions", "RunReport", "run_spec"]
