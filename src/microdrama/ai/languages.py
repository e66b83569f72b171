"""Language codes and names for generated subtitle tracks (BCP 47, as the subtitles domain)."""

from __future__ import annotations

# What a generated track is called in the player's menu (in its own language, as menus do).
NAMES = {
    "ar": "العربية",
    "de": "Deutsch",
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "hi": "हिन्दी",
    "id": "Bahasa Indonesia",
    "it": "Italiano",
    "ja": "日本語",
    "ko": "한국어",
    "pt": "Português",
    "pt-BR": "Português (Brasil)",
    "ru": "Русский",
    "th": "ไทย",
    "tr": "Türkçe",
    "vi": "Tiếng Việt",
    "zh": "中文",
}


def base(code: str) -> str:
    """The language without its region or script: "pt-BR" → "pt"."""
    return code.split("-")[0].lower()


def name(code: str) -> str:
    """The language's own name, or the code when we have none."""
    return NAMES.get(code) or NAMES.get(base(code)) or code


def same_language(first: str, second: str) -> bool:
    return base(first) == base(second)
