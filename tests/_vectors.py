"""Loader for test-vector files in the NIST ``Key = value`` format.

A file starts with ``# source:`` comment lines naming the standard and section. Blank lines
separate records; ``#`` starts a comment; ``[section]`` lines set a ``section`` key on the records
that follow. Values stay strings; hex decoding is the caller's choice.
"""

from __future__ import annotations

from pathlib import Path

VECTORS = Path(__file__).parent / "vectors"


def load(relpath: str) -> list[dict[str, str]]:
    path = VECTORS / relpath
    text = path.read_text(encoding="utf-8")
    if "# source:" not in text.split("\n\n", 1)[0]:
        raise ValueError(f"{relpath}: vector files must open with a '# source:' header")
    records: list[dict[str, str]] = []
    current: dict[str, str] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            continue
        if not line:
            if current:
                records.append(current)
                current = {}
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{relpath}: bad line {raw!r}")
        key, value = key.strip(), value.strip()
        if key in current:  # continuation of a long value split over lines
            current[key] += value
        else:
            current[key] = value
            if section:
                current.setdefault("section", section)
    if current:
        records.append(current)
    return records
