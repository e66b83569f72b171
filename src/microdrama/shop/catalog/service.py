"""Shop catalog: a brand's products and their variants (size, colour), and their stock counts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from microdrama.accounts.models import Account
from microdrama.errors import Conflict, NotFound
from microdrama.shop import stock
from microdrama.shop.catalog.schemas import (
    ProductCreate,
    ProductUpdate,
    VariantCreate,
    VariantUpdate,
)
from microdrama.shop.models import Product, ProductVariant


class DuplicateSku(Conflict, code="duplicate_sku"): ...


def _check_product_sku_free(*, db: Session, owner_id: int, sku: str) -> None:
    taken = db.scalar(select(Product.id).where(Product.owner_id == owner_id, Product.sku == sku))
    if taken is not None:
        raise DuplicateSku("You already have a product with this SKU.", field="sku", sku=sku)


def create_product(*, db: Session, brand: Account, data: ProductCreate) -> Product:
    """A new product (with its variants) in the brand's catalog."""
    _check_product_sku_free(db=db, owner_id=brand.id, sku=data.sku)
    skus = [v.sku for v in data.variants]
    if len(skus) != len(set(skus)):
        raise DuplicateSku("Two variants share a SKU.", field="variants")
    product = Product(owner_id=brand.id, **data.model_dump(exclude={"variants"}))
    product.variants = [ProductVariant(**v.model_dump()) for v in data.variants]
    db.add(product)
    db.flush()
    return product


def list_products(*, db: Session, brand: Account) -> list[Product]:
    """The brand's own products, newest first."""
    query = (
        select(Product)
        .where(Product.owner_id == brand.id)
        .options(selectinload(Product.variants))
        .order_by(Product.id.desc())
    )
    return list(db.scalars(query))


def get_own_product(*, db: Session, brand: Account, product_id: int) -> Product:
    """The product if it is the brand's (admins: any); 404 otherwise, so others learn nothing."""
    product = db.get(Product, product_id)
    if product is None or not brand.manages(product.owner_id):
        raise NotFound("No such product.", product_id=product_id)
    return product


def update_product(*, db: Session, brand: Account, product_id: int, data: ProductUpdate) -> Product:
    """Change the given fields of one of the brand's products."""
    product = get_own_product(db=db, brand=brand, product_id=product_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            continue
        setattr(product, field, value)
    db.flush()
    return product


def add_variant(
    *, db: Session, brand: Account, product_id: int, data: VariantCreate
) -> ProductVariant:
    """A new variant (size, colour) of one of the brand's products."""
    product = get_own_product(db=db, brand=brand, product_id=product_id)
    if any(v.sku == data.sku for v in product.variants):
        raise DuplicateSku("This product already has a variant with this SKU.", field="sku")
    variant = ProductVariant(product_id=product.id, **data.model_dump())
    product.variants.append(variant)
    db.flush()
    return variant


def update_variant(
    *, db: Session, brand: Account, variant_id: int, data: VariantUpdate
) -> ProductVariant:
    """Change a variant's name, price override or stock count."""
    variant = db.get(ProductVariant, variant_id)
    if variant is None:
        raise NotFound("No such variant.", variant_id=variant_id)
    get_own_product(db=db, brand=brand, product_id=variant.product_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        variant.name = changes["name"]
    if changes.get("stock") is not None:
        stock.set_count(variant, changes["stock"])
    if "price_cents" in changes:  # null clears the override
        variant.price_cents = changes["price_cents"]
    db.flush()
    return variant
