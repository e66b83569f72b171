"""Shop catalog schemas: the products and variants brands send and read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from microdrama.types import Line, Text

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"


class VariantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Line = Field(min_length=1, max_length=120)
    sku: str = Field(pattern=SKU_PATTERN)
    stock: int = Field(default=0, ge=0, le=1_000_000)
    price_cents: int | None = Field(default=None, ge=0, le=100_000_000)


class VariantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Line | None = Field(default=None, min_length=1, max_length=120)
    stock: int | None = Field(default=None, ge=0, le=1_000_000)
    price_cents: int | None = Field(default=None, ge=0, le=100_000_000)


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Line = Field(min_length=1, max_length=200)
    description: Text = Field(default="", max_length=4000)
    image_urls: list[Line] = Field(default_factory=list, max_length=10)
    price_cents: int = Field(ge=0, le=100_000_000)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    sku: str = Field(pattern=SKU_PATTERN)
    active: bool = True
    variants: list[VariantCreate] = Field(default_factory=list, max_length=50)


class ProductUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Line | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=4000)
    image_urls: list[Line] | None = Field(default=None, max_length=10)
    price_cents: int | None = Field(default=None, ge=0, le=100_000_000)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    active: bool | None = None


class VariantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    sku: str
    stock: int
    price_cents: int | None


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str
    image_urls: list[str]
    price_cents: int
    currency: str
    sku: str
    active: bool
    variants: list[VariantRead]
