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
    # written without spaces between words (Chinese): joiners and contrasts need none around them
    bare_joiners: str = ""
    bare_contrasts: str = ""


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
_ZH_ADVERBS = r"(?:很|非常|特别|真的|也|都|最|比较|还|一点也|一点都|完全|就|却)*"  # only before a verb
CHINESE = Phrasing(
    leads=r"但是|但|可是|不过|而且|而",
    speaker=r"我们|我",
    negations=(
        rf"{_ZH_ADVERBS}(?:不喜欢|不太喜欢|不爱看|不爱听|不爱|不想看|不想要|不想|不要|不看|不听|讨厌|"
        r"厌恶|受不了|没兴趣|不感兴趣|别推荐|别给我|别|不用)"
    ),
    contrasts=r"(?!)",
    exceptions=r"(?!)",
    joiners=r"(?!)",
    likes=rf"{_ZH_ADVERBS}(?:喜欢|喜爱|热爱|爱看|爱听|爱|想看|关注|迷|看|听|读)",
    articles=r"(?!)",
    polite=r"请|谢谢|麻烦",
    nothing=frozenset({"什么都", "什么都行", "都行", "都可以", "所有", "全部", "随便"}),
    bare_joiners=r"、|以及|还有|和|与|跟|及|或者|或",
    bare_contrasts=r"但是|但|可是|不过|而",
)
LANGUAGES = (ENGLISH, FRENCH, CHINESE)
CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # written without spaces between words


def _any(part: str) -> str:
    return "|".join(f"(?:{getattr(language, part)})" for language in LANGUAGES)


def _bare(part: str) -> str:
    """The languages' words of ``part`` that need no spaces around them (none: matches nothing)."""
    return "|".join(f"(?:{found})" for language in LANGUAGES if (found := getattr(language, part))) or "(?!)"


# a word ends at \b, right after an apostrophe ("l'", "j'"), or anywhere after a CJK character
_END = rf"(?:\b|(?<=['\u2019])|(?<=[{CJK}]))"
_SPEAKER = rf"(?:{_any('leads')})?(?:{_any('speaker')})*"
_NEGATIONS = rf"(?:{_any('negations')})"
NEGATION = re.compile(rf"^{_SPEAKER}{_NEGATIONS}{_END}[\s:,-]*", re.IGNORECASE)
# leading words that carry no topic ("I enjoy", "I'm into", "j'adore les")
FILLER = re.compile(
    rf"^{_SPEAKER}(?:(?:{_any('likes')})(?:\s+|$|(?<=[{CJK}])))?(?:(?:{_any('articles')}){_END}\s*)?",
    re.IGNORECASE,
)
# clauses: split at punctuation, and at a conjunction or "except" that starts a negation
# ("jazz but I hate football", "films except horror", "jazz mais pas le football")
CLAUSES = re.compile(
    rf"[;,.!?\n\uff0c\u3002\uff1b\uff01\uff1f]+|\s+(?:{_any('contrasts')})\s+(?={_SPEAKER}{_NEGATIONS}{_END})"
    rf"|\s+(?=(?:{_any('exceptions')})\b)"
    rf"|\s*(?:{_bare('bare_contrasts')})(?={_SPEAKER}{_NEGATIONS}{_END})",
    re.IGNORECASE,
)
PHRASES = re.compile(
    rf"\s+(?:{_any('joiners')})\s+|/|(?<=[{CJK}])\s*(?:{_bare('bare_joiners')})\s*(?=[{CJK}])", re.IGNORECASE
)
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
