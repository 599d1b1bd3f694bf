"""The reliability suite: T1-T19 of shared/RELIABILITY.md §5 against the emulators, with
fault injection, at sizes scaled for CI (docs/reliability.md gives the full-size figures)."""
