"""The beat engine: a season's skeleton (cast, beats placed on the episode count, one card slot
per episode with its cliffhanger kind) from a trope's template and pacing rules, no model.

The model writes words into this skeleton (writers_room.py); everything structural (episode
numbers, which beat lands where, the paywall, cliffhanger kinds and their variety) is decided
here, deterministically for a seed.
"""

from __future__ import annotations

import enum
import random
from collections import Counter
from dataclasses import dataclass

MIN_EPISODES = 20
MAX_EPISODES = 80
MIN_EPISODE_SECONDS = 60
MAX_EPISODE_SECONDS = 120
# The hook and the inciting incident come before the paywall...
MIN_FREE_EPISODES = 3
# ...and the dark moment, the climax and the resolution after it.
MIN_PAID_EPISODES = 3


class Trope(enum.StrEnum):
    contract_marriage = "contract_marriage"
    hidden_billionaire = "hidden_billionaire"
    revenge = "revenge"
    werewolf_mate = "werewolf_mate"
    second_chance = "second_chance"
    secret_baby = "secret_baby"
    mafia_romance = "mafia_romance"
    true_heiress = "true_heiress"


class BeatKind(enum.StrEnum):
    hook = "hook"
    inciting_incident = "inciting_incident"
    escalation = "escalation"
    paywall_cliffhanger = "paywall_cliffhanger"
    midpoint_reversal = "midpoint_reversal"
    dark_moment = "dark_moment"
    climax = "climax"
    resolution = "resolution"


# The beats every season has once, in this order (the paywall cliffhanger sits on the last free
# episode, before or after the midpoint; escalations fill the gaps).
STORY_ORDER = (
    BeatKind.hook,
    BeatKind.inciting_incident,
    BeatKind.midpoint_reversal,
    BeatKind.dark_moment,
    BeatKind.climax,
    BeatKind.resolution,
)

BEAT_LABELS = {
    BeatKind.hook: "Hook",
    BeatKind.inciting_incident: "Inciting incident",
    BeatKind.escalation: "Escalation",
    BeatKind.paywall_cliffhanger: "Paywall cliffhanger",
    BeatKind.midpoint_reversal: "Midpoint reversal",
    BeatKind.dark_moment: "Dark moment",
    BeatKind.climax: "Climax",
    BeatKind.resolution: "Resolution",
}


class CliffhangerKind(enum.StrEnum):
    reveal = "reveal"  # a secret comes out
    threat = "threat"  # danger closes in
    decision = "decision"  # someone must choose, now
    arrival = "arrival"  # someone walks in


# A beat's ending is decided by what the beat is; escalations and plain episodes get a kind
# by the variety rules.
BEAT_CLIFFHANGERS = {
    BeatKind.hook: CliffhangerKind.arrival,
    BeatKind.inciting_incident: CliffhangerKind.decision,
    BeatKind.paywall_cliffhanger: CliffhangerKind.reveal,
    BeatKind.midpoint_reversal: CliffhangerKind.reveal,
    BeatKind.dark_moment: CliffhangerKind.threat,
    BeatKind.climax: CliffhangerKind.decision,
    BeatKind.resolution: CliffhangerKind.arrival,
}

# How hard an episode's ending hits, 1-5: the paywall's is the season's strongest.
INTENSITY = {
    BeatKind.paywall_cliffhanger: 5,
    BeatKind.midpoint_reversal: 4,
    BeatKind.dark_moment: 4,
    BeatKind.climax: 4,
    BeatKind.hook: 3,
    BeatKind.inciting_incident: 3,
    BeatKind.escalation: 3,
    BeatKind.resolution: 3,
}
PLAIN_INTENSITY = 2
MAX_RUN = 2  # never the same cliffhanger kind three episodes running


class InvalidSeasonShape(ValueError):
    """Episode count, free episodes or episode length out of what the engine plans."""


# Trope templates ---------------------------------------------------------------------------
# Wording may name the cast by role: {lead}, {love}, {rival}, {ally}, {villain}.


@dataclass(frozen=True)
class RoleTemplate:
    key: str  # lead, love, rival, ally, villain
    role: str  # what the bible calls them
    names: tuple[str, ...]
    want: str
    secret: str
    relationship: str
    voice: str


