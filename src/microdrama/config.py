"""Settings, read from the environment (prefix MICRODRAMA_) with embedded defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MICRODRAMA_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    secret_key: str = DEV_SECRET
    data_dir: Path = Path("data")
    # Empty means "SQLite file inside data_dir".
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # Run a transcode worker thread inside the web process (the embedded default).
    embedded_worker: bool = True
    # Where browsers fetch media from; a CDN or nginx in front of the storage in production.
    media_url_prefix: str = "/media"

    # Media pipeline.
    ffmpeg_bin: str = "ffmpeg"
    ffprobe_bin: str = "ffprobe"
    # Heights of the vertical (9:16) ladder; rungs taller than the source are skipped.
    ladder_heights: list[int] = Field(default_factory=lambda: [1920, 1280, 854])
    segment_seconds: int = 2
    x264_preset: str = "veryfast"
    max_source_seconds: int = 600
    max_upload_bytes: int = 2 * 1024**3
    job_lease_seconds: int = 30
    job_max_attempts: int = 3
    worker_poll_seconds: float = 1.0

    @model_validator(mode="after")
    def _refuse_default_secret_outside_development(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("MICRODRAMA_SECRET_KEY must be set in production")
        return self

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'microdrama.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
