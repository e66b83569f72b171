"""Pictures for the demo brand's products, drawn with Pillow so the demo ships no photos."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence

from PIL import Image, ImageDraw, ImageFilter, ImageFont
from sqlalchemy.orm import Session

from microdrama.shop.catalog.images import add_product_image
from microdrama.shop.models import Product
from microdrama.storage import Storage

SIDE = 800
SCALE = 2  # drawn at twice the size, then shrunk: smooth edges without an antialiasing API
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

Color = tuple[int, int, int]
Box = tuple[float, float, float, float]
Painter = Callable[[ImageDraw.ImageDraw, int, Color], None]


def _palette(sku: str) -> tuple[Color, Color, Color]:
    """A soft two-tone backdrop and an accent, the same for a SKU on every run."""
    digest = hashlib.sha256(sku.encode()).digest()
    warm = (236 + digest[0] % 16, 214 + digest[1] % 24, 208 + digest[2] % 28)
    cool = (206 + digest[3] % 30, 196 + digest[4] % 30, 222 + digest[5] % 24)
    accent = (150 + digest[6] % 60, 18 + digest[7] % 30, 48 + digest[8] % 40)
    return warm, cool, accent


def _box(s: int, *values: float) -> Box:
    x0, y0, x1, y1 = (v * s for v in values)
    return (x0, y0, x1, y1)


def _lipstick(draw: ImageDraw.ImageDraw, s: int, accent: Color) -> None:
    draw.rounded_rectangle(_box(s, 0.38, 0.50, 0.62, 0.86), radius=0.03 * s, fill=(34, 30, 38))
    draw.rounded_rectangle(_box(s, 0.40, 0.40, 0.60, 0.52), radius=0.02 * s, fill=(212, 175, 96))
    draw.polygon(
        [(0.42 * s, 0.41 * s), (0.42 * s, 0.22 * s), (0.58 * s, 0.14 * s), (0.58 * s, 0.41 * s)],
        fill=accent,
    )


def _serum(draw: ImageDraw.ImageDraw, s: int, accent: Color) -> None:
    draw.rounded_rectangle(_box(s, 0.33, 0.38, 0.67, 0.86), radius=0.06 * s, fill=(250, 246, 240))
    draw.rounded_rectangle(_box(s, 0.36, 0.52, 0.64, 0.83), radius=0.04 * s, fill=accent)
    draw.rectangle(_box(s, 0.44, 0.28, 0.56, 0.38), fill=(40, 36, 44))
    draw.ellipse(_box(s, 0.42, 0.14, 0.58, 0.30), fill=(40, 36, 44))


def _mask(draw: ImageDraw.ImageDraw, s: int, accent: Color) -> None:
    draw.line([(0.08 * s, 0.50 * s), (0.92 * s, 0.50 * s)], fill=(60, 52, 60), width=int(0.02 * s))
    for x0 in (0.18, 0.50):
        draw.ellipse(_box(s, x0, 0.34, x0 + 0.32, 0.66), fill=accent)
    draw.rounded_rectangle(_box(s, 0.44, 0.42, 0.56, 0.58), radius=0.03 * s, fill=accent)


def _nails(draw: ImageDraw.ImageDraw, s: int, accent: Color) -> None:
    for row in range(3):
        for col in range(4):
            x0 = 0.20 + col * 0.155
            y0 = 0.20 + row * 0.21
            draw.rounded_rectangle(
                _box(s, x0, y0, x0 + 0.11, y0 + 0.17), radius=0.05 * s, fill=accent
            )
            draw.ellipse(_box(s, x0 + 0.02, y0 + 0.02, x0 + 0.05, y0 + 0.06), fill=(255, 255, 255))


def _gift(draw: ImageDraw.ImageDraw, s: int, accent: Color) -> None:
    draw.rounded_rectangle(_box(s, 0.26, 0.34, 0.74, 0.82), radius=0.03 * s, fill=accent)
    draw.rectangle(_box(s, 0.47, 0.34, 0.53, 0.82), fill=(250, 230, 200))


PAINTERS: dict[str, Painter] = {
    "lipstick": _lipstick,
    "serum": _serum,
    "mask": _mask,
    "nail": _nails,
}


def draw_product_image(title: str, sku: str, brand: str = "LUMA") -> bytes:
    """A square PNG of the product on a soft backdrop with the brand's name under it."""
    s = SIDE * SCALE
    warm, cool, accent = _palette(sku)
    picture = Image.new("RGB", (s, s), warm)
    backdrop = ImageDraw.Draw(picture)
    for y in range(0, s, 4):  # a vertical blend, four rows at a time (fast enough, smooth)
        t = y / s
        row = tuple(round(a + (b - a) * t) for a, b in zip(warm, cool, strict=True))
        backdrop.rectangle((0, y, s, y + 4), fill=row)
    shadow = Image.new("L", (s, s), 0)
    ImageDraw.Draw(shadow).ellipse(_box(s, 0.22, 0.82, 0.78, 0.92), fill=90)
    picture.paste((70, 50, 60), mask=shadow.filter(ImageFilter.GaussianBlur(s * 0.02)))
    painter = next((p for word, p in PAINTERS.items() if word in title.lower()), _gift)
    painter(ImageDraw.Draw(picture), s, accent)
    try:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(FONT, s // 22)
    except OSError:  # no DejaVu: Pillow's own font still names the brand
        font = ImageFont.load_default(size=s // 22)
    ImageDraw.Draw(picture).text(
        (s / 2, 0.955 * s), brand, fill=(70, 50, 60), font=font, anchor="ms"
    )
    out = io.BytesIO()
    picture.resize((SIDE, SIDE), Image.Resampling.LANCZOS).save(out, format="PNG")
    return out.getvalue()


def give_demo_images(*, db: Session, storage: Storage, products: Sequence[Product]) -> None:
    """One drawn image for each demo product that has none, through the brands' upload path."""
    for product in products:
        if not product.image_urls:
            data = draw_product_image(product.title, product.sku)
            add_product_image(db=db, storage=storage, product=product, data=data)
