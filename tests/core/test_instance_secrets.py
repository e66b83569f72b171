"""No published secret opens anything: each install generates its own on first run."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import GENERATED_SECRETS, Settings
from microdrama.db import session_scope
from microdrama.instance_secrets import load_or_create, secrets_path
from microdrama.media.protection import KEY_TOKEN_SALT, key_url
from microdrama.payments import purchases
from microdrama.payments.models import PurchaseStatus
from microdrama.paywall import ads
from microdrama.paywall.models import AdReward, Unlock
from tests.support.factories import make_series
from tests.support.payments import completed_event, signed, start_purchase, viewer

# The defaults earlier versions shipped in their source: anyone could sign with them.
PUBLISHED_SECRET_KEY = "dev-secret-change-me"
PUBLISHED_WEBHOOK_SECRET = "whsec_sandbox_dev_only"
PUBLISHED_AD_NETWORK_SECRET = "ad-network-sandbox-secret"


def _fresh_install(data_dir: Path, **values: object) -> Settings:
    """Settings as a default install reads them (no .env file, nothing configured)."""
    return Settings(_env_file=None, data_dir=data_dir, **values)  # type: ignore[call-arg]


def test_a_default_install_makes_its_own_secrets_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    settings = _fresh_install(tmp_path / "data")

    path = secrets_path(tmp_path / "data")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert set(stored) == set(GENERATED_SECRETS)
    assert {settings.secret_key, settings.sandbox_webhook_secret, settings.ad_network_secret} == (
        set(stored.values())
    )
    assert len(set(stored.values())) == 3 and all(len(v) >= 40 for v in stored.values())
    assert settings.secret_key != PUBLISHED_SECRET_KEY
    assert settings.sandbox_webhook_secret != PUBLISHED_WEBHOOK_SECRET
    assert settings.ad_network_secret != PUBLISHED_AD_NETWORK_SECRET


def test_the_secrets_stay_the_same_across_restarts(tmp_path: Path) -> None:
    first = _fresh_install(tmp_path / "data")
    again = _fresh_install(tmp_path / "data")

    for name in GENERATED_SECRETS:
        assert getattr(again, name) == getattr(first, name)
    # Another install (another data folder) has secrets of its own.
    elsewhere = _fresh_install(tmp_path / "other")
    assert elsewhere.secret_key != first.secret_key


def test_processes_starting_together_agree_on_one_set_of_secrets(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    start = threading.Barrier(8)
    seen: list[dict[str, str]] = []

    def start_up() -> None:
        start.wait()
        seen.append(load_or_create(data_dir, GENERATED_SECRETS))

    threads = [threading.Thread(target=start_up) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(seen) == 8 and all(values == seen[0] for values in seen)
    assert json.loads(secrets_path(data_dir).read_text()) == seen[0]
    assert [p.name for p in data_dir.iterdir()] == ["secrets.json"]  # no temporary files left


def test_web_processes_started_together_on_one_data_folder_sign_alike(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICRODRAMA_")} | {
        "MICRODRAMA_DATA_DIR": str(data_dir)
    }
    script = (
        "from microdrama.config import Settings; s = Settings(_env_file=None); "
        "print(s.secret_key, s.sandbox_webhook_secret, s.ad_network_secret)"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]

    outputs = {process.communicate(timeout=60)[0] for process in processes}

    assert all(process.returncode == 0 for process in processes)
    assert len(outputs) == 1
    assert outputs.pop().split() == list(json.loads(secrets_path(data_dir).read_text()).values())


def test_secrets_set_in_the_environment_win_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MICRODRAMA_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("MICRODRAMA_SANDBOX_WEBHOOK_SECRET", "w" * 40)
    monkeypatch.setenv("MICRODRAMA_AD_NETWORK_SECRET", "a" * 40)

    settings = _fresh_install(tmp_path / "data")

    assert (settings.secret_key, settings.sandbox_webhook_secret) == ("k" * 40, "w" * 40)
    assert settings.ad_network_secret == "a" * 40
    assert not secrets_path(tmp_path / "data").exists()


def test_a_secrets_file_opened_to_others_is_closed_again(tmp_path: Path) -> None:
    first = _fresh_install(tmp_path / "data")
    path = secrets_path(tmp_path / "data")
    path.chmod(0o644)

    again = _fresh_install(tmp_path / "data")

    assert again.secret_key == first.secret_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_damaged_secrets_file_is_a_clear_error(tmp_path: Path) -> None:
    path = secrets_path(tmp_path / "data")
    path.parent.mkdir()
    path.write_text('{"secret_key": "only this one"}')

    with pytest.raises(ValidationError, match="has no sandbox_webhook_secret, ad_network_secret"):
        _fresh_install(tmp_path / "data")


def test_production_still_refuses_to_start_without_an_explicit_secret_key(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValidationError, match="MICRODRAMA_SECRET_KEY must be set in production"):
        _fresh_install(tmp_path / "data", environment="production", payment_provider="stripe")
    assert not secrets_path(tmp_path / "data").exists()


# What the published constants used to open, tried against a default install ---------------


def test_a_key_token_signed_with_the_published_secret_key_is_refused(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=1, free_episodes=1)
    db.commit()
    episode_id = series.episodes[0].id
    viewer_id = client.get("/api/me").json()["id"]
    forged = URLSafeSerializer(PUBLISHED_SECRET_KEY, salt=KEY_TOKEN_SALT).dumps(
        [viewer_id, episode_id, int(time.time())]
    )

    response = client.get(key_url(episode_id=episode_id, token=str(forged)))

    assert response.status_code == 403, response.text
    assert response.json()["error"] == "key_token_invalid"


def test_a_webhook_signed_with_the_published_sandbox_secret_pays_nothing(
    app: FastAPI, db_factory: sessionmaker[Session]
) -> None:
    buyer, _ = viewer(app)
    created = start_purchase(buyer, coin_pack="coins_1000")
    with session_scope(db_factory) as db:
        purchase = purchases.get_purchase(db=db, purchase_id=created["id"])
    payload, header = signed(completed_event(purchase), PUBLISHED_WEBHOOK_SECRET)

    answer = buyer.post(
        "/api/payments/webhooks/sandbox", content=payload, headers={"Stripe-Signature": header}
    )

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_signature"
    assert buyer.get("/api/wallet").json()["paid_coins"] == 0
    with session_scope(db_factory) as db:
        assert purchases.get_purchase(db=db, purchase_id=created["id"]).status == (
            PurchaseStatus.pending
        )


def test_an_ad_callback_signed_with_the_published_ad_secret_unlocks_nothing(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=2, free_episodes=1)
    db.commit()
    paid = max(series.episodes, key=lambda e: e.number)
    viewer_id = client.get("/api/me").json()["id"]
    genuine_shape = ads.callback_query(
        settings=client.app.state.settings,  # type: ignore[attr-defined]
        viewer_id=viewer_id,
        episode_id=paid.id,
        transaction_id="forged-1",
    )
    message = genuine_shape.partition("&signature=")[0]
    signature = ads.sign_callback(secret=PUBLISHED_AD_NETWORK_SECRET, message=message)

    response = client.get(f"/api/ads/ssv?{message}&signature={signature}&key_id=sandbox-1")

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "ad_callback_invalid"
    db.rollback()
    assert db.scalar(select(func.count()).select_from(AdReward)) == 0
    assert db.scalar(select(func.count()).select_from(Unlock)) == 0
    access = client.get(f"/api/episodes/{paid.id}/access").json()
    assert access["allowed"] is False


def test_no_published_secret_is_left_in_the_code() -> None:
    source = Path(__file__).resolve().parents[2] / "src" / "microdrama"
    published = (PUBLISHED_SECRET_KEY, PUBLISHED_WEBHOOK_SECRET, PUBLISHED_AD_NETWORK_SECRET)

    found = [
        f"{path.relative_to(source)}: {secret}"
        for path in source.rglob("*")
        if path.is_file() and path.suffix in {".py", ".html", ".js", ".json", ".toml"}
        for secret in published
        if secret in path.read_text(encoding="utf-8", errors="replace")
    ]

    assert found == []
