"""The writers' room's words: the model fills the beat engine's skeleton through small schemas
(a bible, one character, one card, a block of dialogue), and whatever it gets wrong (empty,
too short, a copy of another field, junk) is replaced by the template's wording, so even a
weak model yields a complete, well-formed plan.

Every function takes an LLM and plain values; none touches the database.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from microdrama.ai.beats import (
    TEMPLATES,
    CardSlot,
    CliffhangerKind,
    SeasonSkeleton,
)
from microdrama.ai.llm import LLM, GenerationFailed
from microdrama.ai.plans import (
    DIALOGUE_BLOCK_LINES,
    LENGTH_TOLERANCE,
    SECONDS_PER_DIRECTION,
    WORDS_PER_MINUTE,
    ArcBeat,
    Bible,
    BibleText,
    CardText,
    Character,
    CharacterText,
    CliffhangerText,
    DialogueBlock,
    EpisodeCard,
    Script,
    ScriptLine,
    SeasonArc,
    estimated_seconds,
    word_count,
)

Progress = Callable[[float, str], None]

# Token budgets per call: a card is four short fields, a block four lines of dialogue.


@dataclass(frozen=True)
class TokenBudget:
    """The most tokens the model may spend on one answer of each kind; an answer cut short is
    closed and its missing fields fall back to the template's wording."""

    bible: int = 90
    character: int = 56
    card: int = 96


BUDGET = TokenBudget()
CLIFFHANGER_TOKENS = 50
DIALOGUE_TOKENS = 150

KIND_MEANING = {
    CliffhangerKind.reveal: "a secret comes out",
    CliffhangerKind.threat: "danger closes in",
    CliffhangerKind.decision: "someone must choose, now",
    CliffhangerKind.arrival: "someone unexpected walks in",
}


@dataclass(frozen=True)
class Brief:
    """What the creator asked for, beside the skeleton."""

    premise: str
    tone: str


@dataclass(frozen=True)
class Plan:
    bible: Bible
    arc: SeasonArc
    cards: list[EpisodeCard]


def _nothing(_fraction: float, _message: str) -> None:
    return None


# Cleaning the model's text ------------------------------------------------------------------

_JUNK = re.compile(r"[{}\[\]<>|#*_\\]|\b(?:lorem|ipsum|null|none|n/a)\b", re.IGNORECASE)
# The prompt's own words given back, or a year where a story line should be.
_ECHO = re.compile(
    r"premise|it ends on|what happens|setting:|episode \d+ of|cliffhanger|json|\b(?:19|20)\d\d\b",
    re.IGNORECASE,
)


def usable(text: str, *, min_words: int = 3, taken: set[str] | None = None) -> str | None:
    """The model's text tidied, or None when it is no use: empty, too short, template junk
    ("{sentence}"), or a copy of text already used in this part."""
    if _JUNK.search(text):
        text = _JUNK.sub("", text)
        if "{" in text or "}" in text:
            return None
    tidy = " ".join(text.split()).strip(" \"'`-:;,")
    if word_count(tidy) < min_words or _ECHO.search(tidy):
        return None
    words = re.findall(r"[\w'\u2019-]+", tidy.lower())
    if len(words) >= 6 and len(set(words)) < len(words) * 0.6:
        return None  # "Ava, Ava, Ava, Ava..."
    key = _key(tidy)
    if taken is not None:
        if key in taken:
            return None
        taken.add(key)
    return tidy[:1].upper() + tidy[1:]


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return cut + "…"


def _ask(
    llm: LLM, schema: type[BaseModel], *, system: str, prompt: str, max_tokens: int, seed: int
) -> BaseModel | None:
    try:
        return llm.generate(
            schema, system=system, prompt=prompt, max_tokens=max_tokens, temperature=0.7, seed=seed
        )
    except GenerationFailed:
        return None  # the template's wording stands in


