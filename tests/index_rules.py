"""Which index serves a Firestore query: Firestore's rules, applied to captured StructuredQuery JSON.

Firestore (native mode) keeps, for every field of a collection, automatic single-field indexes
(ascending, descending, array-contains) with COLLECTION scope only. Without a composite index it
serves:
  - equality filters (==, in, array-contains, is-null) on any number of fields, merging the
    single-field indexes, when nothing is ordered except the document name (__name__);
  - range / inequality filters and orderings that all name ONE field (plus __name__), with no
    equality filter on another field.
Anything else (equality on one field with a range or an order on another, an order on two fields,
range filters on two fields) needs a composite index whose fields are the equality fields (in any
order), then the query's ordering: the explicit order-bys, then the inequality fields not ordered
explicitly (by name), in the direction of the last explicit order (ascending by default); each
direction must match. A collection-group query needs indexes of COLLECTION_GROUP scope, including
single-field ones (declared in fieldOverrides): the automatic ones are collection-scoped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

EQUALITY = {"EQUAL", "IN", "ARRAY_CONTAINS", "ARRAY_CONTAINS_ANY", "IS_NULL", "IS_NAN"}
CONTAINS = {"ARRAY_CONTAINS", "ARRAY_CONTAINS_ANY"}
NAME = "__name__"


@dataclass(frozen=True)
class Shape:
    """What of a query decides its index: collection, scope, equality fields, ordering."""

    collection: str
    scope: str  # COLLECTION | COLLECTION_GROUP
    equality: frozenset[tuple[str, str]]  # (field, "ORDER" | "CONTAINS")
    inequality: frozenset[str]
    orders: tuple[tuple[str, str], ...]  # explicit order-bys, __name__ last one dropped

    def ordering(self) -> tuple[tuple[str, str], ...]:
        """The index order the query needs after its equality fields."""
        explicit = list(self.orders)
        direction = explicit[-1][1] if explicit else "ASCENDING"
        named = {field for field, _ in explicit}
        return tuple(explicit + [(f, direction) for f in sorted(self.inequality - named)])

    def describe(self) -> str:
        eq = ", ".join(f"{f} ==" if m == "ORDER" else f"{f} contains" for f, m in sorted(self.equality))
        order = ", ".join(f"{f} {d.lower()}" for f, d in self.ordering())
        return f"{self.collection} [{self.scope.lower()}] where ({eq or '-'}) order ({order or '-'})"


def _filters(where: dict[str, Any] | None) -> Iterable[tuple[str, str]]:
    if not where:
        return
    if "compositeFilter" in where:
        composite = where["compositeFilter"]
        if composite.get("op", "AND") != "AND":
            raise ValueError(f"OR queries are not modelled here: {composite}")
        for sub in composite.get("filters", []):
            yield from _filters(sub)
    elif "fieldFilter" in where:
        yield where["fieldFilter"]["field"]["fieldPath"], where["fieldFilter"]["op"]
    elif "unaryFilter" in where:
        op = where["unaryFilter"]["op"]
        yield where["unaryFilter"]["field"]["fieldPath"], "IS_NULL" if op in ("IS_NULL", "IS_NAN") else "NOT_EQUAL"


def shape(query: dict[str, Any]) -> Shape:
    """The shape of one StructuredQuery (as JSON, protobuf field names in camelCase)."""
    source = query["from"][0]
    equality, inequality = set(), set()
    for field, op in _filters(query.get("where")):
        if op in EQUALITY:
            equality.add((field, "CONTAINS" if op in CONTAINS else "ORDER"))
        else:
            inequality.add(field)
    orders = [(o["field"]["fieldPath"], o.get("direction", "ASCENDING")) for o in query.get("orderBy", [])]
    if orders and orders[-1][0] == NAME:
        orders.pop()
    return Shape(collection=source["collectionId"],
                 scope="COLLECTION_GROUP" if source.get("allDescendants") else "COLLECTION",
                 equality=frozenset(equality), inequality=frozenset(inequality), orders=tuple(orders))


def _single_field(s: Shape) -> set[str] | None:
    """The fields whose single-field indexes serve the query, or None when it needs a composite."""
    ordered = {f for f, _ in s.ordering()}
    if not ordered:
        return {f for f, _ in s.equality}
    if len(ordered) == 1 and {f for f, _ in s.equality} <= ordered:
        return ordered
    return None


def _override_serves(field: str, s: Shape, overrides: list[dict[str, Any]]) -> bool | None:
    """What a fieldOverride says about the field in this scope (None: no override for it)."""
    for override in overrides:
        if override.get("collectionGroup") == s.collection and override.get("fieldPath") == field:
            return any(ix.get("queryScope", "COLLECTION") == s.scope for ix in override.get("indexes", []))
    return None


def _composite_serves(index: dict[str, Any], s: Shape) -> bool:
    if index.get("collectionGroup") != s.collection or index.get("queryScope", "COLLECTION") != s.scope:
        return False
    fields = [f for f in index.get("fields", []) if f["fieldPath"] != NAME]
    head, tail = fields[:len(s.equality)], fields[len(s.equality):]
    have = {(f["fieldPath"], "CONTAINS" if f.get("arrayConfig") == "CONTAINS" else "ORDER") for f in head}
    if have != set(s.equality) or not all("order" in f or "arrayConfig" in f for f in head):
        return False
    return [(f["fieldPath"], f.get("order")) for f in tail] == list(s.ordering())


def served(s: Shape, indexes: dict[str, Any]) -> bool:
    """True when the declared indexes (plus Firestore's automatic ones) serve the query."""
    if any(_composite_serves(ix, s) for ix in indexes.get("indexes", [])):
        return True
    fields = _single_field(s)
    if fields is None:
        return False
    overrides = indexes.get("fieldOverrides", [])
    for field in fields:
        said = _override_serves(field, s, overrides)
        if said is False or (said is None and s.scope != "COLLECTION"):
            return False
    return True


def needed(s: Shape) -> bool:
    """True when the query needs a declared composite index."""
    return _single_field(s) is None


def load_captured(directory: Path) -> list[Shape]:
    shapes = []
    for path in sorted(directory.glob("queries-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                shapes.append(shape(json.loads(line)["query"]))
    return shapes


def unserved(shapes: Iterable[Shape], indexes: dict[str, Any]) -> list[Shape]:
    return sorted({s for s in shapes if not served(s, indexes)}, key=Shape.describe)


def unused(shapes: Iterable[Shape], indexes: dict[str, Any]) -> list[dict[str, Any]]:
    """Declared composite indexes that no captured query needs."""
    needing = [s for s in set(shapes) if needed(s)]
    return [ix for ix in indexes.get("indexes", []) if not any(_composite_serves(ix, s) for s in needing)]
