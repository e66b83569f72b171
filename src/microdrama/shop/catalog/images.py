"""Product images: a brand's upload checked with Pillow, re-encoded to JPEG and stored."""

from __future__ import annotations

import io
import secrets
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from microdrama.db import after_commit
from microdrama.errors import DomainError
from microdrama.shop.models import Product, ProductVariant
from microdrama.storage import Storage

MAX_PRODUCT_IMAGE_BYTES = 8 * 1024 * 1024
MAX_PRODUCT_IMAGE_PIXELS = 40_000_000  # a decompression bomb stops here, before decoding
MIN_PRODUCT_IMAGE_SIDE = 200
# Stored at most this many pixels on the longest side: sharp on a phone's product sheet.
PRODUCT_IMAGE_SIDE = 1000
MAX_PRODUCT_IMAGES = 10  # as ProductCreate.image_urls allows


class InvalidProductImage(DomainError, code="invalid_image", status_code=422): ...


def too_large() -> InvalidProductImage:
    return InvalidProductImage(
        f"The image is larger than {MAX_PRODUCT_IMAGE_BYTES // 1024 // 1024} MB; "
        "send a smaller JPEG, PNG or WebP picture.",
        field="file",
        max_bytes=MAX_PRODUCT_IMAGE_BYTES,
    )


def encode_product_image(data: bytes) -> bytes:
    """The upload as a JPEG of at most PRODUCT_IMAGE_SIDE pixels a side, or a plain refusal.

    Re-encoding drops whatever else the file carried (metadata, scripts in an SVG-like
    polyglot, a second image) and turns the phone camera's rotation flag into real pixels."""
    if len(data) > MAX_PRODUCT_IMAGE_BYTES:
        raise too_large()
    unreadable = InvalidProductImage(
        "This file is not an image we can read; send a JPEG, PNG or WebP picture.", field="file"
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.width * probe.height > MAX_PRODUCT_IMAGE_PIXELS:
                    raise InvalidProductImage(
                        "The image has too many pixels; send at most 40 megapixels.", field="file"
                    )
                probe.verify()  # a truncated or corrupt file fails here, before decoding
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                picture = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidProductImage(
            "The image has too many pixels; send at most 40 megapixels.", field="file"
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise unreadable from exc
    if min(picture.size) < MIN_PRODUCT_IMAGE_SIDE:
        raise InvalidProductImage(
            f"The image is too small; send at least {MIN_PRODUCT_IMAGE_SIDE} x "
            f"{MIN_PRODUCT_IMAGE_SIDE} pixels.",
            field="file",
        )
    if picture.mode in ("RGBA", "LA", "P"):
        # Transparent product cut-outs sit on white, as shop photos do, not on black.
        picture = picture.convert("RGBA")
        backdrop = Image.new("RGB", picture.size, (255, 255, 255))
        backdrop.paste(picture, mask=picture.getchannel("A"))
        picture = backdrop
    picture = picture.convert("RGB")
    picture.thumbnail((PRODUCT_IMAGE_SIDE, PRODUCT_IMAGE_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue()


def _prefix(product: Product) -> str:
    return f"products/{product.id}/"


def add_product_image(*, db: Session, storage: Storage, product: Product, data: bytes) -> Product:
    """Store the image and make it the product's first (shown) image."""
    if len(product.image_urls) >= MAX_PRODUCT_IMAGES:
        raise InvalidProductImage(
            f"A product has at most {MAX_PRODUCT_IMAGES} images; remove one first.", field="file"
        )
    jpeg = encode_product_image(data)
    # A new key for every upload: media URLs are cached as immutable.
    key = f"{_prefix(product)}image-{secrets.token_hex(8)}.jpg"
    storage.save(key, io.BytesIO(jpeg))
    # A new list, not an in-place change: the JSON column notices only reassignment.
    product.image_urls = [storage.url(key), *product.image_urls]
    db.flush()
    return product


def remove_product_image(
    *, db: Session, storage: Storage, product: Product, position: int
) -> Product:
    """Drop the image at `position` (0 is the shown one); an uploaded file goes after commit."""
    if not 0 <= position < len(product.image_urls):
        raise InvalidProductImage("This product has no image at that position.", field="position")
    urls = list(product.image_urls)
    url = urls.pop(position)
    product.image_urls = urls
    db.flush()
    ours = storage.url(_prefix(product))
    if url.startswith(ours):  # images given as outside URLs are only unlinked
        key = _prefix(product) + url[len(ours) :]
        after_commit(db, lambda: storage.delete_prefix(key))
    return product


def first_image_by_variant(*, db: Session, variant_ids: list[int]) -> dict[int, str]:
    """The shown image of each variant's product, for order lines (which keep only a variant)."""
    if not variant_ids:
        return {}
    rows = db.execute(
        select(ProductVariant.id, Product.image_urls)
        .join(Product, Product.id == ProductVariant.product_id)
        .where(ProductVariant.id.in_(set(variant_ids)))
    )
    return {variant_id: urls[0] for variant_id, urls in rows if urls}