def _system(skeleton: SeasonSkeleton, brief: Brief) -> str:
    label = TEMPLATES[skeleton.trope].label.lower()
    return (
        f"You write a vertical micro-drama series: {label}, tone: {brief.tone}. "
        "Write short, concrete, dramatic English sentences. Answer only in JSON."
    )


def _cast_line(skeleton: SeasonSkeleton) -> str:
    return "; ".join(f"{c.name} ({c.role})" for c in skeleton.characters)


# The bible and the arc ----------------------------------------------------------------------


def fallback_bible(skeleton: SeasonSkeleton, brief: Brief) -> Bible:
    return Bible(
        title=skeleton.title,
        logline=skeleton.logline,
        trope=skeleton.trope,
        tone=clip(brief.tone, 80),
        characters=[
            Character(
                name=c.name,
                role=c.role,
                want=c.want,
                secret=c.secret,
                relationship=c.relationship,
                voice=c.voice,
            )
            for c in skeleton.characters
        ],
    )


def write_bible(
    llm: LLM,
    skeleton: SeasonSkeleton,
    brief: Brief,
    *,
    seed: int,
    budget: TokenBudget = BUDGET,
) -> Bible:
    """Title and logline from the premise, then each character's want and secret."""
    bible = fallback_bible(skeleton, brief)
    system = _system(skeleton, brief)
    answer = _ask(
        llm,
        BibleText,
        system=system,
        prompt=(
            f"Premise: {brief.premise}\nCast: {_cast_line(skeleton)}\n"
            "Give the series a catchy title (2 to 5 words) and a one-sentence logline."
        ),
        max_tokens=budget.bible,
        seed=seed,
    )
    title, logline = bible.title, bible.logline
    if isinstance(answer, BibleText):
        title = usable(answer.title, min_words=1) or title
        if word_count(title) > 8:
            title = bible.title
        logline = usable(answer.logline, min_words=6) or logline
    characters = []
    for index, character in enumerate(bible.characters):
        characters.append(
            write_character(llm, skeleton, brief, character, seed=seed + 1 + index, budget=budget)
        )
    return bible.model_copy(
        update={"title": clip(title, 120), "logline": clip(logline, 600), "characters": characters}
    )


def write_character(
    llm: LLM,
    skeleton: SeasonSkeleton,
    brief: Brief,
    character: Character,
    *,
    seed: int,
    budget: TokenBudget = BUDGET,
) -> Character:
    answer = _ask(
        llm,
        CharacterText,
        system=_system(skeleton, brief),
        prompt=(
            f"Premise: {brief.premise}\nCharacter: {character.name}, {character.role}, "
            f"{character.relationship}.\nIn one short sentence each: what does "
            f"{character.name} want, and what secret does {character.name} hide?"
        ),
        max_tokens=budget.character,
        seed=seed,
    )
    if not isinstance(answer, CharacterText):
        return character
    taken: set[str] = set()
    want = usable(answer.want, min_words=4, taken=taken) or character.want
    secret = usable(answer.secret, min_words=4, taken=taken) or character.secret
    return character.model_copy(update={"want": clip(want, 200), "secret": clip(secret, 200)})


def season_arc(skeleton: SeasonSkeleton) -> SeasonArc:
    """The arc is structure: the engine's beats, each with the event it must deliver."""
    return SeasonArc(
        episode_count=skeleton.episode_count,
        free_episodes=skeleton.free_episodes,
        episode_seconds=skeleton.episode_seconds,
        beats=[
            ArcBeat(
                kind=b.kind,
                episode=b.episode,
                label=b.label,
                summary=clip(b.event[:1].upper() + b.event[1:] + ".", 600),
            )
            for b in skeleton.beats
        ],
    )


# Cards --------------------------------------------------------------------------------------

