"""Language models behind one call: give a pydantic schema, get a validated instance back.

Two backends: any OpenAI-compatible Chat Completions server (OpenAI, Ollama, vLLM, the
llama.cpp server) when settings.llm_url is set, and offline the packaged SmolLM2 through
llama-cpp-python. Both constrain the model to the schema (a llama.cpp grammar made from
the JSON schema; `response_format` with the schema on a server), then validate with
pydantic; output cut short by the token limit is closed and validated again, and an answer
that still fails is asked for again, at most `attempts` times, before GenerationFailed.

Only the AI worker's job processes build these: the offline model is never loaded in the
web process.
"""

from __future__ import annotations

import abc
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from microdrama.ai.packaged import require_runtime, smollm2_gguf
from microdrama.config import Settings

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
ATTEMPTS = 3


class GenerationFailed(Exception):
    """The model gave no valid answer after every attempt (or its server refused)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Usage:
    """Running totals of one backend, for progress lines and bench/ai.py."""

    calls: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds else 0.0


class LLM(Protocol):
    name: str
    usage: Usage

    def generate(
        self,
        schema: type[M],
        *,
        system: str,
        prompt: str,
        max_tokens: int = 512,
        temperature: float = 0.8,
        seed: int | None = None,
    ) -> M: ...


def close_truncated_json(text: str) -> str:
    """Close a JSON document cut short by the token limit: the open string, then every open
    array and object. A half-written member (a key without its value, a dangling comma) is
    dropped by cutting back to the last comma that separated whole members."""
    stack: list[str] = []
    commas: list[tuple[int, list[str]]] = []  # where members ended, and what was open there
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and stack:
            stack.pop()
        elif char == ",":
            commas.append((index, list(stack)))
    if not stack:
        return text
    whole = (text.rstrip("\\") + '"') if in_string else text
    candidates = [whole + "".join(reversed(stack))]
    candidates += [text[:at] + "".join(reversed(open_)) for at, open_ in reversed(commas)]
    for candidate in candidates:
        try:
            json.loads(candidate)
        except ValueError:
            continue
        return candidate
    return candidates[0]


def parse_answer(schema: type[M], text: str) -> M:
    """Validate an answer; one cut short is closed first, strings and lists over their bound
    are shortened, and what is still invalid raises ValidationError."""
    try:
        data = json.loads(close_truncated_json(text))
    except ValueError:
        return schema.model_validate_json(text)  # raises the ValidationError that says why
    for _ in range(3):
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            if not _fit_lengths(data, exc.errors()):
                raise
    return schema.model_validate(data)


def _schema_json(schema: type[BaseModel]) -> dict[str, Any]:
    return schema.model_json_schema()


# Length bounds of strings become rules repeated up to maxLength times in a llama.cpp grammar,
# which makes every sampled token crawl (2 tokens/s instead of 45 here). The grammar keeps the
# shape; the bounds are enforced by pydantic after, with the repair in _fit_lengths.
_GRAMMAR_DROPS = ("minLength", "maxLength", "pattern", "format")


def grammar_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The schema for a grammar: the same structure, without the bounds of strings."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: strip(value) for key, value in node.items() if key not in _GRAMMAR_DROPS}
        if isinstance(node, list):
            return [strip(value) for value in node]
        return node

    stripped: dict[str, Any] = strip(_schema_json(schema))
    return stripped


def _fit_lengths(data: Any, errors: list[Any]) -> bool:
    """Shorten the strings and lists that are over their bound (at a word boundary when one
    is near); True when anything changed."""
    changed = False
    for error in errors:
        if error["type"] not in ("string_too_long", "too_long"):
            continue
        *path, last = error["loc"]
        parent = data
        try:
            for part in path:
                parent = parent[part]
            value = parent[last]
        except (KeyError, IndexError, TypeError):
            continue
        limit = int(error["ctx"].get("max_length", 0))
        if isinstance(value, str):
            cut = value[:limit]
            space = cut.rfind(" ")
            parent[last] = (cut[:space] if space > limit * 0.6 else cut).rstrip(" ,;:-")
        elif isinstance(value, list):
            parent[last] = value[:limit]
        else:
            continue
        changed = True
    return changed


class _Backend(abc.ABC):
    name = ""

    def __init__(self) -> None:
        self.usage = Usage()

    @abc.abstractmethod
    def _complete(
        self,
        schema: type[BaseModel],
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        seed: int | None,
    ) -> tuple[str, int, int]:
        """One completion: the answer's text, prompt tokens, completion tokens."""

    def generate(
        self,
        schema: type[M],
        *,
        system: str,
        prompt: str,
        max_tokens: int = 512,
        temperature: float = 0.8,
        seed: int | None = None,
    ) -> M:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
        problem = "no answer"
        for attempt in range(ATTEMPTS):
            started = time.perf_counter()
            text, prompt_tokens, completion_tokens = self._complete(
                schema,
                messages,
                max_tokens=max_tokens,
                # A second try varies the sampling, else the same seed gives the same miss.
                temperature=temperature if attempt == 0 else max(0.3, temperature - 0.2),
                seed=None if seed is None else seed + attempt,
            )
            self.usage.calls += 1
            self.usage.retries += 1 if attempt else 0
            self.usage.seconds += time.perf_counter() - started
            self.usage.prompt_tokens += prompt_tokens
            self.usage.completion_tokens += completion_tokens
            try:
                return parse_answer(schema, text)
            except ValidationError as exc:
                problem = "; ".join(
                    f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                    for error in exc.errors()[:3]
                )
                log.info(
                    "%s: invalid %s (attempt %d): %s",
                    self.name,
                    schema.__name__,
                    attempt + 1,
                    problem,
                )
        raise GenerationFailed(
            f"{self.name} gave no valid {schema.__name__} in {ATTEMPTS} attempts ({problem})"
        )


