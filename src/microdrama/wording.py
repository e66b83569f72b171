"""Counts, money and prices written the one way every page and message writes them."""

from __future__ import annotations

from microdrama.config import Settings


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """A count with its noun: "1 episode", "2 episodes", "1,200 coins", "3 series"."""
    noun = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count:,} {noun}"


def money(amount_cents: int, currency: str = "USD") -> str:
    """An amount as people read it: "$0.60", "$1,234.00", "12.50 EUR"."""
    sign = "\u2212" if amount_cents < 0 else ""  # a real minus sign, as the ledger pages use
    whole, cents = divmod(abs(amount_cents), 100)
    text = f"{whole:,}.{cents:02d}"
    return f"{sign}${text}" if currency == "USD" else f"{sign}{text} {currency}"


def price_cents(*, settings: Settings, coins: int) -> int:
    """What a number of coins is worth in money (cents), for showing prices in both."""
    return (coins * settings.coin_value_millicents + 500) // 1000  # integers, never floats


def coin_price(coins: int, amount_cents: int) -> str:
    """A price in coins with its worth in money: "80 coins ($0.80)".

    `amount_cents` comes from `price_cents` above, the one coin→money conversion;
    js/api.js `coinPrice` writes the same text in the browser.
    """
    return f"{plural(coins, 'coin')} ({money(amount_cents)})"
