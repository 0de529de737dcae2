"""Stated interests: free text on a user's profile split into liked and disliked phrases.

"space operas and 90s comedies, no horror" -> liked ["space operas", "90s comedies"],
disliked ["horror"]. Each phrase is embedded on its own, so a page can serve several
tastes at once, and disliked phrases push matching items down instead of up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# who speaks and how strongly, before a negation: "I", "I really", "but I truly", ...
_SPEAKER = r"(?:but\s+|and\s+|though\s+)?(?:i\s+am\s+|i'm\s+|im\s+|i\s+|really\s+|truly\s+|just\s+|also\s+)*"
_NEGATIONS = (
    r"(?:no|not|never|nothing|without|except|avoid|hate|hates|dislike|dislikes|detest|"
    r"(?:do\s*n[o']?t|don't|dont|do\s+not)\s+(?:like|want|enjoy|care\s+for|need)|"
    r"(?:can't|cannot|can\s+not|cant)\s+(?:stand|bear)|"
    r"not\s+(?:into|a\s+fan\s+of|interested\s+in)|no\s+more|please\s+no|"
    r"(?:anything|everything|all)\s+(?:except|but|other\s+than|apart\s+from)|other\s+than)"
)
# a clause that starts with one of these is a dislike ("no horror", "I hate sport", ...)
NEGATION = re.compile(rf"^{_SPEAKER}{_NEGATIONS}\b[\s:,-]*", re.IGNORECASE)
# leading filler that carries no topic ("I enjoy", "I'm into", "love")
FILLER = re.compile(
    r"^(?:and\s+|also\s+|i\s+am\s+|i'm\s+|im\s+|i\s+|really\s+|mostly\s+|especially\s+)*"
    r"(?:like|love|enjoy|into|interested\s+in|a\s+fan\s+of|fond\s+of|watch|read|follow)?\s*",
    re.IGNORECASE,
)
# clauses: split at punctuation, and at a conjunction or "except" that starts a negation
# ("jazz but I hate football", "films except horror")
CLAUSES = re.compile(
    rf"[;,.!?\n]+|\s+(?:and|or|but|&|plus|though|however)\s+(?={_SPEAKER}{_NEGATIONS}\b)"
    r"|\s+(?=(?:except|other\s+than|apart\s+from)\b)",
    re.IGNORECASE,
)
PHRASES = re.compile(r"\s+(?:and|or|plus)\s+|/", re.IGNORECASE)
# words around a topic that are not the topic
POLITE = re.compile(r"^(?:please\s+)|(?:\s+please|\s+thanks|\s+thank\s+you)$", re.IGNORECASE)
NOTHING_IN_PARTICULAR = {"anything", "everything", "all", "whatever", "stuff", "things"}


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
    phrase = POLITE.sub("", phrase.strip())
    phrase = re.sub(r"[()\[\]\"]", " ", phrase).strip(" '-:")
    phrase = re.sub(r"\s+", " ", phrase)
    return "" if phrase.lower() in NOTHING_IN_PARTICULAR else phrase
