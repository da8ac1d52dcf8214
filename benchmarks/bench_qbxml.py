"""How fast the qbXML layer builds requests and reads answers, and what a 10 MB answer costs.

Run: ``.venv/bin/python benchmarks/bench_qbxml.py``. Prints:

* requests built per second (a realistic mix: name lookups, vendor/item adds, a 5-line purchase
  order, a receipt, an inventory adjustment), and messages assembled per second;
* answers parsed per second (the real PurchaseOrderQueryRs with lines, and a 20-answer batch);
* for a 10 MB ItemInventoryQueryRs (~11,000 inventory parts): parse time, the tracemalloc peak
  (Python objects: records, strings) and the growth of the process's peak RSS (which includes
  libxml2), next to the same figures for parsing the whole tree at once with service.xmlsafe.

The 10 MB figures run in child processes so each starts from a clean peak RSS.
"""

from __future__ import annotations

import gc
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from service.qbxml import build as b  # noqa: E402
from service.qbxml.parse import parse_response  # noqa: E402
from service.qbxml.types import (  # noqa: E402
    InventoryAdjustment,
    InventoryAdjustmentLine,
    InventoryItem,
    ItemReceipt,
    ItemReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    Ref,
)
from tests.qbxml.helpers import inventory_answer  # noqa: E402

SAMPLE = REPO.parent / "shared/reference/qbxml/samples/qbwc-qbxml-spec/purchase_order_query_rs.xml"


def rate(label: str, unit: str, work: Callable[[], int], seconds: float = 2.0) -> None:
    """Run ``work`` (returns how many units it did) for about ``seconds``; print units/s."""
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        done += work()
    print(f"{label:<52} {done / elapsed:>12,.0f} {unit}/s")


LINES = tuple(
    PurchaseOrderLine(Ref(full_name=f"Part {i}"), Decimal(i + 1), Decimal("12.34"), f"Desc {i}")
    for i in range(5)
)


def purchase_order() -> b.Request:
    return b.purchase_order_add(
        "5",
        PurchaseOrder(
            Ref(full_name="Acme Supply"),
            LINES,
            ref_number="4711",
            txn_date=date(2024, 5, 1),
            memo="Caf\u00e9 \u201corder\u201d",
        ),
    )


def request_mix() -> list[b.Request]:
    acct = Ref(full_name="Inventory Asset")
    return [
        b.vendor_query("1", full_names=["Acme Supply"]),
        b.vendor_add("2", "Acme Supply"),
        b.item_query("3", full_names=[f"Part {i}" for i in range(5)]),
        b.item_inventory_add(
            "4", InventoryItem("Part 0", acct, acct, acct, sales_desc="Cable", purchase_cost=1)
        ),
        purchase_order(),
        b.item_receipt_add(
            "6",
            ItemReceipt(Ref(full_name="Acme Supply"), (ItemReceiptLine("30-1", "32-1", 5),)),
        ),
        b.inventory_adjustment_add(
            "7",
            InventoryAdjustment(
                acct,
                (InventoryAdjustmentLine(Ref(full_name="P"), new_quantity=3),),
            ),
        ),
    ]


def big_answer() -> str:
    return inventory_answer(11_000)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak_rss() -> int:
    """Reset the peak-RSS mark (Linux: write 5 to clear_refs); return the current RSS in kB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_kb("VmRSS")
    except OSError:  # not Linux: fall back to the lifetime peak
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_rss() -> int:
    """The peak RSS in kB since :func:`reset_peak_rss`."""
    try:
        return _status_kb("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_big(mode: str) -> None:
    """Child process: parse the 10 MB answer one way and print its figures.

    The first pass is timed and sets the peak RSS; the second runs under tracemalloc (which
    slows Python code several times over, so it is not timed).
    """
    text = big_answer()

    def parse() -> int:
        if mode == "stream":
            (response,) = parse_response(text)
            return len(response.records)
        from service.xmlsafe import parse_text

        return sum(1 for _ in parse_text(text).iter("ItemInventoryRet"))

    gc.collect()
    rss_before = reset_peak_rss()
    start = time.perf_counter()
    count = parse()
    elapsed = time.perf_counter() - start
    rss_growth = peak_rss() - rss_before
    gc.collect()
    tracemalloc.start()
    parse()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    label = {
        "stream": "parse_response (streaming, typed records)",
        "tree": "xmlsafe.parse_text (whole tree, no records)",
    }[mode]
    print(
        f"  {label}: {len(text) / 1e6:.1f} MB, {count:,} records in {elapsed:.2f} s "
        f"({len(text) / 1e6 / elapsed:.0f} MB/s); tracemalloc peak {peak / 1e6:.1f} MB; "
        f"peak RSS growth {rss_growth / 1024:.1f} MB"
    )


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--big":
        measure_big(sys.argv[2])
        return
    print(f"Python {sys.version.split()[0]}")
    mix = request_mix()
    rate("requests built (mix of 7 kinds)", "requests", lambda: len(request_mix()))
    rate(
        "purchase orders built (5 lines, non-ASCII memo)",
        "requests",
        lambda: len([purchase_order()]),
    )
    rate("messages assembled (7 requests each)", "messages", lambda: len(b.message(mix)) and 1)
    one = SAMPLE.read_text(encoding="utf-8")
    rate("answers parsed (real PurchaseOrderQueryRs)", "answers", lambda: len(parse_response(one)))
    inner = one.split("<QBXMLMsgsRs>")[1].split("</QBXMLMsgsRs>")[0]
    batch = f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>{inner * 20}</QBXMLMsgsRs></QBXML>'
    rate("answers parsed (20 per message)", "answers", lambda: len(parse_response(batch)))
    print("10 MB answer (each in a fresh process):")
    for mode in ("stream", "tree"):
        subprocess.run([sys.executable, __file__, "--big", mode], check=True)


if __name__ == "__main__":
    main()
