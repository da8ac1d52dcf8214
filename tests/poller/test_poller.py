"""The poller on both engines: idempotence, outages, manual selection, the full inventory sync,
which company file, and what an idle cycle costs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from service.autotask import AutotaskClient, RequestBudget
from service.clock import utcnow
from service.db import Database
from service.poller.core import Poller, PollerError, resolve_qbwc_user
from service.poller.cycles import PollCycles
from service.settings import load_settings
from service.simulators.autotask import SimulatedAutotask
from tests.poller.helpers import Shop, all_jobs, atqb, point_cli_at, populate
from tests.support import add_user
from tests.sync.helpers import harness


@pytest.fixture
def shop(tenant: SimulatedAutotask) -> Shop:
    return populate(tenant)


@pytest.fixture
def client(tenant: SimulatedAutotask) -> Iterator[AutotaskClient]:
    with tenant.client(sleep=lambda _seconds: None) as made:
        yield made


@pytest.fixture
def cli(
    db: Database,
    database_url: str,
    tenant: SimulatedAutotask,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Callable[..., None]:
    """Points `atqb` at the tenant and the test database (with one Web Connector user);
    call it with more ATQB_* variables."""
    monkeypatch.chdir(tmp_path)
    add_user(db, "office", "pw")

    def configure(**more: str) -> None:
        point_cli_at(monkeypatch, tenant, database_url, **more)

    configure()
    return configure


def _poller(db: Database, database_url: str, client: AutotaskClient, **settings: object) -> Poller:
    add_user(db, "office", "pw")
    return Poller(db, load_settings(database_url=database_url, **settings), client)


@pytest.fixture
def poller(
    db: Database,
    database_url: str,
    shop: Shop,  # noqa: ARG001 - shop fills the tenant the poller reads
    client: AutotaskClient,
) -> Poller:
    """The poller of the small shop, in `all` selection and received mode."""
    return _poller(db, database_url, client)


def test_a_second_cycle_enqueues_nothing_and_an_idle_cycle_costs_the_same_for_more_pos(
    db: Database, tenant: SimulatedAutotask, shop: Shop, poller: Poller
) -> None:
    first = poller.run_cycle()
    assert first.ok
    assert first.new == 2
    assert first.enqueued["purchase_order"] == 2
    made = len(all_jobs(db))
    again = poller.run_cycle()
    assert again.ok
    assert again.enqueued == {}
    assert len(all_jobs(db)) == made
    idle_small = poller.run_cycle().requests
    for number in range(40):
        po = tenant.add_purchase_order(shop.acme, status="Submitted")
        tenant.add_line(po, shop.cable, number + 1, "3.00")
    assert poller.run_cycle().new == 40
    poller.run_cycle()
    idle_large = poller.run_cycle().requests
    assert idle_small == idle_large <= 12


@pytest.mark.usefixtures("shop")
def test_an_outage_fails_the_cycle_without_losing_its_place(
    db: Database, tenant: SimulatedAutotask, poller: Poller
) -> None:
    tenant.server_error_next(50)
    failed = poller.run_cycle()
    assert not failed.ok
    assert "Autotask" in (failed.error or "")
    assert all_jobs(db) == []
    tenant.clear_faults()
    tenant.rate_limit_next(1, retry_after=1)
    recovered = poller.run_cycle()
    assert recovered.ok
    assert recovered.new == 2
    assert recovered.enqueued["purchase_order"] == 2
    with db.transaction() as conn:
        cycles = PollCycles(conn, utcnow()).recent()
    assert [c.outcome for c in cycles] == ["ok", "failed"]
    assert cycles[1].error
    assert "Autotask" in cycles[1].error


def test_a_canceled_po_is_never_transferred(
    db: Database, database_url: str, tenant: SimulatedAutotask, shop: Shop, client: AutotaskClient
) -> None:
    tenant.cancel_purchase_order(shop.po2)
    outcome = _poller(db, database_url, client).run_cycle()
    assert outcome.new == 1
    assert {j.autotask_id for j in all_jobs(db) if j.kind == "purchase_order"} == {shop.po1}


def test_manual_selection_transfers_only_what_atqb_transfer_selected(
    db: Database, shop: Shop, cli: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    cli(ATQB_TRANSFER_SELECTION="manual")
    status, out, _ = atqb(capsys, "poll", "--once")
    assert status == 0
    assert "enqueued nothing new" in out
    status, out, _ = atqb(capsys, "transfer", str(shop.po2))
    assert status == 0
    assert f"PO {shop.po2}: selected" in out
    assert "note" not in out
    status, out, _ = atqb(capsys, "transfer", str(shop.po2))
    assert f"PO {shop.po2}: already selected" in out
    status, out, _ = atqb(capsys, "poll", "--once")
    assert "purchase_order 1" in out
    assert {j.autotask_id for j in all_jobs(db) if j.kind == "purchase_order"} == {shop.po2}


@pytest.mark.usefixtures("cli")
def test_transfer_in_all_mode_says_what_the_selection_still_brings_in(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = atqb(capsys, "transfer", "17", "18")
    assert status == 0
    assert "ATQB_TRANSFER_SELECTION is all" in out
    assert "brings in older POs" in out
    assert "External P.O. # was set outside atqb" in out


@pytest.mark.usefixtures("cli")
def test_inventory_sync_full_is_carried_out_by_the_next_cycle_once(
    db: Database, shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    atqb(capsys, "poll", "--once")
    status, out, _ = atqb(capsys, "inventory-sync", "--full")
    assert status == 0
    assert "requested" in out
    status, out, _ = atqb(capsys, "inventory-sync", "--full")
    assert "already requested" in out
    status, out, _ = atqb(capsys, "poll", "--once")
    assert status == 0
    assert "full inventory sync" in out
    full = [j for j in all_jobs(db) if j.payload.get("reason") == "full inventory sync"]
    # Only the widget is stocked in Autotask.
    assert len(full) == 1
    assert full[0].payload["product_ids"] == [shop.widget]
    status, out, _ = atqb(capsys, "poll", "--once")
    assert "full inventory sync" not in out
    assert "enqueued nothing new" in out


def test_which_company_file(db: Database, database_url: str) -> None:
    settings = load_settings(database_url=database_url)
    with pytest.raises(PollerError, match="no Web Connector user yet"):
        resolve_qbwc_user(db, settings)
    add_user(db, "office", "pw")
    assert resolve_qbwc_user(db, settings) == "office"
    add_user(db, "warehouse", "pw")
    with pytest.raises(PollerError, match="set ATQB_QBWC_USER"):
        resolve_qbwc_user(db, settings)
    chosen = load_settings(database_url=database_url, qbwc_user="warehouse")
    assert resolve_qbwc_user(db, chosen) == "warehouse"
    wrong = load_settings(database_url=database_url, qbwc_user="nobody")
    with pytest.raises(PollerError, match="no such Web Connector user"):
        resolve_qbwc_user(db, wrong)


@pytest.mark.usefixtures("db")
def test_poll_without_autotask_credentials_names_them(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATQB_DATABASE_URL", database_url)
    for name in ("USERNAME", "SECRET", "INTEGRATION_CODE"):
        monkeypatch.delenv(f"ATQB_AUTOTASK_{name}", raising=False)
    status, _, err = atqb(capsys, "poll", "--once")
    assert status == 1
    assert "ATQB_AUTOTASK_USERNAME" in err
    assert "ATQB_AUTOTASK_SECRET" in err


def test_a_wrong_secret_fails_the_cycle_and_names_the_setting(
    db: Database, database_url: str, tenant: SimulatedAutotask
) -> None:
    with tenant.client(secret="wrong", sleep=lambda _seconds: None) as client:
        outcome = _poller(db, database_url, client).run_cycle()
    assert not outcome.ok
    assert "ATQB_AUTOTASK_SECRET" in (outcome.error or "")
    assert "FAILED" in outcome.line()
    assert all_jobs(db) == []


def test_counts_catch_a_cancelled_receipt_and_a_canceled_po_without_the_rolling_check(
    db: Database, database_url: str, tenant: SimulatedAutotask, shop: Shop, client: AutotaskClient
) -> None:
    add_user(db, "office", "pw")
    settings = load_settings(database_url=database_url)
    poller = Poller(db, settings, client, sweep_size=0)
    poller.run_cycle()
    assert poller.run_cycle().checked == 0  # nothing read whole when nothing changed
    (receipt,) = tenant.find("PurchaseOrderItemReceiving", purchaseOrderItemID=shop.po1_widgets)
    tenant.cancel_receipt(receipt["id"])
    assert poller.run_cycle().changed == 1
    tenant.cancel_purchase_order(shop.po2)
    outcome = poller.run_cycle()
    assert outcome.ok
    assert outcome.changed == 1
    po2_jobs = [j for j in all_jobs(db) if j.autotask_id == shop.po2 and j.kind == "purchase_order"]
    assert [j.status for j in po2_jobs] == ["cancelled"]
    tenant.delete(
        "PurchaseOrderItems", tenant.find("PurchaseOrderItems", orderID=shop.po2)[0]["id"]
    )
    tenant.delete("PurchaseOrders", shop.po2)
    assert poller.run_cycle().ok
    assert poller.run_cycle().checked == 0  # the deleted PO is not looked for again


def test_po_numbers_are_written_back_once_and_only_when_asked(
    db: Database, database_url: str, tenant: SimulatedAutotask, shop: Shop, client: AutotaskClient
) -> None:
    with harness(database_url, db) as h:
        quiet = Poller(
            db, load_settings(database_url=database_url, write_back_po_number=False), client
        )
        quiet.run_cycle()
        h.run()
        h.assert_all_done()
        assert quiet.run_cycle().written_back == []
        assert tenant.get("PurchaseOrders", shop.po1)["externalPONumber"] is None
        poller = Poller(db, load_settings(database_url=database_url), client)
        assert sorted(poller.run_cycle().written_back) == [
            (shop.po1, f"AT{shop.po1}"),
            (shop.po2, f"AT{shop.po2}"),
        ]
        assert tenant.get("PurchaseOrders", shop.po1)["externalPONumber"] == f"AT{shop.po1}"
        patches = tenant.count_requests(action="patch")
        assert poller.run_cycle().written_back == []
        assert tenant.count_requests(action="patch") == patches


@pytest.mark.usefixtures("shop")
def test_a_used_up_request_budget_is_recorded_as_throttling_and_the_next_cycle_catches_up(
    db: Database, database_url: str, tenant: SimulatedAutotask
) -> None:
    clock = [0.0]
    budget = RequestBudget(per_hour=5, max_wait=0, clock=lambda: clock[0])
    with tenant.client(budget=budget, sleep=lambda _seconds: None) as client:
        poller = _poller(db, database_url, client)
        stopped = poller.run_cycle()
        assert not stopped.ok
        assert stopped.throttled == 1
        assert stopped.retry_after
        assert "budget" in (stopped.error or "")
        assert all_jobs(db) == []
        clock[0] += 3600  # an hour later the budget has room again
        budget.limit = 100
        assert poller.run_cycle().enqueued["purchase_order"] == 2
    with db.transaction() as conn:
        cycles = PollCycles(conn, utcnow()).recent()
    assert [(c.outcome, c.autotask_throttled) for c in cycles] == [("ok", 0), ("failed", 1)]
