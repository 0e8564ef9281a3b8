"""Synthetic IO real-world data: a deterministic generator with planted effects, and its reference data."""
