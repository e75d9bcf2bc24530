"""SPEC §11.2: the contact person and the sales representative (issue 21).

A customer's `contact_name` is the attention line under its name in the address window, in
the words of its language's catalogue; its `contact_email`, when set, replaces `email` as the
recipient of the email letter (and counts as its address for the default channel). Its
`sales_rep` names a `[sales_rep.ID]` table of the config: the letter's info block names the rep
as the contact for questions (name, phone, email), and the email gets the rep as Reply-To,
From staying the [sender]. An unknown rep, a contact's email delivery cannot use, or a
contact that pushes the address out of the window is an input error (exit 2, one line
`customers.csv:ROW: column: ...`); a bad [sales_rep] table is a config error.

One module run renders the letters of four customers, one per language: EN1 by email with
contact Jane Roe (jane.roe@acme.example in place of ap@acme.example) and rep `jr` (John Rep,
+49 30 555 0101, john.rep@example.com); DE1, FR1 and PL1 on paper, each with a contact and no
rep. Each has one invoice of 100.00 EUR 10 days past due: a level-1 reminder.
"""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader

from conftest import ROOT, SPEC_CONFIG, Outcome, Scenario, customer, item, with_config
from test_delivery import Inbox, smtp_server
from test_letter_layout import run_at, words

from dunning_batch.delivery.send import Pacing, send_outbox

REP = '\n[sales_rep.jr]\nname = "John Rep"\nemail = "john.rep@example.com"\nphone = "+49 30 555 0101"\n'
CONTACT_CONFIG = SPEC_CONFIG + REP
ADDRESS = "1 Example Street\n10115 Berlin"
ATTENTION = {"EN1": "Attn: Jane Roe", "DE1": "z. Hd. Erika Muster", "FR1": "À l'attention de Claire Dubois",
             "PL1": "Do rąk: Anna Nowak"}


def contact_customers() -> list[dict]:
    return [
        customer("EN1", name="Acme Ltd", email="ap@acme.example", contact_name="Jane Roe",
                 contact_email="jane.roe@acme.example", sales_rep="jr"),
        customer("DE1", name="Müller GmbH", language="de", contact_name="Erika Muster"),
        customer("FR1", name="Dupont SARL", language="fr", contact_name="Claire Dubois"),
        customer("PL1", name="Kowalski Sp. z o.o.", language="pl", contact_name="Anna Nowak"),
    ]


def contact_items() -> list[dict]:
    return [item(f"INV-{cid}", 10, customer_id=cid) for cid in ("EN1", "DE1", "FR1", "PL1")]


@pytest.fixture(scope="module")
def contact_run(tmp_path_factory) -> Outcome:
    scenario = Scenario(tmp_path_factory.mktemp("contacts"))
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)
        return scenario.run(contact_items(), contact_customers(), config=CONTACT_CONFIG, pdf=True, workers=1)


def letter_of(outcome: Outcome, customer_id: str) -> dict:
    [found] = [x for x in outcome.letters if x["customer_id"] == customer_id]
    return found


def pdf_of(outcome: Outcome, customer_id: str) -> Path:
    return outcome.out / letter_of(outcome, customer_id)["pdf_path"]


def first_page_runs(outcome: Outcome, customer_id: str):
    return words(PdfReader(pdf_of(outcome, customer_id)).pages[0])


def eml_of(outcome: Outcome, customer_id: str) -> email.message.EmailMessage:
    path = outcome.out / "outbox" / f"{letter_of(outcome, customer_id)['letter_id']}.eml"
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def parquet_rows(path: Path) -> list[dict]:
    result = duckdb.sql(f"SELECT * FROM read_parquet('{path}') ORDER BY ALL")
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def cli(work: Path, *args: str) -> subprocess.CompletedProcess:
    """`dunning-batch ARGS` in `work`, as a user types it there."""
    return subprocess.run([sys.executable, "-c", "from dunning_batch.cli import main; main()", *args], cwd=work,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)


