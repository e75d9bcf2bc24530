"""The read side gives the same answer from anywhere (issue 14): every command that reads an
output folder, run as a user runs it — from the repository, from inside the folder, from a
folder holding another run's Parquet files, from elsewhere, with relative and absolute
paths — prints the same thing. And the folder is only read: `query` runs one read-only
statement on a connection that can reach the folder and nothing else, and no command
executes anything the folder holds (views.sql is for analysts, never read back).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import AS_OF, SPEC_CONFIG, customer, item, write_csv

from dunning_batch.cli import DEMO_AS_OF, DEMO_CONFIG, DEMO_CUSTOMERS, DEMO_ITEMS, DEMO_RATES, main
from dunning_batch.config import CUSTOMER_COLUMNS, OPEN_ITEM_COLUMNS
from dunning_batch.run import run

ROOT = Path(__file__).resolve().parent.parent
PLACES = ("repository", "inside", "beside_other_run", "elsewhere")


@pytest.fixture(scope="module")
def world(tmp_path_factory, demo_run) -> dict[str, Path]:
    """The demo's folder with PDFs (a copy of tests/conftest.py's), and a folder holding another
    (3-item) run's files at its top."""
    base = tmp_path_factory.mktemp("read_side")
    demo = base / "runs" / "demo-out"
    shutil.copytree(demo_run, demo)
    small = base / "small"
    small.mkdir()
    config = small / "config.toml"
    config.write_text(SPEC_CONFIG, encoding="utf-8")
    items = write_csv(small / "items.csv", [item("X-1", 10, "100.00"), item("X-2", 30, "55.00"),
                                            item("X-3", -2, "10.00")], OPEN_ITEM_COLUMNS)
    customers = write_csv(small / "customers.csv", [customer("C1")], CUSTOMER_COLUMNS)
    run(config, items, customers, AS_OF, small / "out", pdf=False)
    # what `query ... --format parquet --to decisions.parquet` leaves in a working folder
    beside = base / "work"
    shutil.copytree(small / "out", beside)
    (beside / "pdf").mkdir(exist_ok=True)
    elsewhere = base / "elsewhere" / "deep"
    elsewhere.mkdir(parents=True)
    return {"demo": demo, "repository": ROOT, "inside": demo, "beside_other_run": beside,
            "elsewhere": elsewhere, "small": small}


