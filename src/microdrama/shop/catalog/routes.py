"""Shop catalog API: a brand's products and variants."""

from __future__ import annotations

from fastapi import APIRouter

from microdrama.accounts.deps import CurrentBrand
from microdrama.db import DbSession
from microdrama.shop.brand_view import BrandInView
from microdrama.shop.catalog import service as catalog
from microdrama.shop.catalog.schemas import (
    ProductCreate,
    ProductRead,
    ProductUpdate,
    VariantCreate,
    VariantRead,
    VariantUpdate,
)
from microdrama.types import PathId

router = APIRouter(tags=["shop"])


@router.post("/api/brand/products", status_code=201)
def create_product(data: ProductCreate, db: DbSession, brand: BrandInView) -> ProductRead:
    """Add a product (and its variants) to the brand's catalog."""
    return ProductRead.model_validate(catalog.create_product(db=db, brand=brand, data=data))


@router.get("/api/brand/products")
def list_products(db: DbSession, brand: BrandInView) -> list[ProductRead]:
    """The brand's own products."""
    return [ProductRead.model_validate(p) for p in catalog.list_products(db=db, brand=brand)]


@router.get("/api/brand/products/{product_id}")
def get_product(product_id: PathId, db: DbSession, brand: CurrentBrand) -> ProductRead:
    """One of the brand's products."""
    return ProductRead.model_validate(
        catalog.get_own_product(db=db, brand=brand, product_id=product_id)
    )


@router.patch("/api/brand/products/{product_id}")
def update_product(
    product_id: PathId, data: ProductUpdate, db: DbSession, brand: CurrentBrand
) -> ProductRead:
    """Change a product's title, description, images, price or active flag."""
    product = catalog.update_product(db=db, brand=brand, product_id=product_id, data=data)
    return ProductRead.model_validate(product)


@router.post("/api/brand/products/{product_id}/variants", status_code=201)
def add_variant(
    product_id: PathId, data: VariantCreate, db: DbSession, brand: CurrentBrand
) -> VariantRead:
    """Add a variant (size, colour) to one of the brand's products."""
    return VariantRead.model_validate(
        catalog.add_variant(db=db, brand=brand, product_id=product_id, data=data)
    )


@router.patch("/api/brand/variants/{variant_id}")
def update_variant(
    variant_id: PathId, data: VariantUpdate, db: DbSession, brand: CurrentBrand
) -> VariantRead:
    """Change a variant's name, price override or stock."""
    return VariantRead.model_validate(
        catalog.update_variant(db=db, brand=brand, variant_id=variant_id, data=data)
    )
