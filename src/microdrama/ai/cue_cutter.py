"""Readable subtitle cues from timed words: at most 2 lines of 42 characters, 1 to 7 s each.

Pure functions (no model, no I/O). Where a cue ends is chosen by dynamic programming over
the word boundaries, so the cut prefers the end of a sentence, then the end of a clause
(a comma, a semicolon, a dash, before a conjunction), then a pause, and never falls inside a
word; inside a cue the same preferences choose where the second line starts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_LINE_CHARS = 42
MAX_LINES = 2
MIN_CUE_MS = 1000
MAX_CUE_MS = 7000

# Closing quotes and brackets may follow the mark (escapes: ruff flags look-alike characters).
_CLOSERS = "\"'\u201d\u2019)\\]"
_SENTENCE_END = re.compile(f"[.!?\u2026\u3002\uff01\uff1f][{_CLOSERS}]*$")
_CLAUSE_END = re.compile(f"[,;:\u2013\u2014-][{_CLOSERS}]*$")
_OPENERS = "\"'\u201c\u2018("
# A clause often starts with one of these: breaking before them reads naturally.
CONJUNCTIONS = frozenset((
    "and", "but", "or", "so", "because", "although", "though", "while", "when", "whereas",
    "if", "unless", "until", "since", "which", "who", "that", "where", "then", "yet", "nor",
    "after", "before",
))  # fmt: skip
# What a break costs by kind: the dynamic programme minimises the sum over cues.
_COST_SENTENCE = 0.0
_COST_CLAUSE = 3.0
_COST_CONJUNCTION = 4.0
_COST_WORD = 10.0
_COST_PER_CUE = 2.0  # a few full cues read better than many scraps
_COST_SHORT = 8.0  # the words last under MIN_CUE_MS: the cue is stretched
_COST_CROWDED = 20.0  # ... and stretching it delays the next cue
_COST_SENTENCE_INSIDE = 4.0  # a sentence ends inside a cue but not at its line break
_PAUSE_MS = 400  # a silence this long is a natural place to cut
_COST_SILENCE_PER_S = 10.0  # text on screen through a silence longer than _PAUSE_MS


@dataclass(frozen=True)
class Word:
    """A spoken word with its time in the audio (text without surrounding spaces)."""

    text: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class TimedCue:
    """A subtitle cue: its lines joined by a newline."""

    start_ms: int
    end_ms: int
    text: str

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


def _break_cost(word: str, next_word: str | None) -> float:
    """What ending a cue (or a line) after `word` costs, the next word being `next_word`."""
    if next_word is None or _SENTENCE_END.search(word):
        return _COST_SENTENCE
    if _CLAUSE_END.search(word):
        return _COST_CLAUSE
    if next_word.lower().strip(_OPENERS) in CONJUNCTIONS:
        return _COST_CONJUNCTION
    return _COST_WORD


def wrap_lines(words: Sequence[str]) -> tuple[list[str], float] | None:
    """The words as one line, or two lines broken where it reads best (a sentence or clause
    end, then balance), with that break's cost; None when they do not fit in two lines."""
    one_line = " ".join(words)
    if len(one_line) <= MAX_LINE_CHARS:
        inside = sum(1 for w in words[:-1] if _SENTENCE_END.search(w))
        return [one_line], _COST_SENTENCE_INSIDE * inside
    best: tuple[list[str], float] | None = None
    for split in range(1, len(words)):
        first, second = " ".join(words[:split]), " ".join(words[split:])
        if len(first) > MAX_LINE_CHARS or len(second) > MAX_LINE_CHARS:
            continue
        inside = sum(
            1 for i, w in enumerate(words[:-1]) if i != split - 1 and _SENTENCE_END.search(w)
        )
        cost = (
            _break_cost(words[split - 1], words[split]) / 2
            + abs(len(first) - len(second)) / 20
            + _COST_SENTENCE_INSIDE * inside
        )
        if best is None or cost < best[1]:
            best = ([first, second], cost)
    return best


