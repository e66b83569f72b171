"""Stock: the one module that changes `product_variants.stock` (allocate, release, set a count).

Saleor's discipline (its `warehouse/management.py`): the variant rows are locked in primary-key
order before their stock is read, so two checkouts sharing variants queue on the same row first
instead of deadlocking, and neither oversells. PostgreSQL takes `SELECT … FOR UPDATE ORDER BY
id`; SQLite ignores FOR UPDATE and relies on the writer lock the app's BEGIN IMMEDIATE holds.
The `CHECK stock >= 0` stays as the last guard should a bug slip past these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from microdrama.errors import Conflict
from microdrama.shop.models import ProductVariant


class InsufficientStock(Conflict, code="insufficient_stock"): ...


@dataclass(frozen=True)
class StockLine:
    """So many units of a variant (None: the variant was deleted since the order was placed)."""

    variant_id: int | None
    quantity: int


def lock_variants(db: Session, variant_ids: Iterable[int | None]) -> dict[int, ProductVariant]:
    """Lock the variants' rows in primary-key order (FOR UPDATE; SQLite holds the whole
    database since BEGIN IMMEDIATE) and re-read their stock; deleted ones are left out."""
    ids = sorted({i for i in variant_ids if i is not None})
    if not ids:
        return {}
    rows = db.scalars(
        select(ProductVariant)
        .where(ProductVariant.id.in_(ids))
        .order_by(ProductVariant.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {v.id: v for v in rows}


def insufficient(variant: ProductVariant, *, wanted: int) -> InsufficientStock:
    """The 409 a viewer sees when fewer units are left than they asked for."""
    title = f"{variant.product.title} · {variant.name}"
    message = (
        f"{title} is sold out."
        if variant.stock == 0
        else f"Only {variant.stock} of {title} left (you asked for {wanted})."
    )
    return InsufficientStock(
        message,
        variant_id=variant.id,
        product_title=variant.product.title,
        variant_name=variant.name,
        available=variant.stock,
        requested=wanted,
    )


def _locked_or_short(
    db: Session, lines: Sequence[StockLine]
) -> tuple[dict[int, ProductVariant], StockLine | None]:
    """Lock the lines' variants; the first line (by variant id) that cannot be met, if any."""
    variants = lock_variants(db, (line.variant_id for line in lines))
    for line in sorted(lines, key=lambda line: line.variant_id or 0):
        variant = variants.get(line.variant_id) if line.variant_id is not None else None
        if variant is None or variant.stock < line.quantity:
            return variants, line
    return variants, None


def _take(variants: dict[int, ProductVariant], lines: Sequence[StockLine]) -> None:
    for line in lines:
        assert line.variant_id is not None  # _locked_or_short found every variant
        variants[line.variant_id].stock -= line.quantity


def allocate(db: Session, lines: Sequence[StockLine]) -> None:
    """Take the lines' units off sale (a checkout's reservation), all or none; raises
    InsufficientStock naming the first variant, by id, that has too few left."""
    variants, short = _locked_or_short(db, lines)
    if short is not None:
        variant = variants.get(short.variant_id) if short.variant_id is not None else None
        if variant is None:  # callers check the variants exist first; a deleted one is sold out
            raise InsufficientStock("This item is sold out.", variant_id=short.variant_id)
        raise insufficient(variant, wanted=short.quantity)
    _take(variants, lines)


def allocate_if_available(db: Session, lines: Sequence[StockLine]) -> bool:
    """Take the lines' units off sale if every one is still there (a payment that arrived after
    its reservation ran out); False, and nothing taken, otherwise."""
    variants, short = _locked_or_short(db, lines)
    if short is not None:
        return False
    _take(variants, lines)
    return True


def release(db: Session, lines: Sequence[StockLine]) -> None:
    """Put the lines' units back on sale (an order cancelled, expired or refunded before
    shipping); variants deleted since are skipped."""
    variants = lock_variants(db, (line.variant_id for line in lines))
    for line in lines:
        if line.variant_id in variants:
            variants[line.variant_id].stock += line.quantity


def set_count(variant: ProductVariant, count: int) -> None:
    """The brand says how many units it has for sale (the count replaces, not adds; the
    UPDATE's own row lock orders it against checkouts)."""
    variant.stock = count
