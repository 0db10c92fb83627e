"""Benchmarks on real retail data and speed benchmarks; results go to docs/benchmarks.md."""
