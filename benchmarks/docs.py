"""What every benchmark script shares: the machine it ran on, and its section of the results."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

__all__ = ["BENCHMARKS_DOC", "cpu_model", "machine_summary", "write_section"]

BENCHMARKS_DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (the platform's processor name elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_summary() -> str:
    """One line naming the cores, CPU and Python a result was measured with."""
    return f"{os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}"


def write_section(heading: str, text: str, doc: Path = BENCHMARKS_DOC) -> None:
    """Replace the section starting with ``heading`` (e.g. ``## Optimiser``) in ``doc``,
    or append it; the other sections stay as they are."""
    current = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text.rstrip("\n") + "\n\n", current)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    doc.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")
