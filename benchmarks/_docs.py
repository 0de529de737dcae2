"""Write a benchmark's section into docs/benchmarks.md between its start and end markers."""

from __future__ import annotations

import os
import platform
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def replace_section(name: str, body: list[str], path: Path = BENCHMARKS_MD) -> str:
    """Wrap ``body`` in ``<!-- name:start/end -->`` markers, replace (or append) it, return it."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    section = "\n".join([start, *body, end])
    content = path.read_text(encoding="utf-8")
    if start in content and end in content:
        content = content[: content.index(start)] + section + content[content.index(end) + len(end) :]
    else:
        content = content.rstrip() + "\n\n" + section + "\n"
    path.write_text(content, encoding="utf-8")
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
