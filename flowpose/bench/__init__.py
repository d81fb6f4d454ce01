"""Benchmarks run from the command line (``flowpose bench ...``); never timed tests."""
