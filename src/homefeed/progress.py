"""Progress of long commands: a live bar on a terminal, plain timestamped lines in a log.

Rich's live display redraws one line with control characters, which a log file (systemd, a
CI job, ``> train.log``) shows as garbage or not at all until the end. Off a terminal the
same calls write a line when the step changes, and for counted work every tenth of the way
or every ``PLAIN_EVERY`` seconds, whichever comes first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any

from rich.console import Console
from rich.progress import Progress, ProgressColumn, TaskID

PLAIN_EVERY = 10.0  # seconds between two lines about the same step


@dataclass
class PlainTask:
    description: str
    total: float | None = None
    completed: float = 0.0
    fields: dict[str, Any] = field(default_factory=dict)
    said_at: float = 0.0  # monotonic time of the last line about it
    said_tenth: int = -1  # the tenth of the total reached at the last line
    said: str = ""  # the last line about it


class PlainProgress:
    """The part of :class:`rich.progress.Progress`'s interface the commands use, as lines."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.tasks: list[PlainTask] = []
        self._started = time.monotonic()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:  # where each task ended, unless that was the last line about it
            for task in self.tasks:
                self._say(task, force=True)

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> TaskID:
        self.tasks.append(PlainTask(description, total, fields=dict(fields)))
        self._say(self.tasks[-1], force=True)
        return TaskID(len(self.tasks) - 1)

    def update(
        self,
        task_id: TaskID,
        *,
        description: str | None = None,
        completed: float | None = None,
        total: float | None = None,
        **fields: Any,
    ) -> None:
        task = self.tasks[task_id]
        changed = description is not None and description != task.description
        if description is not None:
            task.description = description
        if total is not None:
            task.total = total
        if completed is not None:
            task.completed = completed
        task.fields.update(fields)
        self._say(task, force=changed)

    def _say(self, task: PlainTask, force: bool) -> None:
        now = time.monotonic()
        tenth = int(10 * task.completed / task.total) if task.total else -1
        if not force and tenth <= task.said_tenth and now - task.said_at < PLAIN_EVERY:
            return
        line = task.description
        if task.total:
            line += f": {task.completed:,.0f}/{task.total:,.0f} ({100 * task.completed / task.total:.0f}%)"
        elif task.completed:
            line += f": {task.completed:,.0f}"
        if "count" in task.fields:
            line += f": {task.fields['count']:,} rows"
        if line == task.said and now - task.said_at < PLAIN_EVERY:
            return
        task.said_at, task.said_tenth, task.said = now, tenth, line
        self.stream.write(f"[{now - self._started:8.1f}s] {line}\n")
        self.stream.flush()


def progress(console: Console, *columns: str | ProgressColumn) -> Progress | PlainProgress:
    """A live progress display on ``console`` when it is a terminal, else plain lines."""
    if console.is_terminal:
        return Progress(*columns, console=console)
    return PlainProgress(console.file)
