"""Search's test corpus: series in five languages and scripts, with tags, genres, creators,
free and locked, complete and not, plus series viewers must not find (a draft, a scheduled
one, one with nothing ready). The same rows on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.catalog.models import Series, SeriesStatus
from microdrama.db import utcnow
from tests.support.discovery import binged, make_viewer
from tests.support.factories import make_creator, make_series


@dataclass(frozen=True)
class Planned:
    title: str
    genre: str
    creator: str
    language: str = "en"
    tags: list[str] = field(default_factory=list)
    synopsis: str = ""
    free_episodes: int = 2
    episodes: int = 3
    ready: int | None = None  # episodes ready to play (default: all)
    status: SeriesStatus = SeriesStatus.published
    publish_in_days: int = 0  # > 0: scheduled


CORPUS = [
    Planned(
        "The Vampire Billionaire's Bride",
        "fantasy",
        "Moonlight Studio",
        tags=["vampire", "billionaire", "contract marriage"],
        synopsis="A florist signs a one-year contract with a billionaire who never ages.",
    ),
    Planned(
        "Vampire Academy Nights",
        "fantasy",
        "Nightshade Films",
        tags=["vampire", "school"],
        synopsis="At a boarding school for the undead, a new student hides that she is human.",
    ),
    Planned(
        "Billionaire's Secret Baby",
        "romance",
        "Golden Hour Drama",
        tags=["billionaire", "secret baby"],
        synopsis="Five years after one night, he meets a little boy with his eyes.",
    ),
    Planned(
        "Café de Medianoche",
        "romance",
        "Estudio Sol",
        language="es",
        tags=["café", "segunda oportunidad"],
        synopsis="Una barista y un cliente misterioso que sólo viene a medianoche.",
    ),
    Planned(
        "La Venganza de la Esposa",
        "revenge",
        "Estudio Sol",
        language="es",
        tags=["venganza", "traición"],
        synopsis="Traicionada el día de su boda, vuelve con otro nombre.",
        free_episodes=0,
    ),
    Planned(
        "Contract Marriage with the CEO",
        "romance",
        "Golden Hour Drama",
        tags=["contract marriage", "ceo"],
        synopsis="She needs a green card, he needs a wife by Friday.",
        free_episodes=0,
    ),
    Planned(
        "Alpha's Rejected Mate",
        "fantasy",
        "Nightshade Films",
        tags=["werewolf", "mate"],
        synopsis="Rejected at the moon ceremony, she becomes the pack's most feared warrior.",
        episodes=4,
        ready=3,  # the fourth is still transcoding: not complete
    ),
    Planned(
        "Đêm Trăng Máu",
        "horror",
        "Phim Việt",
        language="vi",
        tags=["ma cà rồng"],
        synopsis="Một cô gái phát hiện người chồng của mình là ma cà rồng.",
    ),
    Planned(
        "Mistaken Identity",
        "comedy",
        "Twin Peaks Media",
        tags=["twins", "office"],
        synopsis="Twin sisters swap desks for a week; one of them is a spy.",
    ),
    Planned(
        "Die Rache der Erbin",
        "revenge",
        "Nordlicht",
        language="de",
        tags=["rache", "erbin"],
        synopsis="Nach dem Verrat ihrer Familie kehrt die Erbin als Fremde zurück.",
    ),
    Planned(
        "吸血鬼の花嫁",
        "fantasy",
        "東京ドラマ",
        language="ja",
        tags=["吸血鬼", "恋愛"],
        synopsis="吸血鬼の王と契約結婚した花嫁の物語。",
    ),
    Planned("Vampire Draft Cut", "fantasy", "Moonlight Studio", status=SeriesStatus.draft),
    Planned("Vampire Tomorrow", "fantasy", "Moonlight Studio", publish_in_days=3),
    Planned("Vampire Still Encoding", "fantasy", "Moonlight Studio", ready=0),
]


def build_corpus(db: Session, planned: list[Planned] = CORPUS) -> dict[str, Series]:
    """The planned series as rows (one creator account per name), by title."""
    creators: dict[str, Account] = {}
    built = {}
    for plan in planned:
        owner = creators.get(plan.creator) or make_creator(db, plan.creator)
        creators[plan.creator] = owner
        series = make_series(
            db,
            title=plan.title,
            episodes=plan.episodes,
            ready=plan.ready,
            free_episodes=plan.free_episodes,
            owner=owner,
            published=plan.status == SeriesStatus.published,
        )
        series.genre = plan.genre
        series.language = plan.language
        series.tags = plan.tags
        series.synopsis = plan.synopsis
        series.status = plan.status
        if plan.publish_in_days:
            series.published_at = utcnow() + timedelta(days=plan.publish_in_days)
        built[plan.title] = series
    db.flush()
    return built


def watched_by(db: Session, series: Series, viewers: int) -> None:
    """`viewers` new viewers each watched the series' first episode today."""
    for n in range(viewers):
        binged(db, make_viewer(db, f"Fan {n} of {series.id}"), series, episodes=1)
    db.flush()
