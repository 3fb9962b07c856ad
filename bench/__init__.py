"""Benchmarks: `python -m bench.run` (protocol throughput against references) and
`python -m bench.scale` (the console and bulk work at a million rows)."""
