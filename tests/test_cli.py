"""The ``atqb`` command line: what operators and scripts see, exit codes 0 / 1 / 2."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from service.cli import main
from service.clock import utcnow
from service.db import Database
from service.jobstore import JobStore, NewJob
from service.webconnector.sessions import Sessions, verify_password

CONTRACT_FIELDS = {
    "id",
    "kind",
    "status",
    "attempts",
    "error",
    "subject",
    "autotask",
    "created_at",
    "updated_at",
}


@pytest.fixture
def cli_db(
    sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Database]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATQB_DATABASE_URL", sqlite_database_url)
    database = Database.from_url(sqlite_database_url)
    yield database
    database.dispose()


def run(
    argv: list[str], capsys: pytest.CaptureFixture[str], stdin: str | None = None
) -> tuple[int, str, str]:
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    finally:
        sys.stdin = sys.__stdin__
    out, err = capsys.readouterr()
    return code, out, err


def test_users_add_reads_the_password_from_stdin_and_never_prints_it(
    cli_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        ["users", "add", "office", "--company-file", r"C:\Books\Co.QBW", "--password-stdin"],
        capsys,
        stdin="correct horse\n",
    )
    assert code == 0, err
    assert "added Web Connector user 'office'" in out
    assert "correct horse" not in out + err
    with cli_db.transaction() as conn:
        user = Sessions(conn, utcnow()).find_user("office")
    assert user is not None
    assert user.company_file == r"C:\Books\Co.QBW"
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (
            ["users", "add", "x", "--company-file", "", "--password-stdin"],
            "\n",
            "must not be empty",
        ),
        (
            ["users", "add", " ", "--company-file", "", "--password-stdin"],
            "pw\n",
            "user name must be",
        ),
    ],
)
@pytest.mark.usefixtures("cli_db")
def test_users_add_refuses_unusable_input(
    capsys: pytest.CaptureFixture[str], argv: list[str], stdin: str, message: str
) -> None:
    code, _out, err = run(argv, capsys, stdin=stdin)
    assert code == 1
    assert message in err
    assert err.startswith("atqb: error: ")
    assert err.count("\n") == 1


@pytest.mark.usefixtures("cli_db")
def test_users_add_twice_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["users", "add", "office", "--company-file", "", "--password-stdin"]
    assert run(argv, capsys, stdin="a\n")[0] == 0
    code, _out, err = run(argv, capsys, stdin="b\n")
    assert code == 1
    assert "already exists" in err


@pytest.mark.usefixtures("cli_db")
def test_qwc_has_a_stable_owner_id_and_a_file_id_per_user(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("office", "branch"):
        run(["users", "add", name, "--company-file", "", "--password-stdin"], capsys, stdin="pw\n")
    files = []
    for name in ("office", "office", "branch"):
        code, out, err = run(["qwc", name, "--url", "https://qb.example.com/qbwc"], capsys)
        assert code == 0, err
        files.append(etree.fromstring(out.encode()))
    owner = [f.findtext("OwnerID") for f in files]
    file_ids = [f.findtext("FileID") for f in files]
    assert owner[0] == owner[1] == owner[2]
    assert file_ids[0] == file_ids[1] != file_ids[2]
    assert files[0].findtext("UserName") == "office"
    assert files[0].findtext("AppURL") == "https://qb.example.com/qbwc"


@pytest.mark.usefixtures("cli_db")
def test_qwc_refuses_plain_http_and_unknown_users(capsys: pytest.CaptureFixture[str]) -> None:
    run(["users", "add", "office", "--company-file", "", "--password-stdin"], capsys, stdin="pw\n")
    code, out, err = run(["qwc", "office", "--url", "http://qb.example.com/qbwc"], capsys)
    assert (code, out) == (1, "")
    assert "https" in err
    code, _out, err = run(["qwc", "nobody", "--url", "https://qb.example.com/qbwc"], capsys)
    assert code == 1
    assert "atqb users add nobody" in err


def _jobs(database: Database) -> tuple[int, int]:
    with database.transaction() as conn:
        store = JobStore(conn, utcnow())
        vendor, _ = store.enqueue(
            NewJob(
                kind="company_query",
                qbwc_user="office",
                payload={"x": 1},
                subject="Vendor Acme Supply",
                autotask_entity="Companies",
                autotask_id=29683,
            )
        )
        po, _ = store.enqueue(
            NewJob(
                kind="company_query",
                qbwc_user="office",
                payload={},
                subject="PO 1234 · Acme Supply",
                depends_on=(vendor.id,),
            )
        )
        store.fail(vendor.id, "QuickBooks 3100 (Error): The name is already in use.")
    return vendor.id, po.id


def test_jobs_list_json_has_the_contract_fields(
    cli_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    vendor_id, po_id = _jobs(cli_db)
    code, out, _err = run(["jobs", "list", "--json"], capsys)
    assert code == 0
    listed = json.loads(out)
    assert [job["id"] for job in listed] == [po_id, vendor_id]
    assert all(set(job) >= CONTRACT_FIELDS for job in listed)
    assert listed[1]["autotask"] == {"entity": "Companies", "id": 29683}
    assert listed[0]["status"] == "failed"
    assert f"#{vendor_id}" in listed[0]["error"]
    code, out, _err = run(["jobs", "list", "--status", "pending", "--json"], capsys)
    assert json.loads(out) == []


def test_jobs_list_table_is_readable(cli_db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    _jobs(cli_db)
    code, out, _err = run(["jobs", "list"], capsys)
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == [
        "ID",
        "STATUS",
        "KIND",
        "USER",
        "TRIES",
        "UPDATED",
        "SUBJECT",
        "ERROR",
    ]
    assert any("PO 1234" in row and "failed" in row for row in rows)


def test_jobs_show_json_adds_payload_result_and_transmissions(
    cli_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    vendor_id, po_id = _jobs(cli_db)
    code, out, _err = run(["jobs", "show", str(vendor_id), "--json"], capsys)
    shown = json.loads(out)
    assert code == 0
    assert shown["payload"] == {"x": 1}
    assert shown["result"] is None
    assert shown["transmissions"] == []
    assert shown["dependents"] == [po_id]
    code, out, _err = run(["jobs", "show", str(po_id)], capsys)
    assert code == 0
    assert f"waits for:  #{vendor_id}" in out
    assert "3100" in out


def test_jobs_retry_and_cancel(cli_db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    vendor_id, po_id = _jobs(cli_db)
    code, out, _err = run(["jobs", "retry", str(po_id)], capsys)
    assert code == 0
    assert f"job #{po_id} is now waiting" in out
    code, out, _err = run(["jobs", "cancel", str(vendor_id)], capsys)
    assert code == 0
    assert "cancelled" in out
    code, _out, err = run(["jobs", "cancel", str(vendor_id)], capsys)
    assert code == 1
    assert "already cancelled" in err
    code, _out, err = run(["jobs", "show", "999"], capsys)
    assert code == 1
    assert "no job #999" in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["jobs"],
        ["jobs", "list", "--status", "stuck"],
        ["jobs", "show", "abc"],
        ["jobs", "retry", "0"],
        ["serve", "--port", "99999"],
        ["users", "add", "x"],
        ["transfer"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _out, err = run(argv, capsys)
    assert code == 2
    assert "usage:" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["jobs", "show", "abc"], "argument id: not a whole number: 'abc'"),
        (["jobs", "retry", "0"], "argument id: must be 1 or more, got 0"),
        (["jobs", "list", "--limit", "-3"], "argument --limit: must be 1 or more, got -3"),
        (["db", "prune", "--older-than", "x"], "not a whole number of days: 'x'"),
        (["db", "prune", "--older-than", "-1"], "must be 0 or more days, got -1"),
    ],
)
def test_bad_numbers_are_explained(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _out, err = run(argv, capsys)
    assert code == 2
    assert message in err


def test_unmigrated_database_is_explained(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _out, err = run(["jobs", "list"], capsys)
    assert code == 1
    assert "run `atqb db upgrade` first" in err
    code, out, _err = run(["db", "upgrade"], capsys)
    assert code == 0
    assert "newest schema" in out
    assert run(["jobs", "list"], capsys)[:2] == (0, "no jobs\n")


def test_bad_setting_exits_1_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATQB_TRANSFER_MODE", "whenever")
    code, _out, err = run(["jobs", "list"], capsys)
    assert code == 1
    assert "ATQB_TRANSFER_MODE" in err


def test_python_dash_m_service_and_the_console_script_are_the_same_program(tmp_path: Path) -> None:
    for command in (
        [sys.executable, "-m", "service"],
        [str(Path(sys.executable).with_name("atqb"))],
    ):
        help_ = subprocess.run([*command, "--help"], capture_output=True, text=True, cwd=tmp_path)
        assert help_.returncode == 0
        assert "jobs" in help_.stdout
        assert "serve" in help_.stdout
        version = subprocess.run([*command, "--version"], capture_output=True, text=True)
        assert version.stdout.startswith("atqb ")


@pytest.mark.usefixtures("cli_db")
def test_users_list_names_each_user_and_company_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["users", "list"], capsys)
    assert code == 0
    assert "no Web Connector users" in out
    run(
        ["users", "add", "office", "--company-file", r"C:\Books\Co.QBW", "--password-stdin"],
        capsys,
        stdin="pw\n",
    )
    run(["users", "add", "annex", "--company-file", "", "--password-stdin"], capsys, stdin="pw\n")
    code, out, err = run(["users", "list"], capsys)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "annex   (the company file open in QuickBooks)",
        r"office  C:\Books\Co.QBW",
    ]
    assert "pw" not in out


def test_users_passwd_changes_the_password_and_refuses_unknown_users(
    cli_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["users", "add", "office", "--company-file", "", "--password-stdin"], capsys, stdin="old\n")
    code, out, err = run(["users", "passwd", "office", "--password-stdin"], capsys, stdin="new\n")
    assert (code, err) == (0, "")
    assert "new" not in out.replace("next", "")
    with cli_db.transaction() as conn:
        user = Sessions(conn, utcnow()).find_user("office")
    assert verify_password(user, "new")
    assert not verify_password(user, "old")
    code, _, err = run(["users", "passwd", "nobody", "--password-stdin"], capsys, stdin="x\n")
    assert code == 1
    assert "no Web Connector user 'nobody'" in err
    code, _, err = run(["users", "passwd", "office", "--password-stdin"], capsys, stdin="\n")
    assert code == 1
    assert "must not be empty" in err
    with cli_db.transaction() as conn:
        assert verify_password(Sessions(conn, utcnow()).find_user("office"), "new")
