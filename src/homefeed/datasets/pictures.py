"""Pictures for synthetic items: one SVG per item, its colour and motif telling its topic (a
picture of a gardening item looks like the other gardening items), its shade and title its own.
They make the demo's homepage look like one, and plant visual structure a test can find."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

# one motif per topic: what a person (or an image model) tells the topics apart by
_MOTIFS = (
    '<circle cx="150" cy="150" r="90" fill="rgba(255,255,255,.35)"/>',
    '<polygon points="150,50 250,240 50,240" fill="rgba(255,255,255,.35)"/>',
    '<rect x="60" y="60" width="180" height="180" rx="18" fill="rgba(255,255,255,.35)"/>',
    "".join(
        f'<rect x="0" y="{y}" width="300" height="14" fill="rgba(255,255,255,.28)"/>'
        for y in range(30, 270, 36)
    ),
    '<path d="M0 200 Q75 120 150 200 T300 200 V300 H0 Z" fill="rgba(255,255,255,.35)"/>',
    "".join(
        f'<circle cx="{x}" cy="{y}" r="16" fill="rgba(255,255,255,.35)"/>'
        for x in range(50, 300, 66)
        for y in range(50, 260, 66)
    ),
    '<polygon points="150,40 260,150 150,260 40,150" fill="rgba(255,255,255,.35)"/>',
    '<path d="M40 250 L110 90 L160 190 L200 130 L270 250 Z" fill="rgba(255,255,255,.35)"/>',
)


def topic_picture(title: str, topic: int, shade: float) -> str:
    """An SVG of 300 by 400: the topic's hue and motif, ``shade`` (0 to 1) varying the item's tone,
    the title set in the lower band."""
    hue = (topic * 360 // len(_MOTIFS) + 20) % 360
    light = 38 + round(18 * shade)
    words, lines, line = title.split(), [], ""
    for word in words:  # at most three lines of about 20 characters
        if line and len(line) + len(word) > 20:
            lines.append(line)
            line = ""
        line = f"{line} {word}".strip()
    lines.append(line)
    text = "".join(
        f'<text x="20" y="{300 + 30 * row}" font-size="22" font-family="sans-serif" fill="white">'
        f"{escape(part)}</text>"
        for row, part in enumerate(lines[:3])
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 400" width="300" height="400">'
        f'<rect width="300" height="400" fill="hsl({hue},55%,{light}%)"/>'
        f"{_MOTIFS[topic % len(_MOTIFS)]}"
        f'<rect y="270" width="300" height="130" fill="rgba(0,0,0,.25)"/>{text}</svg>'
    )


def write_picture(folder: Path, item_id: str, title: str, topic: int, shade: float) -> str:
    """Write the item's picture into ``folder``; returns its path there (the item's ``image``)."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{item_id}.svg"
    (folder / name).write_text(topic_picture(title, topic, shade), encoding="utf-8")
    return name
