"""Stock: the one module that changes `product_variants.stock` (allocate, release, set a count).

Saleor's discipline (its `warehouse/management.py`): variant rows are locked in primary-key
order, so two transactions sharing variants queue on the same row first instead of deadlocking,
and neither oversells. PostgreSQL takes `SELECT … FOR UPDATE ORDER BY id`; SQLite ignores FOR
UPDATE and relies on the writer lock the app's BEGIN IMMEDIATE holds. A checkout's `allocate`
locks by its own conditional UPDATE (`stock = stock - n WHERE stock >= n`) and comes last in
its transaction: a popular product's row is then held only from that statement to the COMMIT,
not while the order is written (every buyer of the product queues on it).
The `CHECK stock >= 0` stays as the last guard should a bug slip past these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

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


_variants = cast(Table, ProductVariant.__table__)
_TAKE = (
    update(_variants)
    .where(_variants.c.id == bindparam("row_id"), _variants.c.stock >= bindparam("units"))
    .values(stock=_variants.c.stock - bindparam("units"))
)


def allocate(db: Session, lines: Sequence[StockLine]) -> None:
    """Take the lines' units off sale (a checkout's reservation), all or none: one conditional
    UPDATE per variant in primary-key order, each taking the row's lock until the transaction
    ends, so call it last. Raises InsufficientStock naming the first variant, by id, that has
    too few left (the caller's transaction is rolled back, units taken before it included)."""
    wanted: dict[int | None, int] = {}
    for line in lines:
        wanted[line.variant_id] = wanted.get(line.variant_id, 0) + line.quantity
    if None in wanted:  # callers check the variants exist first; a deleted one is sold out
        raise InsufficientStock("This item is sold out.", variant_id=None)
    conn = db.connection()
    taken: list[int] = []
    for variant_id, units in sorted((v, n) for v, n in wanted.items() if v is not None):
        if conn.execute(_TAKE, {"row_id": variant_id, "units": units}).rowcount != 1:
            variant = db.get(ProductVariant, variant_id, populate_existing=True)
            if variant is None:
                raise InsufficientStock("This item is sold out.", variant_id=variant_id)
            raise insufficient(variant, wanted=units)
        taken.append(variant_id)
    for variant_id in taken:  # ORM copies read before the UPDATE: reload on next use
        loaded = db.identity_map.get(identity_key(ProductVariant, variant_id))
        if loaded is not None:
            db.expire(loaded, ["stock"])


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
