"""The step states of the purchase-order kinds, as frozen dataclasses read from and written to JSON.

A PO transfer (:class:`~service.sync.purchase_orders.TransferPurchaseOrder`) is in one of five
states, each a class here holding what its phase needs; an update
(:class:`~service.sync.purchase_orders.UpdatePurchaseOrder`) in one of three. ``from_json`` reads
a stored state (a malformed one raises :class:`~service.sync.jsondata.MalformedJson` naming the
field, which fails the job with that message) and ``to_json`` writes exactly the JSON these kinds
stored when their states were plain dicts, so jobs already in a database carry on.

``sent`` names a write whose answer has not come yet. The exchange copies it into the state of a
lookup that follows a lost write (:class:`service.webconnector.exchange.Exchange`), so it may
appear beside any phase that is a lookup. The exchange's own flags (keys starting with ``_``) are
not part of these states: the exchange keeps them itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from service.kinds import LookupQuery
from service.qbxml.types import NEW_LINE_ID, PurchaseOrderChange, PurchaseOrderLineMod, Ref
from service.sync.common import decimal, quantity_text
from service.sync.jsondata import Fields, MalformedJson
from service.sync.mapping import MappingKind

T = TypeVar("T", bound=str)
V = TypeVar("V")
_REF_KINDS: tuple[MappingKind, ...] = ("vendor", "customer", "item")
_QUERIES: tuple[LookupQuery, ...] = ("vendor", "customer", "item")


# --------------------------------------------------------------------------------------------
# Shared pieces


def ref_json(ref: Ref | None) -> dict[str, str] | None:
    """A reference as the states keep it: its ListID, else its full name."""
    if ref is None:
        return None
    return {"list_id": ref.list_id} if ref.list_id else {"full_name": ref.full_name or ""}


def _ref(fields: Fields, key: str) -> Ref | None:
    data = fields.optional(key, dict)
    if not data:
        return None
    ref = Fields(data, f"{fields.what} ({key})")
    list_id, full_name = ref.optional("list_id", str), ref.optional("full_name", str)
    if not list_id and not full_name:
        raise MalformedJson(f"{fields.what} is malformed: {key!r} is {data!r}, not a reference")
    return Ref(list_id=list_id, full_name=full_name)


def _quantity(fields: Fields, key: str) -> Decimal | None:
    text = fields.optional(key, str)
    try:
        return None if text is None else decimal(text)
    except ArithmeticError:
        raise MalformedJson(
            f"{fields.what} is malformed: {key!r} is {text!r}, not a number"
        ) from None


def _one_of(fields: Fields, key: str, allowed: tuple[T, ...], value: object = None) -> T:
    """``value`` (by default the text at ``key``), which must be one of ``allowed``."""
    value = fields.required(key, str) if value is None else value
    for each in allowed:
        if value == each:
            return each
    raise MalformedJson(f"{fields.what} is malformed: {key!r} is {value!r}, not one of {allowed}")


def _sent(fields: Fields, write: str) -> str | None:
    """The ``sent`` of a state, which can only name the one write its phase follows."""
    sent = fields.optional("sent", str)
    if sent not in (None, write):
        raise MalformedJson(f"{fields.what} is malformed: 'sent' is {sent!r}, not {write!r}")
    return sent


def _with_sent(data: dict[str, Any], sent: str | None) -> dict[str, Any]:
    if sent is not None:
        data["sent"] = sent
    return data


# --------------------------------------------------------------------------------------------
# Transfer


@dataclass(frozen=True)
class Begin:
    """No request is out: the first step, or the PO is to be added (again). ``unlinked``: its
    External P.O. # has no QuickBooks twin and ``atqb transfer`` asked to add it; ``verified``:
    the references were checked after a 3140 (``forgotten``: the Autotask ids of each kind whose
    QuickBooks record is gone, ``reactivated``: the records made active), so a second 3140 fails
    the job."""

    unlinked: bool = False
    verified: bool = False
    forgotten: tuple[tuple[MappingKind, tuple[int, ...]], ...] = ()
    reactivated: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The state as stored."""
        data: dict[str, Any] = {"unlinked": True} if self.unlinked else {}
        if self.verified:
            data["verified"] = True
        if self.forgotten:
            data["forgotten"] = {kind: list(ids) for kind, ids in self.forgotten}
        if self.reactivated is not None:
            data["reactivated"] = self.reactivated
        return data

    @classmethod
    def read(cls, fields: Fields) -> Begin:
        """Read the state (no phase, nothing sent)."""
        forgotten = Fields(fields.optional("forgotten", dict) or {}, f"{fields.what} (forgotten)")
        return cls(
            fields.optional("unlinked", bool) or False,
            fields.optional("verified", bool) or False,
            _per_kind(forgotten, Fields.ints),
            fields.optional("reactivated", str),
        )


