"""The simulated QuickBooks' lists: names, namespaces, IDs, queries, items and accounts."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from service.simulators.quickbooks import SimulatedQuickBooks
from tests.simulators.helpers import (
    ACCOUNTS,
    Clock,
    check_answer,
    customer_add,
    envelope,
    is_valid,
    item_add,
    one,
    ret,
    send,
    status,
    value,
    vendor_add,
)

LIST_ID = re.compile(r"^[0-9A-F]+-\d{10}$")
NAME_IN_USE = 'The name "{}" of the list element is already in use.'


def vendor_query(body: str, request_id: str = "q") -> str:
    return f'<VendorQueryRq requestID="{request_id}">{body}</VendorQueryRq>'


def name_filter(criterion: str, name: str) -> str:
    return (
        f"<NameFilter><MatchCriterion>{criterion}</MatchCriterion><Name>{name}</Name></NameFilter>"
    )


# ----------------------------------------------------------------------------- IDs and times


def test_list_records_get_real_shaped_ids_times_and_edit_sequences(
    qb: SimulatedQuickBooks, clock: Clock
) -> None:
    vendor = ret(one(qb, vendor_add("Acme Supply")))
    list_id = value(vendor, "ListID")
    assert LIST_ID.match(list_id)
    assert list_id.endswith(f"-{int(clock.now.timestamp())}")
    assert value(vendor, "TimeCreated") == "2024-03-01T10:00:00-05:00"  # QuickBooks local time
    assert value(vendor, "TimeModified") == value(vendor, "TimeCreated")
    assert value(vendor, "EditSequence") == str(int(clock.now.timestamp()))
    clock.advance()
    other = ret(one(qb, customer_add("Contoso")))
    assert value(other, "ListID") != list_id
    assert int(value(other, "ListID").split("-")[0], 16) > int(list_id.split("-")[0], 16)


def test_a_user_edit_gives_a_fresh_edit_sequence_even_within_the_same_second(
    qb: SimulatedQuickBooks,
) -> None:
    vendor = qb.add_vendor("Acme Supply")
    first = qb.simulate_ui_edit(vendor.list_id)
    second = qb.simulate_ui_edit(vendor.list_id)
    assert len({vendor.edit_sequence, first, second}) == 3
    assert isinstance(second, str)
    answered = ret(one(qb, vendor_query(f"<ListID>{vendor.list_id}</ListID>")))
    assert value(answered, "EditSequence") == second


# ----------------------------------------------------------------------------- names


def test_vendor_names_are_case_insensitive(qb: SimulatedQuickBooks) -> None:
    one(qb, vendor_add("Acme Supply"))
    rs = one(qb, vendor_add("ACME supply"))
    assert status(rs) == (3100, "Error", NAME_IN_USE.format("ACME supply"))
    assert len(rs) == 0
    assert qb.counts()["Vendor"] == 1
    found = ret(one(qb, vendor_query("<FullName>acme SUPPLY</FullName>")))
    assert value(found, "Name") == "Acme Supply"


@pytest.mark.parametrize("owner", ["customer", "employee", "other_name"])
def test_vendors_share_one_namespace_with_customers_employees_and_other_names(
    qb: SimulatedQuickBooks, owner: str
) -> None:
    getattr(qb, f"add_{owner}")("Northwind")
    rs = one(qb, vendor_add("Northwind"))
    assert status(rs) == (3100, "Error", NAME_IN_USE.format("Northwind"))
    assert qb.vendor("Northwind") is None


def test_a_customer_cannot_take_a_vendors_name(qb: SimulatedQuickBooks) -> None:
    one(qb, vendor_add("Northwind"))
    assert status(one(qb, customer_add("northwind")))[0] == 3100
    assert qb.name_owner("NORTHWIND") is not None
    assert qb.name_owner("NORTHWIND").kind == "Vendor"  # type: ignore[union-attr]


def test_inactive_records_still_own_their_names(qb: SimulatedQuickBooks) -> None:
    qb.add_vendor("Old Supplier", is_active=False)
    assert status(one(qb, vendor_add("Old Supplier")))[0] == 3100
    assert status(one(qb, customer_add("Old Supplier")))[0] == 3100

    default = one(qb, vendor_query(name_filter("StartsWith", "Old")))
    assert status(default) == (
        1,
        "Info",
        "A query request did not find a matching object in QuickBooks",
    )
    everything = one(
        qb, vendor_query("<ActiveStatus>All</ActiveStatus>" + name_filter("StartsWith", "Old"))
    )
    assert value(ret(everything), "IsActive") == "false"
    inactive = one(qb, vendor_query("<ActiveStatus>InactiveOnly</ActiveStatus>"))
    assert [v.findtext("Name") for v in inactive] == ["Old Supplier"]
    by_name = one(qb, vendor_query("<FullName>Old Supplier</FullName>"))
    assert status(by_name)[0] == 0  # the list form finds inactive records too


def test_set_active_makes_a_record_inactive_like_a_user_would(qb: SimulatedQuickBooks) -> None:
    vendor = qb.add_vendor("Acme Supply")
    qb.set_active("acme supply", False)
    after = qb.vendor("Acme Supply")
    assert after is not None
    assert not after.is_active
    assert after.edit_sequence != vendor.edit_sequence
    assert status(one(qb, vendor_query("")))[0] == 1


def test_jobs_are_unique_within_their_customer(qb: SimulatedQuickBooks) -> None:
    answers = send(
        qb,
        customer_add("Contoso", "1"),
        customer_add("Fabrikam", "2"),
        customer_add("Project 42", "3", parent="Contoso"),
        customer_add("Project 42", "4", parent="Fabrikam"),
        customer_add("project 42", "5", parent="Contoso"),
        on_error="continueOnError",
    )
    assert [status(rs)[0] for rs in answers] == [0, 0, 0, 0, 3100]
    job = ret(answers[2])
    assert value(job, "FullName") == "Contoso:Project 42"
    assert value(job, "Sublevel") == "1"
    assert value(job, "ParentRef/FullName") == "Contoso"
    found = one(qb, "<CustomerQueryRq><FullName>Contoso:Project 42</FullName></CustomerQueryRq>")
    assert value(ret(found), "ListID") == value(job, "ListID")
    assert qb.customer("Fabrikam:Project 42") is not None


def test_a_job_under_a_missing_customer_is_an_invalid_reference(qb: SimulatedQuickBooks) -> None:
    rs = one(qb, customer_add("Project 42", parent="Nobody"))
    assert status(rs) == (
        3140,
        "Error",
        'There is an invalid reference to QuickBooks Customer "Nobody" in the Customer.',
    )


def test_items_of_every_type_share_one_namespace(qb: SimulatedQuickBooks) -> None:
    qb.add_item("Cable Kit", "NonInventory")
    qb.add_item("Install", "Service")
    assert status(one(qb, item_add("CABLE KIT"))) == (
        3100,
        "Error",
        NAME_IN_USE.format("CABLE KIT"),
    )
    assert status(one(qb, item_add("install")))[0] == 3100
    assert qb.counts()["ItemInventory"] == 0
    # Items and names are separate namespaces: a vendor may be called like an item.
    assert status(one(qb, vendor_add("Cable Kit")))[0] == 0


def test_item_query_returns_each_item_as_its_own_type(qb: SimulatedQuickBooks) -> None:
    qb.add_item("Cable Kit", "NonInventory")
    qb.add_item("Install", "Service")
    qb.add_item("Widget", "Inventory", quantity_on_hand=4)
    rs = one(qb, "<ItemQueryRq><ActiveStatus>All</ActiveStatus></ItemQueryRq>")
    assert [(r.tag, r.findtext("Name")) for r in rs] == [
        ("ItemNonInventoryRet", "Cable Kit"),
        ("ItemServiceRet", "Install"),
        ("ItemInventoryRet", "Widget"),
    ]
    by_name = one(qb, "<ItemQueryRq><FullName>cable kit</FullName></ItemQueryRq>")
    assert ret(by_name).tag == "ItemNonInventoryRet"
    wrong_type = one(
        qb, "<ItemInventoryQueryRq><FullName>Cable Kit</FullName></ItemInventoryQueryRq>"
    )
    assert status(wrong_type)[0] == 500
    non_inventory = one(qb, "<ItemNonInventoryQueryRq/>")
    assert value(ret(non_inventory), "SalesOrPurchase/AccountRef/FullName") == "Cost of Goods Sold"


# ----------------------------------------------------------------------------- query forms


def test_a_name_list_query_returns_what_it_finds_and_warns_about_the_rest(
    qb: SimulatedQuickBooks,
) -> None:
    qb.add_vendor("Acme Supply")
    qb.add_vendor("Globex")
    rs = one(
        qb,
        vendor_query(
            "<FullName>Globex</FullName><FullName>Missing Co</FullName>"
            "<FullName>Acme Supply</FullName>"
        ),
    )
    assert status(rs) == (
        500,
        "Warn",
        "The query request has not been fully completed. There was a required element "
        '("Missing Co") that could not be found in QuickBooks.',
    )
    assert [v.findtext("Name") for v in rs] == ["Globex", "Acme Supply"]


def test_a_list_id_query_finds_by_id_and_warns_about_unknown_ids(
    qb: SimulatedQuickBooks,
) -> None:
    vendor = qb.add_vendor("Acme Supply")
    found = one(qb, vendor_query(f"<ListID>{vendor.list_id}</ListID>"))
    assert value(ret(found), "Name") == "Acme Supply"
    missing = one(qb, vendor_query("<ListID>8000FFFF-1700000000</ListID>"))
    assert status(missing)[:2] == (500, "Warn")
    assert '("8000FFFF-1700000000")' in status(missing)[2]
    assert len(missing) == 0


def test_a_customer_is_not_found_by_a_vendor_query(qb: SimulatedQuickBooks) -> None:
    qb.add_customer("Contoso")
    assert status(one(qb, vendor_query("<FullName>Contoso</FullName>")))[0] == 500


@pytest.mark.parametrize(
    ("criterion", "name", "expected"),
    [
        ("StartsWith", "ac", ["Acme Supply", "Acorn Parts"]),
        ("Contains", "SUPP", ["Acme Supply", "Best Supplies"]),
        ("EndsWith", "parts", ["Acorn Parts"]),
    ],
)
def test_name_filters_match_case_insensitively(
    qb: SimulatedQuickBooks, criterion: str, name: str, expected: list[str]
) -> None:
    for vendor in ("Best Supplies", "Acorn Parts", "Acme Supply"):
        qb.add_vendor(vendor)
    rs = one(qb, vendor_query(name_filter(criterion, name)))
    assert [v.findtext("Name") for v in rs] == expected


def test_max_returned_and_name_range_filter(qb: SimulatedQuickBooks) -> None:
    for vendor in ("Delta", "Alpha", "Charlie", "Bravo"):
        qb.add_vendor(vendor)
    capped = one(qb, vendor_query("<MaxReturned>2</MaxReturned>"))
    assert [v.findtext("Name") for v in capped] == ["Alpha", "Bravo"]
    ranged = one(
        qb,
        vendor_query(
            "<NameRangeFilter><FromName>b</FromName><ToName>charlie</ToName></NameRangeFilter>"
        ),
    )
    assert [v.findtext("Name") for v in ranged] == ["Bravo", "Charlie"]


def test_modified_date_filter_selects_by_time_modified(
    qb: SimulatedQuickBooks, clock: Clock
) -> None:
    qb.add_vendor("Early")
    clock.advance(3600)
    qb.add_vendor("Late")
    # 16:00 UTC is 11:00 at the simulated QuickBooks' -05:00
    local = one(qb, vendor_query("<FromModifiedDate>2024-03-01T11:00:00</FromModifiedDate>"))
    assert [v.findtext("Name") for v in local] == ["Late"]
    utc = one(qb, vendor_query("<FromModifiedDate>2024-03-01T15:30:00+00:00</FromModifiedDate>"))
    assert [v.findtext("Name") for v in utc] == ["Late"]
    until = one(qb, vendor_query("<ToModifiedDate>2024-03-01T10:30:00-05:00</ToModifiedDate>"))
    assert [v.findtext("Name") for v in until] == ["Early"]
    whole_day = one(qb, vendor_query("<ToModifiedDate>2024-03-01</ToModifiedDate>"))
    assert len(whole_day) == 2


def test_a_date_time_the_pattern_allows_but_no_calendar_has_is_3020(
    qb: SimulatedQuickBooks,
) -> None:
    qb.add_vendor("Acme")
    rs = one(qb, vendor_query("<FromModifiedDate>2024-13-45T99:00:00</FromModifiedDate>"))
    assert status(rs) == (
        3020,
        "Error",
        'There was an error when converting the date value "2024-13-45T99:00:00" in the field '
        '"FromModifiedDate".',
    )


# ----------------------------------------------------------------------------- items and accounts


def test_inventory_part_answer_carries_accounts_cost_and_quantity_on_hand(
    qb: SimulatedQuickBooks,
) -> None:
    item = ret(one(qb, item_add("Widget", cost="12.50")))
    assert item.tag == "ItemInventoryRet"
    assert value(item, "IncomeAccountRef/FullName") == "Autotask Income from PO"
    assert LIST_ID.match(value(item, "COGSAccountRef/ListID"))
    assert value(item, "AssetAccountRef/FullName") == "Inventory Asset"
    assert value(item, "PurchaseCost") == "12.50"
    assert value(item, "QuantityOnHand") == "0"
    assert value(item, "SalesDesc") == "Widget"
    queried = ret(
        one(qb, "<ItemInventoryQueryRq><FullName>widget</FullName></ItemInventoryQueryRq>")
    )
    assert value(queried, "QuantityOnHand") == "0"
    assert value(queried, "ListID") == value(item, "ListID")


def test_an_item_name_longer_than_31_is_3070(qb: SimulatedQuickBooks) -> None:
    document = envelope(item_add("W" * 32), valid=False)
    assert not is_valid(document)
    (rs,) = check_answer(qb.process(document))
    assert status(rs)[0] == 3070


def test_an_unknown_account_is_an_invalid_reference(qb: SimulatedQuickBooks) -> None:
    accounts = ACCOUNTS.replace("Cost of Goods Sold", "COGS - Hardware")
    rs = one(qb, item_add("Widget", accounts=accounts))
    assert status(rs) == (
        3140,
        "Error",
        'There is an invalid reference to QuickBooks Account "COGS - Hardware" in the '
        "Item Inventory.",
    )
    assert qb.item("Widget") is None


def test_a_missing_account_is_refused_too(qb: SimulatedQuickBooks) -> None:
    accounts = ACCOUNTS.split("<AssetAccountRef>")[0]
    rs = one(qb, item_add("Widget", accounts=accounts))
    assert status(rs) == (
        3140,
        "Error",
        "There is an invalid reference to QuickBooks Account in the Item Inventory.",
    )
    assert qb.item("Widget") is None


def test_accounts_can_be_referenced_by_list_id(qb: SimulatedQuickBooks) -> None:
    asset = qb.account("Inventory Asset")
    assert asset is not None
    accounts = ACCOUNTS.replace(
        "<AssetAccountRef><FullName>Inventory Asset</FullName>",
        f"<AssetAccountRef><ListID>{asset.list_id}</ListID>",
    )
    item = ret(one(qb, item_add("Widget", accounts=accounts)))
    assert value(item, "AssetAccountRef/FullName") == "Inventory Asset"
    bad = accounts.replace(asset.list_id, "80FFFFFF-1700000000")
    assert status(one(qb, item_add("Gadget", accounts=bad)))[0] == 3140


def test_an_account_added_for_the_test_can_be_used(qb: SimulatedQuickBooks) -> None:
    qb.add_account("Hardware Sales", "Income")
    accounts = ACCOUNTS.replace("Autotask Income from PO", "hardware sales")
    item = ret(one(qb, item_add("Widget", accounts=accounts)))
    assert value(item, "IncomeAccountRef/FullName") == "Hardware Sales"


def test_non_inventory_and_service_items_can_be_added_by_request(qb: SimulatedQuickBooks) -> None:
    answers = send(
        qb,
        "<ItemNonInventoryAddRq requestID='1'><ItemNonInventoryAdd><Name>Cable Kit</Name>"
        "<SalesOrPurchase><Desc>Cables</Desc><Price>5.00</Price>"
        "<AccountRef><FullName>Cost of Goods Sold</FullName></AccountRef></SalesOrPurchase>"
        "</ItemNonInventoryAdd></ItemNonInventoryAddRq>",
        "<ItemServiceAddRq requestID='2'><ItemServiceAdd><Name>Install</Name>"
        "<SalesAndPurchase><IncomeAccountRef><FullName>Sales</FullName></IncomeAccountRef>"
        "<ExpenseAccountRef><FullName>Cost of Goods Sold</FullName></ExpenseAccountRef>"
        "</SalesAndPurchase></ItemServiceAdd></ItemServiceAddRq>",
        "<ItemNonInventoryAddRq requestID='3'><ItemNonInventoryAdd><Name>No Account</Name>"
        "<SalesOrPurchase><Desc>x</Desc></SalesOrPurchase>"
        "</ItemNonInventoryAdd></ItemNonInventoryAddRq>",
        on_error="continueOnError",
    )
    assert [status(rs)[0] for rs in answers] == [0, 0, 3140]
    cable = ret(answers[0])
    assert cable.tag == "ItemNonInventoryRet"
    assert value(cable, "SalesOrPurchase/AccountRef/ListID")
    assert value(ret(answers[1]), "SalesAndPurchase/IncomeAccountRef/FullName") == "Sales"
    assert qb.item("Cable Kit").item_type == "NonInventory"  # type: ignore[union-attr]


def test_the_default_chart_of_accounts(qb: SimulatedQuickBooks) -> None:
    rs = one(qb, "<AccountQueryRq/>")
    names = {a.findtext("FullName"): a.findtext("AccountType") for a in rs}
    assert names["Inventory Asset"] == "OtherCurrentAsset"
    assert names["Cost of Goods Sold"] == "CostOfGoodsSold"
    assert names["Autotask Income from PO"] == "Income"
    assert names["Inventory Adjustment"] == "CostOfGoodsSold"
    assert names["Accounts Payable"] == "AccountsPayable"
    income = one(qb, "<AccountQueryRq><AccountType>Income</AccountType></AccountQueryRq>")
    assert {a.findtext("Name") for a in income} == {"Sales", "Autotask Income from PO"}
    assert SimulatedQuickBooks(default_accounts=False).counts()["Account"] == 0


def test_setup_and_counts(qb: SimulatedQuickBooks) -> None:
    qb.add_vendor("Acme Supply")
    qb.add_customer("Contoso")
    qb.add_customer("Project 1", parent="Contoso")
    qb.add_item("Widget", quantity_on_hand=Decimal("2.5"), purchase_cost=3)
    qb.add_item("Cable Kit", "NonInventory")
    qb.add_list_entry("Class", "Hardware")
    counts = qb.counts()
    assert counts["Vendor"] == 1
    assert counts["Customer"] == 2
    assert counts["ItemInventory"] == 1
    assert counts["ItemNonInventory"] == 1
    assert counts["PurchaseOrder"] == counts["ItemReceipt"] == counts["InventoryAdjustment"] == 0
    assert qb.quantity_on_hand("widget") == Decimal("2.5")
    with pytest.raises(KeyError):
        qb.quantity_on_hand("Nothing")
    with pytest.raises(KeyError):
        qb.add_customer("Job", parent="Acme Supply")  # a vendor cannot have jobs
    with pytest.raises(KeyError):
        qb.add_item("Gadget", income_account="No Such Account")


def test_snapshots_do_not_change_the_company(qb: SimulatedQuickBooks) -> None:
    vendor = qb.add_vendor("Acme Supply")
    vendor.name = "Changed"
    assert qb.vendor("Acme Supply") is not None
    assert qb.vendor("Changed") is None