@dataclass(frozen=True)
class TropeTemplate:
    trope: Trope
    label: str
    pitch: str
    titles: tuple[str, ...]
    logline: str
    roles: tuple[RoleTemplate, ...]
    # Key reveals in story order: the inciting incident, escalations, the midpoint and the
    # paywall draw from them; the last one is the season's biggest.
    reveals: tuple[str, ...]
    set_pieces: tuple[str, ...]


def _role(
    key: str, role: str, names: str, want: str, secret: str, relationship: str, voice: str
) -> RoleTemplate:
    return RoleTemplate(key, role, tuple(names.split()), want, secret, relationship, voice)


TEMPLATES: dict[Trope, TropeTemplate] = {
    t.trope: t
    for t in (
        TropeTemplate(
            Trope.contract_marriage,
            "Contract marriage",
            "A marriage on paper, a one-year contract, feelings that were not in it.",
            ("The Contract Bride", "Married by Contract", "One Year His Wife"),
            "To save her family, {lead} signs a one-year marriage contract with the cold CEO "
            "{love}; the clause she never read will cost her everything.",
            (
                _role(
                    "lead",
                    "the bride on paper",
                    "Ava Mia Lily Chloe Nora",
                    "to save her family's company before the bank takes it",
                    "she signed the contract to pay her father's gambling debt",
                    "{love}'s contract wife",
                    "warm, quick, never begs",
                ),
                _role(
                    "love",
                    "the cold CEO",
                    "Ethan Adrian Lucas Damian Sebastian",
                    "a wife on paper so the board lets him keep the company",
                    "the contract was his late mother's idea, and he wrote a secret clause",
                    "{lead}'s husband for one year",
                    "clipped, formal, cracks when alone",
                ),
                _role(
                    "rival",
                    "the ex-fiancée",
                    "Vivian Bianca Serena Celeste",
                    "to win {love} back before the year is out",
                    "she broke the engagement for money and regrets nothing",
                    "{love}'s former fiancée",
                    "sweet in public, venom in private",
                ),
                _role(
                    "ally",
                    "the best friend",
                    "Maya Jade Rosa Tessa",
                    "to see {lead} happy for once",
                    "she works for {love}'s company under another name",
                    "{lead}'s best friend since school",
                    "blunt and funny",
                ),
                _role(
                    "villain",
                    "the scheming stepmother",
                    "Diane Margaret Helena Veronica",
                    "the family's shares for her own son",
                    "she forged the debt that forced the contract",
                    "{love}'s stepmother",
                    "soft voice, hard eyes",
                ),
            ),
            (
                "the contract has a clause {lead} never read",
                "{rival} kept a copy of the contract",
                "{love} chose {lead} long before the contract",
                "{villain} forged the debt that forced the marriage",
                "{lead} is carrying {love}'s child",
            ),
            (
                "a signing at a lawyer's office",
                "a family dinner at the estate",
                "a charity gala",
                "a hospital corridor at night",
                "the board meeting",
                "a rooftop in the rain",
            ),
        ),
        TropeTemplate(
            Trope.hidden_billionaire,
            "Hidden billionaire",
            "The humble one everyone mocks is secretly the richest person in the room.",
            ("The Hidden Heir", "Don't Mock the Delivery Man", "My Husband Owns the City"),
            "Everyone mocks {lead}'s humble husband {love}, the delivery man; no one knows he "
            "owns the company that is about to buy them all.",
            (
                _role(
                    "lead",
                    "the loyal wife",
                    "Grace Emma Sofia Ruby Hannah",
                    "respect from the family that treats her as a servant",
                    "she saw {love} step out of a black limousine and said nothing",
                    "{love}'s wife of three years",
                    "patient until she is not",
                ),
                _role(
                    "love",
                    "the hidden billionaire",
                    "Leo Henry Jack Owen Noah",
                    "a wife who loves him for who he is, not what he owns",
                    "he is the heir of the Lancaster group and hid it to test love",
                    "{lead}'s husband, the family's punchline",
                    "quiet, amused, deadly calm",
                ),
                _role(
                    "rival",
                    "the snobbish suitor",
                    "Brandon Kyle Preston Trent",
                    "to take {lead} from the 'loser' she married",
                    "his company survives only on Lancaster money",
                    "the suitor {lead}'s family prefers",
                    "loud, boastful",
                ),
                _role(
                    "ally",
                    "the loyal assistant",
                    "Marcus Felix Oscar Theo",
                    "to keep {love}'s secret until he is ready",
                    "he reports everything to {love}'s grandfather",
                    "{love}'s assistant, disguised as a friend",
                    "dry, precise",
                ),
                _role(
                    "villain",
                    "the mother-in-law",
                    "Linda Barbara Carol Patricia",
                    "a rich son-in-law and a seat at the top table",
                    "she owes money to the people {love} is buying out",
                    "{lead}'s mother",
                    "shrill, calculating",
                ),
            ),
            (
                "the black card {love} carries has no limit",
                "{rival}'s company is owned by {love}'s family",
                "{love} is the heir of the Lancaster group",
                "{villain} sold {lead}'s future to pay her debts",
                "{love}'s grandfather is dying and names {lead} in his will",
            ),
            (
                "a family banquet",
                "a luxury car showroom",
                "a company takeover meeting",
                "a wedding anniversary party",
                "a hospital lobby",
                "an auction hall",
            ),
        ),
        TropeTemplate(
            Trope.revenge,
            "Revenge",
            "Betrayed and left for dead, she comes back with a new name and a plan.",
            ("Return of the Betrayed Wife", "She Came Back for Everything", "Ashes to Crown"),
            "Betrayed by her husband and her sister, {lead} returns with a new face and a plan "
            "to take back everything they stole.",
            (
                _role(
                    "lead",
                    "the betrayed wife",
                    "Elena Clara Iris Vera Nina",
                    "to take back her company and her name",
                    "she survived the fire and has been planning for five years",
                    "the wife {villain} left for dead",
                    "cold, controlled, lethal",
                ),
                _role(
                    "love",
                    "the ally with a past",
                    "Julian Ryan Marco Daniel Victor",
                    "to bring down the man who ruined his family",
                    "he was there the night of the fire",
                    "{lead}'s partner in revenge",
                    "low, careful, honest",
                ),
                _role(
                    "rival",
                    "the treacherous sister",
                    "Stella Fiona Amber Paige",
                    "to keep the life she stole from {lead}",
                    "she lit the fire",
                    "{lead}'s younger sister",
                    "bright, brittle",
                ),
                _role(
                    "ally",
                    "the old housekeeper",
                    "Agnes Martha Rosa Edith",
                    "justice for the girl she raised",
                    "she kept the evidence from the night of the fire",
                    "{lead}'s childhood nanny",
                    "gentle, stubborn",
                ),
                _role(
                    "villain",
                    "the cheating husband",
                    "Richard Carter Grant Douglas",
                    "to take the company public before anyone asks questions",
                    "he insured {lead}'s life a week before the fire",
                    "{lead}'s husband",
                    "charming, ruthless",
                ),
            ),
            (
                "the new investor is {lead}, alive",
                "{villain} insured {lead}'s life a week before the fire",
                "{love} was there the night of the fire",
                "{rival} lit the fire herself",
                "{lead}'s child did not die in the fire",
            ),
            (
                "a funeral",
                "a shareholders' meeting",
                "a masked ball",
                "a courtroom",
                "the burned house",
                "a press conference",
            ),
        ),
        TropeTemplate(
            Trope.werewolf_mate,
            "Werewolf mate",
            "Rejected by her alpha mate, she finds out what her wolf really is.",
            ("The Alpha's Rejected Mate", "Moon-Bound", "Luna of the Silver Pack"),
            "Rejected by her mate, the alpha {love}, on the night of her first shift, {lead} "
            "discovers she is the last of the silver wolves.",
            (
                _role(
                    "lead",
                    "the rejected mate",
                    "Luna Aria Selene Willow Skye",
                    "to be free of the pack that shamed her",
                    "her wolf is silver, the line the packs wiped out",
                    "{love}'s fated mate",
                    "soft-spoken, fierce when cornered",
                ),
                _role(
                    "love",
                    "the alpha",
                    "Kane Ryder Axel Jaxon Cole",
                    "to keep his pack strong and his heart out of it",
                    "he rejected her to hide her from the council",
                    "the alpha who rejected {lead}",
                    "commanding, few words",
                ),
                _role(
                    "rival",
                    "the chosen luna",
                    "Raven Sasha Kiara Lyra",
                    "to be {love}'s luna at any cost",
                    "she is not a wolf of the pack at all",
                    "the pack's favourite",
                    "silky, mocking",
                ),
                _role(
                    "ally",
                    "the omega friend",
                    "Ellie Pip Juniper Rue",
                    "a place in the pack where no one looks down",
                    "she hears the council's messages",
                    "{lead}'s only friend in the pack",
                    "nervous, loyal",
                ),
                _role(
                    "villain",
                    "the council elder",
                    "Magnus Silas Corvin Thane",
                    "the silver line ended for good",
                    "he killed {lead}'s parents",
                    "the head of the wolf council",
                    "ancient, patient",
                ),
            ),
            (
                "{lead}'s wolf is silver",
                "{rival} is not a wolf of the pack",
                "{love} rejected {lead} to protect her",
                "{villain} killed {lead}'s parents",
                "the mate bond cannot be broken, only hidden",
            ),
            (
                "the full-moon ceremony",
                "the forest border at night",
                "the alpha's den",
                "the council chamber",
                "a rogue attack",
                "the silver lake",
            ),
        ),
        TropeTemplate(
            Trope.second_chance,
            "Second chance",
            "Years after he broke her heart, the one who got away walks back in.",
            ("Back to You", "The One Who Left", "Second Chance Summer"),
            "Seven years after {love} left without a word, {lead} finds him back in town, "
            "engaged to someone else and hiding why he left.",
            (
                _role(
                    "lead",
                    "the one left behind",
                    "Hazel Rose Claire Ivy June",
                    "to finally open her bakery and stop waiting",
                    "she kept the ring he left",
                    "{love}'s first love",
                    "warm, wry, guarded",
                ),
                _role(
                    "love",
                    "the one who left",
                    "Caleb Nathan Wes Miles Eli",
                    "to make it right before it is too late",
                    "he left to take the blame for {lead}'s brother",
                    "{lead}'s first love",
                    "gentle, haunted",
                ),
                _role(
                    "rival",
                    "the fiancée",
                    "Madison Brooke Alexis Tiffany",
                    "a wedding by summer",
                    "the engagement is a business deal",
                    "{love}'s fiancée",
                    "polished, polite, threatened",
                ),
                _role(
                    "ally",
                    "the younger brother",
                    "Toby Sam Danny Finn",
                    "to stop hiding what happened seven years ago",
                    "he did what {love} took the blame for",
                    "{lead}'s brother",
                    "jumpy, guilty",
                ),
                _role(
                    "villain",
                    "the powerful father",
                    "Harold Gerald Conrad Walter",
                    "to keep his son away from the small-town girl",
                    "he paid the police to close the case",
                    "{love}'s father",
                    "quiet, used to winning",
                ),
            ),
            (
                "{love} is back in town",
                "{rival}'s engagement is a business deal",
                "{love} left to take the blame for {lead}'s brother",
                "{villain} paid to close the case",
                "{lead} kept the ring all these years",
            ),
            (
                "the old bakery",
                "the town fair",
                "the lake at sunset",
                "an engagement party",
                "the police station",
                "the wedding rehearsal",
            ),
        ),
        TropeTemplate(
            Trope.secret_baby,
            "Secret baby",
            "One night, five years, a child with his eyes, and he never knew.",
            ("The CEO's Secret Son", "Five Years Later", "His Eyes"),
            "Five years after one night with the heir {love}, {lead} is raising his son alone; "
            "now the boy has walked into {love}'s office.",
            (
                _role(
                    "lead",
                    "the single mother",
                    "Sophie Anna Leah Mila Kate",
                    "a safe life for her son, far from the powerful family",
                    "the child is {love}'s",
                    "the mother of {love}'s son",
                    "tired, tender, fierce",
                ),
                _role(
                    "love",
                    "the heir",
                    "Alexander Gabriel Liam Xavier Roman",
                    "to know the truth about that night",
                    "he has looked for her for five years",
                    "the father who doesn't know",
                    "cool, intense",
                ),
                _role(
                    "rival",
                    "the socialite",
                    "Chantal Victoria Cassidy Nadia",
                    "to marry into {love}'s family",
                    "she told {lead} that {love} was married",
                    "the family's chosen bride",
                    "glossy, cutting",
                ),
                _role(
                    "ally",
                    "the little son",
                    "Max Ollie Benji Kai",
                    "a father",
                    "he found his father's photo",
                    "{lead}'s five-year-old son",
                    "bright, fearless, funny",
                ),
                _role(
                    "villain",
                    "the grandmother",
                    "Eleanor Beatrice Constance Dorothy",
                    "an heir with the right mother",
                    "she paid {lead} to disappear",
                    "{love}'s grandmother",
                    "elegant, merciless",
                ),
            ),
            (
                "the boy has {love}'s eyes",
                "{rival} lied to drive {lead} away",
                "the child is {love}'s son",
                "{villain} paid {lead} to disappear",
                "{love} has been searching for {lead} for five years",
            ),
            (
                "the company lobby",
                "a kindergarten",
                "a paternity clinic",
                "the family estate",
                "a children's hospital",
                "a custody hearing",
            ),
        ),
        TropeTemplate(
            Trope.mafia_romance,
            "Mafia romance",
            "She saw what she should not have; the boss keeps her close to keep her quiet.",
            ("The Don's Captive", "Bound to the Boss", "Silent Witness"),
            "After witnessing a murder, {lead} is taken by the mafia boss {love}, who must "
            "decide whether she is a threat or the only person he trusts.",
            (
                _role(
                    "lead",
                    "the witness",
                    "Bella Gia Lucia Carmen Rosa",
                    "to get home alive",
                    "she knows the victim's name",
                    "{love}'s captive",
                    "defiant, observant",
                ),
                _role(
                    "love",
                    "the boss",
                    "Dante Luca Matteo Enzo Rafael",
                    "to find the traitor in his family",
                    "the murder was not his order",
                    "the head of the family",
                    "silken, dangerous",
                ),
                _role(
                    "rival",
                    "the consigliere's daughter",
                    "Isabella Valentina Sofia Nina",
                    "to be the boss's wife",
                    "she meets the rival family in secret",
                    "promised to {love}",
                    "proud, jealous",
                ),
                _role(
                    "ally",
                    "the bodyguard",
                    "Rocco Nico Sal Tony",
                    "to keep {lead} alive",
                    "he was ordered to kill her",
                    "{lead}'s guard",
                    "gruff, kind",
                ),
                _role(
                    "villain",
                    "the underboss",
                    "Vincent Carlo Sergio Bruno",
                    "the family for himself",
                    "he ordered the murder",
                    "{love}'s right hand",
                    "warm smile, cold plan",
                ),
            ),
            (
                "the murder was not {love}'s order",
                "{ally} was ordered to kill {lead}",
                "{rival} meets the rival family in secret",
                "{villain} is the traitor",
                "{lead} is the daughter of the man who was killed",
            ),
            (
                "a back alley",
                "the family mansion",
                "a wedding in the family",
                "the docks at night",
                "a church",
                "a police interrogation room",
            ),
        ),
        TropeTemplate(
            Trope.true_heiress,
            "True heiress returns",
            "Swapped at birth, the real daughter comes home to a family that loves the fake.",
            ("The Real Heiress", "Switched at Birth", "Daughter of the House"),
            "Raised poor, {lead} learns she was swapped at birth; the rich family takes her in "
            "but keeps loving the daughter who took her place.",
            (
                _role(
                    "lead",
                    "the real daughter",
                    "Alice Daisy Wren Esme Lucy",
                    "a family that chooses her",
                    "she is a gifted surgeon no one has heard of",
                    "the true heiress of the house",
                    "plain-spoken, brilliant",
                ),
                _role(
                    "love",
                    "the fiancé of the house",
                    "Ryan Oliver Jasper Vincent Blake",
                    "to honour the engagement to the family's daughter",
                    "he was engaged to the real heiress, not the false one",
                    "betrothed to the family's daughter",
                    "reserved, sharp",
                ),
                _role(
                    "rival",
                    "the false heiress",
                    "Scarlett Camille Bianca Sienna",
                    "to stay the daughter of the house",
                    "she knew about the swap for years",
                    "{lead}'s swapped sister",
                    "sugary, scheming",
                ),
                _role(
                    "ally",
                    "the grandfather",
                    "Albert Edmund Frederick George",
                    "the truth restored before he dies",
                    "he arranged the engagement for the real heiress",
                    "head of the family",
                    "stern, fair",
                ),
                _role(
                    "villain",
                    "the nurse",
                    "Irene Gloria Judith Pamela",
                    "to keep the swap buried",
                    "she swapped the babies for money",
                    "the nurse from the night of the birth",
                    "nervous, sly",
                ),
            ),
            (
                "{lead} was swapped at birth",
                "{rival} knew about the swap for years",
                "the engagement was meant for the real heiress",
                "{villain} was paid to swap the babies",
                "{lead} is the surgeon who saved the grandfather",
            ),
            (
                "a DNA clinic",
                "the family's welcome dinner",
                "an engagement banquet",
                "an operating theatre",
                "a birthday party",
                "the old maternity ward",
            ),
        ),
    )
}


