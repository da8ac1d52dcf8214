"""Picklists: values resolved by label from the tenant's field definitions."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from service.autotask import AutotaskClient, MalformedResponse, PicklistError
from tests.autotask.autotask_fakes import BASE, swagger_item


def choice(value: str, label: str, *, active: bool = True, order: int = 0) -> dict[str, Any]:
    """A ``PickListValue``."""
    return swagger_item(
        "PickListValue",
        value=value,
        label=label,
        isDefaultValue=False,
        sortOrder=order,
        parentValue="",
        isActive=active,
        isSystem=True,
    )


def field(name: str, *choices: dict[str, Any], data_type: str = "integer") -> dict[str, Any]:
    """A ``FieldInformationModel``."""
    return swagger_item(
        "FieldInformationModel",
        name=name,
        dataType=data_type,
        length=0,
        isRequired=True,
        isReadOnly=False,
        isQueryable=True,
        isReference=False,
        referenceEntityType="",
        isPickList=bool(choices),
        picklistValues=list(choices) or None,
        picklistParentValueField="",
        isSupportedWebhookField=False,
    )


# This tenant numbers its statuses differently from the "1..5" a secondary source claims.
PO_FIELDS = {
    "fields": [
        field("id", data_type="long"),
        field(
            "status",
            choice("11", "New", order=1),
            choice("12", "Submitted", order=2),
            choice("13", "Received Partial", order=3),
            choice("14", "Received Full", order=4),
            choice("20", "Canceled", active=False, order=5),
            choice("21", "Canceled", order=6),
        ),
        field("externalPONumber", data_type="string"),
    ]
}
COMPANY_FIELDS = {
    "fields": [
        field(
            "companyType",
            choice("1", "Customer"),
            choice("2", "Lead"),
            choice("3", "Prospect"),
            choice("4", "Dead"),
            choice("6", "Cancelation"),
            choice("7", "Vendor"),
            choice("8", "Partner"),
        )
    ]
}


def test_values_are_resolved_by_label_and_the_definitions_are_read_once(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        method="GET", url=BASE + "PurchaseOrders/entityInformation/fields", json=PO_FIELDS
    )
    httpx_mock.add_response(
        method="GET", url=BASE + "Companies/entityInformation/fields", json=COMPANY_FIELDS
    )

    assert client.picklist_value("PurchaseOrders", "status", "Canceled") == 21
    assert client.picklist_value("PurchaseOrders", "Status", "received  partial") == 13
    assert client.picklist_value("PurchaseOrders", "status", "Cancelled", "Canceled") == 21
    assert client.picklist("PurchaseOrders", "status").label_of(12) == "Submitted"
    assert client.picklist("PurchaseOrders", "status").label_of(99) is None
    assert client.picklist_value("Companies", "companyType", "Vendor") == 7
    assert client.requests_made == 2


def test_a_missing_label_lists_the_labels_the_tenant_has(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=COMPANY_FIELDS)
    with pytest.raises(PicklistError) as caught:
        client.picklist_value("Companies", "companyType", "Supplier")
    assert str(caught.value) == (
        "Autotask Companies.companyType has no value labelled 'Supplier' in this tenant "
        "(its labels: 'Customer', 'Lead', 'Prospect', 'Dead', 'Cancelation', 'Vendor', "
        "'Partner'). Check the picklist in Autotask Admin, or the API user's permission to "
        "read it."
    )
    assert (caught.value.entity, caught.value.field) == ("Companies", "companyType")


def test_fields_that_are_not_picklists_or_do_not_exist_are_picklist_errors(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=PO_FIELDS)
    with pytest.raises(PicklistError, match="externalPONumber is not a picklist field"):
        client.picklist("PurchaseOrders", "externalPONumber")
    with pytest.raises(PicklistError, match="has no field 'orderStatus'"):
        client.picklist("PurchaseOrders", "orderStatus")


def test_two_active_values_with_one_label_are_ambiguous(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        json={"fields": [field("status", choice("1", "New"), choice("9", "new"))]}
    )
    with pytest.raises(PicklistError, match="several values labelled 'New' \\(1, 9\\)"):
        client.picklist_value("PurchaseOrders", "status", "New")


def test_a_value_that_is_not_an_integer_is_a_picklist_error(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json={"fields": [field("status", choice("N", "New"))]})
    with pytest.raises(PicklistError, match="value for 'New' is 'N', not an integer"):
        client.picklist_value("PurchaseOrders", "status", "New")


@pytest.mark.parametrize(
    "answer",
    [
        {"fields": None},
        [],
        {"fields": [{"dataType": "integer"}]},
        {"fields": [{"name": "status", "picklistValues": {"value": "1"}}]},
        {"fields": [{"name": "status", "picklistValues": [{"value": "1"}]}]},
        {"fields": [{"name": "status", "isPickList": "yes"}]},
    ],
)
def test_field_definitions_not_shaped_like_the_swagger_are_malformed(
    client: AutotaskClient, httpx_mock: HTTPXMock, answer: Any
) -> None:
    httpx_mock.add_response(json=answer)
    with pytest.raises(MalformedResponse, match="field definitions of PurchaseOrders"):
        client.picklist("PurchaseOrders", "status")
