"""Query filters: the JSON the API expects, and clear errors for values it would reject."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from service.autotask import filters as f


def test_each_operator_serialises_to_the_documented_filter_object() -> None:
    assert f.serialise(
        [
            f.eq("status", 2),
            f.noteq("companyName", "Acme"),
            f.gt("id", 0),
            f.gte("id", 0),
            f.lt("quantity", 5),
            f.lte("quantity", 5),
            f.begins_with("name", "Cab"),
            f.ends_with("name", "le"),
            f.contains("name", "ab"),
            f.exist("externalPONumber"),
            f.not_exist("cancelDateTime"),
            f.in_("orderID", [7, 8]),
            f.not_in("sku", ["A", "B"]),
            f.eq("isActive", True),
        ]
    ) == [
        {"op": "eq", "field": "status", "value": 2},
        {"op": "noteq", "field": "companyName", "value": "Acme"},
        {"op": "gt", "field": "id", "value": 0},
        {"op": "gte", "field": "id", "value": 0},
        {"op": "lt", "field": "quantity", "value": 5},
        {"op": "lte", "field": "quantity", "value": 5},
        {"op": "beginsWith", "field": "name", "value": "Cab"},
        {"op": "endsWith", "field": "name", "value": "le"},
        {"op": "contains", "field": "name", "value": "ab"},
        {"op": "exist", "field": "externalPONumber"},
        {"op": "notExist", "field": "cancelDateTime"},
        {"op": "in", "field": "orderID", "value": [7, 8]},
        {"op": "notIn", "field": "sku", "value": ["A", "B"]},
        {"op": "eq", "field": "isActive", "value": True},
    ]


def test_groups_nest_and_udf_filters_are_marked() -> None:
    built = f.and_(
        f.or_(f.eq("status", 1), f.eq("status", 2)),
        f.eq("QuickBooks Ref", "X1", udf=True),
    )
    assert f.serialise([built]) == [
        {
            "op": "and",
            "items": [
                {
                    "op": "or",
                    "items": [
                        {"op": "eq", "field": "status", "value": 1},
                        {"op": "eq", "field": "status", "value": 2},
                    ],
                },
                {"op": "eq", "field": "QuickBooks Ref", "value": "X1", "udf": True},
            ],
        }
    ]


def test_datetimes_are_sent_as_utc_iso_8601_with_z() -> None:
    eastern = timezone(timedelta(hours=-5))
    assert (
        f.gte("createDateTime", datetime(2024, 5, 1, 7, 30, 0, 123456, tzinfo=eastern)).to_json()[
            "value"
        ]
        == "2024-05-01T12:30:00.123Z"
    )
    assert f.lt("createDateTime", datetime(2024, 1, 1, tzinfo=UTC)).to_json()["value"] == (
        "2024-01-01T00:00:00.000Z"
    )


def test_a_naive_datetime_is_refused_because_autotask_works_in_utc() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        f.gte("createDateTime", datetime(2024, 5, 1))  # noqa: DTZ001 - the naive value under test


@pytest.mark.parametrize("value", [None, 1.5, Decimal("2"), ["a"], {"a": 1}])
def test_values_the_api_does_not_accept_are_refused_when_built(value: object) -> None:
    with pytest.raises(TypeError, match="Autotask accepts"):
        f.eq("status", value)  # type: ignore[arg-type]


def test_in_needs_a_non_empty_list_of_ints_or_strings() -> None:
    with pytest.raises(ValueError, match="at least one value"):
        f.in_("orderID", [])
    with pytest.raises(TypeError, match="integers or strings"):
        f.in_("orderID", [1, True])
    with pytest.raises(TypeError, match="integers or strings"):
        f.not_in("orderID", [1, None])  # type: ignore[list-item]


def test_empty_field_names_and_groups_are_refused() -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        f.eq(" ", 1)
    with pytest.raises(ValueError, match="at least one filter"):
        f.or_()
    with pytest.raises(TypeError, match="groups filters"):
        f.and_({"op": "eq"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"service\.autotask\.filters"):
        f.serialise([{"op": "eq", "field": "id", "value": 1}])  # type: ignore[list-item]