def cli(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess:
    """`dunning-batch ARGS` as a user types it, in folder `cwd`."""
    return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def spellings(world: dict[str, Path], place: str) -> list[str]:
    """The demo folder as a user in `place` may name it: relative and absolute."""
    cwd = world[place]
    return [os.path.relpath(world["demo"], cwd), str(world["demo"])]


def answers(world: dict[str, Path], *args: str, folder_args: int = 1) -> set[tuple[int, str, str]]:
    """(exit code, stdout, stderr) of `args` with the folder placed first, from every place and spelling."""
    seen = set()
    for place in PLACES:
        for folder in spellings(world, place):
            result = cli(world[place], args[0], *[folder] * folder_args, *args[1:])
            seen.add((result.returncode, result.stdout, result.stderr))
    return seen


def test_query_counts_the_folders_own_rows_from_anywhere(world):
    seen = answers(world, "query", "SELECT (SELECT count(*) FROM decisions) AS items, count(*) AS letters "
                                   "FROM letters")
    assert len(seen) == 1, seen
    code, out, _ = seen.pop()
    assert code == 0
    assert out.splitlines()[2].split() == ["166", "28"]


def test_explain_explains_the_folders_own_item_from_anywhere(world):
    seen = answers(world, "explain", "X-1")  # a doc_id of the other run only
    # the message names the folder as the user spelled it; the answer is the same
    assert {(code, out, err.split(": ", 1)[1]) for code, out, err in seen} == \
        {(2, "", "no item 'X-1' in decisions.parquet\n")}
    seen = answers(world, "explain", "--customer", "C001")
    assert len(seen) == 1, seen
    code, out, _ = seen.pop()
    assert code == 0 and "C001" in out


def test_reconcile_passes_from_anywhere_with_relative_and_absolute_paths(world):
    seen = answers(world, "reconcile")
    assert len(seen) == 1, seen
    code, out, _ = seen.pop()
    assert code == 0, out
    # 20 outputs of the run and its 12 config files (cfg_*.parquet)
    assert "PASS  6 files            33 outputs and 28 letters' PDFs checked" in out
    assert out.endswith("all checks passed\n")


def test_diff_of_a_folder_with_itself_finds_nothing_from_anywhere(world):
    codes = {code for code, _, _ in answers(world, "diff", folder_args=2)}
    assert codes == {0}


def test_a_run_beside_another_runs_files_summarises_its_own_items(world, tmp_path):
    cwd = world["beside_other_run"]
    out = tmp_path / "night"
    result = cli(cwd, "run", "--config", os.path.relpath(DEMO_CONFIG, cwd),
                 "--open-items", os.path.relpath(DEMO_ITEMS, cwd), "--customers", os.path.relpath(DEMO_CUSTOMERS, cwd),
                 "--rates", os.path.relpath(DEMO_RATES, cwd),
                 "--as-of", DEMO_AS_OF.isoformat(), "--out", os.path.relpath(out, cwd), "--no-pdf")
    assert result.returncode == 0, result.stderr
    summary = (out / "summary.html").read_text(encoding="utf-8")
    assert "166" in summary and "items decided" in summary
    assert json.loads((out / "run.json").read_text())["outputs"]["decisions.parquet"]["rows"] == 166


def test_reconcile_with_the_export_finds_config_and_export_from_anywhere(world):
    for place in PLACES:
        cwd = world[place]
        result = cli(cwd, "reconcile", os.path.relpath(world["demo"], cwd),
                     "--open-items", os.path.relpath(DEMO_ITEMS, cwd))
        assert result.returncode == 0, (place, result.stdout, result.stderr)
        assert "PASS  7 export" in result.stdout


# ---- the folder is only read --------------------------------------------------------------------

@pytest.mark.parametrize("sql, says", [
    ("SELECT * FROM read_text('/etc/passwd')", "Permission"),
    ("SELECT * FROM read_csv('/etc/hostname')", "Permission"),
    ("COPY (SELECT 1) TO 'evil.csv'", "query only reads: COPY is refused"),
    ("COPY letters TO 'letters.parquet'", "query only reads: COPY is refused"),
    ("ATTACH 'evil.db'", "query only reads: ATTACH is refused"),
    ("INSTALL httpfs", "query only reads: INSTALL is refused"),  # DuckDB types it as LOAD
    ("  load httpfs", "query only reads: LOAD is refused"),
    ("SET enable_external_access = true", "query only reads: SET is refused"),
    ("SELECT 1; COPY letters TO 'x.csv'", "exactly one statement"),
    ("  -- nothing but a comment", "query needs a statement"),
    ("CREATE TABLE t AS SELECT 1", "query only reads: CREATE is refused"),
    ("SELECT * FROM glob('/etc/*')", "Permission"),
    # EXPLAIN ANALYZE runs the statement it explains (a probe overwrote run.json with it)
    ("EXPLAIN ANALYZE COPY (SELECT 'x') TO 'evil.csv' (FORMAT csv, HEADER false)", "EXPLAIN COPY is refused"),
    ("EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1", "EXPLAIN CREATE is refused"),
    ("explain /* a comment */ analyze copy (select 1) to 'evil.csv'", "query failed"),
])
def test_query_can_only_read_the_folder(world, sql, says):
    before = sorted(p.name for p in world["demo"].iterdir())
    result = cli(world["demo"], "query", ".", sql)
    assert result.returncode == 2, result.stdout
    assert says in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in world["demo"].iterdir()) == before


def test_query_reads_no_spill_folder_of_the_working_directory(world, tmp_path):
    """DuckDB allowed its spill folder, `.tmp` in the working directory, beside the run's
    folder: a probe read a file there through `query`."""
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "secret.txt").write_text("secret", encoding="utf-8")
    result = cli(tmp_path, "query", world["demo"], "SELECT content FROM read_text('.tmp/secret.txt')")
    assert result.returncode == 2 and "Permission" in result.stderr and "secret" not in result.stdout


