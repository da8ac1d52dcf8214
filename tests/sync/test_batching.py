"""Few round trips: lookups of many jobs share one request, jobs that need no request finish
inside the round trip and free the jobs waiting for them, and the batch size still holds."""

from __future__ import annotations

import pytest

from service.clock import utcnow
from service.db import Database
from service.jobstore import JobStore
from service.kinds import Lookup
from service.settings import load_settings
from service.simulators.quickbooks import SimulatedQuickBooks
from service.sync.enqueue import enqueue_purchase_orders
from service.sync.mapping import MappingKind, Mappings
from service.sync.model import Company
from service.webconnector.exchange import Exchange
from service.xmlsafe import parse_text
from tests.support import add_user
from tests.sync.helpers import CABLE, PASSWORD, USER, harness, line, order


def test_a_lookup_needs_values_and_merges_without_repeating_a_name() -> None:
    with pytest.raises(ValueError, match="at least one value"):
        Lookup("vendor", "full_names", ())
    a = Lookup("vendor", "full_names", ("Acme", "Contoso"))
    merged = a.merged([Lookup("vendor", "full_names", ("ACME", "Northwind"))])
    assert merged.values == ("Acme", "Contoso", "Northwind")  # QuickBooks ignores case
    ids = Lookup("item", "list_ids", ("1-1",)).merged([Lookup("item", "list_ids", ("1-1", "2-1"))])
    assert ids.values == ("1-1", "2-1")
    with pytest.raises(ValueError, match="cannot merge"):
        a.merged([Lookup("customer", "full_names", ("Acme",))])
    request = merged.build("7")
    assert request.name == "VendorQueryRq"
    assert request.xml.count("<FullName>") == 3


def _drive(db: Database, qb: SimulatedQuickBooks, batch_size: int) -> list[str]:
    """Run one Web Connector session against the exchange directly; the messages sent."""
    exchange = Exchange(db, load_settings(batch_size=batch_size))
    ticket, _ = exchange.authenticate(USER, PASSWORD)
    messages = []
    first = True
    while True:
        xml = exchange.send_request_xml(ticket, "x" if first else "", "", "US", 13, 0)
        first = False
        if not xml:
            break
        messages.append(xml)
        if exchange.receive_response_xml(ticket, qb.process(xml), "", "") >= 100:
            break
    exchange.close_connection(ticket)
    return messages


def _requests(message: str) -> list[str]:
    found = parse_text(message).find("QBXMLMsgsRq")
    assert found is not None
    return [str(rq.tag) for rq in found]


@pytest.mark.postgres
def test_many_lookups_share_requests_and_the_batch_size_holds(postgres_db: Database) -> None:
    db = postgres_db
    add_user(db, USER, PASSWORD)
    vendors = [Company(1000 + n, f"Vendor {n:03}") for n in range(150)]
    orders = [
        order(n + 1, line(10 * (n + 1), CABLE, 1), vendor=v, ship_to=None)
        for n, v in enumerate(vendors)
    ]
    enqueue_purchase_orders(db, load_settings(transfer_mode="unreceived"), USER, orders)
    qb = SimulatedQuickBooks()
    for v in vendors[:120]:
        qb.add_vendor(v.name.upper())  # most vendors exist already, in another case
    messages = _drive(db, qb, batch_size=50)
    first = _requests(messages[0])
    # 150 vendor lookups in 2 requests and the account check: one round trip (the item's
    # lookup waits for the check, which runs once, before the first item).
    assert first.count("VendorQueryRq") == 2
    assert "AccountQueryRq" in first
    assert len(first) == 3
    assert all(len(_requests(m)) <= 50 for m in messages)
    counts = qb.counts()
    assert (counts["Vendor"], counts["PurchaseOrder"]) == (150, 150)
    # lookups; 30 vendor adds and the item lookup; the item add; 150 POs in batches of 50.
    assert len(messages) == 1 + 1 + 1 + 3


def test_jobs_that_need_no_request_free_their_dependents_in_the_same_round_trip(
    postgres_database_url: str, postgres_db: Database
) -> None:
    with harness(postgres_database_url, postgres_db) as h:
        h.enqueue([order(1, line(11, CABLE, 1))])
        # Meanwhile the records became known (another run learned them).
        with h.db.transaction() as conn:
            mappings = Mappings(conn, utcnow(), USER)
            mapped: list[tuple[MappingKind, int, str]] = [
                ("vendor", 1, "Acme Supply"),
                ("customer", 2, "Contoso Ltd"),
                ("item", 101, "Cable Cat6"),
            ]
            for kind, autotask_id, name in mapped:
                list_id = (
                    (h.qb.add_vendor if kind == "vendor" else h.qb.add_customer)(name).list_id
                    if kind != "item"
                    else h.qb.add_item(name).list_id
                )
                mappings.put(kind, autotask_id, qb_id=list_id, qb_name=name)
            store = JobStore(conn, utcnow())
            for check in store.find(kind="account_check"):
                store.complete(check.id, {"accounts": "checked by another run"})
        (session,) = h.run()
        h.assert_all_done()
        assert h.request_names() == ["PurchaseOrderAddRq", "ItemReceiptAddRq"]
        assert session.round_trips == 2
        assert {j.result["how"] for j in h.jobs() if j.kind in ("vendor", "item")} == {"known"}  # type: ignore[index]
