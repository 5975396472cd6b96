"""The index checker applies Firestore's rules: a query without its index is reported."""

from __future__ import annotations

import json

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.protobuf.json_format import MessageToDict

import index_rules
from pathlib import Path

DECLARED = json.loads((Path(__file__).resolve().parents[2] / "firestore.indexes.json").read_text())
DB = firestore.Client(project="demo-index-rules", credentials=AnonymousCredentials())


def _shape(query) -> index_rules.Shape:
    """The StructuredQuery the SDK would send, as the capture records it."""
    pb = query._to_protobuf()
    return index_rules.shape(MessageToDict(pb._pb if hasattr(pb, "_pb") else pb))


def _without(collection: str) -> dict:
    return {**DECLARED, "indexes": [ix for ix in DECLARED["indexes"] if ix["collectionGroup"] != collection]}


DRAFTS = (DB.collection("invoices").where(filter=FieldFilter("status", "==", "draft"))
          .order_by("createdAt").order_by("__name__").limit(10))
CALLS = (DB.collection("callLogs").where(filter=FieldFilter("companyId", "==", "c1"))
         .where(filter=FieldFilter("startedAt", ">=", 1)).where(filter=FieldFilter("startedAt", "<", 2))
         .order_by("startedAt"))


@pytest.mark.parametrize("query,collection", [(DRAFTS, "invoices"), (CALLS, "callLogs")])
def test_a_query_whose_composite_index_is_removed_is_reported(query, collection):
    s = _shape(query)
    assert index_rules.served(s, DECLARED)
    assert index_rules.unserved([s], _without(collection)) == [s]


@pytest.mark.parametrize("query", [
    DB.collection("invoices").where(filter=FieldFilter("companyId", "==", "c")),
    DB.collection("invoices").where(filter=FieldFilter("companyId", "==", "c"))
    .where(filter=FieldFilter("status", "==", "issued")),  # equalities merge single-field indexes
    DB.collection("invoices").where(filter=FieldFilter("invoiceDate", ">=", "a"))
    .where(filter=FieldFilter("invoiceDate", "<", "b")).order_by("invoiceDate"),
    DB.collection("runs").where(filter=FieldFilter("state", "==", "failed")).order_by("__name__"),
    DB.collection("companies").order_by("__name__"),
    DB.collection("companies").document("c").collection("callLogs")
    .where(filter=FieldFilter("startedAt", ">=", 1)).order_by("startedAt"),
])
def test_automatic_single_field_indexes_serve_equalities_and_one_field_ranges(query):
    s = _shape(query)
    assert not index_rules.needed(s) and index_rules.served(s, {"indexes": []})


@pytest.mark.parametrize("query", [
    DB.collection("invoices").where(filter=FieldFilter("status", "==", "x")).order_by("createdAt"),
    DB.collection("invoices").where(filter=FieldFilter("companyId", "==", "c"))
    .where(filter=FieldFilter("invoiceDate", ">=", "a")),  # implicit order on the range field
    DB.collection("invoices").order_by("companyId").order_by("invoiceDate"),
    DB.collection("invoices").where(filter=FieldFilter("a", ">", 1)).where(filter=FieldFilter("b", "<", 2)),
])
def test_equality_with_an_order_or_range_elsewhere_needs_a_composite(query):
    s = _shape(query)
    assert index_rules.needed(s) and not index_rules.served(s, {"indexes": []})


def test_direction_and_field_order_must_match():
    s = _shape(DB.collection("invoices").where(filter=FieldFilter("status", "==", "x"))
               .order_by("createdAt", direction=firestore.Query.DESCENDING))
    assert not index_rules.served(s, DECLARED)
    assert index_rules.served(s, {"indexes": [{"collectionGroup": "invoices", "queryScope": "COLLECTION", "fields": [
        {"fieldPath": "status", "order": "ASCENDING"}, {"fieldPath": "createdAt", "order": "DESCENDING"}]}]})


def test_collection_group_queries_need_collection_group_indexes_even_for_one_field():
    s = _shape(DB.collection_group("callLogs").where(filter=FieldFilter("companyId", "==", "c")))
    assert not index_rules.served(s, {"indexes": []})
    override = {"collectionGroup": "callLogs", "fieldPath": "companyId",
                "indexes": [{"order": "ASCENDING", "queryScope": "COLLECTION_GROUP"}]}
    assert index_rules.served(s, {"indexes": [], "fieldOverrides": [override]})