def test_a_folder_named_with_a_glob_character_is_read_alone(world, tmp_path):
    """DuckDB reads a path as a pattern: beside a folder `A`, the folder `A*` was read as both
    (a probe's `void 'A*'` reversed each fee twice). Each command reads the folder it is given."""
    shutil.copytree(world["demo"], tmp_path / "A")
    shutil.copytree(world["demo"], tmp_path / "A*")
    shutil.copytree(world["small"] / "out", tmp_path / "A[1]")
    for folder, own in (("A*", world["demo"]), ("A[1]", world["small"] / "out")):
        expected = pq.read_metadata(own / "letters.parquet").num_rows
        result = cli(tmp_path, "query", folder, "SELECT count(*) AS n FROM letters", "--format", "csv")
        assert (result.returncode, result.stdout) == (0, f"n\n{expected}\n"), (folder, result.stderr)
    assert cli(tmp_path, "diff", "A*", "A").returncode == 0
    letter = duckdb.sql(f"SELECT min(letter_id) FROM read_parquet('{world['demo'] / 'letters.parquet'}') "
                        f"WHERE fee > 0").fetchall()[0][0]
    result = cli(tmp_path, "void", "A*", letter, "--as-of", "2026-11-27")
    assert result.returncode == 0, result.stderr
    [reversals] = (tmp_path / "A*" / "voids").glob("*/fee_reversals.csv")
    assert len(reversals.read_text(encoding="utf-8").splitlines()) == 2   # the header and one reversal


@pytest.mark.parametrize("target", ["ledger", "other_run_json", "ledger_lock"])
def test_query_to_never_writes_over_another_run_s_record_or_a_ledger(world, tmp_path, target):
    """`--to` guarded only the folder `query` reads: a probe wrote over another run's run.json
    and over a ledger with exit 0."""
    shutil.copytree(world["small"] / "out", tmp_path / "other")
    duckdb.connect(str(tmp_path / "ledger.duckdb")).close()
    (tmp_path / "ledger.duckdb.lock").write_text("{}", encoding="utf-8")
    path = {"ledger": "ledger.duckdb", "other_run_json": "other/run.json", "ledger_lock": "ledger.duckdb.lock"}[target]
    before = (tmp_path / path).read_bytes()
    result = cli(tmp_path, "query", world["demo"], "SELECT 1 AS x", "--format", "csv", "--to", path)
    assert result.returncode == 2 and "--to" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / path).read_bytes() == before


def test_query_to_a_parquet_file_beside_the_folder_keeps_types(world, tmp_path):
    result = cli(tmp_path, "query", world["demo"], "SELECT letter_id, total_due FROM letters",
                 "--format", "parquet", "--to", "decisions.parquet")
    assert result.returncode == 0, result.stderr
    again = cli(tmp_path, "query", world["demo"], "SELECT count(*) FROM decisions")
    assert again.stdout.splitlines()[2].strip() == "166"  # the folder's, not the file just written here


def test_no_command_executes_the_folders_views_sql(world, tmp_path):
    folder = tmp_path / "received"
    shutil.copytree(world["demo"], folder)
    trap = tmp_path / "trap.csv"
    (folder / "views.sql").write_text(f"COPY (SELECT 1) TO '{trap}';\nCREATE VIEW letters AS SELECT 1 AS x;\n")
    result = cli(tmp_path, "query", "received", "SELECT count(*) FROM letters")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2].strip() == "28"
    assert cli(tmp_path, "explain", "received", "--customer", "C001").returncode == 0
    assert not trap.exists()


@pytest.mark.parametrize("lost", ["letters.parquet", "decisions.parquet", "letter_lines.parquet"])
@pytest.mark.parametrize("command", [["query", "part", "SELECT count(*) FROM decisions"],
                                     ["explain", "part", "--customer", "C015"]])
def test_a_folder_missing_a_file_of_its_run_is_named_incomplete(world, tmp_path, lost, command):
    """It was exit 3, DuckDB's catalog error from the analyst views or explain's own SQL."""
    folder = tmp_path / "part"
    shutil.copytree(world["demo"], folder)
    (folder / lost).unlink()
    result = cli(tmp_path, *command)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"part: {lost} is missing; the folder is incomplete\n"


