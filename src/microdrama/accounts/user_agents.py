"""Names people recognise ("Chrome on iPhone") for the User-Agent a session signed in with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DeviceKind = Literal["phone", "tablet", "computer", "other"]

# Stored at sign-in; longer headers are cut (they are only ever shown, never trusted).
USER_AGENT_MAX_CHARS = 512

# Order matters: browsers built on Chrome also say "Chrome/" and "Safari/", and Chrome on
# iOS says "Safari/" too, so the more specific tokens are looked at first.
_BROWSERS: tuple[tuple[str, str], ...] = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("Opera", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("YaBrowser/", "Yandex Browser"),
    ("Vivaldi/", "Vivaldi"),
    ("FxiOS/", "Firefox"),
    ("Firefox/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("HeadlessChrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-httpx/", "Python (httpx)"),
    ("python-requests/", "Python (requests)"),
    ("okhttp/", "Android app"),
    ("CFNetwork/", "iOS app"),
)

# (token, device name, kind): the first match wins, so iPad before Mac (iPadOS may say Mac).
_DEVICES: tuple[tuple[str, str, DeviceKind], ...] = (
    ("iPhone", "iPhone", "phone"),
    ("iPad", "iPad", "tablet"),
    ("iPod", "iPod", "phone"),
    ("Windows Phone", "Windows Phone", "phone"),
    ("Android", "Android", "phone"),
    ("CrOS", "Chromebook", "computer"),
    ("Windows", "Windows", "computer"),
    ("Macintosh", "Mac", "computer"),
    ("Mac OS X", "Mac", "computer"),
    ("Linux", "Linux", "computer"),
)


@dataclass(frozen=True)
class ClientDescription:
    browser: str | None
    device: str | None
    # Picks the icon.
    kind: DeviceKind

    @property
    def label(self) -> str:
        """One line for the sessions list: "Chrome on Mac", "Firefox", "Unknown device"."""
        if self.browser and self.device:
            return f"{self.browser} on {self.device}"
        return self.browser or self.device or "Unknown device"


def describe_user_agent(user_agent: str | None) -> ClientDescription:
    """The browser and device a User-Agent names, as well as a plain lookup can tell; never
    fails (headers are whatever the client sent), unknown parts are None."""
    text = (user_agent or "")[:USER_AGENT_MAX_CHARS]
    browser = next((name for token, name in _BROWSERS if token in text), None)
    device: str | None = None
    kind: DeviceKind = "other"
    for token, name, device_kind in _DEVICES:
        if token in text:
            device, kind = name, device_kind
            break
    if device == "Android" and "Mobile" not in text:
        device, kind = "Android tablet", "tablet"
    elif device == "Android":
        device = "Android phone"
    return ClientDescription(browser=browser, device=device, kind=kind)
