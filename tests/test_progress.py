"""Progress off a terminal: plain lines, a line per step and per tenth of counted work."""

from __future__ import annotations

import io

from rich.console import Console

from homefeed.progress import PlainProgress, progress


def test_counted_work_says_each_tenth_once_and_steps_each_change() -> None:
    stream = io.StringIO()
    with PlainProgress(stream) as shown:
        task = shown.add_task("simulating", total=100)
        for done in range(1, 101):
            shown.update(task, completed=done)
        step = shown.add_task("training")
        for name in ("reading events", "fitting als", "fitting als", "saving"):
            shown.update(step, description=name)
    lines = [line.split("] ", 1)[1] for line in stream.getvalue().splitlines()]
    assert lines == [
        *(f"simulating: {done}/100 ({done}%)" for done in [0, *range(10, 101, 10)]),
        "training",
        "reading events",
        "fitting als",
        "saving",
    ]
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_a_terminal_gets_the_live_display_and_a_file_the_lines() -> None:
    assert isinstance(progress(Console(file=io.StringIO())), PlainProgress)
    assert not isinstance(progress(Console(file=io.StringIO(), force_terminal=True)), PlainProgress)