def trope_choices() -> list[tuple[str, str, str]]:
    """(value, label, pitch) for the new-series form."""
    return [(t.trope.value, t.label, t.pitch) for t in TEMPLATES.values()]


# The skeleton ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CharacterSlot:
    key: str
    name: str
    role: str
    want: str  # the template's wording: the fallback when the model's is unusable
    secret: str
    relationship: str
    voice: str


@dataclass(frozen=True)
class BeatSlot:
    kind: BeatKind
    episode: int
    label: str
    event: str  # what must happen (template wording with names), the fallback summary


@dataclass(frozen=True)
class CardSlot:
    number: int
    beat: BeatKind | None
    cliffhanger_kind: CliffhangerKind
    intensity: int  # 1-5; the paywall episode's is the season's strongest
    is_free: bool
    event: str  # the card's brief: what this episode must deliver
    location: str
    characters: tuple[str, str]  # names of the two characters the episode turns on


@dataclass(frozen=True)
class SeasonSkeleton:
    trope: Trope
    seed: int
    episode_count: int
    free_episodes: int
    episode_seconds: int
    title: str  # the template's fallback title
    logline: str  # the template's fallback logline
    characters: tuple[CharacterSlot, ...]
    beats: tuple[BeatSlot, ...]
    cards: tuple[CardSlot, ...]

    @property
    def paywall_episode(self) -> int:
        return self.free_episodes

    def names(self) -> dict[str, str]:
        return {c.key: c.name for c in self.characters}


