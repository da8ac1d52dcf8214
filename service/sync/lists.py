"""Ensure a vendor, customer or inventory part: find it by name, or create it (the seeds 1-3).

Steps of an ensure job (payload: ``autotask_id``, ``name`` as in Autotask, ``qb_name`` as
QuickBooks will store it):

1. Known: the mapping already names a QuickBooks record for this Autotask record under the same
   name: done, without a request.
2. Lookup by ``FullName`` (``VendorQuery``, ``CustomerQuery``, or ``ItemQuery``, which answers
   items of every type). Lookups of many jobs share one request. Names compare without regard to
   case, so an existing "ACME SUPPLY" is the vendor "Acme Supply". A record of the right kind:
   done. Nothing, or an item of another type: on to the add. A record of the right kind that is
   **inactive** is not used as it is (QuickBooks refuses inactive records in new transactions):
   with ``ATQB_REACTIVATE_INACTIVE=true`` a ``VendorMod``/``CustomerMod``/``ItemInventoryMod``
   with its EditSequence makes it active (the result says so; a 3200 reads it again), otherwise
   the job fails naming the record and both ways out.
3. Add (``VendorAdd``, ``CustomerAdd``, ``ItemInventoryAdd`` with the configured accounts).
   When its answer is lost, the next attempt starts again at the lookup.
4. ``3100`` (the name is in use): when the lookup already found the holder (a non-inventory
   part with the product's name), fail with QuickBooks' message and that holder. Otherwise look
   again with ``NameFilter`` and ``ActiveStatus=All`` (inactive records keep their names,
   reference/qbxml.md 8.2): the right kind of record is used; another kind fails the job.
   For vendors and customers, which share one name list with each other (and employees and
   other names), a final lookup in the other list names the holder ("the QuickBooks customer
   'Acme'").

Why the add is sent even when the lookup found an item of another type: the seeds say creation
fails and the operator sees QuickBooks' message in the transmission details; and the
cross-type rule is inferred, not documented (reference/qbxml.md 11), so QuickBooks decides.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from service.jobstore import Job
from service.kinds import (
    Context,
    Decision,
    Done,
    Fail,
    Lookup,
    LookupQuery,
    Next,
    Step,
    StepOutcome,
    failure,
)
from service.qbxml import build
from service.qbxml.build import Request
from service.qbxml.status import Outcome
from service.qbxml.text import ITEM_NAME_MAX, VENDOR_NAME_MAX, name_key
from service.qbxml.types import InventoryItem, ListRecord, NameFilter, Ref, Response
from service.settings import Settings
from service.sync.common import decimal, describe_record, quickbooks_said
from service.sync.jsondata import Fields
from service.sync.mapping import Mapping, MappingKind, Mappings
from service.sync.payloads import EnsurePayload, ItemFacts


@dataclass(frozen=True)
class ListSpec:
    """What differs between vendors, customers and items."""

    kind: MappingKind
    #: Words for people: "vendor", "customer", "item".
    noun: str
    query: LookupQuery
    #: The ``…Ret`` element of the right kind of record.
    ret: str
    #: The other list sharing the name space, asked who holds a name after a 3100.
    other: LookupQuery | None


@dataclass(frozen=True)
class ListState:
    """The step state of an ensure job: its ``phase`` (None before the first step) and what the
    phase needs: ``holder`` (add: the record of another type the lookup found with the name),
    ``said`` (relookup, holder: QuickBooks' 3100 message), ``list_id``, ``edit_sequence`` and
    ``how`` (reactivate), and ``sent`` once a write went out. The exchange's own flags (keys
    starting with ``_``) are not part of it: the exchange keeps them itself."""

    phase: str | None = None
    holder: str | None = None
    said: str | None = None
    list_id: str | None = None
    edit_sequence: str | None = None
    how: str | None = None
    sent: str | None = None

    @classmethod
    def from_json(cls, data: object, kind: str = "ensure") -> ListState:
        """Read a stored state; :class:`MalformedJson` names what is wrong."""
        fields = Fields(data, f"the {kind} job's state")
        phase = fields.optional("phase", str)
        needs = _PHASE_KEYS.get(phase or "", ())
        values = {key: fields.optional(key, str) for key in ("holder", "said", "sent")}
        # A holder may be None (the lookup found nothing); the other keys of a phase are texts.
        values.update({key: fields.required(key, str) for key in needs if key != "holder"})
        return cls(phase, **values)

    def to_json(self) -> dict[str, Any]:
        """The state as stored: the phase, the keys it needs, and ``sent``."""
        data: dict[str, Any] = {} if self.phase is None else {"phase": self.phase}
        data.update({key: getattr(self, key) for key in _PHASE_KEYS.get(self.phase or "", ())})
        if self.sent is not None:
            data["sent"] = self.sent
        return data


#: The keys of each phase's state, in their stored order.
_PHASE_KEYS: dict[str, tuple[str, ...]] = {
    "add": ("holder",),
    "relookup": ("said",),
    "holder": ("said",),
    "reactivate": ("list_id", "edit_sequence", "how"),
}


def _name_query(spec: ListSpec, request_id: str, name: str) -> Request:
    """A NameFilter query over active and inactive records."""
    builder = {
        "vendor": build.vendor_query,
        "customer": build.customer_query,
        "item": build.item_query,
    }[spec.query]
    return builder(request_id, name_filter=NameFilter("StartsWith", name), active_status="All")


def _exact(response: Response, name: str) -> ListRecord | None:
    return response.find_names([name])[name]


class EnsureList:
    """The kind of ensure job for one list (see the module docstring)."""

    def __init__(self, spec: ListSpec) -> None:
        self.spec = spec
        self.name: str = spec.kind

    # -- steps -------------------------------------------------------------------------------

    def step(self, job: Job, request_id: str, ctx: Context) -> StepOutcome:
        """The next request, or done at once when the mapping already knows the record."""
        payload, state = self.payload(job), ListState.from_json(job.state, self.spec.noun)
        qb_name = payload.qb_name
        phase = state.phase or "start"
        if state.sent in ("add", "reactivate"):
            phase = "lookup"  # the write's answer never came: it may have been carried out
        if phase == "start":
            mappings = Mappings(ctx.conn, ctx.now, job.qbwc_user)
            clash = self._collision(payload, mappings)
            if clash is not None:
                return Fail(clash)
            known = mappings.get(self.spec.kind, payload.autotask_id)
            if (
                known is not None
                and known.qb_id
                and name_key(known.qb_name or "") == name_key(qb_name)
            ):
                return Done(self._result(known, "known"))
            phase = "lookup"
        if phase == "lookup":
            lookup = Lookup(self.spec.query, "full_names", (qb_name,))
            return Step.of_lookup(lookup, request_id, ListState("lookup").to_json())
        if phase == "add":
            request = self._add(request_id, payload, ctx.settings)
            return Step(request, replace(state, phase="add", sent="add").to_json())
        if phase == "reactivate":
            request = build.list_reactivate(
                request_id, self.spec.kind, state.list_id or "", state.edit_sequence or ""
            )
            return Step(request, replace(state, sent="reactivate").to_json())
        if phase == "relookup":
            return Step(_name_query(self.spec, request_id, qb_name), state.to_json())
        if phase == "holder":
            assert self.spec.other is not None
            lookup = Lookup(self.spec.other, "full_names", (qb_name,))
            return Step.of_lookup(lookup, request_id, state.to_json())
        return Fail(f"atqb does not know the step {phase!r} of a {self.spec.noun} job")

    def payload(self, job: Job) -> EnsurePayload:
        """The job's payload, read (:class:`MalformedJson` when it is not one)."""
        return EnsurePayload.from_json(job.payload, self.spec.noun)

    def _add(self, request_id: str, payload: EnsurePayload, settings: Settings) -> Request:
        qb_name = payload.qb_name
        if self.spec.kind == "vendor":
            return build.vendor_add(request_id, qb_name, company_name=payload.name)
        if self.spec.kind == "customer":
            return build.customer_add(request_id, qb_name, company_name=payload.name)
        item = payload.item or ItemFacts()
        cost, price = item.unit_cost, item.unit_price
        parent, _, leaf = qb_name.rpartition(":")  # Autotask's Parent~Child: a sub-item
        return build.item_inventory_add(
            request_id,
            InventoryItem(
                leaf,
                parent=Ref(full_name=parent) if parent else None,
                income_account=Ref(full_name=settings.income_account),
                cogs_account=Ref(full_name=settings.cogs_account),
                asset_account=Ref(full_name=settings.asset_account),
                manufacturer_part_number=item.manufacturer_part_number,
                sales_desc=item.description,
                sales_price=decimal(price) if price is not None else None,
                purchase_desc=item.description,
                purchase_cost=decimal(cost) if cost is not None else None,
            ),
        )

    def _collision(self, payload: EnsurePayload, mappings: Mappings) -> str | None:
        """Another Autotask record, with another name, already is this QuickBooks record."""
        others = list(payload.collides_with)
        for holder in mappings.holders(self.spec.kind, payload.qb_name):
            source = holder.data.get("autotask_name")
            if holder.autotask_id != payload.autotask_id and source != payload.name:
                others.append((holder.autotask_id, str(source)))
        if not others:
            return None
        named = ", ".join(f"{i} {n!r}" for i, n in others)
        limit = ITEM_NAME_MAX if self.spec.kind == "item" else VENDOR_NAME_MAX
        return (
            f"Autotask {self.spec.noun} {payload.autotask_id} {payload.name!r} and "
            f"Autotask {self.spec.noun} {named} would all be the QuickBooks {self.spec.noun} "
            f"{payload.qb_name!r} (QuickBooks ignores case and keeps the first {limit} "
            "characters of a name): rename one of them in Autotask, then retry this job"
        )

    # -- answers -----------------------------------------------------------------------------

    def handle(self, job: Job, response: Response, ctx: Context) -> Decision:
        """Use what QuickBooks found or created, or say who holds the name."""
        state = ListState.from_json(job.state, self.spec.noun)
        phase = state.phase or "lookup"
        if phase == "add" and response.outcome is Outcome.NAME_IN_USE:
            said = quickbooks_said(response)
            if state.holder:
                return Fail(self._held(said, state.holder))
            return Next(ListState("relookup", said=said).to_json())
        if phase == "reactivate" and response.outcome is Outcome.STALE_EDIT_SEQUENCE:
            return Next(
                ListState("lookup").to_json()
            )  # changed in QuickBooks meanwhile: read it again
        trouble = failure(response)
        if trouble is not None:
            return trouble
        if phase == "reactivate":
            return self._reactivated(job, response, ctx)
        if phase == "add":
            created = next(iter(response.records_of(ListRecord)), None)
            if created is None:
                return Fail(f"QuickBooks added the {self.spec.noun} but returned no record")
            return Done(self._remember(job, ctx, created, "created"))
        if phase == "holder":
            return Fail(self._holder(job, response))
        return self._looked_up(job, response, ctx, phase)

    def _reactivated(self, job: Job, response: Response, ctx: Context) -> Decision:
        """The record QuickBooks made active, remembered as the match it was."""
        active = next(iter(response.records_of(ListRecord)), None)
        if active is None:
            return Fail(f"QuickBooks made the {self.spec.noun} active but returned no record")
        how = ListState.from_json(job.state, self.spec.noun).how or ""
        result = self._remember(job, ctx, active, how)
        result["reactivated"] = (
            f"{describe_record(active)} was inactive in QuickBooks: atqb made it active "
            "(ATQB_REACTIVATE_INACTIVE=true)"
        )
        return Done(result)

    def _holder(self, job: Job, response: Response) -> str:
        """Why the job fails after the other list was asked who holds the name."""
        said = ListState.from_json(job.state, self.spec.noun).said or ""
        holder = _exact(response, self.payload(job).qb_name)
        if holder is not None:
            return self._held(said, describe_record(holder))
        return self._held(
            said,
            'a QuickBooks employee or "other name" record (QuickBooks names are shared '
            "by customers, vendors, employees and other names)",
        )

    def _looked_up(self, job: Job, response: Response, ctx: Context, phase: str) -> Decision:
        """The answer of the lookup by name, or of the relookup after a 3100."""
        said = ListState.from_json(job.state, self.spec.noun).said or ""
        record = _exact(response, self.payload(job).qb_name)
        if record is not None and record.type == self.spec.ret:
            how = "matched" if phase == "lookup" else "matched after QuickBooks said 3100"
            if record.is_active is False:
                return self._inactive(job, ctx.settings, record, how)
            return Done(self._remember(job, ctx, record, how))
        if phase == "lookup":
            held_by = describe_record(record) if record is not None else None
            return Next(ListState("add", holder=held_by).to_json())
        # relookup after a 3100
        if record is not None:
            return Fail(self._held(said, describe_record(record)))
        if self.spec.other is not None:
            return Next(ListState("holder", said=said).to_json())
        return Fail(
            self._held(said, "a record QuickBooks does not show (perhaps at another level)")
        )

    def _inactive(self, job: Job, settings: Settings, record: ListRecord, how: str) -> Decision:
        """A matched record that is inactive: QuickBooks refuses it in a new transaction, so it
        is made active (``ATQB_REACTIVATE_INACTIVE=true``) or the job fails and says so."""
        if settings.reactivate_inactive and record.edit_sequence:
            state = ListState(
                "reactivate",
                list_id=record.list_id,
                edit_sequence=record.edit_sequence,
                how=f"{how}; was inactive, made active",
            )
            return Next(state.to_json())
        return Fail(inactive_message(self.spec.noun, self.payload(job), describe_record(record)))

    def _held(self, said: str, holder: str) -> str:
        fix = (
            "convert it to an inventory part in QuickBooks, or rename the product in Autotask"
            if self.spec.kind == "item"
            else f"rename one of them (QuickBooks will not have a {self.spec.noun} with that name)"
        )
        return f"{said} The name is held by {holder}: {fix}, then retry this job."

    def _remember(self, job: Job, ctx: Context, record: ListRecord, how: str) -> dict[str, Any]:
        payload = self.payload(job)
        mapping = Mappings(ctx.conn, ctx.now, job.qbwc_user).put(
            self.spec.kind,
            payload.autotask_id,
            qb_id=record.list_id,
            qb_name=record.full_name,
            edit_sequence=record.edit_sequence,
            data={"autotask_name": payload.name, "type": record.type},
        )
        result = self._result(mapping, how)
        if record.is_active is False:
            result["inactive"] = True
        return result

    def _result(self, mapping: Mapping, how: str) -> dict[str, Any]:
        return {"list_id": mapping.qb_id, "full_name": mapping.qb_name, "how": how}


def inactive_message(noun: str, payload: EnsurePayload, record: str) -> str:
    """Why an inactive match fails its job, and the two ways out."""
    return (
        f"Autotask {noun} {payload.autotask_id} {payload.name!r} matches {record}, which "
        f"is inactive: QuickBooks does not let a new transaction use an inactive {noun}. Make it "
        "active in QuickBooks (or set ATQB_REACTIVATE_INACTIVE=true to let atqb do it), then "
        "retry this job."
    )


VENDORS = ListSpec("vendor", "vendor", "vendor", "VendorRet", other="customer")
CUSTOMERS = ListSpec("customer", "customer", "customer", "CustomerRet", other="vendor")
ITEMS = ListSpec("item", "item", "item", "ItemInventoryRet", other=None)


def list_kinds() -> list[EnsureList]:
    """The ensure kinds: ``vendor``, ``customer``, ``item``."""
    return [EnsureList(VENDORS), EnsureList(CUSTOMERS), EnsureList(ITEMS)]