def run_in_folder(scenario: Scenario, customers: list[dict], config: str = CONTACT_CONFIG,
                  items: list[dict] | None = None, *extra: str) -> tuple[subprocess.CompletedProcess, Path]:
    """`run` in the folder of the exports, with relative paths; the result and the folder."""
    config_path, _, _ = scenario.files(items or [item("INV-1", 10)], customers, config)
    work = config_path.parent
    result = cli(work, "run", "--config", "config.toml", "--open-items", "open_items.csv", "--customers",
                 "customers.csv", "--as-of", "2026-11-24", "--out", "out", *extra)
    return result, work


def assert_one_problem(result: subprocess.CompletedProcess, work: Path, prefix: str) -> str:
    """Exit 2, no traceback, nothing written, and one problem line starting with `prefix`."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert not (work / "out").exists()
    lines = [line for line in result.stderr.splitlines() if line.startswith("customers.csv:")]
    assert len(lines) == 1 and lines[0].startswith(prefix), result.stderr
    return lines[0]


# ------------------------------------------------------------------ the letter

def test_the_attention_line_is_under_the_name_inside_the_window(contact_run):
    runs = first_page_runs(contact_run, "EN1")
    _, name_x, name_baseline, _ = run_at(runs, "Acme Ltd", above=90)
    _, x, baseline, size = run_at(runs, "Attn: Jane Roe")
    _, street_x, street_baseline, _ = run_at(runs, "1 Example Street", above=90)
    # the Anschriftzone: 62.7 .. 90 mm from the top, 25 mm from the left; the line under the name
    assert round(name_x) == round(x) == round(street_x) == 25
    assert 62.7 < name_baseline < baseline < street_baseline <= 90
    assert 3.5 < baseline - name_baseline < 5.5  # one line (4.4 mm) below the name
    assert size == pytest.approx(9.5, abs=0.1)


def test_blank_lines_of_a_name_or_address_do_not_push_the_address_out_of_the_window(tmp_path):
    """A name exported with blank lines after it (or an address with blank lines in it) showed
    them in the window, and the postcode and town below its 6 lines were cut off the letter
    (the line check, sql/11_customer_problems, counts no trailing break): the window shows the
    lines that hold text."""
    blank = customer("BL1", name="Blank Lines GmbH\n\n\n\n", contact_name="Jane Roe",
                     address="\n  7 Window Street\n\n10115 Berlin\n\n")
    outcome = Scenario(tmp_path).run([item("INV-BL1", 10, customer_id="BL1")], [blank], config=CONTACT_CONFIG,
                                     pdf=True, workers=1)
    runs = first_page_runs(outcome, "BL1")
    baselines = [run_at(runs, text, above=90)[2] for text in ("Blank Lines GmbH", "Attn: Jane Roe",
                                                                 "7 Window Street", "10115 Berlin")]
    assert 62.7 < baselines[0] and baselines[-1] <= 90           # all four inside the Anschriftzone
    assert [round(b2 - b1, 1) for b1, b2 in zip(baselines, baselines[1:])] == [4.4, 4.4, 4.4]  # one line each


@pytest.mark.parametrize("customer_id", list(ATTENTION))
def test_the_attention_line_in_each_language(contact_run, customer_id):
    runs = first_page_runs(contact_run, customer_id)
    _, _, baseline, _ = run_at(runs, ATTENTION[customer_id])
    _, _, name_baseline, _ = run_at(runs, letter_of(contact_run, customer_id)["customer_name"], above=90)
    assert 62.7 < name_baseline < baseline <= 90


def test_the_rep_is_the_contact_for_questions_in_the_info_block(contact_run):
    runs = first_page_runs(contact_run, "EN1")
    _, x, rep_baseline, _ = run_at(runs, "Your contact: John Rep")
    _, phone_x, phone_baseline, _ = run_at(runs, "Phone: +49 30 555 0101", above=90)
    _, mail_x, mail_baseline, _ = run_at(runs, "Email: john.rep@example.com")
    _, _, customer_no, _ = run_at(runs, "Customer no.: EN1")
    _, _, date_baseline, _ = run_at(runs, "Date: ")
    # beside the address field, 125 mm from the left, between the customer number and the date
    assert round(x) == round(phone_x) == round(mail_x) == 125
    assert customer_no < rep_baseline < phone_baseline < mail_baseline < date_baseline < 90
    text = " ".join(PdfReader(pdf_of(contact_run, "EN1")).pages[0].extract_text().split())
    assert "Questions about this letter? Write to john.rep@example.com." in text


def test_a_letter_without_a_rep_names_none_and_questions_go_to_the_sender(contact_run):
    text = " ".join(PdfReader(pdf_of(contact_run, "DE1")).pages[0].extract_text().split())
    assert "Ansprechpartner" not in text and "john.rep" not in text
    assert "Fragen zu diesem Schreiben? Schreiben Sie an ar@example.com." in text


# ------------------------------------------------------------------ the email and the folder

def test_the_email_goes_to_the_contact_with_the_rep_as_reply_to(contact_run):
    message = eml_of(contact_run, "EN1")
    assert message["To"] == "jane.roe@acme.example"
    assert message["Reply-To"] == "John Rep <john.rep@example.com>"
    assert message["From"] == "Example GmbH <ar@example.com>"
    assert "ap@acme.example" not in str(message)
    [row] = parquet_rows(contact_run.out / "outbox.parquet")
    assert row["letter_id"] == letter_of(contact_run, "EN1")["letter_id"]
    assert row["to"] == "jane.roe@acme.example"


def test_recipients_carry_the_contact_and_the_rep(contact_run):
    rows = {r["customer_id"]: r for r in parquet_rows(contact_run.out / "recipients.parquet")}
    en, de = rows["EN1"], rows["DE1"]
    assert (en["email"], en["contact_name"], en["contact_email"], en["delivery"]) == \
        ("ap@acme.example", "Jane Roe", "jane.roe@acme.example", "email")
    assert (en["sales_rep"], en["sales_rep_name"], en["sales_rep_email"], en["sales_rep_phone"]) == \
        ("jr", "John Rep", "john.rep@example.com", "+49 30 555 0101")
    assert (de["contact_name"], de["contact_email"], de["sales_rep"], de["delivery"]) == \
        ("Erika Muster", None, None, "print")


def test_send_delivers_to_the_contact_email(contact_run, tmp_path):
    import shutil

    folder = tmp_path / "out"
    shutil.copytree(contact_run.out, folder)
    inbox = Inbox()
    with smtp_server(inbox) as server:
        result = send_outbox(folder, server, Pacing(sleep=lambda seconds: None))
    assert len(result.outcomes) == 1 and result.not_accepted == []
    [(recipients, data)] = inbox.received
    assert recipients == ["jane.roe@acme.example"]
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message["Reply-To"] == "John Rep <john.rep@example.com>"


def test_render_rebuilds_the_letters_and_the_email_from_the_folder_alone(contact_run, tmp_path):
    """`render --out` reads recipients.parquet and run.json, not the config: the same PDFs
    (attention line, rep) and the same .eml (To the contact, Reply-To the rep)."""
    import shutil

    shutil.copytree(contact_run.out, tmp_path / "out")
    result = cli(tmp_path, "render", "out", "--out", "again")
    assert result.returncode == 0, result.stderr
    for kind in ("pdf/*.pdf", "outbox/*.eml"):
        before = {p.name: p.read_bytes() for p in (tmp_path / "out").glob(kind)}
        assert before and {p.name: p.read_bytes() for p in (tmp_path / "again").glob(kind)} == before, kind


def test_explain_says_who_the_letters_were_addressed_to_and_the_rep(contact_run):
    result = cli(contact_run.out.parent, "explain", contact_run.out.name, "--customer", "EN1")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Its letters are addressed to Jane Roe at Acme Ltd" in text
    assert ("Its emails went to jane.roe@acme.example, the contact's address (contact_email), in place of the "
            "customer's own address ap@acme.example.") in text
    assert ("Its sales rep is John Rep (jr): the letters name them as the contact for questions "
            "(+49 30 555 0101, john.rep@example.com), and the emails' Reply-To is john.rep@example.com.") in text
    printed = " ".join(cli(contact_run.out.parent, "explain", contact_run.out.name, "--customer", "DE1")
                       .stdout.split())
    assert "Its letters are addressed to Erika Muster at Müller GmbH" in printed
    assert "Its letters go by post only (print)" in printed and "sales rep" not in printed


# ------------------------------------------------------------------ the default channel

def test_a_contact_email_alone_makes_the_channel_email(scenario):
    outcome = scenario.run([item("INV-1", 10)], [customer("C1", contact_email="jane@c1.example")],
                           config=CONTACT_CONFIG)
    [row] = outcome._rows("SELECT delivery, email, contact_email FROM recipients")
    assert row == {"delivery": "email", "email": None, "contact_email": "jane@c1.example"}


def test_without_contacts_recipients_and_emails_are_as_before(scenario):
    """The customers file has the contact columns, empty, and the config no [sales_rep]: the
    rule is off (recipients.parquet has the columns of §10 only) and no Reply-To."""
    outcome = scenario.run([item("INV-1", 10)], [customer("C1", email="ap@c1.example")], pdf=True, workers=1)
    names = [d[0] for d in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{outcome.out / 'recipients.parquet'}')")
             .fetchall()]
    assert names == ["letter_id", "customer_id", "name", "address", "postal_code", "country", "email", "delivery",
                     "language"]
    [eml] = (outcome.out / "outbox").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Reply-To"] is None and message["To"] == "ap@c1.example"


def test_a_rep_table_alone_switches_the_columns_on(scenario):
    outcome = scenario.run([item("INV-1", 10)], [customer("C1")], config=CONTACT_CONFIG)
    [row] = outcome._rows("SELECT * FROM recipients")
    assert row["contact_name"] is None and row["sales_rep"] is None
    names = [d[0] for d in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{outcome.out / 'recipients.parquet'}')")
             .fetchall()]
    assert names[-6:] == ["contact_name", "contact_email", "sales_rep", "sales_rep_name", "sales_rep_email",
                          "sales_rep_phone"]


# ------------------------------------------------------------------ input problems

def test_an_unknown_sales_rep_is_an_input_error(scenario):
    result, work = run_in_folder(scenario, [customer("C1", sales_rep="xx")])
    line = assert_one_problem(result, work, "customers.csv:2: sales_rep: ")
    assert line == ("customers.csv:2: sales_rep: names the sales rep 'xx', which the config does not define; add a "
                    "[sales_rep.xx] table with its name and email to the config, or name one of its "
                    "[sales_rep.ID] tables (jr)")


def test_a_sales_rep_without_any_rep_table_is_an_input_error(scenario):
    result, work = run_in_folder(scenario, [customer("C1", sales_rep="jr")], config=SPEC_CONFIG)
    line = assert_one_problem(result, work, "customers.csv:2: sales_rep: ")
    assert line.endswith("or name one of its [sales_rep.ID] tables")


@pytest.mark.parametrize("address", ["jane@@acme.example", "Jane <jane@acme.example>",
                                     "=?utf-8?q?jane=40acme.example=2C_evil=40attacker.example?=@acme.example"])
def test_a_contact_email_delivery_cannot_use_is_an_input_error(scenario, address):
    result, work = run_in_folder(scenario, [customer("C1", email="ap@c1.example", contact_email=address)])
    line = assert_one_problem(result, work, "customers.csv:2: contact_email: ")
    assert "is not a well-formed email address" in line


def test_a_bad_contact_email_of_a_customer_on_paper_is_refused_only_for_control_characters(scenario):
    """Like `email`: an address no letter goes to is not judged by the parser, but its text is."""
    result, work = run_in_folder(scenario, [customer("C1", delivery="print", contact_email="jane\x1b@acme.example")])
    assert_one_problem(result, work, "customers.csv:2: contact_email: ")
    ok, _ = run_in_folder(scenario, [customer("C1", delivery="print", contact_email="not-an-address")])
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize("name, what", [("Jane\x1b[31mRoe", "control character U+001B"),
                                        ("Jane\nRoe", "control character U+000A"),
                                        ("Jane\u2028Roe", "line separator U+2028"),
                                        ("x" * 100_000, "100000 characters long")])
def test_a_hostile_contact_name_is_refused_like_a_name(scenario, name, what):
    result, work = run_in_folder(scenario, [customer("C1", contact_name=name)])
    line = assert_one_problem(result, work, "customers.csv:2: contact_name: ")
    assert what in line


def test_an_encoded_word_in_the_contact_name_is_printed_as_text_and_never_reaches_a_header(scenario):
    """Like `name`: text on the letter, nothing a mail program decodes (the headers carry no name of the customer's)."""
    word = "=?utf-8?q?evil=40attacker.example?="
    outcome = scenario.run([item("INV-1", 10)], [customer("C1", email="ap@c1.example", contact_name=word)],
                           config=CONTACT_CONFIG, pdf=True, workers=1)
    [letter] = outcome.letters
    runs = words(PdfReader(outcome.out / letter["pdf_path"]).pages[0])
    run_at(runs, f"Attn: {word}")
    [eml] = (outcome.out / "outbox").glob("*.eml")
    head = eml.read_bytes().split(b"\r\n\r\n", 1)[0]
    assert b"evil" not in head and b"=?utf-8?q?evil" not in head


def test_an_attention_line_that_pushes_the_address_out_of_the_window_is_an_input_error(scenario):
    five_lines = "c/o Accounts\nBuilding 4\n1 Example Street\n10115 Berlin\nGermany"
    ok, _ = run_in_folder(scenario, [customer("C1", address=five_lines)])
    assert ok.returncode == 0, ok.stderr  # 6 lines without the attention line: as before
    result, work = run_in_folder(scenario, [customer("C1", address=five_lines, contact_name="Jane Roe")])
    line = assert_one_problem(result, work, "customers.csv:2: contact_name: ")
    assert "makes the window's address 7 lines" in line
    four_lines = "Building 4\n1 Example Street\n10115 Berlin\nGermany\n"
    fits, _ = run_in_folder(scenario, [customer("C1", address=four_lines, contact_name="Jane Roe")])
    assert fits.returncode == 0, fits.stderr


def test_non_strict_rejects_the_row_of_an_unknown_rep_with_its_contact_columns(scenario):
    outcome = scenario.run([item("INV-1", 10), item("INV-2", 10, customer_id="C2")],
                           [customer("C1"), customer("C2", sales_rep="xx", contact_name="Jane Roe")],
                           config=with_config({"strict = true": "strict = false"}, CONTACT_CONFIG))
    rejected = {(r["source"], r["row_number"]): r for r in outcome.rejected}
    assert rejected[("customers", 3)]["reason"].startswith("sales_rep: names the sales rep 'xx'")
    assert '"sales_rep":"xx"' in rejected[("customers", 3)]["row_text"]
    assert [letter["customer_id"] for letter in outcome.letters] == ["C1"]


# ------------------------------------------------------------------ config problems

@pytest.mark.parametrize("table, message", [
    ('[sales_rep.jr]\nname = "John Rep"\nemail = "john rep@example.com"\n',
     "[sales_rep.jr] key 'email': 'john rep@example.com' is not a plain email address local@domain: it holds a space"),
    ('[sales_rep.jr]\nname = "John Rep"\nemail = "John<john@example.com>"\n',
     "[sales_rep.jr] key 'email': 'John<john@example.com>' is not a plain email address local@domain: it holds "
     "angle brackets (a name around the address)"),
    ('[sales_rep.jr]\nemail = "john@example.com"\n', "[sales_rep.jr] key 'name': is required"),
    ('[sales_rep.jr]\nname = "John Rep"\n', "[sales_rep.jr] key 'email': is required"),
    ('[sales_rep.jr]\nname = "John Rep"\nemail = "john@example.com"\nmobile = "1"\n',
     "[sales_rep.jr] key 'mobile': is not a known key"),
    ('[sales_rep.jr]\nname = "John\\nRep"\nemail = "john@example.com"\n',
     "[sales_rep.jr] key 'name': holds the control character '\\n'; it must be one line of text"),
    ('[sales_rep]\njr = "John"\n', "[sales_rep.jr]: must be a table, not str"),
])
def test_a_bad_sales_rep_table_is_a_config_error(scenario, table, message):
    result, work = run_in_folder(scenario, [customer("C1")], config=SPEC_CONFIG + "\n" + table)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and not (work / "out").exists()
    assert f"config.toml: {message}" in result.stderr, result.stderr
