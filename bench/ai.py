"""The AI studio's models on this machine's CPUs: a season plan, speech and captions.

    .venv/bin/python bench/ai.py [--episodes 30] [--threads 2] [--skip-plan]

  plan      a complete season plan offline (ai.writers_room_writing.write_plan: the bible and a
            card per episode, each filled by the packaged SmolLM2 through llama-cpp-python
            with a JSON-schema grammar), on the beat engine's skeleton of a contract-marriage
            series of --episodes episodes; the model's load is timed apart. Tokens per second
            are the model's completion tokens over its generation time (llm.Usage: reading the
            prompts and the grammar included), beside the bare decoding speed.
  tts       a 120-word micro-drama scene spoken by each packaged voice (Piper's Joe, Hibari's
            Heart): synthesis time over the audio's length (x real time; below 1 is faster than
            speech). Each voice is loaded (and timed) first.
  captions  that scene as Joe speaks it, transcribed by faster-whisper with the packaged
            Whisper base (int8, word timestamps, VAD) as ai.captions does: x real time, and the
            word error rate against the text.
With MICRODRAMA_LLM_URL set, the plan uses that server instead (llm_from_settings).
Ends with one JSON line, like the other bench scripts.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

from common import emit_json

SCENE = (
    "I signed your contract, Adrian, but I never promised to love you. "
    "Then why are you still wearing my ring? Because your mother is watching us from the "
    "balcony, and she knows. She knows what? That the wedding was a deal, that the money paid "
    "for my father's debts, and that you have a son you never told me about. "
    "Who told you that? Nobody had to. I found the letters in your desk last night. "
    "Elena, listen to me. He is not my son. He is my brother's, and my brother is alive. "
    "Alive? Then whose funeral did we go to in the spring? "
    "Someone who wanted the whole city to believe he was gone. Tonight he comes home, "
    "and when he does, everything we signed will burn."
)


def words(text: str) -> list[str]:
    return re.sub(r"[^\w\s']", " ", text.lower()).split()


def word_error_rate(reference: str, heard: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by edit distance."""
    ref, hyp = words(reference), words(heard)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, start=1):
            current[j] = min(
                previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)
            )
        previous = current
    return previous[-1] / max(1, len(ref))


