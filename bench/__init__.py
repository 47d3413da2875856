"""Benchmarks that live in the repo (not timed tests). Run `python -m bench.latency --help`."""
