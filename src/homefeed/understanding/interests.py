"""Stated interests: free text on a user's profile split into liked and disliked phrases.

"space operas and 90s comedies, no horror" -> liked ["space operas", "90s comedies"],
disliked ["horror"]. Each phrase is embedded on its own, so a page can serve several
tastes at once, and disliked phrases push matching items down instead of up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# a clause that starts with one of these is a dislike ("no horror", "not into sport", ...)
NEGATION = re.compile(
    r"^(?:but\s+)?(?:no|not|never|nothing|without|except|avoid|hate|hates|dislike|dislikes|"
    r"(?:i\s+)?(?:do\s*n[o']?t|don't|dont)\s+(?:like|want|enjoy|care\s+for)|"
    r"not\s+(?:into|a\s+fan\s+of|interested\s+in)|no\s+more|please\s+no)\b[\s:,-]*",
    re.IGNORECASE,
)
# leading filler that carries no topic ("I enjoy", "I'm into", "love")
FILLER = re.compile(
    r"^(?:and\s+|also\s+|i\s+|i'm\s+|im\s+|i\s+am\s+|really\s+|mostly\s+|especially\s+)*"
    r"(?:like|love|enjoy|into|interested\s+in|a\s+fan\s+of|fond\s+of|watch|read|follow)?\s*",
    re.IGNORECASE,
)
CLAUSES = re.compile(r"[;,.!?\n]+|\s+(?:and|or|but|&|plus)\s+(?=(?:no|not|never|without|except|avoid)\b)")
PHRASES = re.compile(r"\s+(?:and|or|plus)\s+|/", re.IGNORECASE)


@dataclass(frozen=True)
class Interests:
    liked: tuple[str, ...]
    disliked: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.liked or self.disliked)


def parse_interests(text: str | None) -> Interests:
    """Split ``text`` into liked and disliked topic phrases (order kept, duplicates dropped)."""
    liked: list[str] = []
    disliked: list[str] = []
    for clause in CLAUSES.split(text or ""):
        clause = clause.strip()
        if not clause:
            continue
        negative = NEGATION.match(clause)
        target = disliked if negative else liked
        rest = clause[negative.end() :] if negative else clause
        for phrase in PHRASES.split(rest):
            cleaned = _clean(phrase)
            if cleaned and cleaned.lower() not in {p.lower() for p in target}:
                target.append(cleaned)
    return Interests(tuple(liked), tuple(disliked))


def _clean(phrase: str) -> str:
    phrase = FILLER.sub("", phrase.strip(), count=1)
    phrase = re.sub(r"[()\[\]\"]", " ", phrase).strip(" '-:")
    return re.sub(r"\s+", " ", phrase)
