"""The Core statements the busiest paths prepare once at import (an UPDATE or INSERT in a module
constant) compile as they will run. SQLAlchemy keeps a column's own name for the SET and VALUES
clauses: a `bindparam` named after a column of the table written fails to compile, and only
when the statement first runs. The session's "last seen" update did so, and every viewer back
after five minutes got a 500 from the feed, the unlock and the players' events."""

from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy.sql import visitors
from sqlalchemy.sql.dml import UpdateBase

import microdrama


def _prepared() -> list[tuple[str, UpdateBase]]:
    found = []
    for module in pkgutil.walk_packages(microdrama.__path__, "microdrama."):
        loaded = importlib.import_module(module.name)
        for name, value in vars(loaded).items():
            if isinstance(value, UpdateBase):
                found.append((f"{module.name}.{name}", value))
    return found


def test_no_prepared_write_names_a_parameter_after_a_column_it_writes() -> None:
    prepared = _prepared()
    clashes = [
        f"{name}: {sorted(clash)}"
        for name, statement in prepared
        if (
            clash := {
                node.key
                for node in visitors.iterate(statement)
                if node.__visit_name__ == "bindparam"
            }
            & set(statement.table.c.keys())  # type: ignore[attr-defined]
        )
    ]

    assert len(prepared) >= 10  # the scan finds them (sessions, unlocks, orders, stock…)
    assert clashes == []
