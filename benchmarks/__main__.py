"""Runner: ``python -m benchmarks [AREA…] [--json FILE] [--quick]``."""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys

from rich.console import Console
from rich.table import Table

from benchmarks._harness import Bench, Row

AREAS = {
    "sm": "benchmarks.sm",
    "index": "benchmarks.index",
    "ledger": "benchmarks.ledger",
    "oprf": "benchmarks.oprf",
    "paillier": "benchmarks.paillier",
    "ot": "benchmarks.ot",
    "stats": "benchmarks.stats",
    "ec": "benchmarks.ec",
    "incentive": "benchmarks.incentive",
    "service": "benchmarks.service",
    "screen": "benchmarks.screen",
}


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def print_rows(rows: list[Row], console: Console) -> None:
    table = Table("area", "operation", "ours", "reference", "ref", "ratio", "target", "unit", "note")
    for r in rows:
        mark = {None: "", True: " [green]✓[/green]", False: " [red]✗[/red]"}[r.meets_target]
        ratio = f"{r.ratio:.2f}×" if r.ratio is not None else "-"
        target = f"≥{r.target:g}×{mark}" if r.target is not None else ""
        table.add_row(
            r.area,
            r.operation,
            _fmt(r.ours),
            r.reference_name,
            _fmt(r.reference),
            ratio,
            target,
            r.unit,
            r.note,
        )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("areas", nargs="*", metavar="AREA", help=f"areas to run (default all): {', '.join(AREAS)}")
    p.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    p.add_argument("--quick", action="store_true", help="short measurements (CI smoke run)")
    args = p.parse_args(argv)
    unknown = [a for a in args.areas if a not in AREAS]
    if unknown:
        p.error(f"unknown area(s) {', '.join(unknown)}; choose from {', '.join(AREAS)}")
    console = Console(width=None if sys.stdout.isatty() else 180)
    console.print(
        f"[bold]riskshare benchmarks[/bold] on {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}{' (quick)' if args.quick else ''}"
    )
    bench = Bench(quick=args.quick)
    for area in args.areas or list(AREAS):
        bench.area = area
        importlib.import_module(AREAS[area]).run(bench)
    print_rows(bench.rows, console)
    if args.json:
        with open(args.json, "w") as f:
            json.dump([r.as_json() for r in bench.rows], f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
