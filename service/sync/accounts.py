"""Check the configured accounts once, before the first inventory part is added (kind
``account_check``).

QuickBooks refuses an inventory part whose income, COGS or asset account is missing (3140 on
every item, with no word about which setting is wrong). So before the first ``ItemInventoryAdd``
the enqueue API makes one ``account_check`` job, which the item jobs wait for: one
``AccountQuery`` of the four configured names (``ATQB_INCOME_ACCOUNT``, ``ATQB_COGS_ACCOUNT``,
``ATQB_ASSET_ACCOUNT``, ``ATQB_ADJUSTMENT_ACCOUNT``), each checked to exist, to be active and to
have a suitable type. Anything wrong fails this one job, naming the setting to change; the item
jobs waiting for it fail with it and come back when it is retried (``atqb jobs retry``). The
names are read from the settings when the job runs, so a corrected setting takes effect on retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.jobstore import Job
from service.kinds import Context, Decision, Done, Fail, Step, StepOutcome, failure
from service.qbxml import build
from service.qbxml.text import name_key
from service.qbxml.types import AccountRecord, Response
from service.settings import Settings
from service.sync.jsondata import Fields


@dataclass(frozen=True)
class AccountUse:
    """One configured account: its setting, what it is for, the QuickBooks types that suit it."""

    setting: str
    purpose: str
    types: tuple[str, ...]

    def name(self, settings: Settings) -> str:
        """The account name configured for this use."""
        value: str = getattr(settings, self.setting.removeprefix("ATQB_").lower())
        return value


#: QuickBooks' AccountType values (qbXML) each use accepts. Income: Income or Other Income; COGS:
#: Cost of Goods Sold or an expense; asset: Other Current Asset only (QuickBooks' New Item form);
#: adjustments: an expense or cost-of-goods account, as QuickBooks' Adjust Quantity form suggests.
USES = (
    AccountUse(
        "ATQB_INCOME_ACCOUNT",
        "the income account of new inventory parts",
        ("Income", "OtherIncome"),
    ),
    AccountUse(
        "ATQB_COGS_ACCOUNT",
        "the COGS account of new inventory parts",
        ("CostOfGoodsSold", "Expense", "OtherExpense"),
    ),
    AccountUse(
        "ATQB_ASSET_ACCOUNT", "the asset account of new inventory parts", ("OtherCurrentAsset",)
    ),
    AccountUse(
        "ATQB_ADJUSTMENT_ACCOUNT",
        "the account of inventory adjustments",
        ("CostOfGoodsSold", "Expense", "OtherExpense"),
    ),
)


@dataclass(frozen=True)
class AccountCheckState:
    """The step state of an account check: the account ``names`` its AccountQuery asked for
    (shown on the job's page; the answer is checked against the settings). The exchange's own
    flags (keys starting with ``_``) are not part of it: the exchange keeps them itself."""

    names: tuple[str, ...]

    @classmethod
    def from_json(cls, data: object) -> AccountCheckState:
        """Read a stored state; :class:`MalformedJson` names what is wrong."""
        return cls(Fields(data, "the account_check job's state").texts("names"))

    def to_json(self) -> dict[str, Any]:
        """The state as stored."""
        return {"names": list(self.names)}


def configured_names(settings: Settings) -> list[str]:
    """The configured account names, each once (in the order of :data:`USES`)."""
    names: list[str] = []
    for use in USES:
        name = use.name(settings)
        if name_key(name) not in {name_key(n) for n in names}:
            names.append(name)
    return names


class CheckAccounts:
    """Kind ``account_check`` (see the module docstring)."""

    name = "account_check"

    def step(self, _job: Job, request_id: str, ctx: Context) -> StepOutcome:
        """One AccountQuery naming the configured accounts."""
        names = configured_names(ctx.settings)
        request = build.account_query(request_id, full_names=names)
        return Step(request, AccountCheckState(tuple(names)).to_json())

    def handle(self, _job: Job, response: Response, ctx: Context) -> Decision:
        """Done when every configured account exists, is active and suits its use."""
        trouble = failure(response)
        if trouble is not None:
            return trouble
        found = {name_key(r.full_name or r.name): r for r in response.records_of(AccountRecord)}
        problems: list[str] = []
        checked: dict[str, str] = {}
        for use in USES:
            name = use.name(ctx.settings)
            problem = _problem(use, name, found.get(name_key(name)))
            if problem:
                problems.append(problem)
            else:
                checked[use.setting] = name
        if problems:
            return Fail(" ".join(problems) + " Then retry this job; the items wait for it.")
        return Done({"accounts": checked})


def _problem(use: AccountUse, name: str, account: AccountRecord | None) -> str | None:
    suits = " or ".join(use.types)
    if account is None:
        return (
            f"{use.setting} is {name!r} ({use.purpose}), but QuickBooks has no account of that "
            f"name: create it in QuickBooks (type {suits}) or set {use.setting} to an existing "
            "one."
        )
    if account.is_active is False:
        return (
            f"{use.setting} is {name!r} ({use.purpose}), but that QuickBooks account is "
            f"inactive: make it active in QuickBooks or set {use.setting} to another account."
        )
    if account.account_type not in use.types:
        return (
            f"{use.setting} is {name!r} ({use.purpose}), a QuickBooks {account.account_type} "
            f"account; it must be {suits}: set {use.setting} to such an account."
        )
    return None
