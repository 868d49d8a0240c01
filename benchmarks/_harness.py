"""Timing and reporting shared by every benchmark area."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field


@dataclass
class Row:
    area: str
    operation: str
    unit: str  # a rate: "MB/s", "op/s", ...
    ours: float
    reference_name: str = ""
    reference: float | None = None
    target: float | None = None  # minimum ratio ours / reference, from the issue
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.reference == 0:
            return None
        return self.ours / self.reference

    @property
    def meets_target(self) -> bool | None:
        r = self.ratio
        if self.target is None or r is None:
            return None
        return r >= self.target

    def as_json(self) -> dict[str, object]:
        d = asdict(self)
        d["ratio"] = self.ratio
        d["meets_target"] = self.meets_target
        return d


def rate(fn: Callable[[], object], work: float = 1.0, *, min_time: float = 0.2, repeats: int = 5) -> float:
    """Median over ``repeats`` of (work per call × calls) / seconds, each repeat lasting at least
    ``min_time`` seconds. ``work`` is e.g. megabytes per call, or operations per call."""
    fn()  # warm up caches, lazy tables, allocators
    samples = []
    for _ in range(repeats):
        n = 0
        start = time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        samples.append(work * n / elapsed)
    return statistics.median(samples)


@dataclass
class Bench:
    """Collects rows; ``quick`` shortens every measurement for CI smoke runs."""

    quick: bool = False
    rows: list[Row] = field(default_factory=list)
    area: str = ""

    @property
    def min_time(self) -> float:
        return 0.02 if self.quick else 0.25

    @property
    def repeats(self) -> int:
        return 1 if self.quick else 5

    def rate(self, fn: Callable[[], object], work: float = 1.0) -> float:
        return rate(fn, work, min_time=self.min_time, repeats=self.repeats)

    def compare(
        self,
        operation: str,
        ours: Callable[[], object],
        reference: Callable[[], object] | None = None,
        *,
        reference_name: str = "",
        unit: str = "op/s",
        work: float = 1.0,
        target: float | None = None,
        note: str = "",
    ) -> Row:
        """Measure ``ours`` and ``reference`` back to back in this run and record the row."""
        row = Row(
            area=self.area,
            operation=operation,
            unit=unit,
            ours=self.rate(ours, work),
            reference_name=reference_name,
            reference=self.rate(reference, work) if reference is not None else None,
            target=target,
            note=note,
        )
        self.rows.append(row)
        return row

    def record(self, row: Row) -> Row:
        row.area = row.area or self.area
        self.rows.append(row)
        return row
