"""The job store owns its tables: SQL on ``jobs``, ``job_dependencies`` and ``transmissions``
lives in service/jobstore.py (and their definitions in service/models.py), nowhere else in the
service, so a change of index or status touches one file (issue 16).

Read from each module's syntax tree, not its text: the tables (or their ORM classes) imported
from service.models, or reached as ``models.jobs``; a table named by its name as a string
(``table("jobs")``, ``metadata.tables["jobs"]``, ``pg_get_serial_sequence("jobs", …)``); raw SQL
in a string that names one of them. Docstrings and comments may talk about jobs freely.
"""

from __future__ import annotations

import ast
import re

from tests.conftest import REPO

TABLES = ("jobs", "job_dependencies", "transmissions")
#: The names service/models.py gives the tables and their ORM classes.
MODEL_NAMES = {*TABLES, "JobRow", "JobDependencyRow", "TransmissionRow"}
OWNERS = {"service/jobstore.py", "service/models.py"}

_TABLE = "|".join(TABLES)
#: A table named where SQL names a table: after FROM, JOIN, UPDATE, INTO or TABLE, or qualifying
#: a column (``jobs.status``).
SQL_NAMING = re.compile(
    rf"\b(?:from|join|update|into|table)\s+[\"`]?(?:{_TABLE})\b|\b(?:{_TABLE})\.[a-z_]+\b",
    re.IGNORECASE,
)


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the string constants that are docstrings (module, class, function)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _reaching(node: ast.AST, docstrings: set[int]) -> str | None:
    """What ``node`` does to reach a job table, or None."""
    if isinstance(node, ast.ImportFrom) and node.module in ("service.models", "models"):
        names = [alias.name for alias in node.names if alias.name in MODEL_NAMES]
        return f"imports {', '.join(names)} from service.models" if names else None
    if isinstance(node, ast.Attribute) and node.attr in MODEL_NAMES:
        named = isinstance(node.value, ast.Name) and node.value.id == "models"
        return f"models.{node.attr}" if named else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        sql = id(node) not in docstrings and SQL_NAMING.search(node.value)
        return f"SQL text {node.value[:60]!r}" if sql else None
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        callee = ast.unparse(node.func).rsplit(".", 1)[-1]
        by_name = callee in ("table", "Table", "pg_get_serial_sequence")
        return (
            f"{callee}({node.args[0].value!r})"
            if by_name and node.args[0].value in TABLES
            else None
        )
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        by_name = node.slice.value in TABLES and ast.unparse(node.value).endswith("tables")
        return ast.unparse(node) if by_name else None
    return None


def _sql_on_job_tables(source: str) -> list[str]:
    """What in ``source`` reaches the job tables, one line each (``line: what``)."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        what = _reaching(node, docstrings)
        if what is not None:
            found.append(f"{getattr(node, 'lineno', 0)}: {what}")
    return found


def test_only_the_job_store_queries_the_job_tables() -> None:
    offenders = {}
    for path in sorted((REPO / "service").rglob("*.py")):
        name = path.relative_to(REPO).as_posix()
        if name in OWNERS:
            continue
        found = _sql_on_job_tables(path.read_text(encoding="utf-8"))
        if found:
            offenders[name] = found
    assert not offenders, "SQL on the job tables outside service/jobstore.py:\n" + "\n".join(
        f"{name}:{line}" for name, lines in offenders.items() for line in lines
    )


def test_the_check_sees_each_way_of_reaching_the_tables() -> None:
    """The detector itself: each way in, and what it must leave alone."""
    reaching = [
        "from service.models import jobs, poller_orders",
        "from service.models import JobDependencyRow",
        "from service import models\nq = models.transmissions.c.id",
        "conn.exec_driver_sql(\"SELECT id FROM jobs WHERE status = 'done'\")",
        'text("update job_dependencies set job_id = 1")',
        "text(\"SELECT 1 WHERE jobs.status = 'done'\")",
        'sa.table("jobs", sa.column("id"))',
        'func.pg_get_serial_sequence("jobs", "id")',
        'Base.metadata.tables["transmissions"]',
    ]
    for source in reaching:
        assert _sql_on_job_tables(source), source
    harmless = [
        '"""Jobs: select them from jobs, join the jobs table; jobs.status is a column."""',
        "from service.models import poller_orders, wc_sessions",
        "from service.jobstore import JobStore",
        'parser.add_parser("jobs", help="list jobs, newest first")',
        'print(f"removed {n} transmission(s) of done or cancelled jobs")',
        "store.find(status='done')",
    ]
    for source in harmless:
        assert not _sql_on_job_tables(source), source


def test_the_owners_hold_what_the_check_looks_for() -> None:
    """The check reads the files that exist: the store and the schema are where it says."""
    for name in OWNERS:
        assert (REPO / name).is_file(), name
    assert _sql_on_job_tables((REPO / "service/jobstore.py").read_text(encoding="utf-8"))
