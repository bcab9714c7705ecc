"""Benchmarks behind the performance figures in README.md (run through ``mechopt bench``)."""
