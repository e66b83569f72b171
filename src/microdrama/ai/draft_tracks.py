"""Generated subtitle tracks (captions from the audio, translations) are saved as drafts: the
creator reviews them in the cue editor and publishes them; a draft never replaces what
viewers already see."""

from __future__ import annotations

from sqlalchemy.orm import Session

from microdrama.accounts import service as accounts
from microdrama.ai import languages
from microdrama.catalog.models import Episode
from microdrama.errors import Conflict, NotFound
from microdrama.storage import Storage
from microdrama.subtitles import service as subtitles
from microdrama.subtitles.service import Cue


class PublishedTrackExists(Conflict, code="published_track_exists"): ...


def owned_episode(*, db: Session, episode_id: int, owner_id: int) -> Episode:
    """The episode if `owner_id` created its series (404 for anyone else's, as for none)."""
    owner = accounts.get(db=db, account_id=owner_id)
    if owner is None:
        raise NotFound("No such episode.", episode_id=episode_id)
    return subtitles.editable_episode(db=db, episode_id=episode_id, account=owner)


def refuse_published(*, db: Session, episode: Episode, language: str) -> None:
    """PublishedTrackExists (409) when viewers already see a track in that language."""
    for track in subtitles.tracks(db=db, episode_id=episode.id):
        if track.language == language and not track.draft:
            raise PublishedTrackExists(
                f"Episode {episode.number} already has published {languages.name(language)} "
                f"subtitles; delete them first to make new ones.",
                language=language,
            )


def save_draft(
    *, db: Session, storage: Storage, episode: Episode, language: str, cues: list[Cue]
) -> None:
    """Store the cues as a draft track in that language (replacing an earlier draft)."""
    refuse_published(db=db, episode=episode, language=language)
    subtitles.save_track(
        db=db,
        storage=storage,
        episode=episode,
        language=language,
        label=languages.name(language),
        cues=cues,
        draft=True,
    )