@dataclass(frozen=True)
class Linking:
    """Looking for the QuickBooks PO with the PO's External P.O. # (``phase`` "link")."""

    def to_json(self) -> dict[str, Any]:
        """The state as stored."""
        return {"phase": "link"}


@dataclass(frozen=True)
class Finding:
    """After a lost add: looking the RefNumber up (``phase`` "find")."""

    sent: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The state as stored."""
        return _with_sent({"phase": "find"}, self.sent)


@dataclass(frozen=True)
class Adding:
    """The PurchaseOrderAdd is out. ``used``: the ListIDs it referred to, by kind and Autotask id
    (what a 3140 makes atqb check); ``verified`` as in :class:`Begin`."""

    used: tuple[tuple[MappingKind, tuple[tuple[str, str], ...]], ...]
    verified: bool = False

    def used_of(self, kind: MappingKind) -> tuple[tuple[str, str], ...]:
        """Autotask id (as text) and ListID of each record of ``kind`` the add referred to."""
        return next((ids for each, ids in self.used if each == kind), ())

    def to_json(self) -> dict[str, Any]:
        """The state as stored."""
        return {
            "sent": "add",
            "used": {kind: dict(ids) for kind, ids in self.used},
            "verified": True if self.verified else None,
        }

    @classmethod
    def read(cls, fields: Fields) -> Adding:
        """Read the state (no phase, ``sent`` "add")."""
        used = Fields(fields.required("used", dict), f"{fields.what} (used)")
        return cls(
            _per_kind(used, _ids),
            fields.optional("verified", bool) or False,
        )


@dataclass(frozen=True)
class Checking:
    """QuickBooks answered 3140 (a reference it does not know): the records of ``kind`` the add
    used are read again (``phase`` "verify", with ``query``, their ``list_ids``, ``used`` and
    QuickBooks' ``error``), or the inactive ones among them made active one by one (``phase``
    "reactivate": ``inactive`` holds ListID and EditSequence of each still to do, ``named``
    says which records they are). ``inactive`` and ``named`` stay on a "verify" that follows a
    reactivation."""

    phase: str
    kind: MappingKind
    query: LookupQuery
    list_ids: tuple[str, ...]
    used: tuple[tuple[str, str], ...]
    error: str
    inactive: tuple[tuple[str, str], ...] = ()
    named: str | None = None
    sent: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The state as stored."""
        data: dict[str, Any] = {
            "phase": self.phase,
            "kind": self.kind,
            "query": self.query,
            "list_ids": list(self.list_ids),
            "used": dict(self.used),
            "error": self.error,
        }
        if self.inactive:
            data["inactive"] = [list(pair) for pair in self.inactive]
        if self.named is not None:
            data["named"] = self.named
        return _with_sent(data, self.sent)

    @classmethod
    def read(cls, fields: Fields, phase: str) -> Checking:
        """Read a "verify" or "reactivate" state."""
        inactive = tuple(_pair(fields, each) for each in fields.optional("inactive", list) or [])
        if phase == "reactivate" and not inactive:
            raise MalformedJson(f"{fields.what} is malformed: 'inactive' is missing or empty")
        return cls(
            phase,
            _one_of(fields, "kind", _REF_KINDS),
            _one_of(fields, "query", _QUERIES),
            fields.texts("list_ids"),
            _ids(Fields(fields.required("used", dict), f"{fields.what} (used)")),
            fields.required("error", str),
            inactive,
            fields.optional("named", str),
            _sent(fields, "reactivate"),
        )


TransferState = Begin | Linking | Finding | Adding | Checking


def transfer_state(data: object, kind: str = "purchase_order") -> TransferState:
    """Read a PO transfer's stored state; :class:`MalformedJson` names what is wrong."""
    fields = Fields(data, f"the {kind} job's state")
    phase = fields.optional("phase", str)
    if phase == "link":
        return Linking()
    if phase == "find":
        return Finding(_sent(fields, "add"))
    if phase in ("verify", "reactivate"):
        return Checking.read(fields, phase)
    if phase is not None:
        raise MalformedJson(f"{fields.what} is malformed: 'phase' is {phase!r}")
    if _sent(fields, "add") is not None:
        return Adding.read(fields)
    return Begin.read(fields)


