"""The data side's shortcuts give what the long way gives (issue 20): the email addresses the
SQL passes without asking the mail parser are ones the parser passes too, and the checks'
table holds the parser's verdict for every other one."""

from __future__ import annotations

import random

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dunning_batch.addresses import address_list_problem
from dunning_batch.pipeline import address_checks
from dunning_batch.sql_runner import arrow, connect, relation_arrow, table_from_arrow

# the shape sql/addresses/emails_to_check lets through without the parser
PLAIN = r"[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
# characters that make an address anything but plain, mixed into plain ones
TRICKY = list(" \t\n.@;,:<>()[]\"\\=?'/{}~!#$%&*^`|-_+") + ["\u00e9", "\u00a0", "\u200b", "\u4f8b", "--", "xn--",
                                                           "=?", "..", "@@", "a" * 64]


def unjudged(emails: list[str]) -> set[str]:
    """The fields of `emails` that emails_to_check leaves out (taken as deliverable unasked)."""
    con = connect()
    table_from_arrow(con, "customers_parsed", pa.table({"email": pa.array(emails, pa.string()),
                                                        "contact_email": pa.array([None] * len(emails), pa.string()),
                                                        "delivery": pa.array(["email"] * len(emails))}))
    asked = set(arrow(con, "addresses/emails_to_check").column("email").to_pylist())
    return set(emails) - asked


def mutations(seed: int, count: int) -> list[str]:
    """Plain addresses with tricky characters put in, cut out or doubled at random places."""
    rnd = random.Random(seed)
    bases = ["ar1@example.com", "first.last+tag@sub-domain.example.co.uk", "a_b-c@x1.de", "9@9a.io",
             "x@xn--bcher-kva.ch", "ab@a-b.c-d.org", "o'brien@example.com"]
    out = []
    for _ in range(count):
        text = rnd.choice(bases)
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randint(0, len(text))
            kind = rnd.random()
            if kind < 0.6:
                text = text[:at] + rnd.choice(TRICKY) + text[at:]
            elif kind < 0.8:
                text = text[:at] + text[at + 1:]
            else:
                text = text[:at] + text[at:at + 5] * 20 + text[at:]
        out.append(text)
    return out


def test_addresses_passed_without_the_parser_are_ones_it_passes():
    """Every field the SQL lets through unasked is one the mail parser finds deliverable: among
    thousands of near-misses (a quote, a space, an IDNA label, a long part, two dots), and the
    ordinary ones are among them (the shortcut is taken)."""
    emails = mutations(seed=20, count=20_000) + ["ar1@example.com", "first.last+tag@sub-domain.example.co.uk",
                                                  "x@" + "a" * 63 + ".com", "y" * 64 + "@example.com"]
    passed = unjudged(emails)
    wrong = sorted(e for e in passed if address_list_problem(e) is not None)
    assert wrong == []
    assert {"ar1@example.com", "first.last+tag@sub-domain.example.co.uk", "y" * 64 + "@example.com"} <= passed
    # and what the parser refuses is always asked: a local part of 65, a label of 64, an A-label, two @
    assert not passed & {"y" * 65 + "@example.com", "x@" + "a" * 64 + ".com", "x@xn--bcher-kva.ch", "a@@b.com"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.from_regex(PLAIN, fullmatch=True), min_size=1, max_size=50))
def test_any_address_of_the_plain_shape_is_one_the_parser_passes(emails):
    for email in unjudged(emails):
        assert address_list_problem(email) is None, email


def test_the_checks_table_holds_the_parsers_verdict_for_every_field():
    """04_address_checks: one row per distinct field of an email customer, with exactly the
    verdict address_list_problem gives, whether the parser was asked or not."""
    emails = ["ar1@example.com", "a@b", "Name <x@example.com>", "x@例え.jp", "ok.one@example.org; two@example.net",
              "bad@@example.com", "ar1@example.com", "p@example.com"]
    con = connect()
    table_from_arrow(con, "customers_parsed", pa.table({
        "email": pa.array(emails + ["printed@example.com", None], pa.string()),
        "contact_email": pa.array([None] * (len(emails) + 2), pa.string()),   # SPEC §11.2: none here
        "delivery": pa.array(["email"] * 7 + ["both", "print", "email"])}))
    address_checks(con, "address_checks")
    got = {row["email"]: row["problem"] for row in relation_arrow(con, "address_checks").to_pylist()}
    assert got == {e: address_list_problem(e) for e in emails}
    assert got["ar1@example.com"] is None and got["a@b"] is not None


def test_blank_takes_plain_values_as_they_are_and_trims_the_rest_as_before():
    """blank() skips trim() for a value whose first and last characters are printable ASCII:
    over values padded with each padding character, at either end, around combining marks and
    other scripts, it gives exactly nullif(trim(value, padding()), '')."""
    from dunning_batch.sql_runner import execute

    pads = ["\t", " ", "\u00a0", "\u1680", "\u2000", "\u200a", "\u202f", "\u205f", "\u3000"]
    cores = ["A", "INV-1", "e\u0301", "\u00e9", "\u4f8b", "x\ty", "a b", "~", "!", "\u200b", "\u0301", "\x7f", "\x1f"]
    values = ["", None] + pads + [p + q for p in pads for q in pads]
    values += [left + core + right for core in cores for left in [""] + pads for right in [""] + pads]
    con = connect()
    execute(con, "00_macros")
    table_from_arrow(con, "v", pa.table({"t": pa.array(values, pa.string())}))
    differ = con.execute("SELECT t FROM v WHERE blank(t) IS DISTINCT FROM nullif(trim(t, padding()), '')").fetchall()
    assert differ == []
    assert con.execute("SELECT blank(' INV-1\u3000'), blank('INV-1'), blank('\u00a0'), blank(12)").fetchall() == \
        [("INV-1", "INV-1", None, "12")]
