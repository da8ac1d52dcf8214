"""What atqb remembers about each Autotask record's counterpart in a QuickBooks company file.

One row per company file (Web Connector user), kind and Autotask id (table ``qb_mappings``):

=================  ====================  ==================  ===============================
kind               autotask_id           qb_id / qb_name     data
=================  ====================  ==================  ===============================
``vendor``         company id            ListID / FullName   ``type`` (``VendorRet``)
``customer``       company id            ListID / FullName
``item``           product id            ListID / FullName   ``on_hand`` (Autotask total)
``purchase_order`` PO id                 TxnID / RefNumber   ``fingerprint``, ``vendor``,
                                                             ``canceled``
``po_line``        PO line id            TxnLineID           ``po``, ``received``,
                                                             ``receipts`` (atqb's)
``receiving``      receiving row id      ItemReceipt TxnID
=================  ====================  ==================  ===============================

Rows are written in the transaction that applies QuickBooks' answer, so a mapping exists exactly
when the job that made it is done. A stale mapping (QuickBooks deleted or merged the record) is
forgotten with :meth:`Mappings.forget`, which keeps the Autotask facts in ``data``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection, RowMapping, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from service.jobstore import in_groups
from service.models import qb_mappings

MappingKind = Literal["vendor", "customer", "item", "purchase_order", "po_line", "receiving"]


class _Unset:
    """Marks an argument that was not given (None clears a column)."""


UNSET: Final = _Unset()


@dataclass(frozen=True)
class Mapping:
    """One row of ``qb_mappings``."""

    kind: str
    autotask_id: int
    qb_id: str | None
    qb_name: str | None
    edit_sequence: str | None
    data: dict[str, Any]

    @classmethod
    def from_row(cls, row: RowMapping) -> Mapping:
        """Build from a row."""
        return cls(
            kind=row["kind"],
            autotask_id=row["autotask_id"],
            qb_id=row["qb_id"],
            qb_name=row["qb_name"],
            edit_sequence=row["edit_sequence"],
            data=dict(row["data"] or {}),
        )


class Mappings:
    """The mappings of one company file, inside the caller's transaction."""

    def __init__(self, conn: Connection, now: datetime, qbwc_user: str) -> None:
        self.conn = conn
        self.now = now
        self.user = qbwc_user
        self._postgres = conn.dialect.name == "postgresql"

    def _where(self, kind: str) -> Any:
        return (qb_mappings.c.qbwc_user == self.user) & (qb_mappings.c.kind == kind)

    def get(self, kind: MappingKind, autotask_id: int) -> Mapping | None:
        """The mapping of one Autotask record, or None."""
        row = (
            self.conn.execute(
                select(qb_mappings).where(
                    self._where(kind), qb_mappings.c.autotask_id == autotask_id
                )
            )
            .mappings()
            .first()
        )
        return Mapping.from_row(row) if row is not None else None

    def get_many(self, kind: MappingKind, autotask_ids: Iterable[int]) -> dict[int, Mapping]:
        """The mappings of several Autotask records of one kind, by Autotask id."""
        ids = sorted(set(autotask_ids))
        if not ids:
            return {}
        rows = self.conn.execute(
            select(qb_mappings).where(self._where(kind), qb_mappings.c.autotask_id.in_(ids))
        ).mappings()
        return {row["autotask_id"]: Mapping.from_row(row) for row in rows}

    def get_kinds(
        self, wanted: dict[MappingKind, Iterable[int]]
    ) -> dict[MappingKind, dict[int, Mapping]]:
        """:meth:`get_many` of several kinds at once: the mappings by kind and Autotask id, in one
        statement (one more for each further :data:`~service.jobstore.IDS_PER_STATEMENT` ids)."""
        found: dict[MappingKind, dict[int, Mapping]] = {kind: {} for kind in wanted}
        for condition in in_groups(qb_mappings.c.kind, qb_mappings.c.autotask_id, wanted):
            query = select(qb_mappings).where(qb_mappings.c.qbwc_user == self.user, condition)
            for row in self.conn.execute(query).mappings():
                found[row["kind"]][row["autotask_id"]] = Mapping.from_row(row)
        return found

    def holders(self, kind: MappingKind, qb_name: str) -> list[Mapping]:
        """The mappings of this kind whose QuickBooks name equals ``qb_name`` ignoring case."""
        rows = self.conn.execute(
            select(qb_mappings)
            .where(
                self._where(kind),
                qb_mappings.c.qb_id.is_not(None),
                func.lower(qb_mappings.c.qb_name) == qb_name.lower(),
            )
            .order_by(qb_mappings.c.autotask_id)
        ).mappings()
        return [Mapping.from_row(row) for row in rows]

    def put(
        self,
        kind: MappingKind,
        autotask_id: int,
        *,
        qb_id: str | _Unset | None = UNSET,
        qb_name: str | _Unset | None = UNSET,
        edit_sequence: str | _Unset | None = UNSET,
        data: dict[str, Any] | None = None,
    ) -> Mapping:
        """Create or change a mapping in one statement: the columns given are set, ``data`` is
        merged into what is there (keys whose value is None are left out)."""
        given = {
            column: value
            for column, value in (
                ("qb_id", qb_id),
                ("qb_name", qb_name),
                ("edit_sequence", edit_sequence),
            )
            if not isinstance(value, _Unset)
        }
        row = (
            self.conn.execute(self._upsert(given), self._row(kind, autotask_id, data) | given)
            .mappings()
            .one()
        )
        return Mapping.from_row(row)

    def put_many(self, kind: MappingKind, data: dict[int, dict[str, Any]]) -> dict[int, Mapping]:
        """:meth:`put` of ``data`` for many records of one kind (by Autotask id), in one
        statement: each record's data is merged into its mapping, made when missing; the other
        columns stay as they are. Returns the mappings by Autotask id."""
        if not data:
            return {}
        rows = [self._row(kind, autotask_id, extra) for autotask_id, extra in data.items()]
        # Rows as parameters: one multi-row INSERT (insertmanyvalues, for its RETURNING).
        found = self.conn.execute(self._upsert({}), rows).mappings()
        return {row["autotask_id"]: Mapping.from_row(row) for row in found}

    def _row(self, kind: str, autotask_id: int, data: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "qbwc_user": self.user,
            "kind": kind,
            "autotask_id": autotask_id,
            "data": {k: v for k, v in (data or {}).items() if v is not None},
            "created_at": self.now,
            "updated_at": self.now,
        }

    def _upsert(self, given: Iterable[str]) -> Any:
        """Create a mapping, or set the ``given`` columns of the one there and merge ``data``
        into what it holds."""
        dialect_insert = pg_insert if self._postgres else sqlite_insert
        statement = dialect_insert(qb_mappings)
        merged = (
            qb_mappings.c.data.op("||")(statement.excluded.data)
            if self._postgres
            else func.json_patch(qb_mappings.c.data, statement.excluded.data)
        )
        changes: dict[str, Any] = {"updated_at": statement.excluded.updated_at, "data": merged}
        changes.update({column: getattr(statement.excluded, column) for column in given})
        return statement.on_conflict_do_update(
            index_elements=["qbwc_user", "kind", "autotask_id"], set_=changes
        ).returning(*qb_mappings.c)

    def forget(self, kind: MappingKind, autotask_id: int) -> None:
        """QuickBooks no longer has the record: drop its IDs, keep the Autotask facts."""
        self.conn.execute(
            update(qb_mappings)
            .where(self._where(kind), qb_mappings.c.autotask_id == autotask_id)
            .values(qb_id=None, qb_name=None, edit_sequence=None, updated_at=self.now)
        )
