"""`atqb jobs show` tells an operator what happened to a PO: its steps, each request and answer,
and QuickBooks' messages in plain words."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from service.admin.pages import _verdict
from service.cli import main
from service.jobstore import Job, Transmission
from service.simulators.webconnector import Faults
from service.sync.explain import job_story, verdict
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
    assert "QuickBooks carried out the request. What to do: Nothing to do." in out
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


SENT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
JOB = Job.from_row(
    {
        **dict.fromkeys(Job.__dataclass_fields__),
        **{"id": 1, "kind": "vendor", "qbwc_user": "office", "status": "pending"},
        **{"priority": 0, "payload": {}, "state": {}, "subject": "", "attempts": 0},
        **{"max_attempts": 10, "run_after": SENT, "created_at": SENT, "updated_at": SENT},
    }
)


def _sent(**answer: Any) -> Transmission:
    fields: dict[str, Any] = {
        "response_xml": None,
        "hresult": None,
        "message": None,
        "status_code": None,
        "status_severity": None,
        "status_message": None,
        "received_at": SENT,
    }
    fields.update(answer)
    return Transmission(1, 1, 1, "1", "<QBXML/>", sent_at=SENT, **fields)


@pytest.mark.parametrize(
    ("answer", "said", "tone", "meaning"),
    [
        (
            {"status_code": 0, "status_severity": "Info", "status_message": "Status OK"},
            "QuickBooks status 0 (Info): Status OK",
            "ok",
            "QuickBooks carried out the request.",  # the message is in ``said``, not repeated
        ),
        (
            {"status_code": 3200, "status_severity": "Error", "status_message": "stale"},
            "QuickBooks status 3200 (Error): stale",
            "bad",
            "",
        ),
        (
            {"hresult": "0x80040408", "message": "Could not start QuickBooks."},
            "QuickBooks could not take the request: HRESULT 0x80040408",
            "bad",
            "The Web Connector said: Could not start QuickBooks.",
        ),
        ({"received_at": None}, "Sent; no answer yet.", "warn", "QuickBooks has the request"),
        (
            {"message": "no answer: the session ended"},
            "no answer: the session ended",
            "warn",
            "QuickBooks may have carried the request out",
        ),
        (
            {"message": "unreadable answer: not XML"},
            "No usable answer: unreadable answer: not XML",
            "warn",
            "so it looks before it adds anything twice",
        ),
    ],
)
def test_every_answer_has_one_verdict_for_jobs_show_and_admin(
    answer: dict[str, Any], said: str, tone: str, meaning: str
) -> None:
    """`atqb jobs show` and the /admin job page both word an answer with :func:`verdict`."""
    told = verdict(_sent(**answer))
    assert (told.said, told.tone) == (said, tone)
    assert meaning in told.meaning
    story = "\n".join(job_story(JOB, [], [], [_sent(**answer)], show_xml=False))
    assert said in story
    assert told.words() in story
    html = _verdict(_sent(**answer))
    assert f'class="verdict {tone}"' in html
