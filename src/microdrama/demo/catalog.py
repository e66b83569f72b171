"""The demo catalog: four micro-drama series, their metadata and an episode script each,
and a demo brand with products placed in the first two series."""

from __future__ import annotations

from dataclasses import dataclass

from microdrama.catalog.schemas import SeriesCreate
from microdrama.shop.catalog.schemas import ProductCreate, VariantCreate

DEMO_CREATOR_NAME = "Microdrama Demo Studio"


@dataclass(frozen=True)
class DemoEpisode:
    title: str
    scene: str
    dialogue: str


@dataclass(frozen=True)
class DemoSeries:
    """A series as the seeder creates it: catalog fields, a look (see clips.LOOKS), a script."""

    title: str
    synopsis: str
    genre: str
    tags: tuple[str, ...]
    content_warnings: tuple[str, ...]
    free_episodes: int
    episode_price_coins: int
    accent_color: str
    look: str
    episodes: tuple[DemoEpisode, ...]

    def create_data(self) -> SeriesCreate:
        return SeriesCreate(
            title=self.title,
            synopsis=self.synopsis,
            genre=self.genre,
            tags=list(self.tags),
            language="en",
            content_warnings=list(self.content_warnings),
            free_episodes=self.free_episodes,
            episode_price_coins=self.episode_price_coins,
            accent_color=self.accent_color,
        )


E = DemoEpisode

DEMO_SERIES: tuple[DemoSeries, ...] = (
    DemoSeries(
        title="Contract Bride of the Midnight CEO",
        synopsis=(
            "To save her father's bakery, Ava signs a one-year marriage contract with Lucas "
            "Hale, the coldest CEO in the city. Rule one: no falling in love. Rule two: no one "
            "can know. By the third night, both rules are broken."
        ),
        genre="romance",
        tags=("contract marriage", "billionaire", "slow burn", "secret identity"),
        content_warnings=(),
        free_episodes=4,
        episode_price_coins=80,
        accent_color="#ff5d8f",
        look="rose",
        episodes=(
            E(
                "The Offer",
                "Hale Tower, 11:58 p.m.",
                "One year. One ring. Then you never see me again.",
            ),
            E("Rule Number One", "Registry office", "Don't fall in love with me, Ava. I mean it."),
            E(
                "The Ring in the Rain",
                "Penthouse, 2:14 a.m.",
                "You signed the contract. You don't get to leave.",
            ),
            E(
                "His Mother's Dinner",
                "The Hale estate",
                "Smile. She can smell a lie from across the room.",
            ),
            E("The Ex Returns", "Gala, ballroom", "Lucas, darling. Did you miss me?"),
            E(
                "Flour on His Suit",
                "Her father's bakery",
                "You came here. In a three-thousand-dollar suit.",
            ),
            E("The Clause She Missed", "Lawyer's office", "Page nine. Read page nine, Ava."),
            E("Midnight Confession", "Rooftop garden", "I broke rule one the day I met you."),
            E("The Photograph", "Newsroom", "Tomorrow the whole city knows your marriage is fake."),
            E("Run", "Airport, gate 12", "If you get on that plane, the contract ends."),
            E(
                "What Father Knew",
                "Hospital corridor",
                "He sold you the bakery to save me, didn't he?",
            ),
            E("Renewal", "Hale Tower, midnight", "Sign again. This time, no rules."),
        ),
    ),
    DemoSeries(
        title="The Heiress Returns for Revenge",
        synopsis=(
            "Five years ago the Lin family threw their daughter Mei out in a storm and gave her "
            "name to a stranger. Tonight she walks back into their anniversary party as the "
            "woman who just bought their company."
        ),
        genre="revenge",
        tags=("revenge", "hidden identity", "family feud", "boss heroine"),
        content_warnings=("violence", "family abuse"),
        free_episodes=3,
        episode_price_coins=100,
        accent_color="#ff4d2e",
        look="ember",
        episodes=(
            E("The Storm", "Lin mansion, five years ago", "You are no daughter of mine. Get out."),
            E(
                "The Party",
                "Anniversary gala",
                "Happy anniversary. I brought a gift: your company.",
            ),
            E("The Impostor", "Powder room", "That dress was mine. So was that name."),
            E("Board Meeting", "Lin Group, 40th floor", "All in favour of removing the chairman?"),
            E("The Old Nanny", "Night market", "Miss Mei... they told me you died in the river."),
            E("Poisoned Tea", "Family dinner", "Drink, sister. It's your favourite."),
            E(
                "The Will",
                "Notary's office",
                "Grandfather left everything to the girl they threw out.",
            ),
            E(
                "Fire at the Warehouse",
                "Harbour district",
                "Someone wants the evidence gone. And you with it.",
            ),
            E(
                "Her Ally",
                "Hospital roof",
                "I'm not helping you for revenge. I'm helping you for her.",
            ),
            E("The Recording", "Press conference", "Play the tape. Let them hear what he said."),
            E("Father", "Empty mansion", "I did it to protect you. You have to believe me."),
            E("Checkmate", "Lin Group lobby", "Pack your things. This building is mine."),
        ),
    ),
    DemoSeries(
        title="Nine Floors Down",
        synopsis=(
            "Nine strangers wake up in an elevator stuck below the basement of a building that "
            "has only eight floors. Every time the lights flicker, one of them is gone, and the "
            "panel counts down."
        ),
        genre="thriller",
        tags=("mystery", "locked room", "psychological", "countdown"),
        content_warnings=("peril", "claustrophobia", "violence"),
        free_episodes=5,
        episode_price_coins=60,
        accent_color="#5ce1e6",
        look="noir",
        episodes=(
            E("B9", "Elevator car, 3:03 a.m.", "This building only has eight floors."),
            E("The Panel", "Elevator car", "It's counting down. Nine... eight..."),
            E(
                "Flicker",
                "Elevator car, lights out",
                "Where's the nurse? She was right next to me.",
            ),
            E("The Intercom", "Elevator car", "Maintenance can hear you. Say who you really are."),
            E(
                "Fingerprints",
                "Elevator car",
                "Her prints are on the emergency hatch. From the outside.",
            ),
            E("The Hatch", "Elevator shaft", "Don't look down. There's another car under us."),
            E("The Liar", "Elevator car", "You knew this building. You worked here, didn't you?"),
            E("Floor Zero", "Flooded lobby", "The doors opened. Nobody is getting out."),
            E(
                "Old Blueprints",
                "Security office",
                "There is a ninth floor. It was sealed in 1987.",
            ),
            E("Two Left", "Elevator car", "One of us did this. And it wasn't me."),
            E("The Tenth Passenger", "Mirror wall", "Count the reflections. Count them again."),
            E("Ground", "Street, dawn", "Same elevator. Same time. Tomorrow."),
        ),
    ),
    DemoSeries(
        title="The Moon Fox's Bargain",
        synopsis=(
            "A village healer saves a wounded white fox and wakes up bound to a nine-tailed "
            "spirit who owes her one wish. He wants his debt paid. She wants her sister back "
            "from the mountain no one returns from."
        ),
        genre="fantasy",
        tags=("fox spirit", "fated lovers", "magic", "quest"),
        content_warnings=("mild peril",),
        free_episodes=3,
        episode_price_coins=120,
        accent_color="#ffd166",
        look="moon",
        episodes=(
            E("The White Fox", "Bamboo forest, full moon", "Heal me, and I will owe you one wish."),
            E("The Bond", "Healer's hut", "Until the wish is spoken, I cannot leave your side."),
            E("Nine Tails", "Village square", "Hide your tails. They hang foxes here."),
            E("The Mountain", "Foot of Mount Qing", "Your sister went up. Nobody comes down."),
            E("Lantern Spirits", "Night path", "Follow the blue lights, never the red."),
            E("The Price", "Shrine of stone", "A wish is paid in memories. Which will you give?"),
            E(
                "His True Name",
                "Moonlit lake",
                "Say my name and I am yours. Forget it and I'm gone.",
            ),
            E("The Hunter", "Burnt village", "The demon hunter has your scent, fox."),
            E("Sister", "Cave of mirrors", "I didn't need saving. I chose to stay."),
            E("The Last Tail", "Mountain peak", "Eight tails gone. One left for you."),
            E("The Wish", "Eclipse", "I wish... no. I wish you free."),
            E(
                "Spring",
                "Healer's hut, a year later",
                "A white fox at the door again. Hello, stranger.",
            ),
        ),
    ),
)


