"""Field definitions and picklists (``GET {Entity}/entityInformation/fields``).

Picklist integer values differ between Autotask tenants; labels are the stable part
(reference/autotask.md 5 and 7.9). So the sync never hard-codes "status 5 means Canceled": it
reads the tenant's picklist and resolves the value by label::

    canceled = client.picklist("PurchaseOrders", "status").value_of("Canceled", "Cancelled")
    vendor = client.picklist_value("Companies", "companyType", "Vendor")

Labels are compared ignoring case and repeated blanks; several labels may be given as
alternatives, tried in order. A missing label raises
:class:`~service.autotask.errors.PicklistError` listing the labels the tenant has.
Picklist ``value`` is a string on the wire (``"3"``) while the entity field holds an integer;
:meth:`Picklist.value_of` returns the integer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import MalformedResponse, PicklistError

__all__ = ["FieldInfo", "Picklist", "PicklistValue", "parse_field_definitions", "picklist_from"]


@dataclass(frozen=True)
class PicklistValue:
    """One choice of a picklist (Swagger ``PickListValue``)."""

    value: str
    label: str
    is_active: bool = True
    is_default: bool = False
    is_system: bool = False
    sort_order: int | None = None
    parent_value: str | None = None


@dataclass(frozen=True)
class FieldInfo:
    """One field definition (Swagger ``FieldInformationModel``), the parts the sync uses."""

    name: str
    data_type: str | None = None
    length: int | None = None
    is_required: bool = False
    is_read_only: bool = False
    is_queryable: bool = False
    is_reference: bool = False
    reference_entity_type: str | None = None
    is_picklist: bool = False
    picklist_values: tuple[PicklistValue, ...] = ()


def _norm(label: str) -> str:
    return " ".join(label.split()).casefold()


@dataclass(frozen=True)
class Picklist:
    """The choices of one picklist field of one entity, in this tenant."""

    entity: str
    field: str
    values: tuple[PicklistValue, ...]

    def value_of(self, *labels: str) -> int:
        """The integer value labelled with the first of ``labels`` that exists.

        Inactive choices count (old records may still hold them) but an active one wins when
        two choices share a label. Raises :class:`PicklistError` when no label matches, when a
        label is ambiguous, or when the value is not an integer.
        """
        if not labels:
            raise ValueError("value_of needs at least one label")
        for label in labels:
            matches = [v for v in self.values if _norm(v.label) == _norm(label)]
            active = [v for v in matches if v.is_active] or matches
            distinct = {v.value for v in active}
            if len(distinct) > 1:
                raise PicklistError(
                    f"Autotask {self.entity}.{self.field} has several values labelled "
                    f"{label!r} ({', '.join(sorted(distinct))}); cannot tell which one is meant",
                    entity=self.entity,
                    field=self.field,
                )
            if active:
                try:
                    return int(active[0].value)
                except ValueError:
                    raise PicklistError(
                        f"Autotask {self.entity}.{self.field} value for {label!r} is "
                        f"{active[0].value!r}, not an integer",
                        entity=self.entity,
                        field=self.field,
                    ) from None
        known = ", ".join(repr(v.label) for v in self.values) or "none"
        wanted = " or ".join(repr(label) for label in labels)
        raise PicklistError(
            f"Autotask {self.entity}.{self.field} has no value labelled {wanted} in this "
            f"tenant (its labels: {known}). Check the picklist in Autotask Admin, or the "
            "API user's permission to read it.",
            entity=self.entity,
            field=self.field,
        )

    def label_of(self, value: int | str) -> str | None:
        """The label of ``value``, or None when the tenant has no such value."""
        for choice in self.values:
            if choice.value == str(value):
                return choice.label
        return None


def _fail(entity: str, problem: str) -> MalformedResponse:
    return MalformedResponse(
        f"Autotask's field definitions of {entity} are not as documented: {problem}",
        path=f"{entity}/entityInformation/fields",
    )


def _opt(entity: str, where: str, data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _fail(entity, f"{where}.{key} is {value!r}")
    return value


def _picklist_value(entity: str, where: str, raw: object) -> PicklistValue:
    if not isinstance(raw, dict):
        raise _fail(entity, f"{where} has a picklist value that is not an object: {raw!r}")
    value = raw.get("value")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    label = raw.get("label")
    if not isinstance(value, str) or not isinstance(label, str):
        raise _fail(entity, f"{where} has a picklist value without value/label: {raw!r}")
    parent = raw.get("parentValue")
    return PicklistValue(
        value=value,
        label=label,
        is_active=_opt(entity, where, raw, "isActive", bool) is not False,
        is_default=bool(_opt(entity, where, raw, "isDefaultValue", bool)),
        is_system=bool(_opt(entity, where, raw, "isSystem", bool)),
        sort_order=_opt(entity, where, raw, "sortOrder", int),
        parent_value=str(parent) if parent not in (None, "") else None,
    )


def parse_field_definitions(entity: str, body: object) -> tuple[FieldInfo, ...]:
    """Read a ``FieldInformationResultModel`` (``{"fields": [...]}``)."""
    if not isinstance(body, dict) or not isinstance(body.get("fields"), list):
        raise _fail(entity, 'expected an object with a "fields" array')
    out = []
    for raw in body["fields"]:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise _fail(entity, f"a field definition has no name: {raw!r}"[:300])
        where = raw["name"]
        values = raw.get("picklistValues") or []
        if not isinstance(values, list):
            raise _fail(entity, f"{where}.picklistValues is not an array")
        out.append(
            FieldInfo(
                name=where,
                data_type=_opt(entity, where, raw, "dataType", str),
                length=_opt(entity, where, raw, "length", int),
                is_required=bool(_opt(entity, where, raw, "isRequired", bool)),
                is_read_only=bool(_opt(entity, where, raw, "isReadOnly", bool)),
                is_queryable=bool(_opt(entity, where, raw, "isQueryable", bool)),
                is_reference=bool(_opt(entity, where, raw, "isReference", bool)),
                reference_entity_type=_opt(entity, where, raw, "referenceEntityType", str),
                is_picklist=bool(_opt(entity, where, raw, "isPickList", bool)),
                picklist_values=tuple(_picklist_value(entity, where, v) for v in values),
            )
        )
    return tuple(out)


def picklist_from(entity: str, field: str, fields: tuple[FieldInfo, ...]) -> Picklist:
    """The picklist of ``field`` (matched ignoring case, as Autotask field names are)."""
    for info in fields:
        if info.name.casefold() == field.casefold():
            if not info.is_picklist and not info.picklist_values:
                raise PicklistError(
                    f"Autotask {entity}.{info.name} is not a picklist field",
                    entity=entity,
                    field=field,
                )
            return Picklist(entity, info.name, info.picklist_values)
    raise PicklistError(
        f"Autotask {entity} has no field {field!r} (or the API user may not see it)",
        entity=entity,
        field=field,
    )
