"""Search as viewers type it, on each database with the same corpus: prefixes, typos, accents,
other languages and scripts, filters, relevance then popularity, and documents that follow
the catalog (an edited title, a renamed creator)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Account
from microdrama.catalog import service as catalog
from microdrama.catalog.models import Series, SeriesStatus
from microdrama.config import Settings
from microdrama.db import session_scope
from microdrama.discovery import rankings, search, search_index
from microdrama.discovery.search import Filters
from microdrama.discovery.search_schemas import SearchAnswer
from microdrama.storage import LocalStorage
from tests.support.search import Planned, build_corpus, watched_by


@pytest.fixture
def storage(settings: Settings) -> LocalStorage:
    return LocalStorage(settings.media_dir, settings.media_url_prefix)


@pytest.fixture
def corpus(db: Session) -> dict[str, Series]:
    built = build_corpus(db)
    db.commit()
    return built


def _find(
    db: Session, storage: LocalStorage, query: str, filters: Filters | None = None
) -> SearchAnswer:
    return search.search(db=db, storage=storage, text=query, filters=filters or Filters())


def _titles(db: Session, storage: LocalStorage, query: str, **filters: object) -> list[str]:
    answer = _find(db, storage, query, Filters(**filters))  # type: ignore[arg-type]
    return [hit.title for hit in answer.items]


# What each query finds, best first: the same on SQLite and PostgreSQL (the scorer is shared,
# and each database's index hands it every candidate of this corpus).
EXPECTED = {
    "vamp": ["Vampire Academy Nights", "The Vampire Billionaire's Bride"],
    "vampir bilionaire": ["The Vampire Billionaire's Bride", "Vampire Academy Nights"],
    "billionaire": [
        "Billionaire's Secret Baby",
        "The Vampire Billionaire's Bride",
    ],
    "cafe": ["Café de Medianoche"],
    "venganza esposa": ["La Venganza de la Esposa"],
    "dem trang mau": ["Đêm Trăng Máu"],
    "吸血鬼": ["吸血鬼の花嫁"],
    "花嫁": ["吸血鬼の花嫁"],  # from the middle of a run written without spaces
    "contract marriage": ["Contract Marriage with the CEO", "The Vampire Billionaire's Bride"],
    # Equally relevant, equally watched: by title.
    "nightshade": ["Alpha's Rejected Mate", "Vampire Academy Nights"],
    "werewolf": ["Alpha's Rejected Mate"],
    "rache erbin": ["Die Rache der Erbin"],
}


def test_each_query_finds_the_same_series_in_the_same_order(
    db: Session, storage: LocalStorage, corpus: dict[str, Series]
) -> None:
    found = {
        query: _titles(db, storage, query)[: len(titles)] for query, titles in EXPECTED.items()
    }
    assert found == EXPECTED


def test_a_typo_finds_the_series_first(
    db: Session, storage: LocalStorage, corpus: dict[str, Series]
) -> None:
    assert _titles(db, storage, "vampir bilionaire")[0] == "The Vampire Billionaire's Bride"
    assert _titles(db, storage, "Contrat Mariage")[0] == "Contract Marriage with the CEO"
    assert _titles(db, storage, "werwolf")[0] == "Alpha's Rejected Mate"


def test_a_prefix_finds_as_the_viewer_types(
    db: Session, storage: LocalStorage, corpus: dict[str, Series]
) -> None:
    assert _titles(db, storage, "Va")[:2] == [
        "Vampire Academy Nights",
        "The Vampire Billionaire's Bride",
    ]
    assert _titles(db, storage, "mistak")[0] == "Mistaken Identity"
    assert _titles(db, storage, "vampire bil")[0] == "The Vampire Billionaire's Bride"


def test_accents_and_case_are_ignored_both_ways(
    db: Session, storage: LocalStorage, corpus: dict[str, Series]
) -> None:
    assert _titles(db, storage, "CAFE")[0] == "Café de Medianoche"
    assert _titles(db, storage, "café")[0] == "Café de Medianoche"
    assert _titles(db, storage, "traicion")[0] == "La Venganza de la Esposa"  # a tag
    assert _titles(db, storage, "Đêm")[0] == "Đêm Trăng Máu"


def test_the_synopsis_and_the_creator_are_searched_too(
    db: Session, storage: LocalStorage, corpus: dict[str, Series]
) -> None:
    assert _titles(db, storage, "florist")[0] == "The Vampire Billionaire's Bride"
    assert _titles(db, storage, "barista")[0] == "Café de Medianoche"
    assert _titles(db, storage, "estudio sol") == [
        "Café de Medianoche",
        "La Venganza de la Esposa",
    ]
    answer = _find(db, storage, "golden hour")
    assert {hit.creator for hit in answer.items} == {"Golden Hour Drama"}


def test_viewers_never_find_drafts_scheduled_series_or_series_with_nothing_to_play(
    db: Session, storage: LocalStorage, corpus: dict[str, Series]
) -> None:
    found = _titles(db, storage, "vampire")

    assert "Vampire Draft Cut" not in found
    assert "Vampire Tomorrow" not in found
    assert "Vampire Still Encoding" not in found
    assert set(found) >= {"Vampire Academy Nights", "The Vampire Billionaire's Bride"}


def test_the_best_series_in_the_feed_are_scored_when_the_best_by_pre_score_are_not(
    db: Session, storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small limits: the 3 best by pre-score are checked first, 2 go to the scorer.
    monkeypatch.setattr(search_index, "PRESCREENED", 3)
    monkeypatch.setattr(search_index, "CANDIDATES", 2)
    out = [Planned(f"Vampire Night {n}", "fantasy", "Studio") for n in range(3)]
    # Drafts made later: as good by pre-score, and first among equals (the newer id).
    drafts = [
        Planned(f"Vampire Draft {n}", "fantasy", "Studio", status=SeriesStatus.draft)
        for n in range(3)
    ]
    build_corpus(db, [*out, *drafts])
    db.commit()

    assert sorted(_titles(db, storage, "vampire")) == ["Vampire Night 1", "Vampire Night 2"]

    build_corpus(db, [Planned("Vampire Latest", "fantasy", "Studio")])
    db.commit()

    assert sorted(_titles(db, storage, "vampire")) == ["Vampire Latest", "Vampire Night 2"]


def test_filters_narrow_the_results(
    db: Session, storage: LocalStorage, corpus: dict[str, Series]
) -> None:
    assert _titles(db, storage, "vampire", genre="Fantasy") == [
        "Vampire Academy Nights",
        "The Vampire Billionaire's Bride",
    ]
    assert _titles(db, storage, "vampire", genre="romance") == []
    assert _titles(db, storage, "estudio", language="ES") == [
        "Café de Medianoche",
        "La Venganza de la Esposa",
    ]
    # La Venganza and Contract Marriage have no free episode.
    assert "La Venganza de la Esposa" not in _titles(db, storage, "venganza", free_only=True)
    assert _titles(db, storage, "contract", free_only=True) == ["The Vampire Billionaire's Bride"]
    # Alpha's fourth episode is still transcoding: not complete.
    assert _titles(db, storage, "nightshade", complete_only=True) == ["Vampire Academy Nights"]


def test_filters_without_words_list_the_catalog_in_trending_order(
    db: Session, storage: LocalStorage, corpus: dict[str, Series]
) -> None:
    watched_by(db, corpus["La Venganza de la Esposa"], 2)
    rankings.refresh(db)
    db.commit()

    assert _titles(db, storage, "", language="es") == [
        "La Venganza de la Esposa",
        "Café de Medianoche",
    ]


def test_equally_relevant_series_come_most_watched_first(
    db: Session, storage: LocalStorage
) -> None:
    built = build_corpus(
        db,
        [
            Planned("Moon Vows", "romance", "A"),
            Planned("Moon Vows Again", "romance", "B"),
            Planned("Honey Moon", "romance", "C"),  # the most watched, but half the query
        ],
    )
    watched_by(db, built["Moon Vows Again"], 3)
    watched_by(db, built["Honey Moon"], 9)
    db.commit()

    assert _titles(db, storage, "moon vows") == ["Moon Vows Again", "Moon Vows", "Honey Moon"]
    answer = _find(db, storage, "moon vows")
    assert [hit.viewers_last_week for hit in answer.items] == [3, 0, 9]


def test_a_short_page_of_equally_relevant_series_shows_the_most_watched(
    db: Session, storage: LocalStorage
) -> None:
    built = build_corpus(
        db,
        [
            Planned("Storm Heir", "romance", "A"),
            Planned("Storm Bride", "romance", "B"),
            Planned("Storm Queen", "romance", "C"),
            Planned("Silent Storm Rising", "romance", "D"),  # less relevant, most watched
        ],
    )
    watched_by(db, built["Storm Queen"], 5)
    watched_by(db, built["Storm Bride"], 2)
    watched_by(db, built["Silent Storm Rising"], 9)
    db.commit()

    page = search.search(db=db, storage=storage, text="storm", filters=Filters(), limit=2)

    assert [hit.title for hit in page.items] == ["Storm Queen", "Storm Bride"]
    assert [hit.viewers_last_week for hit in page.items] == [5, 2]


def test_nothing_found_says_so_and_suggests_trending_series(
    db: Session, storage: LocalStorage, corpus: dict[str, Series]
) -> None:
    watched_by(db, corpus["Mistaken Identity"], 2)
    rankings.refresh(db)
    db.commit()

    answer = _find(db, storage, "xylophone quartz")
    assert answer.items == []
    assert (
        answer.message
        == "No series match “xylophone quartz”. Check the spelling, or try a shorter word."
    )
    assert answer.suggestions[0].title == "Mistaken Identity"
    assert len(answer.suggestions) == search.SUGGESTIONS

    filtered = _find(db, storage, "vampire", Filters(genre="horror"))
    assert filtered.items == []
    assert "Try removing a filter" in (filtered.message or "")


def test_an_empty_query_without_filters_only_suggests(
    db: Session, storage: LocalStorage, corpus: dict[str, Series]
) -> None:
    answer = _find(db, storage, "   ")

    assert answer.items == []
    assert answer.message == "Type a title, a creator, a genre or a tag."
    assert answer.suggestions


def test_an_edited_title_and_a_renamed_creator_are_found_at_the_next_search(
    db: Session, storage: LocalStorage, corpus: dict[str, Series]
) -> None:
    assert _titles(db, storage, "Mistaken")  # its document is written at the first search
    series = db.get(Series, corpus["Mistaken Identity"].id)
    assert series is not None
    series.title = "Wrong Twin Wedding"
    creator = db.get(Account, series.owner_id)
    assert creator is not None
    creator.display_name = "Zephyrine Pictures"
    db.commit()

    assert _titles(db, storage, "twin wedding")[0] == "Wrong Twin Wedding"
    assert _titles(db, storage, "zephyrine") == ["Wrong Twin Wedding"]
    assert _titles(db, storage, "peaks") == []  # the old name
    assert "Mistaken Identity" not in _titles(db, storage, "mistaken identity")


def test_a_new_series_is_found_once_published(db: Session, storage: LocalStorage) -> None:
    built = build_corpus(db, [Planned("Secret Heiress", "drama", "Kai", status=SeriesStatus.draft)])
    series = built["Secret Heiress"]
    db.commit()
    assert _titles(db, storage, "heiress") == []

    catalog.publish(db=db, series=series)
    db.commit()
    assert _titles(db, storage, "heiress") == ["Secret Heiress"]


def test_a_word_new_to_the_index_is_found_by_prefix_and_typo_at_the_next_search(
    db: Session, db_factory: sessionmaker[Session], storage: LocalStorage
) -> None:
    def titles(query: str) -> list[str]:  # each search in its own transaction, as the API's
        with session_scope(db_factory) as own:
            return _titles(own, storage, query)

    build_corpus(db, [Planned("Secret Heiress", "drama", "Kai")])
    db.commit()
    assert titles("secret") == ["Secret Heiress"]  # its words indexed
    assert titles("drago") == titles("dragn") == []

    build_corpus(db, [Planned("Dragon Bride", "fantasy", "Lin")])
    db.commit()

    assert titles("drago") == ["Dragon Bride"]
    assert titles("dragn") == ["Dragon Bride"]


def test_the_index_triggers_exist_at_head(db: Session) -> None:
    """SQLite drops a table's triggers when a migration rebuilds it (batch mode): a later
    revision that rebuilds `series` or `accounts` must create them again."""
    if db.get_bind().dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search%'"
    else:
        query = "SELECT DISTINCT tgname FROM pg_trigger WHERE tgname LIKE 'search%'"
    names = set(db.scalars(text(query)))
    assert {
        "search_stale_new_series",
        "search_stale_edited_series",
        "search_stale_renamed_creator",
    } <= names


def test_a_deleted_series_leaves_no_document(db: Session, storage: LocalStorage) -> None:
    built = build_corpus(db, [Planned("Gone Girl Boss", "drama", "Kai")])
    db.commit()
    assert _titles(db, storage, "gone girl") == ["Gone Girl Boss"]

    db.delete(built["Gone Girl Boss"])
    db.commit()

    assert _titles(db, storage, "gone girl") == []
    assert db.scalar(text("SELECT count(*) FROM search_documents")) == 0
    assert db.scalar(text("SELECT count(*) FROM search_terms")) == 0
