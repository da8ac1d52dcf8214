"""A job's story for an operator (``atqb jobs show``): what it is, what it waits for, what waits
for it, and each request sent with QuickBooks' answer in plain words (:func:`verdict`, which the
/admin job page shows too).

The words come from :func:`service.qbxml.status.describe` (status codes) and
:func:`service.qbxml.status.describe_hresult` (Web Connector errors); the raw qbXML follows each
step for whoever needs the details.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from service.jobstore import Job, Transmission
from service.qbxml.status import describe, describe_hresult
from service.xmlsafe import UnsafeXMLError, parse_text

#: What each request does, in words.
ACTIONS: dict[str, str] = {
    "VendorQueryRq": "look up vendor(s)",
    "CustomerQueryRq": "look up customer(s)",
    "ItemQueryRq": "look up item(s) of every type",
    "ItemInventoryQueryRq": "count inventory part(s)",
    "VendorAddRq": "add the vendor",
    "CustomerAddRq": "add the customer",
    "ItemInventoryAddRq": "add the inventory part",
    "PurchaseOrderAddRq": "add the purchase order",
    "PurchaseOrderQueryRq": "read the purchase order",
    "PurchaseOrderModRq": "change the purchase order",
    "ItemReceiptAddRq": "receive against the purchase order",
    "ItemReceiptQueryRq": "look for the item receipt",
    "ItemReceiptModRq": "lower the item receipt",
    "TxnDelRq": "delete the item receipt",
    "InventoryAdjustmentAddRq": "set On Hand (inventory adjustment)",
    "CompanyQueryRq": "read the company name",
}
_LOOKUP_VALUES = ("FullName", "ListID", "TxnID", "RefNumber")
LOST = (
    "The answer never came (the Web Connector stopped, or the session ended). QuickBooks may "
    "have carried the request out, so atqb looks it up before sending anything again."
)


def _requests(request_xml: str) -> list[etree._Element]:
    try:
        messages = parse_text(request_xml).find("QBXMLMsgsRq")
    except (UnsafeXMLError, etree.XMLSyntaxError, ValueError):
        return []
    return list(messages) if messages is not None else []


def describe_request(request_xml: str) -> str:
    """``PurchaseOrderAddRq: add the purchase order`` (with the values a lookup names)."""
    parts = []
    for rq in _requests(request_xml):
        name = str(rq.tag)
        text = f"{name}: {ACTIONS.get(name, 'request')}"
        values = [str(e.text) for e in rq if e.tag in _LOOKUP_VALUES]
        if values:
            shown = ", ".join(values[:5]) + (
                f" and {len(values) - 5} more" if len(values) > 5 else ""
            )
            text += f" ({shown})"
        parts.append(text)
    return "; ".join(parts) or "a request atqb could not read back"


@dataclass(frozen=True)
class Verdict:
    """What became of one request, for ``atqb jobs show`` and the /admin job page alike: the
    answer in one line (``said``), what it means and what to do in plain words, and its
    ``tone`` ("ok", "warn" or "bad")."""

    said: str
    meaning: str
    action: str = ""
    tone: str = "warn"

    def words(self) -> str:
        """Meaning and action in one paragraph."""
        return f"{self.meaning} What to do: {self.action}" if self.action else self.meaning


def verdict(t: Transmission) -> Verdict:
    """The verdict on one transmission: QuickBooks' status, the Web Connector's error, no
    answer yet, an answer lost, or one atqb could not read."""
    if t.status_code is not None:
        info = describe(t.status_code, t.status_message or "", quote=False)
        severity = t.status_severity or "no severity"
        said = f"QuickBooks status {t.status_code} ({severity}): {t.status_message or 'no message'}"
        tone = {"info": "ok", "warn": "warn"}.get(severity.lower(), "bad")
        return Verdict(said, info.meaning, info.action, tone)
    if t.hresult:
        hinfo = describe_hresult(t.hresult, t.message or "")
        said = f"QuickBooks could not take the request: HRESULT {hinfo.hresult}"
        return Verdict(said, hinfo.meaning, hinfo.action, "bad")
    if t.received_at is None:
        return Verdict("Sent; no answer yet.", "QuickBooks has the request now or soon.")
    message = t.message or "no answer"
    if message.startswith("no answer"):
        return Verdict(message, LOST)
    return Verdict(
        f"No usable answer: {message}",
        "atqb could not read QuickBooks' answer. It sends the job again; the job's saved state "
        "says the request may have been carried out, so it looks before it adds anything twice.",
    )


def _job_line(job: Job) -> str:
    subject = f" ({job.subject})" if job.subject else ""
    return f"#{job.id} {job.kind} {job.status}{subject}"


def _result_text(result: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, value in result.items():
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            lines.append(f"{key}:")
            lines += [f"  - {v}" for v in value]
        else:
            shown = value if isinstance(value, str | int | float) else json.dumps(value)
            lines.append(f"{key}: {shown}")
    return lines


def job_story(
    job: Job,
    prerequisites: Sequence[Job],
    dependents: Sequence[Job],
    transmissions: Sequence[Transmission],
    *,
    show_xml: bool = True,
) -> list[str]:
    """The lines ``atqb jobs show`` prints for one job."""
    out = [f"job #{job.id}  {job.kind}  {job.status}"]
    out.append(f"  subject:    {job.subject or '-'}")
    if job.autotask_entity:
        out.append(f"  Autotask:   {job.autotask_entity} {job.autotask_id}")
    out.append(f"  user:       {job.qbwc_user}")
    out.append(f"  attempts:   {job.attempts} of {job.max_attempts}")
    if job.error:
        out.append(f"  error:      {job.error}")
    if prerequisites:
        out.append(f"  waits for:  {_job_line(prerequisites[0])}")
        out += [f"              {_job_line(p)}" for p in prerequisites[1:]]
    if dependents:
        out.append(f"  needed by:  {_job_line(dependents[0])}")
        out += [f"              {_job_line(d)}" for d in dependents[1:]]
    if job.result:
        out.append("  result:")
        out += [f"    {line}" for line in _result_text(job.result)]
    out.append(f"  steps: {len(transmissions)} request(s) sent")
    for number, t in enumerate(transmissions, 1):
        out.append(
            f"  [{number}] {t.sent_at:%Y-%m-%d %H:%M:%S} UTC  {describe_request(t.request_xml)}"
        )
        if t.request_id != str(job.id):
            out.append(f"      (one request for several jobs: requestID {t.request_id})")
        said = verdict(t)
        when = f" at {t.received_at:%H:%M:%S}" if t.received_at else ""
        out.append(f"      answer{when}: {said.said}")
        out.append(f"      {said.words()}")
        if show_xml:
            out.append("      request:")
            out += [" " * 8 + line for line in t.request_xml.splitlines()]
            if t.response_xml:
                out.append("      response:")
                out += [" " * 8 + line for line in t.response_xml.splitlines()]
    return out
