"""Routes get the app's settings, storage, sessions and payment provider as typed dependencies
(overridable in tests), never by reaching into `request.app.state`; money routes go through
the one money action."""

from __future__ import annotations

import ast
from pathlib import Path

import microdrama

SRC = Path(microdrama.__file__).parent

# Where the app's state may be read: the app that fills it and the provider functions.
PROVIDERS = {
    "app.py": "creates the state and runs the lifespan",
    "config.py": "app_settings",
    "db.py": "session_factory",
    "storage.py": "app_storage",
    "cache.py": "public_cache, part_cache",
    "rate_limits.py": "rate_limiter",
}


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(SRC).as_posix(), ast.parse(path.read_text(), str(path)))
        for path in sorted(SRC.rglob("*.py"))
    ]


def test_only_the_providers_read_the_apps_state() -> None:
    readers = sorted(
        f"{name}:{node.lineno}"
        for name, tree in _modules()
        if name not in PROVIDERS
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "state"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "app"
    )
    assert readers == [], f"read request.app.state through a typed dependency: {readers}"


def test_templates_get_what_they_show_from_their_page() -> None:
    templates = sorted(
        path.name
        for path in (SRC / "web" / "templates").rglob("*.html")
        if "app.state" in path.read_text()
    )
    assert templates == []


MONEY_CALLS = {"run_idempotent", "require_key", "run_money_transaction"}


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def test_routes_leave_the_money_transaction_to_the_money_action() -> None:
    """No route runs a money transaction or an idempotent effect by hand, nor commits its
    request's session to make the viewer visible to one: `idempotency.Money` and
    `db.MoneyTransaction` do both."""
    offenders = []
    for name, tree in _modules():
        if not name.endswith("routes.py"):
            continue
        for route in ast.walk(tree):
            if not isinstance(route, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            sessions = {
                arg.arg
                for arg in route.args.args + route.args.kwonlyargs
                if arg.annotation is not None and ast.unparse(arg.annotation) == "DbSession"
            }
            for node in ast.walk(route):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                by_hand = _called(node) in MONEY_CALLS
                commits = (
                    isinstance(func, ast.Attribute)
                    and func.attr == "commit"
                    and ast.unparse(func.value) in sessions
                )
                if by_hand or commits:
                    offenders.append(f"{name}:{node.lineno} {ast.unparse(func)}")
    assert sorted(set(offenders)) == [], offenders
