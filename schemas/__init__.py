"""Data package: the JSON Schema of the spec language, shipped in the wheel."""
