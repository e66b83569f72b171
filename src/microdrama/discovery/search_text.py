"""Search's text rules, the same on every database: how text is folded (case, accents,
punctuation), and how well a series' fields answer a query (the relevance score).

The databases only retrieve candidates through their trigram index (SQLite FTS5, PostgreSQL
pg_trgm); this module ranks them, so one corpus gives the same results on both.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

# Letters NFKD does not split into a base letter and a mark.
_LETTERS = str.maketrans(
    {
        "ø": "o",
        "đ": "d",
        "ł": "l",
        "\u0131": "i",  # dotless i
        "æ": "ae",
        "œ": "oe",
        "ħ": "h",
        "þ": "th",
        "ð": "d",
    }
)
# "Billionaire's" is one word to people: "billionaires", never "billionaire s".
_APOSTROPHES = re.compile("['`\u2019\u02bc\u00b4]")  # apostrophes, typed or typographic
_SEPARATORS = re.compile(r"[\W_]+")


def _strips_marks(base: str) -> bool:
    """Accents are dropped from Latin, Greek and Cyrillic letters (people type "cafe" for
    "café", "Dang" for "Đặng"), not from kana or other scripts, where the mark makes another
    letter (が is not か)."""
    code = ord(base)
    return code < 0x0530 or 0x1E00 <= code < 0x2000


def fold(text: str) -> str:
    """Lower case, no accents, words separated by single spaces: what is indexed and matched."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept: list[str] = []
    base = " "
    for char in decomposed:
        if unicodedata.combining(char):
            if _strips_marks(base):
                continue
        else:
            base = char
        kept.append(char)
    plain = unicodedata.normalize("NFC", "".join(kept)).translate(_LETTERS)
    plain = _APOSTROPHES.sub("", plain)
    return " ".join(_SEPARATORS.sub(" ", plain).split())


@lru_cache(maxsize=65_536)
def trigrams(word: str) -> frozenset[str]:
    """A word's trigrams as pg_trgm makes them: padded with two spaces before, one after."""
    padded = f"  {word} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def similarity(a: str, b: str) -> float:
    """pg_trgm's similarity of two words: shared trigrams over all their trigrams."""
    ta, tb = trigrams(a), trigrams(b)
    return len(ta & tb) / len(ta | tb)


# How much a match in each field counts (a title match beats the same word in a synopsis).
WEIGHTS = {"title": 1.0, "creator": 0.9, "tags": 0.8, "genre": 0.8, "synopsis": 0.6}
# A word closer than this to a query word counts as a typo of it.
TYPO_SIMILARITY = 0.3
# A series answers the query when its relevance reaches this.
MIN_RELEVANCE = 0.35
# Query words shorter than this are matched as prefixes only (no typo of "va").
MIN_TYPO_LENGTH = 3


def word_match(query_word: str, word: str) -> float:
    """How well one word of a field answers one query word: 1 the same word; 0.75 to 1 a
    prefix ("vamp" → "vampire", more the longer the prefix); a typo its trigram similarity."""
    if query_word == word:
        return 1.0
    if word.startswith(query_word):
        return 0.75 + 0.25 * len(query_word) / len(word)
    if len(query_word) < MIN_TYPO_LENGTH:
        return 0.0
    score = similarity(query_word, word)
    return score if score >= TYPO_SIMILARITY else 0.0


@dataclass(frozen=True)
class Query:
    """A folded query: its words (at most MAX_WORDS, each once) and the whole phrase."""

    phrase: str
    words: tuple[str, ...]

    MAX_WORDS = 8

    @classmethod
    def parse(cls, text: str) -> Query:
        phrase = fold(text)
        words = tuple(dict.fromkeys(phrase.split()))[: cls.MAX_WORDS]
        return cls(phrase=phrase, words=words)

    @property
    def long_words(self) -> tuple[str, ...]:
        """The words an index of trigrams can look up (three letters or more)."""
        return tuple(w for w in self.words if len(w) >= MIN_TYPO_LENGTH)


@dataclass
class Document:
    """One series' folded fields, as stored in search_documents."""

    series_id: int
    title: str
    creator: str
    tags: str
    genre: str
    synopsis: str
    _fields: dict[str, tuple[str, ...]] = field(init=False, repr=False)
    _synopsis_words: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._fields = {
            "title": tuple(self.title.split()),
            "creator": tuple(self.creator.split()),
            "tags": tuple(self.tags.split()),
            "genre": tuple(self.genre.split()),
        }
        self._synopsis_words = sorted(set(self.synopsis.split()))

    def _synopsis_match(self, query_word: str) -> float:
        # A synopsis is long: its words match exactly or as prefixes (found by bisection),
        # typos are left to the short fields.
        words = self._synopsis_words
        at = bisect.bisect_left(words, query_word)
        if at == len(words) or not words[at].startswith(query_word):
            return 0.0
        return word_match(query_word, words[at])

    def word_score(self, query_word: str) -> float:
        """The best weighted match of one query word in any field."""
        best = WEIGHTS["synopsis"] * self._synopsis_match(query_word)
        for name, words in self._fields.items():
            weight = WEIGHTS[name]
            if weight <= best:
                continue
            for word in words:
                best = max(best, weight * word_match(query_word, word))
        return best

    def relevance(self, query: Query) -> float:
        """The mean of the query words' scores, plus a little when a word of the title starts
        the whole query as typed (the title's first word more)."""
        if not query.words:
            return 0.0
        score = sum(self.word_score(w) for w in query.words) / len(query.words)
        if self.title.startswith(query.phrase):
            score += 0.1
        elif f" {query.phrase}" in f" {self.title}":
            score += 0.05
        return round(score, 6)