def bench_plan(episodes: int, threads: int, data_dir: Path) -> dict[str, float | int | str]:
    from microdrama.ai.beats import Trope, build_skeleton
    from microdrama.ai.llm import LocalLlama, llm_from_settings
    from microdrama.ai.writers_room_writing import Brief, write_plan
    from microdrama.config import Settings

    settings = Settings(data_dir=data_dir, ai_threads=threads)
    llm = llm_from_settings(settings)
    load_s = 0.0
    if isinstance(llm, LocalLlama):
        started = time.perf_counter()
        llm._model()  # the load, timed apart from the writing
        load_s = time.perf_counter() - started
    skeleton = build_skeleton(
        trope=Trope.contract_marriage,
        episode_count=episodes,
        free_episodes=max(1, episodes // 3),
        episode_seconds=90,
        seed=7,
    )
    brief = Brief(
        premise="A florist marries a cold heir for one year to save her father's shop.",
        tone="tense, romantic",
    )
    last = [0.0]

    def progress(fraction: float, message: str) -> None:
        if fraction - last[0] >= 0.1 or fraction >= 1.0:
            last[0] = fraction
            print(f"  {fraction:4.0%} {message}", flush=True)

    started = time.perf_counter()
    plan = write_plan(llm, skeleton, brief, progress=progress)
    plan_s = time.perf_counter() - started
    assert len(plan.cards) == episodes and all(card.cliffhanger_line for card in plan.cards)
    usage = llm.usage
    raw_tokens_per_s = 0.0
    if isinstance(llm, LocalLlama):
        # The bare decoding speed, without the grammar and the chat prompt, for comparison.
        started = time.perf_counter()
        answer = llm._model().create_completion(
            "The wedding was a contract, and", max_tokens=128, temperature=0.8, seed=1
        )
        raw_tokens_per_s = answer["usage"]["completion_tokens"] / (time.perf_counter() - started)
    return {
        "backend": llm.name,
        "load_s": round(load_s, 2),
        "plan_s": round(plan_s, 2),
        "calls": usage.calls,
        "retries": usage.retries,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "generation_s": round(usage.seconds, 2),
        "tokens_per_s": round(usage.tokens_per_second, 1),
        "raw_tokens_per_s": round(raw_tokens_per_s, 1),
    }


def bench_tts(work: Path) -> dict[str, dict[str, float]]:
    from microdrama.ai.voices import SAMPLE_RATE, load, synthesize, voice_named, write_wav

    figures = {}
    for name in ("joe", "heart"):
        voice = voice_named(name)
        started = time.perf_counter()
        load(voice)
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        samples = synthesize(SCENE, voice)
        synth_s = time.perf_counter() - started
        audio_s = samples.size / SAMPLE_RATE
        write_wav(work / f"{name}.wav", samples)
        figures[name] = {
            "load_s": round(load_s, 2),
            "audio_s": round(audio_s, 2),
            "synth_s": round(synth_s, 2),
            "x_real_time": round(synth_s / audio_s, 3),
        }
        print(f"  {name}: {audio_s:.1f} s of speech in {synth_s:.2f} s", flush=True)
    return figures


def bench_captions(audio: Path, threads: int, data_dir: Path) -> dict[str, float | str]:
    from microdrama.ai.captions import transcribe, whisper_model

    started = time.perf_counter()
    model = whisper_model(data_dir=data_dir, threads=threads)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    transcript = transcribe(model, audio, language="en")
    seconds = time.perf_counter() - started
    heard = " ".join(word.text for word in transcript.words)
    audio_s = transcript.audio_ms / 1000
    return {
        "load_s": round(load_s, 2),
        "audio_s": round(audio_s, 2),
        "transcribe_s": round(seconds, 2),
        "x_real_time": round(seconds / audio_s, 3),
        "word_error_rate": round(word_error_rate(SCENE, heard), 4),
        "words": len(transcript.words),
        "heard": heard,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--episodes", type=int, default=30, help="episodes in the season plan (20 to 80)"
    )
    parser.add_argument("--threads", type=int, default=2, help="threads for the models")
    parser.add_argument("--skip-plan", action="store_true", help="speech and captions only")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="microdrama-bench-ai-") as tmp_name:
        tmp = Path(tmp_name)
        plan = None
        if not args.skip_plan:
            print(f"writing a {args.episodes}-episode plan ...", flush=True)
            plan = bench_plan(args.episodes, args.threads, tmp / "data")
        print("speaking a scene with each voice ...", flush=True)
        tts = bench_tts(tmp)
        print("transcribing Joe's scene ...", flush=True)
        captions = bench_captions(tmp / "joe.wav", args.threads, tmp / "data")

    print()
    print(f"{'what':<34} {'figure':>12}  notes")
    if plan is not None:
        print(
            f"{f'{args.episodes}-episode plan offline':<34} {plan['plan_s']:>10.1f} s  "
            f"{plan['backend']}; model load {plan['load_s']:.1f} s apart; "
            f"{plan['calls']} calls, {plan['retries']} retries"
        )
        print(
            f"{'LLM tokens per second':<34} {plan['tokens_per_s']:>12.1f}  "
            f"{plan['completion_tokens']} tokens in {plan['generation_s']:.1f} s of generation "
            f"({plan['prompt_tokens']} prompt tokens read too)"
        )
        if plan["raw_tokens_per_s"]:
            print(
                f"{'LLM bare decoding, tokens/s':<34} {plan['raw_tokens_per_s']:>12.1f}  "
                "128 tokens of plain completion: no grammar, no chat prompt"
            )
    print(
        f"{'captions (Whisper base, int8)':<34} {captions['x_real_time']:>10.3f} x  "
        f"real time: {captions['audio_s']:.1f} s of speech in {captions['transcribe_s']:.1f} s; "
        f"load {captions['load_s']:.1f} s"
    )
    print(
        f"{'captions word error rate':<34} {captions['word_error_rate']:>11.1%}  "
        f"{captions['words']} words heard against {len(words(SCENE))} written"
    )
    for name, figures in tts.items():
        print(
            f"{f'TTS {name}':<34} {figures['x_real_time']:>10.3f} x  "
            f"real time: {figures['audio_s']:.1f} s of speech in {figures['synth_s']:.2f} s; "
            f"load {figures['load_s']:.1f} s"
        )
    emit_json("ai", episodes=args.episodes, threads=args.threads, plan=plan, tts=tts,
              captions={k: v for k, v in captions.items() if k != "heard"})  # fmt: skip


if __name__ == "__main__":
    main()
