"""The engine's classification, tested from plain records: no state file, no HTTP."""
