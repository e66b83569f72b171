"""Feed experiments: a share of viewers gets another feed order, stably; the feed (API, page,
fragment) serves each arm its order and remembers who saw which; the results compare the arms
with intervals; only operators run them."""

from __future__ import annotations

import math
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from microdrama.accounts.models import Account, Role
from microdrama.analytics.models import EpisodeView
from microdrama.cli import app as cli
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.discovery import experiment_stats as stats
from microdrama.discovery import experiments, for_you
from microdrama.discovery.experiments import RunningExperiment, arm_of, bucket
from microdrama.discovery.models import FeedExperiment, FeedExposure, FeedOrder, Recommendation
from microdrama.paywall.models import Unlock, UnlockMethod
from tests.support.accounts import Headers, signed_in
from tests.support.discovery import binged, make_viewer, series_of

# -- assignment ----------------------------------------------------------------------------


def test_assignment_is_stable_and_close_to_the_share_over_ten_thousand_viewers() -> None:
    experiment = RunningExperiment(1, "fixed-salt", 20, FeedOrder.popularity)
    again = RunningExperiment(1, "fixed-salt", 20, FeedOrder.popularity)

    arms = [arm_of(experiment, account_id) for account_id in range(1, 10_001)]

    assert arms == [arm_of(again, account_id) for account_id in range(1, 10_001)]
    treated = arms.count(FeedOrder.popularity)
    # 20 % of 10,000 is 2,000 with a standard deviation of 40: within 3 of them.
    assert abs(treated - 2_000) <= 120, treated
    assert set(arms) == {FeedOrder.popularity, FeedOrder.for_you}
    # A hash of the bytes, not Python's per-process hash(): every process agrees.
    assert bucket("fixed-salt", 1) == bucket("fixed-salt", 1) == 5_308
    # Another salt draws other viewers.
    other = RunningExperiment(2, "other-salt", 20, FeedOrder.popularity)
    assert [arm_of(other, a) for a in range(1, 10_001)] != arms
    # Half is the largest share; a visitor without an account is always the control.
    half = RunningExperiment(3, "fixed-salt", 50, FeedOrder.newest)
    assert abs([arm_of(half, a) for a in range(1, 10_001)].count(FeedOrder.newest) - 5_000) <= 150
    assert arm_of(half, None) == FeedOrder.for_you


# -- the feed ------------------------------------------------------------------------------


def _catalog(db: Session) -> tuple[list[int], list[int], list[int]]:
    """Three series whose popularity, newest-first and a viewer's For You orders all differ;
    answers (popularity, newest, for_you) orders."""
    hit = series_of(db, "vampire", "The Hit", days_old=30)
    runner_up = series_of(db, "office", "Runner-up", days_old=20)
    fresh = series_of(db, "revenge", "Fresh", days_old=20)
    for n in range(3):
        binged(db, make_viewer(db, f"Hit fan {n}"), hit)
    binged(db, make_viewer(db, "Runner-up fan"), runner_up)
    db.flush()
    return (
        [hit.id, runner_up.id, fresh.id],
        [fresh.id, runner_up.id, hit.id],
        [runner_up.id, fresh.id, hit.id],
    )


def _recommend(db: Session, account_id: int, series_ids: list[int]) -> None:
    for rank, series_id in enumerate(series_ids, start=1):
        db.add(Recommendation(account_id=account_id, series_id=series_id, rank=rank, score=1.0))


def test_each_order_of_the_feed(db: Session) -> None:
    popularity, newest, mine = _catalog(db)
    viewer = make_viewer(db)
    _recommend(db, viewer.id, mine[:2])
    db.commit()
    pools = for_you.shared_pools(db=db)

    def order(feed_order: FeedOrder) -> list[int]:
        return for_you.feed_order(
            db=db, account_id=viewer.id, pools=pools, upto=10, order=feed_order
        )

    assert order(FeedOrder.for_you) == mine
    assert order(FeedOrder.popularity) == popularity
    assert order(FeedOrder.newest) == newest


def _viewers_in_each_arm(
    db_factory: sessionmaker[Session], settings: Settings, experiment: RunningExperiment
) -> dict[FeedOrder, tuple[Headers, int]]:
    """A signed-in viewer in the control and one in the treatment."""
    found: dict[FeedOrder, tuple[Headers, int]] = {}
    for n in range(40):
        headers, account_id = signed_in(db_factory, settings, role=Role.viewer, name=f"V{n}")
        found.setdefault(arm_of(experiment, account_id), (headers, account_id))
        if len(found) == 2:
            return found
    raise AssertionError("no viewer in one of the arms")


