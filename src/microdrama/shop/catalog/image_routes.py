"""Product image API: a brand uploads (multipart `file`) or removes its products' images."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from microdrama.accounts.deps import CurrentBrand
from microdrama.db import DbSession
from microdrama.shop.catalog import images as product_images
from microdrama.shop.catalog import service as catalog
from microdrama.shop.models import Product
from microdrama.storage import AppStorage
from microdrama.types import PathId

router = APIRouter(tags=["shop"])

# Multipart framing around the file: a declared body beyond this is refused unread.
FORM_OVERHEAD_BYTES = 64 * 1024


class ProductImagesRead(BaseModel):
    product_id: int
    image_urls: list[str]


def _read(product: Product) -> ProductImagesRead:
    return ProductImagesRead(product_id=product.id, image_urls=list(product.image_urls))


@router.post("/api/brand/products/{product_id}/images", status_code=201)
async def upload_product_image(
    product_id: PathId,
    request: Request,
    db: DbSession,
    storage: AppStorage,
    brand: CurrentBrand,
) -> ProductImagesRead:
    """An image (multipart `file`, JPEG/PNG/WebP, at most 8 MB) becomes the product's first
    image, re-encoded as a JPEG of at most 1000 px a side."""
    product = await run_in_threadpool(
        catalog.get_own_product, db=db, brand=brand, product_id=product_id
    )
    declared = request.headers.get("content-length", "")
    limit = product_images.MAX_PRODUCT_IMAGE_BYTES
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD_BYTES:
        raise product_images.too_large()
    refusal = product_images.InvalidProductImage(
        "Send the image as multipart/form-data with a `file`.", field="file"
    )
    try:
        form = await request.form(max_files=1, max_fields=5)
    except Exception as exc:  # Starlette's MultiPartException and parser errors
        raise refusal from exc
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise refusal
    data = await file.read(limit + 1)
    await run_in_threadpool(
        product_images.add_product_image,
        db=db,
        storage=storage,
        product=product,
        data=data,
    )
    return _read(product)


@router.delete("/api/brand/products/{product_id}/images/{position}")
def remove_product_image(
    product_id: PathId,
    position: Annotated[int, Path(ge=0, le=product_images.MAX_PRODUCT_IMAGES)],
    db: DbSession,
    storage: AppStorage,
    brand: CurrentBrand,
) -> ProductImagesRead:
    """Remove the product's image at `position` (0 is the one shown)."""
    product = catalog.get_own_product(db=db, brand=brand, product_id=product_id)
    product_images.remove_product_image(db=db, storage=storage, product=product, position=position)
    return _read(product)
