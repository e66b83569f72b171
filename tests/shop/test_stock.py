"""Stock changes in one place: no module but shop/stock.py writes a variant's `stock`, so every
change takes the variant row locks in primary-key order and none can oversell."""

from __future__ import annotations

import ast
from pathlib import Path

import microdrama

SOURCE = Path(microdrama.__file__).parent
STOCK_MODULE = SOURCE / "shop" / "stock.py"


def _writes_stock(node: ast.AST) -> bool:
    """Whether a statement assigns `<something>.stock` (=, +=, -=, annotated) or calls
    setattr(…, "stock", …)."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id == "setattr" and _names_stock(node.args[1:2])
    return any(
        isinstance(sub, ast.Attribute) and sub.attr == "stock"
        for target in targets
        for sub in ast.walk(target)
    )


def _names_stock(nodes: list[ast.expr]) -> bool:
    return any(isinstance(n, ast.Constant) and n.value == "stock" for n in nodes)


def _stock_writes(source: str, name: str) -> list[str]:
    """Where a module writes stock: the statements above, and functions that call setattr with
    a computed name while spelling "stock" somewhere (a loop over field names, say)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename=name)):
        if _writes_stock(node):
            found.append(f"{name}:{getattr(node, 'lineno', 0)}")
        elif isinstance(node, ast.FunctionDef):
            inside = list(ast.walk(node))
            computed_setattr = any(
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Name)
                and n.func.id == "setattr"
                and not isinstance(n.args[1], ast.Constant)
                for n in inside
            )
            if computed_setattr and _names_stock([n for n in inside if isinstance(n, ast.expr)]):
                found.append(f"{name}:{node.lineno} {node.name} (setattr)")
    return found


def test_only_the_stock_module_changes_stock() -> None:
    writers = [
        where
        for path in sorted(SOURCE.rglob("*.py"))
        if path != STOCK_MODULE
        for where in _stock_writes(path.read_text(), str(path.relative_to(SOURCE)))
    ]
    assert writers == [], f"stock is changed outside shop/stock.py: {writers}"


def test_the_check_sees_the_writes_it_forbids() -> None:
    # The guard above is only worth something if it notices the writes orders.py and the
    # brand's variant edit used to make themselves.
    before = """
def checkout(variant, w):
    variant.stock -= w.quantity

def return_stock(variants, line):
    variants[line.variant_id].stock += line.quantity

def update_variant(variant, changes):
    for field in ("name", "stock"):
        setattr(variant, field, changes[field])

def by_name(variant):
    setattr(variant, "stock", 3)
"""
    assert len(_stock_writes(before, "before.py")) == 4