_KIND_TITLES = {
    CliffhangerKind.reveal: ("The Truth About {b}", "What {a} Found", "Secrets at {place}"),
    CliffhangerKind.threat: ("No Way Out", "{a} in Danger", "Trapped at {place}"),
    CliffhangerKind.decision: ("{a}'s Choice", "Now or Never", "The Ultimatum"),
    CliffhangerKind.arrival: ("An Uninvited Guest", "{b} Returns", "Someone at the Door"),
}
_KIND_TURNS = {
    CliffhangerKind.reveal: "A slip of the tongue, a photo, a signature: the truth surfaces.",
    CliffhangerKind.threat: "{villain} moves first, and {a} is out of time.",
    CliffhangerKind.decision: "{a} is handed an ultimatum with no good answer.",
    CliffhangerKind.arrival: "The door opens on the last person {a} expected.",
}
_KIND_LINES = {
    CliffhangerKind.reveal: (
        "You were never supposed to find out, {a}.",
        "It was me. It was always me.",
        "Read it again, {a}. Read the name.",
    ),
    CliffhangerKind.threat: (
        "Say one word, {a}, and you lose everything.",
        "They're already here. Run.",
        "By morning, {b} will be gone.",
    ),
    CliffhangerKind.decision: (
        "Choose, {a}. Tonight. Me or them.",
        "Sign it, or walk away from all of this.",
        "If you leave now, don't ever come back.",
    ),
    CliffhangerKind.arrival: (
        "Hello, {a}. Did you miss me?",
        "Sorry I'm late. Did I miss the wedding?",
        "{b}? You're supposed to be dead.",
    ),
}


def fallback_card(skeleton: SeasonSkeleton, slot: CardSlot) -> EpisodeCard:
    names = skeleton.names()
    rng = random.Random(f"card:{skeleton.seed}:{slot.number}")
    a, b = slot.characters
    words = {**names, "a": a, "b": b, "place": _place(slot.location)}
    kind = slot.cliffhanger_kind
    return EpisodeCard(
        number=slot.number,
        title=rng.choice(_KIND_TITLES[kind]).format(**words),
        hook=f"Cold open, {slot.location}: {a} and {b}, face to face, mid-argument.",
        conflict=clip(slot.event[:1].upper() + slot.event[1:] + ".", 200),
        turn=_KIND_TURNS[kind].format(**words),
        cliffhanger_line=rng.choice(_KIND_LINES[kind]).format(**words),
        cliffhanger_kind=kind,
        beat=slot.beat,
        intensity=slot.intensity,
    )


def _place(location: str) -> str:
    words = location.split()
    return " ".join(w.capitalize() for w in words[-2:]) if words else "Night"


def _card_prompt(skeleton: SeasonSkeleton, brief: Brief, slot: CardSlot) -> str:
    a, b = slot.characters
    where = "the last free episode, before the paywall: the strongest ending of the season. "
    return (
        f"Premise: {brief.premise}\n"
        f"Episode {slot.number} of {skeleton.episode_count}, "
        f"{where if slot.number == skeleton.paywall_episode else ''}"
        f"Setting: {slot.location}. Characters: {a} and {b}.\n"
        f"What happens: {slot.event}.\n"
        f"It ends on a {slot.cliffhanger_kind.value}: {KIND_MEANING[slot.cliffhanger_kind]}.\n"
        "Write a short episode title, the hook (what we see in the first 3 seconds), the "
        "conflict, and the cliffhanger line (the last line of dialogue)."
    )


def write_card(
    llm: LLM,
    skeleton: SeasonSkeleton,
    brief: Brief,
    slot: CardSlot,
    *,
    seed: int,
    budget: TokenBudget = BUDGET,
) -> EpisodeCard:
    """One card: the model's title, hook, conflict and last line where usable; the number,
    beat, cliffhanger kind and intensity are the engine's."""
    card = fallback_card(skeleton, slot)
    answer = _ask(
        llm,
        CardText,
        system=_system(skeleton, brief),
        prompt=_card_prompt(skeleton, brief, slot),
        max_tokens=budget.card,
        seed=seed,
    )
    if not isinstance(answer, CardText):
        return card
    taken: set[str] = set()
    title = usable(answer.title, min_words=1, taken=taken)
    if title is None or word_count(title) > 7:
        title = card.title
    return card.model_copy(
        update={
            "title": clip(title, 120),
            "hook": clip(usable(answer.hook, min_words=4, taken=taken) or card.hook, 200),
            "conflict": clip(
                usable(answer.conflict, min_words=4, taken=taken) or card.conflict, 200
            ),
            "cliffhanger_line": clip(
                usable(answer.cliffhanger_line, min_words=3, taken=taken) or card.cliffhanger_line,
                200,
            ),
        }
    )