def _start(client: TestClient, admin: Headers, order: str = "popularity", share: int = 50) -> dict:
    body = {"name": "For You vs popularity", "treatment_order": order, "share_percent": share}
    answer = client.post("/api/admin/experiments", json=body, headers=admin)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _first_card(html: str) -> int:
    found = re.search(r'data-series-id="(\d+)"', html)
    assert found is not None
    return int(found[1])


def test_the_feed_serves_each_arm_its_order_and_remembers_who_saw_which(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    popularity, _newest, mine = _catalog(db)
    db.commit()
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Operator")
    started = _start(client, admin)["running"]
    experiment = db.scalars(select(FeedExperiment)).one()
    assert started["id"] == experiment.id and started["share_percent"] == 50
    running = RunningExperiment(experiment.id, experiment.salt, 50, FeedOrder.popularity)
    viewers = _viewers_in_each_arm(db_factory, settings, running)
    for _, account_id in viewers.values():
        _recommend(db, account_id, mine[:2])
    db.commit()

    for arm, expected in ((FeedOrder.for_you, mine), (FeedOrder.popularity, popularity)):
        headers, _ = viewers[arm]
        # The page first: it records the exposure as the API does.
        assert _first_card(client.get("/", headers=headers).text) == expected[0], arm
        for _ in range(2):
            feed = client.get("/api/feed", headers=headers).json()["items"]
            assert [card["id"] for card in feed] == expected, arm
        fragment = client.get("/fragments/feed?offset=1", headers=headers).text
        assert _first_card(fragment) == expected[1], arm
    # A visitor without an account gets For You's cold start (Trending) and is not counted.
    visitor = TestClient(client.app).get("/api/feed").json()["items"]
    assert visitor[0]["id"] == popularity[0]

    db.expire_all()
    exposures = db.execute(select(FeedExposure.account_id, FeedExposure.arm)).all()
    assert sorted(exposures) == sorted((a, arm) for arm, (_, a) in viewers.items())

    # Stopped: everyone is back on For You, and nobody else is counted.
    assert client.post("/api/admin/experiments/stop", headers=admin).status_code == 200
    headers, _ = viewers[FeedOrder.popularity]
    assert [c["id"] for c in client.get("/api/feed", headers=headers).json()["items"]] == mine
    assert db.scalar(select(func.count()).select_from(FeedExposure)) == 2


# -- results -------------------------------------------------------------------------------

MINUTE_MS = 60_000


def _watched(
    db: Session, viewer: Account, series_id: int, episode_ids: list[int], minutes: int, at: object
) -> None:
    """One session: the episodes in order, each completed; `minutes` in all (the first episode
    one minute when there are two)."""
    lengths = [minutes] if len(episode_ids) == 1 else [1, minutes - 1]
    for episode_id, length in zip(episode_ids, lengths, strict=True):
        db.add(
            EpisodeView(
                account_id=viewer.id,
                session_id=f"session-{viewer.id}",
                episode_id=episode_id,
                series_id=series_id,
                started_at=at,
                last_at=at,
                played=True,
                furthest_ms=length * MINUTE_MS,
                completed=True,
            )
        )


def _unlock(db: Session, viewer: Account, series_id: int, episode_id: int, at: object) -> None:
    db.add(
        Unlock(
            account_id=viewer.id,
            episode_id=episode_id,
            series_id=series_id,
            method=UnlockMethod.coins,
            price_coins=60,
            created_at=at,
        )
    )


def test_results_compare_the_arms_with_intervals(db: Session) -> None:
    series = series_of(db, "vampire", "Fangs", episodes=3)
    episodes = [e.id for e in series.episodes]
    experiment = experiments.start(
        db=db,
        name="For You vs popularity",
        treatment_order=FeedOrder.popularity,
        share_percent=50,
        started_by_id=None,
    )
    served = utcnow() - timedelta(hours=2)
    after = served + timedelta(minutes=5)
    # (arm, minutes, episodes, unlocks) per viewer.
    plan = [
        (FeedOrder.for_you, 1, 1, 0),
        (FeedOrder.for_you, 2, 2, 0),
        (FeedOrder.for_you, 3, 1, 0),
        (FeedOrder.for_you, 4, 2, 0),
        (FeedOrder.popularity, 5, 2, 2),
        (FeedOrder.popularity, 6, 1, 0),
        (FeedOrder.popularity, 7, 2, 1),
        (FeedOrder.popularity, 8, 1, 1),
    ]
    for n, (arm, minutes, watched, unlocks) in enumerate(plan):
        viewer = make_viewer(db, f"Viewer {n}")
        db.add(
            FeedExposure(
                experiment_id=experiment.id, account_id=viewer.id, arm=arm, first_served_at=served
            )
        )
        _watched(db, viewer, series.id, episodes[:watched], minutes, after)
        for episode_id in episodes[-unlocks:] if unlocks else []:
            _unlock(db, viewer, series.id, episode_id, after)
        if n == 0:
            # What the viewer did before the experiment served them does not count.
            before = served - timedelta(hours=1)
            db.add(
                EpisodeView(
                    account_id=viewer.id,
                    session_id="earlier",
                    episode_id=episodes[2],
                    series_id=series.id,
                    started_at=before,
                    last_at=before,
                    played=True,
                    furthest_ms=90 * MINUTE_MS,
                    completed=True,
                )
            )
            _unlock(db, viewer, series.id, episodes[2], before)
    # Nor does a viewer the experiment never served.
    _watched(db, make_viewer(db, "Outsider"), series.id, episodes[:2], 50, after)
    db.commit()

    results = experiments.results(db=db, experiment=experiment)
    metrics = {m.metric: m for m in results.metrics}

    assert [(a.arm, a.role, a.viewers) for a in results.arms] == [
        (FeedOrder.for_you, "control", 4),
        (FeedOrder.popularity, "treatment", 4),
    ]
    minutes = metrics["minutes_per_viewer"]
    assert (minutes.control.value, minutes.treatment.value) == (2.5, 6.5)
    # Each arm's variance is 5/3: the difference's standard error is sqrt(2 * 5/3 / 4).
    error = math.sqrt(2 * (5 / 3) / 4)
    assert minutes.difference.value == pytest.approx(4.0)
    assert minutes.difference.low == pytest.approx(4.0 - stats.Z95 * error)
    assert minutes.difference.high == pytest.approx(4.0 + stats.Z95 * error)
    assert minutes.difference.verdict == stats.Verdict.treatment_higher  # excludes zero
    assert minutes.control.low == pytest.approx(2.5 - stats.Z95 * math.sqrt((5 / 3) / 4))

    watched = metrics["episodes_per_viewer"]
    assert (watched.control.value, watched.treatment.value, watched.difference.value) == (
        1.5,
        1.5,
        0.0,
    )
    assert watched.difference.low is not None and watched.difference.low < 0
    assert watched.difference.verdict == stats.Verdict.no_clear_difference  # includes zero
    assert watched.difference.summary == "No clear difference yet"

    # Six completions in each arm; the two viewers who watched two episodes went on once each.
    continuation = metrics["continuation"]
    assert (continuation.control_trials, continuation.treatment_trials) == (6, 6)
    assert continuation.control.value == pytest.approx(2 / 6)
    assert continuation.difference.value == pytest.approx(0.0)
    # Per viewer (completions, continued) (1, 0) or (2, 1): each residual is 1/3 away.
    share_error = math.sqrt((4 / 9 / 3) / (4 * 1.5**2))
    assert continuation.difference.high == pytest.approx(stats.Z95 * math.sqrt(2) * share_error)
    assert continuation.difference.verdict == stats.Verdict.no_clear_difference

    unlocks = metrics["unlocks_per_viewer"]
    assert (unlocks.control.value, unlocks.treatment.value) == (0.0, 1.0)
    assert unlocks.difference.verdict == stats.Verdict.treatment_higher
    assert unlocks.difference.summary == "Higher with popularity"
    assert "Fewer than 30 viewers" in results.note


def test_after_the_stop_nothing_counts(db: Session) -> None:
    series = series_of(db, "vampire", "Fangs", episodes=3)
    experiment = experiments.start(
        db=db, name="Short", treatment_order=FeedOrder.newest, share_percent=50, started_by_id=None
    )
    early, late = make_viewer(db, "Early"), make_viewer(db, "Late")
    served = utcnow() - timedelta(hours=1)
    db.add(
        FeedExposure(
            experiment_id=experiment.id,
            account_id=early.id,
            arm=FeedOrder.newest,
            first_served_at=served,
        )
    )
    _watched(db, early, series.id, [series.episodes[0].id], 3, served + timedelta(minutes=1))
    experiments.stop(db=db)
    # Served by a process that had not seen the stop yet; and what the early viewer did after.
    after = utcnow() + timedelta(minutes=1)
    db.add(
        FeedExposure(
            experiment_id=experiment.id,
            account_id=late.id,
            arm=FeedOrder.newest,
            first_served_at=after,
        )
    )
    _watched(db, late, series.id, [series.episodes[0].id], 5, after)
    db.add(
        EpisodeView(
            account_id=early.id,
            session_id="later",
            episode_id=series.episodes[1].id,
            series_id=series.id,
            started_at=after,
            last_at=after,
            played=True,
            furthest_ms=9 * MINUTE_MS,
            completed=True,
        )
    )
    db.commit()

    results = experiments.results(db=db, experiment=experiment)

    assert results.experiment.running is False
    assert [(a.arm, a.viewers) for a in results.arms] == [
        (FeedOrder.for_you, 0),
        (FeedOrder.newest, 1),
    ]
    assert results.metrics[0].treatment.value == 3.0


def test_results_of_an_experiment_nobody_was_served_yet(db: Session) -> None:
    experiment = experiments.start(
        db=db, name="Quiet", treatment_order=FeedOrder.newest, share_percent=10, started_by_id=None
    )
    db.commit()

    results = experiments.results(db=db, experiment=experiment)

    assert [a.viewers for a in results.arms] == [0, 0]
    assert {m.difference.verdict for m in results.metrics} == {stats.Verdict.not_enough_data}
    assert all(m.control.value is None for m in results.metrics)


def _ratio_sums(viewers: list[tuple[int, int]]) -> stats.RatioSums:
    """(completions, continued) per viewer, summed as the database sums them."""
    return stats.RatioSums(
        n=len(viewers),
        y=sum(k for _, k in viewers),
        x=sum(c for c, _ in viewers),
        yy=sum(k * k for _, k in viewers),
        xx=sum(c * c for c, _ in viewers),
        xy=sum(c * k for c, k in viewers),
    )


def test_a_bingers_completions_count_as_one_viewer_in_the_continuation_interval() -> None:
    # One viewer completes 20 episodes and goes on 19 times; nine complete one and stop.
    viewers = [(20, 19)] + [(1, 0)] * 9
    share = stats.ratio_interval(_ratio_sums(viewers))

    ratio = 19 / 29
    spread = sum((k - ratio * c) ** 2 for c, k in viewers) / 9
    error = math.sqrt(spread / (10 * 2.9**2))
    assert share.value == pytest.approx(ratio)
    assert share.low == pytest.approx(ratio - stats.Z95 * error)
    assert share.high == pytest.approx(1.0)  # kept within 0 and 1
    # 29 completions taken as independent trials would claim an interval 2.5 times narrower.
    assert error > 2.5 * math.sqrt(ratio * (1 - ratio) / 29)

    other = _ratio_sums([(2, 1)] * 10)
    difference = stats.ratio_difference(other, _ratio_sums(viewers))
    assert difference.value == pytest.approx(0.5 - ratio)
    assert stats.verdict(difference) == stats.Verdict.no_clear_difference
    assert stats.verdict(stats.Interval(-0.1, -0.3, -0.01)) == stats.Verdict.treatment_lower
    assert stats.ratio_interval(_ratio_sums([(0, 0)] * 5)) == stats.Interval()


# -- operators only ------------------------------------------------------------------------


def test_only_operators_run_experiments_and_read_results(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Operator")
    experiment_id = _start(client, admin, share=10)["running"]["id"]
    for role in (Role.viewer, Role.creator, Role.brand):
        headers, _ = signed_in(db_factory, settings, role=role, name=role.value)
        for method, url in (
            ("GET", "/api/admin/experiments"),
            ("POST", "/api/admin/experiments"),
            ("POST", "/api/admin/experiments/stop"),
            ("GET", f"/api/admin/experiments/{experiment_id}/results"),
        ):
            body = {"name": "x", "treatment_order": "newest", "share_percent": 5}
            answer = client.request(method, url, json=body, headers=headers)
            assert (answer.status_code, answer.json()["error"]) == (403, "forbidden"), url
        assert client.get("/admin/experiments", headers=headers).status_code == 403
    assert client.get("/api/admin/experiments").status_code == 401
    guest_page = client.get("/admin/experiments", follow_redirects=False)
    assert guest_page.headers["location"] == "/signin?next=/admin/experiments"
    page = client.get("/admin/experiments", headers=admin)
    assert page.status_code == 200 and 'data-testid="admin-experiments-page"' in page.text
    db.expire_all()
    assert db.get(FeedExperiment, experiment_id).running  # type: ignore[union-attr]


def test_a_bad_share_or_order_and_a_second_experiment_are_refused_clearly(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Operator")
    for bad in (
        {"share_percent": 0},
        {"share_percent": 51},
        {"share_percent": "ten"},
        {"treatment_order": "for_you"},
        {"treatment_order": "random"},
        {"name": "   "},
    ):
        body = {"name": "Test", "treatment_order": "popularity", "share_percent": 10, **bad}
        answer = client.post("/api/admin/experiments", json=body, headers=admin)
        assert answer.status_code == 422, bad
        problem = answer.json()["problems"][0]
        assert problem["field"] == next(iter(bad)), answer.json()
    share = client.post(
        "/api/admin/experiments",
        json={"name": "Test", "treatment_order": "popularity", "share_percent": 80},
        headers=admin,
    ).json()
    assert share["problems"][0]["message"] == "Share percent must be at most 50."
    order = client.post(
        "/api/admin/experiments",
        json={"name": "Test", "treatment_order": "for_you", "share_percent": 10},
        headers=admin,
    ).json()
    assert order["message"] == "Treatment order must be one of: popularity or newest."

    answer = client.post("/api/admin/experiments/stop", headers=admin)
    assert (answer.status_code, answer.json()["error"]) == (409, "no_experiment_running")
    _start(client, admin, share=10)
    second = client.post(
        "/api/admin/experiments",
        json={"name": "Another", "treatment_order": "newest", "share_percent": 5},
        headers=admin,
    )
    assert (second.status_code, second.json()["error"]) == (409, "experiment_running")
    assert second.json()["message"] == (
        '"For You vs popularity" is running: stop it before starting another.'
    )
    assert client.get("/api/admin/experiments/99999/results", headers=admin).status_code == 404
    listed = client.get("/api/admin/experiments", headers=admin).json()
    assert [e["name"] for e in listed["experiments"]] == ["For You vs popularity"]
    assert listed["results"]["experiment"]["running"] is True


@pytest.mark.usefixtures("cli_env")
def test_the_command_line_prints_the_results_and_stops_the_experiment(db: Session) -> None:
    series = series_of(db, "vampire", "Fangs", episodes=3)
    experiment = experiments.start(
        db=db,
        name="Quick look",
        treatment_order=FeedOrder.newest,
        share_percent=5,
        started_by_id=None,
    )
    served = utcnow() - timedelta(hours=1)
    for n, arm in enumerate([FeedOrder.for_you, FeedOrder.for_you, FeedOrder.newest]):
        viewer = make_viewer(db, f"Viewer {n}")
        db.add(
            FeedExposure(
                experiment_id=experiment.id, account_id=viewer.id, arm=arm, first_served_at=served
            )
        )
        _watched(db, viewer, series.id, [series.episodes[0].id], n + 1, served)
    db.commit()

    shown = CliRunner().invoke(cli, ["experiments", "results"])

    assert shown.exit_code == 0, shown.output
    assert f'experiment {experiment.id} "Quick look": newest for 5 % of viewers' in shown.output
    assert re.search(r"viewers\s+2\s+1", shown.output)
    assert re.search(r"minutes_per_viewer\s+1\.50 \[", shown.output)
    assert "Not enough data yet" in shown.output  # one viewer in the other arm: no variance
    stopped = CliRunner().invoke(cli, ["experiments", "stop"])
    assert stopped.exit_code == 0 and "stopped experiment" in stopped.output
    again = CliRunner().invoke(cli, ["experiments", "stop"])
    assert again.exit_code == 1 and "No experiment is running." in again.output
    missing = CliRunner().invoke(cli, ["experiments", "results", "--id", "999"])
    assert missing.exit_code == 1


def test_two_starts_at_once_leave_one_experiment_running(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = experiments.start(
        db=db, name="First", treatment_order=FeedOrder.newest, share_percent=5, started_by_id=None
    )
    db.commit()
    # The second operator's check ran before the first one's row was there.
    seen = iter([None, first])
    monkeypatch.setattr(experiments, "running", lambda *, db: next(seen))

    with pytest.raises(experiments.ExperimentRunning, match='"First" is running'):
        experiments.start(
            db=db,
            name="Second",
            treatment_order=FeedOrder.popularity,
            share_percent=5,
            started_by_id=None,
        )
    db.commit()

    assert db.scalars(select(FeedExperiment.name)).all() == ["First"]