def transfer_sent(state: TransferState) -> str | None:
    """The write of the transfer whose answer never came, if its last request was one."""
    if isinstance(state, Adding):
        return "add"
    return state.sent if isinstance(state, Finding | Checking) else None


def _per_kind(
    fields: Fields, read: Callable[[Fields, str], V]
) -> tuple[tuple[MappingKind, V], ...]:
    """An object keyed by kinds of reference, each value read with ``read``."""
    return tuple(
        (_one_of(fields, kind, _REF_KINDS, kind), read(fields, kind)) for kind in fields.data
    )


def _ids(fields: Fields, key: str | None = None) -> tuple[tuple[str, str], ...]:
    """Autotask id (as text) → ListID, from ``fields`` itself or its object ``key``."""
    ids = Fields(fields.required(key, dict), f"{fields.what} ({key})") if key else fields
    for at_id in ids.data:
        if not (isinstance(at_id, str) and at_id.isdecimal()):
            raise MalformedJson(f"{ids.what} is malformed: {at_id!r} is not an Autotask id")
    return tuple((at_id, ids.required(at_id, str)) for at_id in ids.data)


def _pair(fields: Fields, each: object) -> tuple[str, str]:
    if not (isinstance(each, list) and len(each) == 2 and all(isinstance(v, str) for v in each)):
        raise MalformedJson(f"{fields.what} is malformed: 'inactive' holds {each!r}")
    return each[0], each[1]


# --------------------------------------------------------------------------------------------
# Update


@dataclass(frozen=True)
class AddedLine:
    """An Autotask line a Mod adds, and its item (how a lost Mod's new line is recognised)."""

    at_line: int
    item: Ref

    def to_json(self) -> dict[str, Any]:
        """The line as stored."""
        return {"at_line": self.at_line, "item": ref_json(self.item)}

    @classmethod
    def read(cls, data: object, what: str) -> AddedLine:
        """Read one stored line."""
        fields = Fields(data, what)
        item = _ref(fields, "item")
        if item is None:
            raise MalformedJson(f"{what} is malformed: 'item' is missing")
        return cls(fields.required("at_line", int), item)


def _added(fields: Fields) -> tuple[AddedLine, ...]:
    return tuple(
        AddedLine.read(each, f"{fields.what} (adding {n})")
        for n, each in enumerate(fields.required("adding", list), 1)
    )


@dataclass(frozen=True)
class PlannedMod:
    """The PurchaseOrderMod that makes QuickBooks match Autotask, the Autotask lines it adds,
    and its ``summary``: the changes in words for the operator."""

    change: PurchaseOrderChange
    adding: tuple[AddedLine, ...]
    summary: tuple[str, ...]


@dataclass(frozen=True)
class Idle:
    """No request is out (the first step; after a RetryLater, ``stale`` is reset to 0)."""

    stale: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The state as stored."""
        return {} if self.stale is None else {"stale": self.stale}


@dataclass(frozen=True)
class Reading:
    """Reading the PO (``phase`` "read"). ``stale``: 3200 answers in a row so far; after a lost
    Mod, ``adding`` holds the lines that Mod was adding (None otherwise)."""

    stale: int = 0
    adding: tuple[AddedLine, ...] | None = None
    sent: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The state as stored."""
        data: dict[str, Any] = {"phase": "read", "stale": self.stale}
        if self.adding is not None:
            data["adding"] = [line.to_json() for line in self.adding]
            data["lost"] = True
        return _with_sent(data, self.sent)


@dataclass(frozen=True)
class Modifying:
    """The Mod planned from the last read (``phase`` "mod"), with the TxnLineIDs QuickBooks held
    then (``known_lines``: a line not among them was added by the Mod) and the PO's date (named
    when QuickBooks refuses a closed period); ``sent`` once it went out."""

    plan: PlannedMod
    known_lines: tuple[str, ...]
    txn_date: str | None
    stale: int = 0
    sent: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The state as stored."""
        return _with_sent(
            {
                "phase": "mod",
                "change": _change_json(self.plan.change),
                "adding": [line.to_json() for line in self.plan.adding],
                "summary": list(self.plan.summary),
                "known_lines": list(self.known_lines),
                "txn_date": self.txn_date,
                "stale": self.stale,
            },
            self.sent,
        )

    @classmethod
    def read(cls, fields: Fields) -> Modifying:
        """Read a "mod" state."""
        plan = PlannedMod(_change(fields), _added(fields), fields.texts("summary"))
        return cls(
            plan,
            fields.texts("known_lines"),
            fields.optional("txn_date", str),
            fields.required("stale", int),
            _sent(fields, "mod"),
        )


UpdateState = Idle | Reading | Modifying


def update_sent(state: UpdateState) -> str | None:
    """The Mod whose answer never came, if the update's last request was one."""
    return state.sent if isinstance(state, Reading | Modifying) else None


