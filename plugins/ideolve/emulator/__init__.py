"""The Ideolve emulator: Ideolve's v4 REST API, in process."""

from __future__ import annotations

from integrate_ideolve.emulator.app import IdeolveEmulator

__all__ = ["IdeolveEmulator"]