def rewrite_cliffhanger(
    llm: LLM, skeleton: SeasonSkeleton, brief: Brief, card: EpisodeCard, *, seed: int
) -> EpisodeCard:
    """A new last line for a card whose ending viewers did not follow."""
    slot = skeleton.cards[card.number - 1]
    answer = _ask(
        llm,
        CliffhangerText,
        system=_system(skeleton, brief),
        prompt=(
            f"Episode {card.number}: {card.conflict} {card.turn}\n"
            f'The old last line was weak: "{card.cliffhanger_line}".\n'
            f"Write a stronger last line of dialogue ending on a {card.cliffhanger_kind.value}: "
            f"{KIND_MEANING[card.cliffhanger_kind]}."
        ),
        max_tokens=CLIFFHANGER_TOKENS,
        seed=seed,
    )
    taken = {_key(card.cliffhanger_line)}
    line = None
    if isinstance(answer, CliffhangerText):
        line = usable(answer.cliffhanger_line, min_words=3, taken=taken)
    if line is None:
        # Another of the template's endings of this kind, not the one the card has.
        rng = random.Random(f"rewrite:{seed}")
        a, b = slot.characters
        options = [
            option.format(**skeleton.names(), a=a, b=b)
            for option in _KIND_LINES[card.cliffhanger_kind]
        ]
        fresh = [o for o in options if o != card.cliffhanger_line] or options
        line = rng.choice(fresh)
    return card.model_copy(update={"cliffhanger_line": clip(line, 200)})


def write_plan(
    llm: LLM,
    skeleton: SeasonSkeleton,
    brief: Brief,
    *,
    progress: Progress = _nothing,
    budget: TokenBudget = BUDGET,
) -> Plan:
    """The whole plan: the bible, the engine's arc, then every card (progress "card 12/30")."""
    total = 1 + skeleton.episode_count
    progress(0.0, "Writing the bible")
    bible = write_bible(llm, skeleton, brief, seed=skeleton.seed, budget=budget)
    arc = season_arc(skeleton)
    cards: list[EpisodeCard] = []
    for slot in skeleton.cards:
        progress((len(cards) + 1) / total, f"card {slot.number}/{skeleton.episode_count}")
        cards.append(
            write_card(
                llm, skeleton, brief, slot, seed=skeleton.seed * 1000 + slot.number, budget=budget
            )
        )
    progress(1.0, "Plan written")
    return Plan(bible=bible, arc=arc, cards=cards)


def fallback_plan(skeleton: SeasonSkeleton, brief: Brief) -> Plan:
    """The plan with the template's wording only (what a creator sees before the model)."""
    return Plan(
        bible=fallback_bible(skeleton, brief),
        arc=season_arc(skeleton),
        cards=[fallback_card(skeleton, slot) for slot in skeleton.cards],
    )


# Scripts ------------------------------------------------------------------------------------

_FILLER_LINES = (
    "Don't look at me like that.",
    "You knew. You knew all along and you said nothing.",
    "I'm not the person you think I am anymore.",
    "Then tell me the truth, for once in your life.",
    "Everything I did, I did for you.",
    "You don't get to decide that for me.",
    "Do you have any idea what they'll do if they find out?",
    "I trusted you. That was my mistake.",
    "Look me in the eye and say it again.",
    "This isn't over. Not by a long way.",
    "Why now? Why come back now?",
    "You should have stayed away.",
)
LINE_CHARS = 110