def wrap_text(text: str, *, max_lines: int = MAX_LINES) -> str:
    """A cue's text re-wrapped into lines of at most 42 characters (two when it fits, more
    only when it does not: a translation may be longer than its source)."""
    words = text.split()
    if not words:
        return ""
    wrapped = wrap_lines(words) if max_lines >= 2 else None
    if wrapped is not None:
        return "\n".join(wrapped[0])
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= MAX_LINE_CHARS:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def split_long_words(words: Sequence[Word]) -> list[Word]:
    """Words longer than a line cut into line-sized pieces (the one case where a word is
    split: nothing else fits), time shared by length; words lasting over 7 s are shortened."""
    result: list[Word] = []
    for word in words:
        end_ms = min(word.end_ms, word.start_ms + MAX_CUE_MS)
        if len(word.text) <= MAX_LINE_CHARS:
            result.append(Word(word.text, word.start_ms, end_ms))
            continue
        pieces = [
            word.text[i : i + MAX_LINE_CHARS] for i in range(0, len(word.text), MAX_LINE_CHARS)
        ]
        span = end_ms - word.start_ms
        for index, piece in enumerate(pieces):
            result.append(
                Word(
                    piece,
                    word.start_ms + span * index // len(pieces),
                    word.start_ms + span * (index + 1) // len(pieces),
                )
            )
    return result


def _clean(words: Sequence[Word]) -> list[Word]:
    """Words with text, in time order, none ending before it starts."""
    cleaned = [
        Word(w.text.strip(), max(0, w.start_ms), max(0, w.start_ms, w.end_ms))
        for w in words
        if w.text.strip()
    ]
    # Whitespace inside a "word" would let a line break fall in it: make it words.
    spaced: list[Word] = []
    for word in cleaned:
        parts = word.text.split()
        if len(parts) == 1:
            spaced.append(word)
            continue
        span = word.end_ms - word.start_ms
        total = sum(len(p) for p in parts)
        done = 0
        for part in parts:
            start = word.start_ms + span * done // total
            done += len(part)
            spaced.append(Word(part, start, word.start_ms + span * done // total))
    spaced.sort(key=lambda w: w.start_ms)
    return split_long_words(spaced)


def cut_cues(words: Sequence[Word]) -> list[TimedCue]:
    """Cues for these words, in order: every word in exactly one cue, each cue at most 2 lines
    of 42 characters shown 1 to 7 s, no two cues overlapping."""
    items = _clean(words)
    count = len(items)
    if count == 0:
        return []
    texts = [w.text for w in items]
    # silence[i]: what keeping items[i - 1] and items[i] in one cue costs for the pause
    # between them, summed (so a cue's total is a difference of two entries).
    silence = [0.0] * (count + 1)
    for i in range(1, count + 1):
        gap_ms = items[i].start_ms - items[i - 1].end_ms if i < count else 0
        paid = _COST_SILENCE_PER_S * gap_ms / 1000 if gap_ms > _PAUSE_MS else 0.0
        silence[i] = silence[i - 1] + paid
    # best[j]: the cheapest cutting of items[:j]; choice[j]: where its last cue starts.
    best = [0.0] + [float("inf")] * count
    choice = [0] * (count + 1)
    wraps: dict[tuple[int, int], list[str]] = {}
    for end in range(1, count + 1):
        last = items[end - 1]
        following = items[end] if end < count else None
        boundary = _break_cost(last.text, following.text if following else None)
        if following is not None and following.start_ms - last.end_ms >= _PAUSE_MS:
            boundary = min(boundary, _COST_CLAUSE)
        for start in range(end - 1, -1, -1):
            first = items[start]
            if last.end_ms - first.start_ms > MAX_CUE_MS and start < end - 1:
                break
            wrapped = wrap_lines(texts[start:end])
            if wrapped is None:
                break  # adding earlier words only makes it longer
            cost = (
                best[start]
                + _COST_PER_CUE
                + boundary
                + wrapped[1]
                + silence[end - 1]
                - silence[start]
            )
            if last.end_ms - first.start_ms < MIN_CUE_MS:
                cost += _COST_SHORT
                if following is not None and following.start_ms < first.start_ms + MIN_CUE_MS:
                    cost += _COST_CROWDED
            if cost < best[end]:
                best[end], choice[end] = cost, start
                wraps[(start, end)] = wrapped[0]
    spans: list[tuple[int, int]] = []
    end = count
    while end > 0:
        spans.append((choice[end], end))
        end = choice[end]
    spans.reverse()
    return _timed(items, spans, wraps)


def _timed(
    items: list[Word], spans: list[tuple[int, int]], wraps: dict[tuple[int, int], list[str]]
) -> list[TimedCue]:
    """Times for the chosen cues: from the first word's start (or the previous cue's end, if
    later) to the last word's end, stretched to at least 1 s and held at most 7 s."""
    cues: list[TimedCue] = []
    previous_end = 0
    for start, end in spans:
        cue_start = max(items[start].start_ms, previous_end)
        cue_end = min(max(items[end - 1].end_ms, cue_start + MIN_CUE_MS), cue_start + MAX_CUE_MS)
        cues.append(TimedCue(cue_start, cue_end, "\n".join(wraps[(start, end)])))
        previous_end = cue_end
    return cues
