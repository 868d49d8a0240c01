"""Benchmarks: ``python -m benchmarks [AREA…] [--json FILE] [--quick]``.

Each area is a module with ``run(bench: Bench) -> None`` that measures our figure and the
reference library's in the same run; rows print our figure, the reference's, and the ratio
(>1 means we are faster), with the issue's target ratio where there is one.
"""