def test_explain_and_diff_say_when_they_read_a_file_edited_since_the_run(world, tmp_path):
    """They read a received folder as it is, but stated an edited fee as the run's; `reconcile`
    alone flagged it. The answer still reads the file as it is; stderr says which one is not as the
    run wrote it."""
    folder = tmp_path / "edited"
    shutil.copytree(world["demo"], folder)
    con = duckdb.connect()
    con.execute("CREATE TABLE d AS SELECT * REPLACE (CASE WHEN doc_id = 'INV-10006' THEN 'invented' ELSE reason END "
                "AS reason) FROM read_parquet($path)", {"path": str(folder / "decisions.parquet")})
    con.execute("COPY d TO $path (FORMAT parquet)", {"path": str(folder / "decisions.parquet")})
    edited = cli(folder, "explain", ".", "INV-10006")
    untouched = cli(world["demo"], "explain", ".", "INV-10006")
    compared = cli(tmp_path, "diff", "edited", world["demo"])
    assert edited.returncode == 0 and untouched.stderr == "" and "(advanced)" in untouched.stdout
    assert edited.stdout == untouched.stdout.replace("(advanced)", "(invented)")
    assert edited.stderr == ("note: .: decisions.parquet changed since the run; this answer reads the files as they "
                             "are now, not as the run wrote them (`dunning-batch reconcile .` checks them against "
                             "run.json)\n")
    assert compared.returncode == 1 and compared.stderr.startswith("note: edited: decisions.parquet changed since")
    assert len(compared.stderr.splitlines()) == 1


def test_a_file_of_the_folder_replaced_by_a_link_is_refused(world, tmp_path):
    folder = tmp_path / "linked"
    shutil.copytree(world["demo"], folder)
    (folder / "letters.parquet").unlink()
    (folder / "letters.parquet").symlink_to(world["small"] / "out" / "letters.parquet")
    result = cli(tmp_path, "query", "linked", "SELECT count(*) FROM letters")
    assert result.returncode == 2
    assert "letters.parquet: is a link" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("content, says", [('{"as_of": "2026-11-2', "run.json is damaged (not valid JSON)"),
                                           ("[]", "run.json is damaged (it lacks the keys")])
def test_a_damaged_run_json_is_reported_as_such(world, tmp_path, content, says):
    folder = tmp_path / "damaged"
    shutil.copytree(world["demo"], folder)
    (folder / "run.json").write_text(content)
    for command in (["query", "damaged", "SELECT 1"], ["explain", "damaged", "--customer", "C001"],
                    ["reconcile", "damaged"]):
        result = cli(tmp_path, *command)
        assert result.returncode == 2, command
        assert says in result.stderr and "Traceback" not in result.stderr