class LocalLlama(_Backend):
    """The packaged SmolLM2 (or any GGUF file) in this process through llama-cpp-python,
    constrained by a grammar made from the schema. One model per process, one call at a
    time (a llama.cpp context is not thread-safe)."""

    _models: dict[tuple[str, int, int], Any] = {}
    _models_lock = threading.Lock()

    def __init__(self, *, model_path: Path, threads: int = 2, context: int = 4096) -> None:
        super().__init__()
        require_runtime("llama_cpp", "llama-cpp-python")
        self.model_path = model_path
        self.threads = threads
        self.context = context
        self.name = f"{model_path.stem} (offline)"
        self._grammars: dict[type[BaseModel], Any] = {}
        self._lock = threading.Lock()

    def _model(self) -> Any:
        key = (str(self.model_path), self.threads, self.context)
        with self._models_lock:
            model = self._models.get(key)
            if model is None:
                from llama_cpp import Llama

                # Sampling runs on one thread: a 135M model is bound by memory, and two
                # spinning threads on two busy cores fell from 48 to 5 tokens/s here. The
                # prompt, a batch, uses them all.
                model = Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.context,
                    n_threads=1,
                    n_threads_batch=self.threads,
                    verbose=False,
                )
                self._models[key] = model
            return model

    def _grammar(self, schema: type[BaseModel]) -> Any:
        grammar = self._grammars.get(schema)
        if grammar is None:
            from llama_cpp import LlamaGrammar

            grammar = LlamaGrammar.from_json_schema(
                json.dumps(grammar_schema(schema)), verbose=False
            )
            self._grammars[schema] = grammar
        return grammar

    def _complete(
        self,
        schema: type[BaseModel],
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        seed: int | None,
    ) -> tuple[str, int, int]:
        with self._lock:
            model = self._model()
            answer = model.create_chat_completion(
                messages=messages,
                grammar=self._grammar(schema),
                max_tokens=max_tokens,
                temperature=temperature,
                seed=seed,
            )
        usage = answer.get("usage") or {}
        return (
            answer["choices"][0]["message"]["content"] or "",
            int(usage.get("prompt_tokens", 0)),
            int(usage.get("completion_tokens", 0)),
        )


class OpenAICompatible(_Backend):
    """Any OpenAI-compatible Chat Completions server. The schema goes as OpenAI's
    `response_format: json_schema`; a server that refuses that form (llama-cpp-python's
    own server) gets the older `json_object` with a `schema`, once, and keeps it."""

    def __init__(self, *, base_url: str, api_key: str, model: str, timeout_s: float) -> None:
        super().__init__()
        require_runtime("openai", "the openai client")
        from openai import OpenAI

        self.client = OpenAI(
            base_url=base_url, api_key=api_key or "none", timeout=timeout_s, max_retries=2
        )
        self.model = model or "default"
        self.name = f"{self.model} at {base_url}"
        self._schema_form = "json_schema"

    def _response_format(self, schema: type[BaseModel]) -> dict[str, Any]:
        if self._schema_form == "json_schema":
            return {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": _schema_json(schema)},
            }
        return {"type": "json_object", "schema": _schema_json(schema)}

    def _complete(
        self,
        schema: type[BaseModel],
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        seed: int | None,
    ) -> tuple[str, int, int]:
        import openai

        # Untyped on purpose: the client's overloads list hosted models' names.
        create: Any = self.client.chat.completions.create
        while True:
            try:
                answer = create(
                    model=self.model,
                    messages=messages,
                    response_format=self._response_format(schema),
                    max_tokens=max_tokens,
                    temperature=temperature,
                    seed=seed,
                )
                break
            except openai.BadRequestError as exc:
                if self._schema_form != "json_schema":
                    raise GenerationFailed(f"{self.name} refused the request: {exc}") from exc
                self._schema_form = "json_object"
            except openai.UnprocessableEntityError as exc:
                if self._schema_form != "json_schema":
                    raise GenerationFailed(f"{self.name} refused the request: {exc}") from exc
                self._schema_form = "json_object"
            except openai.InternalServerError as exc:
                # llama-cpp-python's server answers the json_schema form with a 500.
                if self._schema_form != "json_schema" or "json_object" not in str(exc):
                    raise GenerationFailed(f"{self.name} failed: {exc}") from exc
                self._schema_form = "json_object"
            except openai.OpenAIError as exc:
                raise GenerationFailed(f"{self.name} could not be reached: {exc}") from exc
        usage = answer.usage
        return (
            answer.choices[0].message.content or "",
            usage.prompt_tokens if usage else 0,
            usage.completion_tokens if usage else 0,
        )


def llm_from_settings(settings: Settings) -> LLM:
    """The configured server when MICRODRAMA_LLM_URL is set, else the packaged SmolLM2."""
    if settings.llm_url:
        return OpenAICompatible(
            base_url=settings.llm_url,
            api_key=settings.llm_api_key,
            model=settings.llm_model,
            timeout_s=settings.llm_timeout_seconds,
        )
    return LocalLlama(model_path=smollm2_gguf(), threads=settings.ai_threads)
