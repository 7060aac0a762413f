"""lrhub's benchmarks: `python -m bench [--quick]` prints one table (see docs/benchmarks.md)."""
