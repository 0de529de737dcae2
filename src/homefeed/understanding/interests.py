"""Stated interests: free text on a user's profile split into liked and disliked phrases.

"space operas and 90s comedies, no horror" -> liked ["space operas", "90s comedies"],
disliked ["horror"]. Each phrase is embedded on its own, so a page can serve several
tastes at once, and disliked phrases push matching items down instead of up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

APOSTROPHE = "['\u2019]"  # typed or typographic


@dataclass(frozen=True)
class Phrasing:
    """How one language says "but", "I really", "no", "except", "and", "I enjoy", "the" and
    "please" (regex alternations; a word that leads another holds its trailing space). The
    parser reads every language at once, so a profile may mix them."""

    leads: str  # a conjunction before the speaker: "but", "mais"
    speaker: str  # who speaks and how strongly: "I", "really", "je", "j'"
    negations: str  # a clause starting with one of these (after the speaker) is a dislike
    contrasts: str  # conjunctions that start a new clause when a negation follows them
    exceptions: str  # words that start a dislike inside a clause: "films except horror"
    joiners: str  # words between two topics of one clause
    likes: str  # "enjoy", "adore": a verb before the topic, not the topic
    articles: str  # articles dropped in front of a topic
    polite: str
    nothing: frozenset[str]  # "anything": no topic


ENGLISH = Phrasing(
    leads=r"but\s+|and\s+|though\s+",
    speaker=r"i\s+am\s+|i'm\s+|im\s+|i\s+|really\s+|truly\s+|just\s+|also\s+|mostly\s+|especially\s+",
    negations=(
        r"no|not|never|nothing|without|except|avoid|hate|hates|dislike|dislikes|detest|"
        r"(?:do\s*n[o']?t|don't|dont|do\s+not)\s+(?:like|want|enjoy|care\s+for|need)|"
        r"(?:can't|cannot|can\s+not|cant)\s+(?:stand|bear)|"
        r"not\s+(?:into|a\s+fan\s+of|interested\s+in)|no\s+more|please\s+no|"
        r"(?:anything|everything|all)\s+(?:except|but|other\s+than|apart\s+from)|other\s+than"
    ),
    contrasts=r"and|or|but|&|plus|though|however",
    exceptions=r"except|other\s+than|apart\s+from",
    joiners=r"and|or|plus",
    likes=r"like|love|enjoy|into|interested\s+in|a\s+fan\s+of|fond\s+of|watch|read|follow",
    articles=r"the",
    polite=r"please|thanks|thank\s+you",
    nothing=frozenset({"anything", "everything", "all", "whatever", "stuff", "things"}),
)
FRENCH = Phrasing(
    leads=r"mais\s+|et\s+",
    speaker=rf"je\s+|j{APOSTROPHE}|moi\s+|vraiment\s+|franchement\s+|surtout\s+|aussi\s+|ne\s+|n{APOSTROPHE}",
    negations=(
        r"pas|jamais|sans|sauf|d[ée]teste|d[ée]testes|hais|(?:aime|supporte|veux|appr[ée]cie)\s+(?:pas|plus)|"
        rf"(?:tout|n{APOSTROPHE}importe\s+quoi)\s+sauf|[àa]\s+part|hormis|plus\s+de|non\s+merci"
    ),
    contrasts=r"et|ou|mais|cependant|par\s+contre",
    exceptions=r"sauf|[àa]\s+part|hormis",
    joiners=r"et|ou",
    likes=rf"aime\s+bien|aime|adore|pr[ée]f[èe]re|suis\s+fan\s+de|m{APOSTROPHE}int[ée]resse\s+[àa]|regarde|lis",
    articles=rf"le|la|les|l{APOSTROPHE}|du|de\s+la|de\s+l{APOSTROPHE}|des|de|d{APOSTROPHE}|un|une",
    polite=rf"s{APOSTROPHE}il\s+(?:te|vous)\s+pla[iî]t|svp|merci",
    nothing=frozenset({"tout", "rien", "n'importe quoi"}),
)
LANGUAGES = (ENGLISH, FRENCH)


def _any(part: str) -> str:
    return "|".join(f"(?:{getattr(language, part)})" for language in LANGUAGES)


# a word ends at \b, or right after an apostrophe ("l'", "j'")
_END = r"(?:\b|(?<=['\u2019]))"
_SPEAKER = rf"(?:{_any('leads')})?(?:{_any('speaker')})*"
_NEGATIONS = rf"(?:{_any('negations')})"
NEGATION = re.compile(rf"^{_SPEAKER}{_NEGATIONS}{_END}[\s:,-]*", re.IGNORECASE)
# leading words that carry no topic ("I enjoy", "I'm into", "j'adore les")
FILLER = re.compile(
    rf"^{_SPEAKER}(?:(?:{_any('likes')})(?:\s+|$))?(?:(?:{_any('articles')}){_END}\s*)?", re.IGNORECASE
)
# clauses: split at punctuation, and at a conjunction or "except" that starts a negation
# ("jazz but I hate football", "films except horror", "jazz mais pas le football")
CLAUSES = re.compile(
    rf"[;,.!?\n]+|\s+(?:{_any('contrasts')})\s+(?={_SPEAKER}{_NEGATIONS}{_END})"
    rf"|\s+(?=(?:{_any('exceptions')})\b)",
    re.IGNORECASE,
)
PHRASES = re.compile(rf"\s+(?:{_any('joiners')})\s+|/", re.IGNORECASE)
# words around a topic that are not the topic
POLITE_WORDS = rf"(?:{_any('polite')})"
POLITE = re.compile(rf"^(?:{POLITE_WORDS}\s+)|(?:\s+{POLITE_WORDS})$", re.IGNORECASE)
ONLY_POLITE = re.compile(rf"^{POLITE_WORDS}$", re.IGNORECASE)
NOTHING_IN_PARTICULAR = frozenset().union(*(language.nothing for language in LANGUAGES))


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
    phrase = re.sub(r"[()\[\]\"]", " ", phrase).strip(" '\u2019-:")
    phrase = re.sub(r"\s+", " ", phrase)
    nothing = phrase.lower() in NOTHING_IN_PARTICULAR or ONLY_POLITE.match(phrase)
    return "" if nothing else phrase
