"""Mappings read and written many at a time, on SQLite and on PostgreSQL: the same rows as one at
a time, in a constant number of statements."""

from __future__ import annotations

from datetime import UTC, datetime

from service.db import Database
from service.sync.mapping import MappingKind, Mappings
from tests.test_statements import counting

T0 = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)


def test_get_kinds_reads_several_kinds_in_one_statement(db: Database) -> None:
    with db.transaction() as conn:
        mine, other = Mappings(conn, T0, "office"), Mappings(conn, T0, "warehouse")
        mine.put("vendor", 7, qb_id="80000001-1", qb_name="Acme")
        mine.put("customer", 7, qb_id="80000002-1", qb_name="Acme")
        mine.put("item", 101, data={"on_hand": "5"})
        mine.put("po_line", 11, qb_id="1-1", data={"received": "2"})
        other.put("vendor", 8, qb_id="80000003-1", qb_name="Elsewhere")
    with db.transaction() as conn, counting(db) as seen:
        mappings = Mappings(conn, T0, "office")
        found = mappings.get_kinds(
            {"vendor": [7, 8], "customer": [7], "item": [101, 102], "receiving": [5]}
        )
        asked: list[tuple[MappingKind, list[int]]] = [
            ("vendor", [7, 8]),
            ("customer", [7]),
            ("item", [101, 102]),
        ]
        one_by_one = {kind: mappings.get_many(kind, ids) for kind, ids in asked}
    assert len(seen) == 1 + 3
    assert {kind: sorted(by_id) for kind, by_id in found.items()} == {
        "vendor": [7],
        "customer": [7],
        "item": [101],
        "receiving": [],
    }
    assert found["vendor"][7].qb_name == "Acme"
    assert found["item"][101].data == {"on_hand": "5"}
    assert {kind: found[kind] for kind in one_by_one} == one_by_one


def test_get_kinds_reads_many_ids_a_few_statements_at_a_time(db: Database) -> None:
    with db.transaction() as conn:
        Mappings(conn, T0, "office").put_many("po_line", {i: {"po": 1} for i in range(12_000)})
    with db.transaction() as conn, counting(db) as seen:
        found = Mappings(conn, T0, "office").get_kinds({"po_line": range(-5, 12_005)})
    assert sorted(found["po_line"]) == list(range(12_000))
    assert len(seen) == 3  # 12,010 ids, 5,000 a statement


def test_put_many_merges_data_like_put_in_one_statement(db: Database) -> None:
    with db.transaction() as conn:
        mappings = Mappings(conn, T0, "office")
        mappings.put("item", 101, qb_id="80000001-1", qb_name="Cable", data={"note": "kept"})
        mappings.put("item", 102, data={"on_hand": "1"})
    later = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    with db.transaction() as conn, counting(db) as seen:
        made = Mappings(conn, later, "office").put_many(
            "item",
            {
                101: {"on_hand": "5"},
                102: {"on_hand": "7", "gone": None},
                103: {"on_hand": "0"},
            },
        )
    assert len(seen) == 1
    assert made[101].qb_id == "80000001-1"
    assert made[101].qb_name == "Cable"
    assert made[101].data == {"note": "kept", "on_hand": "5"}
    assert made[102].data == {"on_hand": "7"}
    assert made[103].data == {"on_hand": "0"}
    assert made[103].qb_id is None
    with db.transaction() as conn:
        again = Mappings(conn, later, "office")
        assert again.get_many("item", [101, 102, 103]) == made
        one = again.put("item", 104, data={"on_hand": "2"})
    assert one.data == {"on_hand": "2"}


def test_put_many_of_nothing_runs_no_statement(db: Database) -> None:
    with db.transaction() as conn, counting(db) as seen:
        assert Mappings(conn, T0, "office").put_many("item", {}) == {}
        assert Mappings(conn, T0, "office").get_kinds({}) == {}
    assert seen == []