def test_views_sql_still_opens_inside_the_folder(world):
    """The analyst's way (README): DuckDB started inside the folder reads views.sql."""
    code = ("import duckdb; con = duckdb.connect(); con.execute(open('views.sql').read()); "
            "print(con.execute('SELECT count(*) FROM letters_by_level').fetchone()[0])")
    result = subprocess.run([sys.executable, "-c", code], cwd=world["demo"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 0


# ---- the folder keeps its config; the views show every column of SPEC §9 (issue 16) ------------

def test_query_reads_the_runs_config_from_anywhere(world):
    seen = answers(world, "query", "SELECT policy, level, days_past_due, post_interest FROM cfg_levels "
                                   "WHERE policy = 'de_b2b' ORDER BY level")
    assert len(seen) == 1, seen
    code, out, err = seen.pop()
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()[2:] if line.startswith("de_b2b")]
    assert rows == [["de_b2b", "1", "7", "false"], ["de_b2b", "2", "21", "true"], ["de_b2b", "3", "45", "true"]]


def test_the_folders_config_is_the_config_the_pipeline_joined(world):
    """cfg_*.parquet read back as views: the same columns, Arrow types and rows as config_tables."""
    from dunning_batch.config import config_tables, load_config
    from dunning_batch.outputs.folder import connect_views

    con = connect_views(world["demo"])
    for name, table in config_tables(load_config(DEMO_CONFIG)).items():
        got = con.sql(f"SELECT * FROM {name}").to_arrow_table()
        assert got.schema == table.schema, name
        assert sorted(map(str, got.to_pylist())) == sorted(map(str, table.to_pylist())), name


def views_sql_answer(folder: Path, sql: str) -> list[tuple]:
    """`sql` on DuckDB started inside `folder` after `.read views.sql`, as an analyst does."""
    code = ("import duckdb, sys; con = duckdb.connect(); con.execute(open('views.sql').read()); "
            "print(repr(con.execute(sys.argv[1]).fetchall()))")
    result = subprocess.run([sys.executable, "-c", code, sql], cwd=folder, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return eval(result.stdout, {"Decimal": __import__("decimal").Decimal,
                                "datetime": __import__("datetime")})  # the repr of plain values


OPTIONAL = ("SELECT (SELECT list(DISTINCT typeof(compensation_total)) FROM letters), "
            "(SELECT count(compensation_total) FROM letters), (SELECT count(*) FROM letters), "
            "(SELECT typeof(compensation_amount) FROM letter_lines LIMIT 1), "
            "(SELECT typeof(interest_paid_to) FROM levels_update LIMIT 1), "
            "(SELECT typeof(open_balance) FROM item_details LIMIT 1), "
            "(SELECT count(*) FROM interest_documents), (SELECT count(*) FROM compensation_documents), "
            "(SELECT count(*) FROM payments_charged), (SELECT count(*) FROM cfg_policies)")


def test_views_sql_shows_the_optional_columns_of_a_run_without_them(world):
    """A run with no rule of §9 (SPEC §3's config): its files lack the §9 columns and
    documents, and views.sql, opened inside the folder, shows them NULL and empty."""
    small = world["small"] / "out"
    assert not (small / "interest_documents.csv").exists()
    [row] = views_sql_answer(small, OPTIONAL)
    assert row == (["DECIMAL(18,2)"], 0, 1, "DECIMAL(18,2)", "DATE", "DECIMAL(18,2)", 0, 0, 0, 1)


def test_every_command_sees_the_optional_columns_of_a_run_without_them(world, tmp_path):
    result = cli(tmp_path, "query", world["small"] / "out", OPTIONAL, "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == '"[DECIMAL(18,2)]",0,1,"DECIMAL(18,2)",DATE,"DECIMAL(18,2)",0,0,0,1'


def test_diff_prints_the_folders_it_names_escaped(world, tmp_path):
    """diff printed a folder's name raw: an OSC sequence in it set the terminal's title."""
    name = "hos\x1b]0;pwned\x07tile"
    shutil.copytree(world["demo"], tmp_path / name)
    result = cli(tmp_path, "diff", name, world["demo"])
    assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stdout
    assert result.stdout.splitlines()[0] == "A: hos\\x1b]0;pwned\\x07tile (run of 2026-11-24)"


@pytest.mark.parametrize("key, value, says", [
    ("outputs", None, 'its "outputs" is not an object'),
    ("as_of", "2026-13-45", 'its "as_of" is not a date YYYY-MM-DD'),
    ("as_of", "2026-11-24\x1b]0;x\x07", 'its "as_of" is not a date YYYY-MM-DD'),
    ("inputs", [], 'its "inputs" is not an object'),
    ("sender", None, 'its "sender" is not an object'),
    ("run", None, 'its "run" is not an object'),
    ("pdf_environment", None, None),  # null where a run may write nothing: left to the command that needs it
    ("outputs", {"/etc/passwd": {"sha256": "0" * 64}}, "its \"outputs\" name '/etc/passwd', which is no file"),
    ("outputs", {"../x.parquet": {"sha256": "0" * 64}}, "its \"outputs\" name '../x.parquet', which is no file"),
    ("outputs", {"letters.parquet": "x"}, "its \"outputs\" entry 'letters.parquet' holds no sha256"),
])
def test_a_run_json_of_another_shape_is_named_damaged(world, tmp_path, monkeypatch, key, value, says):
    """Valid JSON of another shape was exit 3 (TypeError, KeyError) in every command, and an
    output named outside the folder was read and hashed."""
    folder = tmp_path / "odd"
    shutil.copytree(world["demo"], folder)
    manifest = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    manifest[key] = value if key != "outputs" or value is None else manifest["outputs"] | value
    (folder / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # in process, as a user in tmp_path types it
    result = CliRunner().invoke(main, ["reconcile", "odd"])
    if says is None:
        assert result.exit_code in (0, 1), result.stderr
        return
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"odd/run.json is damaged ({says}") and result.stderr.count("\n") == 1
    assert result.stderr.endswith("); restore it from a backup or run the job again into a new folder\n")


@pytest.mark.parametrize("path, value, says, command", [
    (("input_totals",), None, 'its "input_totals" is not an object', "reconcile"),
    (("letters_per_level",), "DELETE", 'its "letters_per_level" is not an object', "reconcile"),
    (("inputs", "open_items"), "DELETE", 'its "inputs" lacks "open_items"', "reconcile"),
    (("inputs", "open_items", "rows"), 10 ** 400, 'its "inputs" "open_items" "rows" is not a whole number',
     "reconcile"),
    (("input_totals", "EUR", "open_amount"), float("nan"),
     'its "input_totals" "EUR" "open_amount" is not an amount like 12.50', "reconcile"),
    (("totals_per_currency", "EUR", "fee_total"), "12,50",
     'its "totals_per_currency" "EUR" "fee_total" is not an amount like 12.50', "reconcile"),
    (("letters_per_level", "abc"), 3, "its \"letters_per_level\" holds the key 'abc', which is no level",
     "reconcile"),
    (("run", "pdf"), "yes", 'its "run" "pdf" is not true or false', "reconcile"),
    (("config",), "DELETE", 'its "config" is not an object', "reconcile"),
    (("sender", "address"), None, '"sender": is not as a config\'s [sender] is read', "render"),
    (("sender", "email"), "ar@example.com\r\nBcc: all@example.com",
     "\"sender\" key 'email': holds the control character '\\r'", "send"),
    (("levels_file",), {"headers": {}, "date_format": "%Y", "delimiter": ";", "encoding": "no-such-codec"},
     'its "levels_file" "encoding" is not an encoding Python knows', "void"),
])
def test_a_run_json_value_of_another_shape_is_named_damaged(world, tmp_path, monkeypatch, path, value, says,
                                                             command):
    """Values inside run.json of another shape were exit 3 halfway through a command: reconcile
    with a total of 10**400, NaN, "12,50" or a level "abc"; render with the sender's address
    null; send with a line break in the sender's email; void with an unknown encoding."""
    folder = tmp_path / "odd"
    shutil.copytree(world["demo"], folder)
    manifest = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    parent = manifest
    for key in path[:-1]:
        parent = parent[key]
    if value == "DELETE":
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    (folder / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    letter = duckdb.connect().execute("SELECT min(letter_id) FROM read_parquet(?)",
                                      [str(folder / "letters.parquet")]).fetchone()[0]
    args = {"reconcile": ["reconcile", "odd"], "render": ["render", "odd", "--letter", letter],
            "send": ["send", "odd", "--dry-run"], "void": ["void", "odd", letter, "--as-of", "2026-11-26"]}[command]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"odd/run.json is damaged ({says}") and result.stderr.count("\n") == 1


@pytest.mark.parametrize("damage, command", [
    ("deleted", ["reconcile", "hurt"]), ("a folder in its place", ["send", "hurt", "--dry-run"]),
    ("another run's file", ["explain", "hurt", "INV-10006"]),
    ("another run's file", ["query", "hurt", "SELECT count(*) FROM letters"])])
def test_a_data_file_the_commands_cannot_read_is_named_not_an_internal_error(world, tmp_path, damage, command):
    """A deleted letters.parquet (reconcile, send), a folder in its place, or a valid Parquet
    file of another shape was exit 3 with DuckDB's catalog or binder error: now the file that
    is not as run.json records it is named, exit 2."""
    folder = tmp_path / "hurt"
    shutil.copytree(world["demo"], folder)
    target = folder / "letters.parquet"
    target.unlink()
    if damage == "a folder in its place":
        target.mkdir()
    elif damage == "another run's file":
        shutil.copy(folder / "rejected.parquet", target)
    result = cli(tmp_path, *command)
    said = {"deleted": "letters.parquet is missing", "a folder in its place": "letters.parquet is not a file",
            "another run's file": "letters.parquet changed since the run"}[damage]
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"hurt: {said}") and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize("linked", ["levels_update.csv", "run.json"])
def test_a_file_linked_to_an_identical_copy_elsewhere_is_named(world, tmp_path, linked):
    """The digest follows a link: levels_update.csv (the file the ERP imports) or run.json
    linked to an identical copy outside the folder passed reconcile and every command."""
    folder = tmp_path / "linked"
    shutil.copytree(world["demo"], folder)
    shutil.copy(folder / linked, tmp_path / linked)
    (folder / linked).unlink()
    (folder / linked).symlink_to(tmp_path / linked)
    result = cli(tmp_path, "reconcile", "linked")
    if linked == "run.json":
        assert result.returncode == 2 and result.stderr.startswith("linked/run.json: is a link"), result.stderr
    else:
        assert result.returncode == 1 and f"levels_update.csv is a link" in result.stdout, result.stdout


def test_a_folder_in_place_of_a_pdf_is_named(world, tmp_path):
    folder = tmp_path / "hurt"
    shutil.copytree(world["demo"], folder)
    pdf = sorted((folder / "pdf").glob("*.pdf"))[0]
    pdf.unlink()
    pdf.mkdir()
    result = cli(tmp_path, "reconcile", "hurt")
    assert result.returncode == 1 and result.stderr == "", result.stderr  # it was exit 3, IsADirectoryError
    assert "pdf/ holds a folder where the run wrote files" in result.stdout


def test_diff_shows_a_null_id_of_a_tampered_file_as_null(world, tmp_path):
    """A probe's letters.parquet with a null letter_id: diff printed "None", which no file holds."""
    for name in ("a", "b"):
        shutil.copytree(world["small"] / "out", tmp_path / name)
    con = duckdb.connect()
    con.execute("CREATE TABLE l AS SELECT * REPLACE (NULL::VARCHAR AS letter_id) FROM read_parquet($path)",
                {"path": str(tmp_path / "b" / "letters.parquet")})
    con.execute("COPY l TO $path (FORMAT parquet)", {"path": str(tmp_path / "b" / "letters.parquet")})
    [letter_id] = pq.read_table(tmp_path / "a" / "letters.parquet", columns=["letter_id"])["letter_id"].to_pylist()
    result = cli(tmp_path, "diff", "a", "b")
    assert result.returncode == 1, result.stderr
    assert "None" not in result.stdout
    assert "  + NULL C1 EUR: only in B, level 1" in result.stdout
    assert f"  - {letter_id} C1 EUR: only in A, level 1" in result.stdout


def test_a_fifo_in_place_of_a_file_of_the_run_is_named_not_missing_and_never_waited_on(world, tmp_path):
    """A probe's named pipe for run.json was reported as a folder of no run, and one for
    letters.parquet as missing; opening either would wait for a writer forever."""
    for name in ("run.json", "letters.parquet"):
        folder = tmp_path / name
        shutil.copytree(world["small"] / "out", folder)
        (folder / name).unlink()
        os.mkfifo(folder / name)
    said = ("run.json/run.json: not a plain file; a run writes plain files, so this folder was changed after the run: "
            "run the night again into a new folder\n")
    for command in (["query", "run.json", "SELECT count(*) FROM letters"], ["explain", "run.json", "X-1"],
                    ["reconcile", "run.json"]):
        assert cli(tmp_path, *command).stderr == said, command
    for command in (["query", "letters.parquet", "SELECT count(*) FROM letters"], ["reconcile", "letters.parquet"]):
        result = cli(tmp_path, *command)
        assert (result.returncode, result.stdout) == (2, ""), command
        assert result.stderr.startswith("letters.parquet: letters.parquet is not a plain file"), result.stderr
        assert result.stderr.count("\n") == 1


def test_an_error_quoting_a_value_of_100_000_characters_shows_its_start_and_end(world):
    """A probe's 100 k-character id came back whole in a 100 KB error line."""
    result = cli(world["small"], "explain", "out", "X" * 100_000)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert len(line) < 1_100
    assert line.startswith("out: no item 'XXXX") and line.endswith("XXXX' in decisions.parquet")
    assert " [... 99036 characters left out ...] " in line   # 14 + 100,000 + 22 characters, 1,000 kept
