"""`atqb jobs show` tells an operator what happened to a PO: its steps, each request and answer,
and QuickBooks' messages in plain words."""

from __future__ import annotations

import json

import pytest

from service.cli import main
from service.simulators.webconnector import Faults
from tests.sync.helpers import CABLE, MOUSE, Harness, line, order, stock

pytestmark = pytest.mark.postgres


def show(h: Harness, job_id: int, capsys: pytest.CaptureFixture[str], *more: str) -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ATQB_DATABASE_URL", h.database_url)
        code = main(["jobs", "show", str(job_id), *more])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_a_po_whose_answer_was_lost_tells_its_whole_story(
    h: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    h.enqueue([order(1, line(11, CABLE, 2))], stock(p101=2))
    h.run(Faults(crash_after_message=4))  # right after the PO add (message 1 checks accounts)
    h.run()
    (po,) = h.jobs("purchase_order")
    out = show(h, po.id, capsys)
    assert f"job #{po.id}  purchase_order  done" in out
    assert "subject:    PO P1 · Acme Supply" in out
    assert "Autotask:   PurchaseOrders 1" in out
    assert "waits for:  #" in out
    assert "vendor done (Vendor Acme Supply (Autotask 1))" in out
    assert "needed by:  #" in out
    assert "item_receipt done" in out
    assert "how: found after a lost answer" in out
    assert "ref_number: AT1" in out
    assert "steps: 2 request(s) sent" in out
    assert "PurchaseOrderAddRq: add the purchase order" in out
    assert "answer at" in out
    assert "no answer: new authenticate for the same user" in out
    assert "QuickBooks may have carried the request out" in out
    assert "PurchaseOrderQueryRq: read the purchase order (AT1)" in out
    assert "QuickBooks status 0 (Info): Status OK" in out
    assert "QuickBooks carried out the request. Nothing to do." in out
    assert "<PurchaseOrderAddRq" in out  # the raw request follows, for support
    shown = json.loads(show(h, po.id, capsys, "--json"))
    assert len(shown["transmissions"]) == 2
    assert shown["result"]["ref_number"] == "AT1"


def test_a_refused_item_shows_quickbooks_message_and_what_to_do(
    h: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    h.qb.add_item("Mouse", "NonInventory")
    h.enqueue([order(1, line(11, CABLE, 1), line(12, MOUSE, 1))])
    h.run()
    (item,) = [j for j in h.jobs("item") if j.autotask_id == MOUSE.id]
    out = show(h, item.id, capsys)
    assert "ItemQueryRq: look up item(s) of every type (" in out
    assert "(one request for several jobs: requestID" in out or "Mouse" in out
    assert 'QuickBooks status 3100 (Error): The name "Mouse" of the list element is already' in out
    assert "The name is already used by another QuickBooks record." in out
    assert "error:      QuickBooks 3100 (Error)" in out
    (po,) = h.jobs("purchase_order")
    out = show(h, po.id, capsys)
    assert "steps: 0 request(s) sent" in out
    assert f"#{item.id} item failed" in out
