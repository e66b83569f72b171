"""Training For You from the rows the app keeps: who gets which candidates, which series are
neighbours, and a retraining that replaces the answers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from microdrama.accounts.models import Account
from microdrama.catalog.models import Series
from microdrama.cli import app as cli
from microdrama.discovery.models import Recommendation, RecsRun, SeriesFollow, SimilarSeries
from microdrama.discovery.recommender import History
from microdrama.discovery.training import read_histories, train
from tests.support.discovery import binged, make_viewer, series_of, swiped_away


def _two_genres(db: Session) -> tuple[list[Series], list[Series]]:
    """Three vampire series and three office series; six vampire fans who binged all three,
    eight office fans (office is the more popular genre)."""
    vampire = [series_of(db, "vampire", f"Fangs {n}") for n in range(3)]
    office = [series_of(db, "office", f"Boardroom {n}") for n in range(3)]
    for n in range(6):
        fan = make_viewer(db, f"Vampire fan {n}")
        for series in vampire:
            binged(db, fan, series)
    for n in range(8):
        fan = make_viewer(db, f"Office fan {n}")
        for series in office:
            binged(db, fan, series)
    return vampire, office


def _candidates(db: Session, viewer: Account) -> list[int]:
    return list(
        db.scalars(
            select(Recommendation.series_id)
            .where(Recommendation.account_id == viewer.id)
            .order_by(Recommendation.rank)
        )
    )


def test_a_viewer_who_binged_a_vampire_series_gets_the_other_vampire_series_first(
    db: Session, db_factory: sessionmaker[Session]
) -> None:
    vampire, _office = _two_genres(db)
    newcomer = make_viewer(db, "Newcomer")
    binged(db, newcomer, vampire[0])
    db.commit()

    run = train(db_factory)

    mine = _candidates(db, newcomer)
    assert set(mine[:2]) == {vampire[1].id, vampire[2].id}
    assert vampire[0].id not in mine  # already watched
    assert run.viewers == 15 and run.series == 6 and run.interactions == 6 * 3 + 8 * 3 + 1


def test_series_watched_by_the_same_people_are_neighbours(
    db: Session, db_factory: sessionmaker[Session]
) -> None:
    _vampire, office = _two_genres(db)
    db.commit()

    train(db_factory)

    neighbours = list(
        db.scalars(
            select(SimilarSeries.other_series_id)
            .where(SimilarSeries.series_id == office[0].id)
            .order_by(SimilarSeries.rank)
        )
    )
    assert set(neighbours[:2]) == {office[1].id, office[2].id}


def test_a_series_swiped_away_in_the_first_seconds_is_never_proposed(
    db: Session, db_factory: sessionmaker[Session]
) -> None:
    vampire, _office = _two_genres(db)
    picky = make_viewer(db, "Picky")
    binged(db, picky, vampire[0])
    swiped_away(db, picky, vampire[1])
    db.commit()

    train(db_factory)

    mine = _candidates(db, picky)
    assert mine[0] == vampire[2].id
    assert vampire[1].id not in mine


def test_completions_unlocks_and_follows_weigh_and_an_early_swipe_counts_against(
    db: Session,
) -> None:
    vampire, _office = _two_genres(db)
    viewer = make_viewer(db, "Viewer")
    binged(db, viewer, vampire[0])
    swiped_away(db, viewer, vampire[1])
    swiped_away(db, viewer, vampire[2], at_ms=20_000)  # watched a while: not a skip
    db.add(SeriesFollow(account_id=viewer.id, series_id=vampire[2].id))
    db.commit()

    mine = {h.series_id: h for h in read_histories(db=db) if h.account_id == viewer.id}

    assert mine[vampire[0].id] == History(
        viewer.id, vampire[0].id, episodes_played=3, episodes_completed=3
    )
    assert mine[vampire[1].id].skipped and mine[vampire[1].id].weight == 0
    assert mine[vampire[2].id].followed and not mine[vampire[2].id].skipped
    assert mine[vampire[0].id].weight > mine[vampire[2].id].weight > 0


def test_training_twice_replaces_the_answers_instead_of_adding_to_them(
    db: Session, db_factory: sessionmaker[Session]
) -> None:
    _two_genres(db)
    db.commit()

    def count(table: type) -> int:
        return db.scalar(select(func.count()).select_from(table)) or 0

    train(db_factory)
    first = (count(Recommendation), count(SimilarSeries))
    train(db_factory)

    assert first[0] > 0 and first[1] > 0
    assert (count(Recommendation), count(SimilarSeries)) == first
    assert count(RecsRun) == 2


def test_training_with_nothing_watched_writes_an_empty_run(
    db_factory: sessionmaker[Session],
) -> None:
    run = train(db_factory)

    assert (run.viewers, run.series, run.interactions) == (0, 0, 0)


@pytest.mark.usefixtures("cli_env")
def test_recs_train_on_the_command_line_says_what_it_learnt_from(db: Session) -> None:
    _two_genres(db)
    db.commit()

    result = CliRunner().invoke(cli, ["recs", "train"])

    assert result.exit_code == 0, result.output
    assert "als on 42 histories of 14 viewers with 6 series" in result.output
