"""Benchmarks (`make bench`); each module has run(settings) and writes results/<name>.md."""
