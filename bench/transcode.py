"""Transcode overhead: the whole pipeline against the bare ffmpeg command it runs.

    .venv/bin/python bench/transcode.py [--seconds 30] [--repeat 2]

Renders a 1080x1920 demo clip (30 s by default) once, then alternates, `--repeat` times:
  raw       the exact ffmpeg argument list the pipeline builds (media.transcode.build_command,
            with an AES-128 key file as the worker writes one), run as a plain subprocess;
  pipeline  media.service.ingest_upload (probe, store the source, queue a job) followed by
            media.jobs.Worker.run_next_job (claim, lease heartbeat, probe, ffmpeg with progress,
            output checks, copy into storage, mark ready) on a fresh SQLite database.
Both use the default settings (ladder, x264 preset). The fastest run of each is compared,
since on a shared machine noise only ever adds time; CPU time (this process and its children,
ffmpeg and ffprobe) is reported beside wall time, as it hardly depends on what else runs.
Target (issue): overhead <= 10 %.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from common import emit_json, migrated_sqlite, render_source_clip, run_pipeline

OVERHEAD_TARGET = 0.10


def cpu_seconds() -> float:
    """CPU used so far by this process and its finished children (ffmpeg, ffprobe)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def time_raw(settings: object, source: Path, work_dir: Path) -> tuple[float, list[str]]:
    """Run the pipeline's own ffmpeg argument list (encryption key file included) bare."""
    from microdrama.config import Settings
    from microdrama.media.probe import probe
    from microdrama.media.transcode import build_command, key_info_file, new_aes_key

    assert isinstance(settings, Settings)
    info = probe(source, settings=settings)
    (work_dir / "thumbs").mkdir(parents=True, exist_ok=True)
    with key_info_file(new_aes_key()) as key_info_path:
        command, _rungs = build_command(
            settings=settings,
            source_path=source,
            work_dir=work_dir,
            source=info,
            key_info_path=key_info_path,
        )
        started = time.perf_counter()
        subprocess.run(command, cwd=work_dir, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - started, command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the clip")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each, alternating")
    args = parser.parse_args()

    from microdrama.config import Settings

    raw_s: list[float] = []
    pipeline_s: list[float] = []
    raw_cpu_s: list[float] = []
    pipeline_cpu_s: list[float] = []
    ingest_s: list[float] = []
    with tempfile.TemporaryDirectory(prefix="microdrama-bench-transcode-") as tmp_name:
        tmp = Path(tmp_name)
        print(f"rendering a {args.seconds:.0f} s 1080x1920 demo clip ...", flush=True)
        started = time.perf_counter()
        clip = render_source_clip(tmp / "source.mp4", width=1080, height=1920, seconds=args.seconds)
        print(f"  rendered in {time.perf_counter() - started:.1f} s", flush=True)
        command: list[str] = []
        for i in range(args.repeat):
            defaults = Settings()
            settings = Settings(
                data_dir=tmp / f"data{i}",
                database_url=migrated_sqlite(tmp / f"data{i}"),
                embedded_worker=False,
                ladder_heights=defaults.ladder_heights,
                x264_preset=defaults.x264_preset,
            )
            cpu = cpu_seconds()
            seconds, command = time_raw(settings, clip, tmp / f"raw{i}")
            raw_cpu_s.append(cpu_seconds() - cpu)
            raw_s.append(seconds)
            print(
                f"  raw ffmpeg  run {i + 1}: {seconds:6.2f} s wall, {raw_cpu_s[-1]:6.2f} s CPU",
                flush=True,
            )
            cpu = cpu_seconds()
            run = run_pipeline(settings, clip)
            pipeline_cpu_s.append(cpu_seconds() - cpu)
            pipeline_s.append(run.ingest_s + run.job_s)
            ingest_s.append(run.ingest_s)
            print(
                f"  pipeline    run {i + 1}: {run.ingest_s + run.job_s:6.2f} s wall, "
                f"{pipeline_cpu_s[-1]:6.2f} s CPU (ingest {run.ingest_s:.2f} s)",
                flush=True,
            )
        rungs = [f"{r['width']}x{r['height']}" for r in run.renditions]

    raw, pipeline = min(raw_s), min(pipeline_s)
    raw_cpu, pipeline_cpu = min(raw_cpu_s), min(pipeline_cpu_s)
    overhead = pipeline / raw - 1
    cpu_overhead = pipeline_cpu / raw_cpu - 1
    print()
    print(f"ladder {', '.join(rungs)}, preset {settings.x264_preset}, {args.seconds:.0f} s source")
    print(
        f"raw ffmpeg command   {raw:6.2f} s wall  {raw_cpu:6.2f} s CPU  (fastest of {args.repeat})"
    )
    print(f"pipeline end to end  {pipeline:6.2f} s wall  {pipeline_cpu:6.2f} s CPU")
    print(
        f"overhead: wall {overhead:+.1%}, CPU {cpu_overhead:+.1%} "
        f"(target <= {OVERHEAD_TARGET:.0%}: {'met' if overhead <= OVERHEAD_TARGET else 'NOT met'}"
        f"); pipeline / raw = {pipeline / raw:.3f}"
    )
    emit_json(
        "transcode",
        source_seconds=args.seconds,
        source_size="1080x1920",
        ladder=rungs,
        preset=settings.x264_preset,
        raw_s=[round(s, 3) for s in raw_s],
        pipeline_s=[round(s, 3) for s in pipeline_s],
        ingest_s=[round(s, 3) for s in ingest_s],
        raw_cpu_s=[round(s, 3) for s in raw_cpu_s],
        pipeline_cpu_s=[round(s, 3) for s in pipeline_cpu_s],
        ratio=round(pipeline / raw, 4),
        overhead=round(overhead, 4),
        cpu_overhead=round(cpu_overhead, 4),
        target_met=overhead <= OVERHEAD_TARGET,
        ffmpeg_args=len(command),
    )


if __name__ == "__main__":
    main()