# The demo brand: a catalog of four products, placed in episodes 1 and 2 of the first two
# demo series (product index, series index, episode number, x and y of the card in per-mille).

DEMO_BRAND_NAME = "Luma Beauty"

DEMO_PRODUCTS: tuple[ProductCreate, ...] = (
    ProductCreate(
        title="Midnight Velvet Lipstick",
        description="The deep red Ava wears to the contract signing. Long-wear, satin finish.",
        price_cents=2_400,
        sku="LUMA-LIP-01",
        variants=[
            VariantCreate(name="Ruby", sku="LUMA-LIP-01-RUBY", stock=40),
            VariantCreate(name="Rosewood", sku="LUMA-LIP-01-ROSE", stock=25),
        ],
    ),
    ProductCreate(
        title="Glass Skin Serum",
        description="Hyaluronic serum for the dewy morning-after look. 30 ml.",
        price_cents=3_800,
        sku="LUMA-SERUM-01",
        variants=[
            VariantCreate(name="30 ml", sku="LUMA-SERUM-01-30", stock=60),
            VariantCreate(name="50 ml", sku="LUMA-SERUM-01-50", stock=15, price_cents=5_600),
        ],
    ),
    ProductCreate(
        title="Silk Sleep Mask",
        description="Mulberry silk, as seen on the heiress's nightstand.",
        price_cents=2_900,
        sku="LUMA-MASK-01",
        variants=[
            VariantCreate(name="Champagne", sku="LUMA-MASK-01-CHMP", stock=30),
            VariantCreate(name="Black", sku="LUMA-MASK-01-BLK", stock=0),
        ],
    ),
    ProductCreate(
        title="Revenge Red Nail Set",
        description="Twelve press-on nails in a glossy crimson. Lasts a whole season of plots.",
        price_cents=1_600,
        sku="LUMA-NAIL-01",
        variants=[
            VariantCreate(name="Short", sku="LUMA-NAIL-01-S", stock=50),
            VariantCreate(name="Long", sku="LUMA-NAIL-01-L", stock=35),
        ],
    ),
)

# (product index, series index, episode number, x_permille, y_permille)
DEMO_PLACEMENTS: tuple[tuple[int, int, int, int, int], ...] = (
    (0, 0, 1, 620, 420),
    (1, 0, 2, 300, 560),
    (2, 1, 1, 540, 380),
    (3, 1, 2, 420, 640),
)
# A card shows from 0:05 to 0:12 (or the middle half of a shorter episode).
DEMO_PLACEMENT_START_MS = 5_000
DEMO_PLACEMENT_END_MS = 12_000