def update_state(data: object, kind: str = "purchase_order_update") -> UpdateState:
    """Read a PO update's stored state; :class:`MalformedJson` names what is wrong."""
    fields = Fields(data, f"the {kind} job's state")
    phase = fields.optional("phase", str)
    if phase == "mod":
        return Modifying.read(fields)
    if phase == "read":
        adding = _added(fields) if "adding" in fields.data else None
        return Reading(fields.required("stale", int), adding, _sent(fields, "mod"))
    if phase is not None:
        raise MalformedJson(f"{fields.what} is malformed: 'phase' is {phase!r}")
    return Idle(fields.optional("stale", int))


# The Mod as the state keeps it: the header fields that change, and the lines (None: left
# alone). A new line (TxnLineID -1) carries all its fields; a kept one only what changes, then
# its id and whether it is closed.
def _change_json(change: PurchaseOrderChange) -> dict[str, Any]:
    header: dict[str, Any] = {}
    if change.vendor is not None:
        header["vendor"] = ref_json(change.vendor)
    if change.ship_to is not None:
        header["ship_to"] = ref_json(change.ship_to)
    if change.memo is not None:
        header["memo"] = change.memo
    if change.vendor_msg is not None:
        header["vendor_msg"] = change.vendor_msg
    if change.is_manually_closed is not None:
        header["closed"] = change.is_manually_closed
    lines = None if change.lines is None else [_line_json(line) for line in change.lines]
    return {
        "txn_id": change.txn_id,
        "edit_sequence": change.edit_sequence,
        "header": header,
        "lines": lines,
    }


def _line_json(line: PurchaseOrderLineMod) -> dict[str, Any]:
    quantity = None if line.quantity is None else quantity_text(Decimal(line.quantity))
    rate = None if line.rate is None else str(line.rate)
    if line.txn_line_id == NEW_LINE_ID:
        return {
            "id": NEW_LINE_ID,
            "item": ref_json(line.item),
            "quantity": quantity,
            "rate": rate,
            "desc": line.desc,
            "customer": ref_json(line.customer),
            "mpn": line.manufacturer_part_number,
        }
    entry: dict[str, Any] = {}
    if line.item is not None:
        entry["item"] = ref_json(line.item)
    if quantity is not None:
        entry["quantity"] = quantity
    if rate is not None:
        entry["rate"] = rate
    if line.customer is not None:
        entry["customer"] = ref_json(line.customer)
    if line.desc is not None:
        entry["desc"] = line.desc
    entry["id"] = line.txn_line_id
    if line.is_manually_closed is not None:
        entry["closed"] = line.is_manually_closed
    return entry


def _change(fields: Fields) -> PurchaseOrderChange:
    change = Fields(fields.required("change", dict), f"{fields.what} (change)")
    header = Fields(change.required("header", dict), f"{change.what} (header)")
    lines = change.optional("lines", list)
    return PurchaseOrderChange(
        txn_id=change.required("txn_id", str),
        edit_sequence=change.required("edit_sequence", str),
        vendor=_ref(header, "vendor"),
        ship_to=_ref(header, "ship_to"),
        is_manually_closed=header.optional("closed", bool),
        memo=header.optional("memo", str),
        vendor_msg=header.optional("vendor_msg", str),
        lines=None
        if lines is None
        else tuple(
            _line_mod(Fields(each, f"{change.what} (line {n})")) for n, each in enumerate(lines, 1)
        ),
    )


def _line_mod(line: Fields) -> PurchaseOrderLineMod:
    return PurchaseOrderLineMod(
        line.required("id", str),
        item=_ref(line, "item"),
        quantity=_quantity(line, "quantity"),
        rate=_quantity(line, "rate"),
        desc=line.optional("desc", str),
        customer=_ref(line, "customer"),
        manufacturer_part_number=line.optional("mpn", str),
        is_manually_closed=line.optional("closed", bool),
    )
