"""The cue cutter: whatever the words and their times, cues a viewer can read."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from microdrama.ai.cue_cutter import (
    MAX_CUE_MS,
    MAX_LINE_CHARS,
    MAX_LINES,
    MIN_CUE_MS,
    TimedCue,
    Word,
    cut_cues,
    wrap_text,
)

_TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCé'", min_size=1, max_size=12)
_PUNCT = st.sampled_from(["", "", "", ",", ".", "?", "!", ";", "…"])


@st.composite
def spoken_words(draw: st.DrawFn) -> list[Word]:
    """Words as a speech recogniser gives them: in order, sometimes overlapping or crowded,
    sometimes with long silences, sometimes absurdly long."""
    count = draw(st.integers(min_value=0, max_value=80))
    words, clock = [], draw(st.integers(min_value=0, max_value=5000))
    for _ in range(count):
        text = draw(_TOKEN) + draw(_PUNCT)
        if draw(st.integers(0, 30)) == 0:
            text = draw(st.text(alphabet="abcdefghij", min_size=30, max_size=MAX_LINE_CHARS))
        clock += draw(st.one_of(st.integers(0, 400), st.integers(0, 9000)))
        length = draw(st.one_of(st.integers(0, 700), st.integers(0, 12_000)))
        words.append(Word(text, clock, clock + length))
    return words


def _assert_readable(cues: list[TimedCue]) -> None:
    for cue in cues:
        assert 1 <= len(cue.lines) <= MAX_LINES, cue
        assert all(0 < len(line) <= MAX_LINE_CHARS for line in cue.lines), cue
        assert MIN_CUE_MS <= cue.end_ms - cue.start_ms <= MAX_CUE_MS, cue
    for before, after in pairwise(cues):
        assert before.end_ms <= after.start_ms, (before, after)


@settings(max_examples=150, deadline=None)
@given(spoken_words())
def test_every_cue_is_readable_and_keeps_every_word_whole_and_in_order(words: list[Word]) -> None:
    cues = cut_cues(words)
    _assert_readable(cues)
    assert " ".join(c.text.replace("\n", " ") for c in cues).split() == [w.text for w in words]


def _words(text: str, *, start_ms: int = 0, word_ms: int = 300, pause_ms: int = 0) -> list[Word]:
    """Evenly spoken words; a pause after each sentence."""
    words, clock = [], start_ms
    for token in text.split():
        words.append(Word(token, clock, clock + word_ms - 40))
        clock += word_ms + (pause_ms if token.endswith((".", "?", "!")) else 0)
    return words


def test_cues_end_at_sentence_ends_when_they_can() -> None:
    text = (
        "I never agreed to this marriage. Then why are you wearing my ring? "
        "Because my father sold me to your family. And you believed him."
    )
    cues = cut_cues(_words(text, pause_ms=200))
    _assert_readable(cues)
    assert all(c.text.rstrip().endswith((".", "?")) for c in cues), [c.text for c in cues]


def test_a_long_sentence_breaks_at_its_clauses_not_in_the_middle_of_a_phrase() -> None:
    text = (
        "When the storm finally reached the old lighthouse on the northern cliffs, "
        "she lit every lamp she could find, but nobody on the ships below could see them."
    )
    cues = cut_cues(_words(text, word_ms=280))
    _assert_readable(cues)
    assert len(cues) >= 2
    for cue in cues[:-1]:
        last = cue.text.split()[-1]
        following = cues[cues.index(cue) + 1].text.split()[0]
        assert last.endswith(",") or following in {"but", "and"}, [c.text for c in cues]


def test_two_lines_split_where_the_sentence_does() -> None:
    text = "You lied to me for three years. I trusted you with everything."
    cues = cut_cues(_words(text, word_ms=250))
    assert [c.text for c in cues] == [
        "You lied to me for three years.\nI trusted you with everything."
    ]


def test_quick_words_are_held_a_second_without_covering_the_next_cue() -> None:
    cues = cut_cues([Word("No.", 0, 200), Word("Stop.", 5000, 5300)])
    assert [(c.start_ms, c.end_ms, c.text) for c in cues] == [
        (0, 1000, "No."),
        (5000, 6000, "Stop."),
    ]


def test_a_word_longer_than_a_line_is_the_only_word_ever_split() -> None:
    cues = cut_cues([Word("a" * 100, 0, 3000)])
    _assert_readable(cues)
    assert "".join(c.text.replace("\n", "") for c in cues) == "a" * 100


def test_a_translation_too_long_for_two_lines_wraps_onto_a_third_rather_than_overflow() -> None:
    assert wrap_text("Eu nunca concordei com este casamento. Então por que usa o anel?") == (
        "Eu nunca concordei com este casamento.\nEntão por que usa o anel?"
    )
    long = " ".join(["palavra"] * 15)
    assert all(len(line) <= MAX_LINE_CHARS for line in wrap_text(long).split("\n"))
