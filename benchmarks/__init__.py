"""Benchmarks of constrain against peer constrained-decoding engines (run as ``python -m benchmarks.<name>``)."""
