"""The offline model answers in the shape asked for: real SmolLM2 through llama-cpp-python."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field, ValidationError

from microdrama.ai.llm import LocalLlama, close_truncated_json, parse_answer
from microdrama.ai.packaged import smollm2_gguf


class Character(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    secret: str = Field(min_length=1, max_length=160)


class Pitch(BaseModel):
    logline: str = Field(min_length=10, max_length=200)
    characters: list[Character] = Field(min_length=2, max_length=3)


@pytest.fixture(scope="module")
def model() -> LocalLlama:
    return LocalLlama(model_path=smollm2_gguf(), threads=2)


def test_the_packaged_model_fills_a_schema_with_valid_text(model: LocalLlama) -> None:
    pitch = model.generate(
        Pitch,
        system="You write pitches for vertical micro-drama series. Answer in JSON.",
        prompt="A contract marriage with a hidden billionaire. Give a logline and two characters.",
        max_tokens=220,
        temperature=0.7,
        seed=7,
    )
    assert 10 <= len(pitch.logline) <= 200
    assert 2 <= len(pitch.characters) <= 3
    assert all(character.name.strip() for character in pitch.characters)
    assert model.usage.completion_tokens > 0 and model.usage.calls >= 1


@pytest.mark.parametrize(
    ("cut", "expected"),
    [
        ('{"logline": "She signs', {"logline": "She signs"}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ('{"a": "x", "b', {"a": "x"}),
        ('{"a": "x",', {"a": "x"}),
        ('{"a": {"b": "c"}, "d": ', {"a": {"b": "c"}}),
        ('{"a": "say \\"hi\\"', {"a": 'say "hi"'}),
    ],
)
def test_an_answer_cut_short_by_the_token_limit_is_closed(cut: str, expected: object) -> None:
    assert json.loads(close_truncated_json(cut)) == expected


def test_an_answer_over_its_bounds_is_shortened_at_a_word_boundary() -> None:
    long_secret = "She is the heir of the family that ruined his father " * 5
    text = json.dumps(
        {"logline": "A bride for hire", "characters": [{"name": "Mia", "secret": long_secret}] * 4}
    )
    pitch = parse_answer(Pitch, text)
    assert len(pitch.characters) == 3
    secret = pitch.characters[0].secret
    assert len(secret) <= 160 and long_secret.startswith(secret) and not secret.endswith(" ")
    assert long_secret[len(secret)] == " "  # cut between words, not inside one


def test_an_answer_that_is_not_json_is_refused() -> None:
    with pytest.raises(ValidationError):
        parse_answer(Pitch, "Sure! Here is a logline: love and lies.")
