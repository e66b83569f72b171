"""Settings, read from the environment (prefix MICRODRAMA_) with embedded defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from microdrama import instance_secrets
from microdrama.dependencies import in_event_loop

# Secrets that, unless set in the environment, are generated on first run into
# data_dir/secrets.json: a published default would open every install that kept it.
GENERATED_SECRETS = ("secret_key", "sandbox_webhook_secret", "ad_network_secret")
# "" (the local folder) or s3://bucket[/prefix], with a bucket name S3 accepts.
STORAGE_URL_PATTERN = r"^(s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?)?$"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MICRODRAMA_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    # Signs key tokens, ad sessions and form tokens. Empty: generated (see GENERATED_SECRETS).
    secret_key: str = ""
    data_dir: Path = Path("data")
    # Empty means "SQLite file inside data_dir".
    database_url: str = ""
    # redis://host:6379/0: rate limits and leases (rate_limits.py) are counted there rather
    # than in the database; empty (the default) needs no Redis. Every key starts with the prefix.
    redis_url: str = ""
    redis_key_prefix: str = "microdrama:"
    host: str = "127.0.0.1"
    port: int = 8000
    # Run a transcode worker thread inside the web process (the embedded default).
    embedded_worker: bool = True
    # Where browsers fetch media from; a CDN or nginx in front of the storage in production.
    media_url_prefix: str = "/media"
    # Where media is stored: empty is the folder data_dir/media (the embedded default);
    # s3://bucket/prefix is any S3-compatible store (AWS S3, Cloudflare R2, MinIO) via boto3.
    storage_url: str = Field(default="", pattern=STORAGE_URL_PATTERN)
    # The store's API when it is not AWS (http://minio:9000); empty: AWS's own endpoints.
    storage_endpoint_url: str = ""
    storage_region: str = ""
    # Empty: boto3's own chain (AWS_ACCESS_KEY_ID..., ~/.aws, an instance role).
    storage_access_key_id: str = ""
    storage_secret_access_key: str = ""
    # Tries of each storage request before it counts as unreachable (boto3's standard retries).
    storage_attempts: int = Field(default=3, ge=1, le=10)

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
    # A job that could not reach the media storage is tried again after this long (the try is
    # not counted: an outage is not the video's fault).
    job_retry_seconds: int = Field(default=60, ge=1)
    worker_poll_seconds: float = 1.0

    # Accounts.
    session_days: int = 30
    # Failed sign-ins allowed per window: per (email, address) pair, per address, per account.
    login_window_minutes: int = 15
    login_max_failures_per_pair: int = 5
    login_max_failures_per_ip: int = 50
    login_max_failures_per_account: int = 20
    # Reverse proxies in front of `microdrama serve` (comma-separated addresses or networks,
    # "*" for any): their X-Forwarded-For / X-Forwarded-Proto name the real client, so rate
    # limits count the client's address rather than the proxy's. Read by uvicorn itself.
    trusted_proxies: str = "127.0.0.1"
    # Sign-in attempts are kept this long (for looking into abuse), then housekeeping drops them.
    login_attempts_keep_days: int = Field(default=7, ge=1)

    # Money. Creators get this share of the net coin value of every unlock.
    creator_revenue_share_percent: int = Field(default=60, ge=0, le=100)
    # What one coin is worth in money, for showing prices in money too (500 coins = $4.99).
    coin_value_millicents: int = 998
    # "Buy the rest of the series" costs this share of the remaining episodes' sum by default.
    series_cap_percent: int = Field(default=80, ge=1, le=100)
    bonus_coin_valid_days: int = 30
    checkin_base_coins: int = 10
    checkin_streak_bonus_coins: int = 5
    checkin_max_coins: int = 40
    idempotency_keep_hours: int = 24
    # Payouts: the smallest amount a creator or brand may ask for (admins can change it).
    payout_minimum_cents: int = Field(default=1000, ge=0)
    # Subtitles: the largest WebVTT / SRT file accepted.
    max_subtitle_bytes: int = 1024 * 1024
    # Shop: the platform's fee on every order, and how long checkout holds stock for payment.
    shop_platform_fee_percent: int = Field(default=10, ge=0, le=100)
    shop_reservation_minutes: int = Field(default=15, ge=1, le=24 * 60)

    # Payments: "sandbox" (built in, the embedded default) or "stripe".
    payment_provider: Literal["sandbox", "stripe"] = "sandbox"
    # Signs sandbox webhooks the way Stripe signs its own (t=...,v1=HMAC-SHA256).
    # Empty: generated (see GENERATED_SECRETS).
    sandbox_webhook_secret: str = ""
    stripe_api_key: str = ""
    stripe_webhook_secret: str = ""
    webhook_tolerance_seconds: int = 300
    public_base_url: str = "http://127.0.0.1:8000"

    # Rewarded ads: the ad network signs its server-side verification callbacks with this.
    # Empty: generated (see GENERATED_SECRETS).
    ad_network_secret: str = ""
    ad_unlocks_per_day: int = 5
    # How long the built-in sandbox ad plays (and must have played before it rewards).
    sandbox_ad_seconds: int = Field(default=8, ge=1, le=60)

    # Discovery: housekeeping retrains For You when its last training is this old (about 5 s
    # at a million episode views), and forgets ranking charts computed for days this far back.
    recs_retrain_hours: int = Field(default=24, ge=1)
    rankings_keep_days: int = Field(default=90, ge=2)

    # PostgreSQL keeps playback events in one partition per UTC day: housekeeping makes the
    # next days' partitions ahead, and drops a day's partition this many days after it once
    # every event of it is in the rollup the dashboards read (events are accepted up to 7 days
    # late, so never fewer than 8).
    events_partition_days_ahead: int = Field(default=7, ge=1, le=60)
    events_retention_days: int = Field(default=90, ge=8)

    # AI studio: any OpenAI-compatible Chat Completions server (OpenAI, Ollama, vLLM, llama.cpp's
    # server) when llm_url is set, e.g. http://127.0.0.1:8080/v1; empty: the packaged SmolLM2
    # run offline through llama-cpp-python in the AI worker.
    llm_url: str = ""
    llm_api_key: str = ""
    llm_model: str = ""
    llm_timeout_seconds: float = Field(default=120.0, gt=0)
    # Threads the offline model and Whisper use (the AI worker runs one job at a time).
    ai_threads: int = Field(default=2, ge=1, le=64)
    # AI jobs a creator may start in an hour, and have queued or running at once.
    ai_jobs_per_hour: int = Field(default=30, ge=1)
    ai_jobs_at_once: int = Field(default=2, ge=1)
    # A job running longer than this is stopped and fails.
    ai_job_timeout_seconds: int = Field(default=1800, ge=10)
    # `microdrama serve` starts an AI worker (a child process) unless this is off.
    embedded_ai_worker: bool = True

    # Content protection: lifetime of the token in an HLS key URL.
    key_token_seconds: int = Field(default=300, ge=10, le=300)

    # Operations (ops/): logs as JSON lines for a log collector or readable on a terminal
    # (default: JSON in production), their level, and a line per request (default: on with
    # JSON). /metrics answers clients from these networks, and anyone with the bearer token.
    log_format: Literal["json", "console"] | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool | None = None
    metrics_allow: str = "127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
    metrics_token: str = ""

    # Pages hand their state to browser tests and benchmarks (window.__player, window.__feed...)
    # only when this is on; viewers' browsers never get them.
    expose_test_hooks: bool = False

    @model_validator(mode="after")
    def _secrets_of_this_install(self) -> Settings:
        if self.environment == "production":
            # Generated secrets live in one folder of one machine; production names its own.
            if not self.secret_key:
                raise ValueError("MICRODRAMA_SECRET_KEY must be set in production")
            if self.payment_provider == "sandbox":
                raise ValueError("the sandbox payment provider is refused in production")
        missing = [name for name in GENERATED_SECRETS if not getattr(self, name)]
        if missing:
            stored = instance_secrets.load_or_create(self.data_dir, GENERATED_SECRETS)
            for name in missing:
                setattr(self, name, stored[name])
        return self

    @property
    def shows_demo_logins(self) -> bool:
        """Whether the demo's logins are shown (/about and the links to it): in development
        only, as the page prints passwords that must never be on a public server."""
        return self.environment == "development"

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


def app_settings(request: Request) -> Settings:
    """The running app's settings (a route dependency; tests override it or build the app)."""
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(in_event_loop(app_settings))]
