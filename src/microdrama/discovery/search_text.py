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
# The indexed words one query word stands for at the most (itself, completions, typos).
MAX_EXPANSIONS = 30
# The query words a document keeps its score for (the most asked come first).
KEPT_SCORES = 64
# Longer runs of letters are indexed cut to this (a B-tree entry has a size limit).
MAX_TERM_LENGTH = 64

# Scripts written without spaces between words (Chinese, Japanese; Korean particles cling to
# their word): a query word is matched inside a longer run (吸血鬼 in 吸血鬼の花嫁), and the
# index keeps each run's two-letter pieces so a word from its middle is found too.
_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def unspaced(word: str) -> bool:
    return _UNSPACED.search(word) is not None


def pieces(word: str) -> set[str]:
    """The two-letter pieces of a run of an unspaced script (none for other words)."""
    if len(word) <= 2 or not unspaced(word):
        return set()
    return {word[i : i + 2] for i in range(len(word) - 1)}


def spelled_out(query_word: str, word: str) -> bool:
    """The word is the query word, or starts with it (or, in an unspaced script, holds it):
    no typo in between."""
    return word.startswith(query_word) or (unspaced(query_word) and query_word in word)


# Cached: the words of a catalog repeat from series to series, and from query to query.
@lru_cache(maxsize=262_144)
def word_match(query_word: str, word: str) -> float:
    """How well one word of a field answers one query word: 1 the same word; 0.75 to 1 a
    prefix ("vamp" → "vampire", more the longer the prefix) or, in an unspaced script, a
    part; a typo its trigram similarity."""
    if query_word == word:
        return 1.0
    if spelled_out(query_word, word):
        return 0.75 + 0.25 * len(query_word) / len(word)
    if len(query_word) < MIN_TYPO_LENGTH:
        return 0.0
    score = similarity(query_word, word)
    return score if score >= TYPO_SIMILARITY else 0.0


def document_terms(fields: dict[str, str]) -> dict[str, int]:
    """The words of a document's folded fields (and the pieces of unspaced runs), each with
    the weight of the best field it is in, in percent: the index's postings."""
    terms: dict[str, int] = {}
    for name, text in fields.items():
        weight = round(WEIGHTS[name] * 100)
        for word in text.split():
            for term in (word[:MAX_TERM_LENGTH], *pieces(word[:MAX_TERM_LENGTH])):
                if terms.get(term, 0) < weight:
                    terms[term] = weight
    return terms


@dataclass(frozen=True)
class Expansion:
    """An indexed word a query word stands for: how well it answers it (per mille), and
    whether only as a typo (then a synopsis holding it does not count, as in word_score)."""

    term: str
    match: int
    typo: bool


def expansions(query_word: str, vocabulary: set[str]) -> list[Expansion]:
    """The indexed words that answer a query word, best first: among `vocabulary` (its
    completions and near spellings the index found), and the pieces of an unspaced one."""
    scored = {term: word_match(query_word, term) for term in vocabulary}
    for piece in pieces(query_word):
        scored[piece] = max(scored.get(piece, 0.0), 0.75)
    best = sorted((-score, term) for term, score in scored.items() if score > 0)
    return [
        Expansion(term, round(-score * 1000), typo=not spelled_out(query_word, term))
        for score, term in best[:MAX_EXPANSIONS]
    ]


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
    # The distinct words of the short fields, each with its heaviest field's weight, heaviest
    # first.
    _short_words: list[tuple[str, float]] = field(init=False, repr=False)
    _synopsis_words: list[str] = field(init=False, repr=False)
    _scores: dict[str, float] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        heaviest: dict[str, float] = {}
        for name in ("title", "creator", "tags", "genre"):
            for word in getattr(self, name).split():
                heaviest[word] = max(heaviest.get(word, 0.0), WEIGHTS[name])
        self._short_words = sorted(heaviest.items(), key=lambda item: -item[1])
        self._synopsis_words = sorted(set(self.synopsis.split()))

    def _synopsis_match(self, query_word: str) -> float:
        # A synopsis is long: its words match exactly or as prefixes (found by bisection),
        # typos are left to the short fields.
        words = self._synopsis_words
        if unspaced(query_word):
            return max((word_match(query_word, w) for w in words if query_word in w), default=0)
        at = bisect.bisect_left(words, query_word)
        if at == len(words) or not words[at].startswith(query_word):
            return 0.0
        return word_match(query_word, words[at])

    def word_score(self, query_word: str) -> float:
        """The best weighted match of one query word in any field (kept: a document comes
        back for query after query, see `document`)."""
        score = self._scores.get(query_word)
        if score is None:
            score = self._word_score(query_word)
            if len(self._scores) < KEPT_SCORES:
                self._scores[query_word] = score
        return score

    def _word_score(self, query_word: str) -> float:
        best = WEIGHTS["synopsis"] * self._synopsis_match(query_word)
        for word, weight in self._short_words:
            if weight <= best:
                break  # the words after weigh no more
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


# Documents as the index stores them, by their fields: the candidates of one query are mostly
# those of the last (the words of a catalog are few), and splitting a synopsis into its sorted
# words and scoring it were a third of an uncached search. A changed document is another key.
@lru_cache(maxsize=20_000)
def document(
    series_id: int, title: str, creator: str, tags: str, genre: str, synopsis: str
) -> Document:
    return Document(series_id, title, creator, tags, genre, synopsis)