def _speaker_line(text: str, speaker: str) -> str:
    """A cliffhanger line without a "Name:" prefix or its quotes."""
    prefix = re.match(r"^\s*([A-Z][\w' -]{0,30}):\s*", text)
    if prefix:
        text = text[prefix.end() :]
    return text.strip().strip('"“”').strip() or text


def dialogue_budget_words(target_seconds: int, directions: int) -> int:
    return max(
        20, round((target_seconds - directions * SECONDS_PER_DIRECTION) * WORDS_PER_MINUTE / 60)
    )


def write_script(
    llm: LLM,
    skeleton: SeasonSkeleton,
    brief: Brief,
    card: EpisodeCard,
    *,
    seed: int,
    progress: Progress = _nothing,
) -> Script:
    """A script sized to the episode at the speaking rate: a scene line, the hook, blocks of
    dialogue between the card's two characters, the turn, and the cliffhanger line last."""
    slot = skeleton.cards[card.number - 1]
    a, b = slot.characters
    head = [
        ScriptLine(kind="scene", text=f"INT. {slot.location.upper()} - NIGHT"),
        ScriptLine(kind="action", text=card.hook),
    ]
    turn = ScriptLine(kind="action", text=card.turn)
    last = ScriptLine(
        kind="dialogue", character=a, text=clip(_speaker_line(card.cliffhanger_line, a), 400)
    )
    target = skeleton.episode_seconds
    words = dialogue_budget_words(target, directions=3) - word_count(last.text)
    blocks = max(1, math.ceil(words / 12 / DIALOGUE_BLOCK_LINES))
    rng = random.Random(f"script:{seed}")
    body: list[ScriptLine] = []
    taken: set[str] = set()
    for block in range(blocks):
        progress(block / (blocks + 1), f"dialogue {block + 1}/{blocks}")
        speakers = [a, b, a, b] if block % 2 == 0 else [b, a, b, a]
        answer = _ask(
            llm,
            DialogueBlock,
            system=_system(skeleton, brief),
            prompt=(
                f"Episode {card.number}, {slot.location}. {card.conflict}\n"
                f"Write four lines of spoken dialogue, one sentence each, said in turn by "
                f"{', '.join(speakers)}."
            ),
            max_tokens=DIALOGUE_TOKENS,
            seed=seed + block,
        )
        texts = answer.lines() if isinstance(answer, DialogueBlock) else [""] * 4
        for speaker, text in zip(speakers, texts, strict=True):
            line = usable(text, min_words=3, taken=taken)
            if line is None:
                line = _filler(rng, taken)
            body.append(ScriptLine(kind="dialogue", character=speaker, text=clip(line, LINE_CHARS)))
    body = _fit(head, body, turn, last, target=target, speakers=(a, b), rng=rng, taken=taken)
    progress(1.0, "Script written")
    return Script(episode=card.number, target_seconds=target, lines=[*head, *body, turn, last])


def _filler(rng: random.Random, taken: set[str]) -> str:
    options = [f for f in _FILLER_LINES if _key(f) not in taken]
    line = rng.choice(options or list(_FILLER_LINES))
    taken.add(_key(line))
    return line


def _key(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def _fit(
    head: list[ScriptLine],
    body: list[ScriptLine],
    turn: ScriptLine,
    last: ScriptLine,
    *,
    target: int,
    speakers: tuple[str, str],
    rng: random.Random,
    taken: set[str],
) -> list[ScriptLine]:
    """Drop or add dialogue in the middle until the script plays within the tolerance of its
    length; the opening, the turn and the cliffhanger line stay."""
    low, high = target * (1 - LENGTH_TOLERANCE), target * (1 + LENGTH_TOLERANCE)

    def seconds() -> float:
        return estimated_seconds([*head, *body, turn, last])

    while seconds() > high and len(body) > 1:
        body.pop(len(body) // 2)
    while seconds() < low:
        previous = body[-1].character if body else speakers[1]
        speaker = speakers[0] if previous == speakers[1] else speakers[1]
        body.append(ScriptLine(kind="dialogue", character=speaker, text=_filler(rng, taken)))
    return body