def check_shape(*, episode_count: int, free_episodes: int, episode_seconds: int) -> None:
    """Refuse a season the engine does not plan, with a sentence a creator can act on."""
    if not MIN_EPISODES <= episode_count <= MAX_EPISODES:
        raise InvalidSeasonShape(
            f"Micro-dramas run {MIN_EPISODES} to {MAX_EPISODES} episodes; "
            f"{episode_count} is out of that range."
        )
    if free_episodes >= episode_count:
        raise InvalidSeasonShape(
            f"With {free_episodes} free episodes out of {episode_count}, nothing is paid: "
            "the paywall needs paid episodes after it."
        )
    if free_episodes < MIN_FREE_EPISODES:
        raise InvalidSeasonShape(
            f"Give at least {MIN_FREE_EPISODES} free episodes: the hook and the inciting "
            "incident come before the paywall."
        )
    if episode_count - free_episodes < MIN_PAID_EPISODES:
        raise InvalidSeasonShape(
            f"Leave at least {MIN_PAID_EPISODES} paid episodes after the paywall (the dark "
            f"moment, the climax and the resolution): at most {episode_count - 3} free "
            f"episodes for {episode_count}."
        )
    if not MIN_EPISODE_SECONDS <= episode_seconds <= MAX_EPISODE_SECONDS:
        raise InvalidSeasonShape(
            f"Episodes last {MIN_EPISODE_SECONDS} to {MAX_EPISODE_SECONDS} seconds; "
            f"{episode_seconds} is out of that range."
        )


