"""Write a benchmark's full output (``--write``) to its page in docs/journal/runs/, the record
behind the one-table summary of docs/benchmarks.md (which a person updates, with the date)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

RUNS = Path(__file__).resolve().parents[1] / "docs" / "journal" / "runs"


def replace_section(name: str, body: list[str], folder: Path = RUNS) -> str:
    """Write ``body`` as docs/journal/runs/``name``.md (the latest full run replaces the last)."""
    section = "\n".join(body) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.md").write_text(section, encoding="utf-8")
    return section


def machine() -> str:
    """Cores, CPU model, memory, architecture and Python, for a benchmark's header (machine
    speed varies between VMs: the CPU model tells two runs' machines apart)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    python = platform.python_version()
    return (
        f"{os.cpu_count()} cores ({cpu_model()}), {memory:.0f} GiB RAM, {platform.machine()}, Python {python}"
    )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"
