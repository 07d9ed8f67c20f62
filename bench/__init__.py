"""Benchmarks (see docs/BENCHMARKS.md)."""
import common.settings  # noqa: F401  first: its COMPUTE_ENV must be set before any OpenMP runtime loads