def fill(text: str, names: dict[str, str]) -> str:
    """Template wording with the cast's names in it."""
    return text.format(**names)


def place_beats(episode_count: int, free_episodes: int) -> dict[int, BeatKind]:
    """Episode number -> the beat it carries, by the pacing rules (pure, no randomness)."""
    n, paywall = episode_count, free_episodes
    placed: dict[int, BeatKind] = {
        1: BeatKind.hook,
        paywall: BeatKind.paywall_cliffhanger,
        n - 1: BeatKind.climax,
        n: BeatKind.resolution,
    }
    # The inciting incident lands early (ep 2-5), always before the paywall.
    inciting = min(max(2, round(n * 0.06)), paywall - 1)
    placed[inciting] = BeatKind.inciting_incident

    def nearest_free(target: int, low: int, high: int, clear_of: int = 0) -> int:
        for step in range(n):
            for candidate in (target - step, target + step):
                if (
                    low <= candidate <= high
                    and candidate not in placed
                    and abs(candidate - clear_of) > 1
                ):
                    return candidate
        raise AssertionError("the season shape leaves no room for a beat")  # check_shape

    # The dark moment comes after the paywall, about four fifths in, before the climax.
    dark = nearest_free(round(n * 0.8), paywall + 1, n - 2)
    placed[dark] = BeatKind.dark_moment
    # The midpoint's reveal keeps clear of the paywall's, so the paywall's lands fresh.
    midpoint = nearest_free(round(n / 2), inciting + 1, dark - 1, clear_of=paywall)
    placed[midpoint] = BeatKind.midpoint_reversal
    # Escalations: a turn of the screw every ~7 episodes between the inciting incident and the
    # dark moment, where no other beat already sits.
    gaps = [e for e in range(inciting + 2, dark - 1) if e not in placed]
    wanted = max(2, (dark - inciting) // 7)
    if gaps:
        step = len(gaps) / wanted
        for i in range(wanted):
            episode = gaps[min(len(gaps) - 1, int(step * i + step / 2))]
            if all(abs(episode - other) > 1 for other in placed):
                placed[episode] = BeatKind.escalation
    return dict(sorted(placed.items()))


def cliffhanger_kinds(
    beats: dict[int, BeatKind], episode_count: int, free_episodes: int, rng: random.Random
) -> list[CliffhangerKind]:
    """One kind per episode: a beat's own kind, otherwise the least used one allowed by the
    variety rules (never three of a kind running; the episode before the paywall is no reveal,
    so the paywall's reveal lands fresh)."""
    fixed = {e: BEAT_CLIFFHANGERS[b] for e, b in beats.items() if b in BEAT_CLIFFHANGERS}
    kinds: list[CliffhangerKind] = []
    used: Counter[CliffhangerKind] = Counter()
    for episode in range(1, episode_count + 1):
        if episode in fixed:
            kind = fixed[episode]
        else:
            options = [
                k
                for k in CliffhangerKind
                if _allowed(k, episode, kinds, fixed, before_paywall=free_episodes - 1)
            ]
            fewest = min(used[k] for k in options)
            kind = rng.choice([k for k in options if used[k] == fewest])
        kinds.append(kind)
        used[kind] += 1
    return kinds


def _allowed(
    kind: CliffhangerKind,
    episode: int,
    kinds: list[CliffhangerKind],
    fixed: dict[int, CliffhangerKind],
    *,
    before_paywall: int,
) -> bool:
    """Whether `kind` may end `episode`, given the kinds so far and the beats' kinds ahead."""
    if episode == before_paywall and kind == CliffhangerKind.reveal:
        return False

    def at(e: int) -> CliffhangerKind | None:
        return kinds[e - 1] if 1 <= e < episode else fixed.get(e)

    # Every run of three through this episode must hold two kinds at least.
    for start in (episode - 2, episode - 1, episode):
        window = [at(e) if e != episode else kind for e in range(start, start + 3)]
        if all(w == kind for w in window):
            return False
    return True


def build_skeleton(
    *,
    trope: Trope,
    episode_count: int,
    free_episodes: int,
    episode_seconds: int,
    seed: int,
) -> SeasonSkeleton:
    """The season's skeleton: the same arguments always give the same skeleton."""
    check_shape(
        episode_count=episode_count, free_episodes=free_episodes, episode_seconds=episode_seconds
    )
    rng = random.Random(f"{trope.value}:{episode_count}:{free_episodes}:{seed}")
    template = TEMPLATES[trope]
    names = {r.key: rng.choice(r.names) for r in template.roles}
    characters = tuple(
        CharacterSlot(
            key=r.key,
            name=names[r.key],
            role=r.role,
            want=fill(r.want, names),
            secret=fill(r.secret, names),
            relationship=fill(r.relationship, names),
            voice=r.voice,
        )
        for r in template.roles
    )
    placed = place_beats(episode_count, free_episodes)
    kinds = cliffhanger_kinds(placed, episode_count, free_episodes, rng)
    reveals = [fill(r, names) for r in template.reveals]
    # The biggest reveal is the paywall's; the others go, in story order, to the inciting
    # incident, the escalations and the midpoint.
    events: dict[int, str] = {free_episodes: reveals[-1]}
    story_reveals = iter(reveals[:-1])
    for episode, beat in placed.items():
        if beat in (BeatKind.inciting_incident, BeatKind.escalation, BeatKind.midpoint_reversal):
            events[episode] = next(story_reveals, None) or rng.choice(reveals[:-1])
    lead, love = names["lead"], names["love"]
    for episode, beat in placed.items():
        events.setdefault(episode, _beat_event(beat, names))
    pairs = [
        (lead, love),
        (lead, names["rival"]),
        (love, names["villain"]),
        (lead, names["ally"]),
        (lead, names["villain"]),
        (love, names["rival"]),
    ]
    cards = []
    for number in range(1, episode_count + 1):
        card_beat = placed.get(number)
        location = fill(rng.choice(template.set_pieces), names)
        pair = (lead, love) if card_beat is not None else rng.choice(pairs)
        intensity = INTENSITY[card_beat] if card_beat is not None else PLAIN_INTENSITY
        event = events.get(number) or _plain_event(kinds[number - 1], pair, rng, reveals)
        cards.append(
            CardSlot(
                number=number,
                beat=card_beat,
                cliffhanger_kind=kinds[number - 1],
                intensity=intensity,
                is_free=number <= free_episodes,
                event=event,
                location=location,
                characters=pair,
            )
        )
    beats = tuple(
        BeatSlot(kind=beat, episode=episode, label=BEAT_LABELS[beat], event=events[episode])
        for episode, beat in placed.items()
    )
    return SeasonSkeleton(
        trope=trope,
        seed=seed,
        episode_count=episode_count,
        free_episodes=free_episodes,
        episode_seconds=episode_seconds,
        title=rng.choice(template.titles),
        logline=fill(template.logline, names),
        characters=characters,
        beats=beats,
        cards=tuple(cards),
    )


def _beat_event(beat: BeatKind, names: dict[str, str]) -> str:
    lead, love, villain = names["lead"], names["love"], names["villain"]
    return {
        BeatKind.hook: f"{lead} is humiliated in public, and {love} sees it",
        BeatKind.dark_moment: f"{villain} wins: {lead} loses everything and {love} walks away",
        BeatKind.climax: f"{lead} confronts {villain} in front of everyone",
        BeatKind.resolution: f"{lead} and {love} choose each other, on their own terms",
    }.get(beat, f"{lead} and {love} are pushed further apart")


def _plain_event(
    kind: CliffhangerKind, pair: tuple[str, str], rng: random.Random, reveals: list[str]
) -> str:
    a, b = pair
    if kind == CliffhangerKind.reveal:
        return f"{a} gets closer to the truth: {rng.choice(reveals[:-1])}"
    return {
        CliffhangerKind.threat: f"{a} is cornered while {b} is away",
        CliffhangerKind.decision: f"{a} must choose between {b} and the plan",
        CliffhangerKind.arrival: f"an unexpected visitor interrupts {a} and {b}",
    }[kind]
