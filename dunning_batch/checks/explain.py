"""`explain`: says in plain sentences why an item, or each item of a customer, got its outcome.

Reads the output folder alone: decisions, item_details, letters and letter_lines, and the
policies run.json recorded. This module picks the facts and their figures for each item;
the words are in wording.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb

from ..errors import UserError
from ..outputs.folder import open_folder
from .wording import count, days, listing, money, rate, say

RAISING_TYPES = ("invoice", "debit_memo", "fee", "refund")
INTEREST_TYPES = ("invoice", "debit_memo", "refund")

# One row per item asked about, with every fact its decision rests on.
ITEMS_SQL = """
SELECT d.doc_id, d.customer_id, d.doc_type, d.currency, d.open_amount, d.due_date, d.days_past_due,
       d.level_before, d.level_after, d.outcome, d.reason, d.letter_id,
       i.policy, i.last_dunned_before, i.grace_until, i.customer_grace_until, i.exclusion,
       i.advance_reason, i.candidate_letter_id, i.suppressed_by,
       i.candidate_overdue_total, i.candidate_credit_total, i.open_balance,
       l.level AS letter_level, l.template, l.is_final, l.pay_by, l.total_due, l.interest_total,
       ll.line_type,
       (SELECT list(t.doc_id ORDER BY t.doc_id) FROM decisions AS t
         WHERE t.letter_id = d.letter_id AND t.reason = 'advanced') AS triggers,
       (SELECT count(*) FROM letters AS k
         WHERE k.customer_id = d.customer_id AND k.currency = d.currency) AS key_letters
FROM decisions AS d
-- open_balance (SPEC §9.3) is in item_details only when a policy sets min_percent
LEFT JOIN (FROM item_details UNION ALL BY NAME SELECT NULL::DECIMAL(38, 2) AS open_balance WHERE false) AS i
       USING (doc_id)
LEFT JOIN letters AS l USING (letter_id)
LEFT JOIN letter_lines AS ll
  ON ll.letter_id = d.letter_id AND ll.doc_id = d.doc_id AND ll.line_type IN ('overdue', 'current', 'credit')
WHERE d.doc_id = $doc_id OR d.customer_id = $customer_id
ORDER BY d.doc_id
"""

# The interest lines of those items in the letters they went into, in letter order.
INTEREST_SQL = """
SELECT ll.doc_id, ll.open_amount, ll.interest_from, ll.interest_to, ll.interest_days,
       ll.rate_percent, ll.interest_amount
FROM letter_lines AS ll
JOIN decisions AS d ON d.doc_id = ll.doc_id AND d.letter_id = ll.letter_id
WHERE ll.line_type = 'interest' AND (d.doc_id = $doc_id OR d.customer_id = $customer_id)
ORDER BY ll.doc_id, ll.line_no
"""

# The compensation lines of those items (SPEC §9.2; the column exists only when a level charges it).
COMPENSATION_SQL = """
SELECT ll.doc_id, ll.compensation_amount
FROM (FROM letter_lines UNION ALL BY NAME SELECT NULL::DECIMAL(18, 2) AS compensation_amount WHERE false) AS ll
JOIN decisions AS d ON d.doc_id = ll.doc_id AND d.letter_id = ll.letter_id
WHERE ll.line_type = 'compensation' AND (d.doc_id = $doc_id OR d.customer_id = $customer_id)
"""

# The customer's items by level, highest first: the one at the last level made it final
# (a settled item, open_amount 0, never does: SPEC §4.2).
CUSTOMER_LEVELS_SQL = """
SELECT d.doc_id, d.level_before, i.policy
FROM decisions AS d JOIN item_details AS i USING (doc_id)
WHERE d.customer_id = $customer_id AND d.open_amount <> 0
ORDER BY d.level_before DESC, d.doc_id
"""

CUSTOMER_LETTERS_SQL = "SELECT letter_id FROM letters WHERE customer_id = $customer_id ORDER BY letter_id"


@dataclass
class Context:
    """What every explanation of one folder shares: the connection, run date and policies."""

    con: duckdb.DuckDBPyConnection
    as_of: dt.date
    policies: dict[str, Any]

    def rows(self, sql: str, **params: Any) -> list[SimpleNamespace]:
        used = {k: v for k, v in params.items() if f"${k}" in sql}
        result = self.con.execute(sql, used)
        names = [d[0] for d in result.description]
        return [SimpleNamespace(**dict(zip(names, row))) for row in result.fetchall()]

    def levels(self, policy: str) -> list[dict[str, Any]]:
        return self.policies[policy]["levels"]


def explain(out: str | Path, doc_id: str | None = None, customer_id: str | None = None) -> str:
    """Why item `doc_id`, or each item of `customer_id` (by doc_id), got its outcome in folder `out`."""
    if doc_id is None and customer_id is None:
        raise UserError("explain needs a DOC_ID or --customer ID: which item or customer to explain")
    if doc_id is not None and customer_id is not None:
        raise UserError("explain takes a DOC_ID or --customer ID, not both")
    con, manifest = open_folder(out)
    ctx = Context(con, dt.date.fromisoformat(manifest["as_of"]), manifest["policies"])
    items = ctx.rows(ITEMS_SQL, doc_id=doc_id, customer_id=customer_id)
    if not items:
        what = f"item {doc_id!r}" if doc_id is not None else f"customer {customer_id!r}"
        rejected = manifest.get("rejected_rows") or 0
        hint = f" ({rejected} input row(s) were rejected: see rejected.parquet)" if rejected else ""
        raise UserError(f"{out}: no {what} in decisions.parquet{hint}")
    interest: dict[str, list[SimpleNamespace]] = {}
    for line in ctx.rows(INTEREST_SQL, doc_id=doc_id, customer_id=customer_id):
        interest.setdefault(line.doc_id, []).append(line)
    compensation = {r.doc_id: r.compensation_amount
                    for r in ctx.rows(COMPENSATION_SQL, doc_id=doc_id, customer_id=customer_id)}
    paragraphs = [explain_item(item, interest.get(item.doc_id, []), ctx, compensation.get(item.doc_id))
                  for item in items]
    if customer_id is not None:
        letters = [r.letter_id for r in ctx.rows(CUSTOMER_LETTERS_SQL, customer_id=customer_id)]
        letter_text = count(len(letters), "letter") + (f" ({', '.join(letters)})" if letters else "")
        paragraphs.insert(0, say("customer_header", customer_id=customer_id, items=count(len(items), "item"),
                                 letters=letter_text))
    return "\n\n".join(paragraphs) + "\n"


def explain_item(item: SimpleNamespace, interest: list[SimpleNamespace], ctx: Context,
                 compensation: Decimal | None = None) -> str:
    """The header line, then one sentence per fact, indented under it."""
    sentences = [_outcome(item)]
    if item.exclusion:
        sentences += _exclusion(item, ctx)
    else:
        if item.doc_type in RAISING_TYPES:
            sentences += _thresholds(item, ctx)
        sentences += _placement(item, ctx)
    if item.letter_id:
        sentences += _letter(item, interest, ctx)
    if compensation is not None:
        sentences.append(say("compensation_line", amount=money(compensation), currency=item.currency))
    return "\n  ".join([_header(item)] + sentences)


def _header(item: SimpleNamespace) -> str:
    due = say("due_on", due_date=item.due_date) if item.due_date else say("no_due_date")
    policy = say("under_policy", policy=item.policy) if item.policy else ""
    return say("header", doc_id=item.doc_id, doc_type=item.doc_type, customer_id=item.customer_id,
               open_amount=money(item.open_amount), currency=item.currency, due=due,
               level_before=item.level_before, policy=policy)


def _outcome(item: SimpleNamespace) -> str:
    key = "outcome_kept" if item.level_after == item.level_before else "outcome_changed"
    return say(key, outcome=item.outcome, reason=item.reason, level_before=item.level_before,
               level_after=item.level_after)


def _exclusion(item: SimpleNamespace, ctx: Context) -> list[str]:
    """SPEC §4.2: the first exclusion that applied, with its data."""
    reason = item.exclusion
    if reason == "customer_final":
        final = next((r for r in ctx.rows(CUSTOMER_LEVELS_SQL, customer_id=item.customer_id)
                      if r.policy and r.level_before >= len(ctx.levels(r.policy))), None)
        if final is None:  # the item at the last level is not in this folder (rejected)
            return [say("customer_final_elsewhere", customer_id=item.customer_id)]
        return [say(reason, customer_id=item.customer_id, final_doc=final.doc_id, final_level=final.level_before,
                    final_policy=final.policy)]
    if reason == "in_grace":
        if item.grace_until is not None and ctx.as_of <= item.grace_until:
            return [say("in_grace_item", grace_until=item.grace_until, as_of=ctx.as_of)]
        return [say("in_grace_customer", customer_id=item.customer_id, grace_until=item.customer_grace_until,
                    as_of=ctx.as_of)]
    return [say(reason, customer_id=item.customer_id, currency=item.currency, level_before=item.level_before,
                policy=item.policy)]


def _thresholds(item: SimpleNamespace, ctx: Context) -> list[str]:
    """SPEC §4.3: days past due against the level thresholds, and the spacing rule."""
    dpd, current = item.days_past_due, item.level_before
    levels = ctx.levels(item.policy)
    policy = ctx.policies[item.policy]
    if item.advance_reason == "not_due":
        if dpd == 0:
            return [say("due_today", as_of=ctx.as_of)]
        return [say("not_due", due_date=item.due_date, days=days(-dpd), as_of=ctx.as_of)]
    if item.advance_reason == "below_level_threshold":
        nxt = levels[current]  # level current + 1 (levels are numbered from 1)
        return [say("not_exceeds", dpd=days(dpd), level=nxt["level"], threshold=days(nxt["days_past_due"]),
                    policy=item.policy)]
    reached = max(lv["level"] for lv in levels if dpd > lv["days_past_due"])
    target = current + 1 if policy["sequential"] else reached
    sentences = [say("exceeds", dpd=days(dpd), level=target, threshold=days(levels[target - 1]["days_past_due"]),
                     policy=item.policy)]
    if policy["sequential"] and reached > target:
        sentences.append(say("sequential_cap", policy=item.policy, dpd=days(dpd), higher=reached,
                             higher_threshold=days(levels[reached - 1]["days_past_due"])))
    if not policy["sequential"] and target > current + 1:
        sentences.append(say("jump", policy=item.policy))
    if current >= 1:
        sentences.append(_spacing(item, levels, policy, target, ctx))
    return sentences


def _spacing(item: SimpleNamespace, levels: list[dict], policy: dict, target: int, ctx: Context) -> str:
    if item.last_dunned_before is None:
        return say("spacing_unknown")
    days_to, days_from = levels[target - 1]["days_past_due"], levels[item.level_before - 1]["days_past_due"]
    min_days = policy["min_days_between_letters"]
    needed = max(days_to - days_from, min_days)
    ago = (ctx.as_of - item.last_dunned_before).days
    key = "spacing_met" if item.advance_reason == "advanced" else "spacing_not_met"
    return say(key, last=item.last_dunned_before, ago=days(ago), level_from=item.level_before, level_to=target,
               needed=days(needed), days_to=days_to, days_from=days_from, min_days=min_days, needed_n=needed)


def _placement(item: SimpleNamespace, ctx: Context) -> list[str]:
    """SPEC §4.4-§4.5: the letter it rides in, or why no letter took it."""
    triggers = listing(item.triggers or [])
    common = dict(letter_id=item.letter_id, triggers=triggers, customer_id=item.customer_id,
                  currency=item.currency, level_before=item.level_before)
    if item.suppressed_by:
        return [_suppressed(item, ctx)]
    if item.reason in ("piggyback", "listed", "current"):
        return [say(item.reason, **common)]
    if item.reason == "pre_due":
        when = say("due_in", days=days(-item.days_past_due)) if item.days_past_due else say("due_today_short")
        return [say("pre_due", letter_id=item.letter_id, when=when,
                    pre_due_days=ctx.policies[item.policy].get("pre_due_days"), policy=item.policy)]
    if item.reason == "credit":
        if item.letter_id:
            return [say("credit_listed", **common)]
        return [say("credit_not_listed" if item.key_letters else "credit_no_letter", **common)]
    return []


def _suppressed(item: SimpleNamespace, ctx: Context) -> str:
    overdue, credit = item.candidate_overdue_total, item.candidate_credit_total
    if item.suppressed_by == "below_min_amount":
        minimum = Decimal(ctx.policies[item.policy]["min_amount"][item.currency])
        key = "pre_due_below_min_amount" if _in_notice(item, ctx) else "below_min_amount"
        return say(key, letter_id=item.candidate_letter_id, overdue_total=money(overdue),
                   currency=item.currency, policy=item.policy, min_amount=money(minimum))
    if item.suppressed_by == "below_min_percent":
        percent = Decimal(ctx.policies[item.policy]["min_percent"])
        return say("below_min_percent", letter_id=item.candidate_letter_id, overdue_total=money(overdue),
                   currency=item.currency, policy=item.policy, min_percent=rate(percent),
                   open_balance=money(item.open_balance))
    return say("customer_in_credit", letter_id=item.candidate_letter_id, overdue_total=money(overdue),
               credit_total=money(credit), balance=money(overdue + credit), currency=item.currency)


def _in_notice(item: SimpleNamespace, ctx: Context) -> bool:
    """Whether the item was a candidate for a courtesy notice (SPEC §9.6), not a dunning letter."""
    days_before = ctx.policies[item.policy].get("pre_due_days")
    return (days_before is not None and item.level_before == 0 and item.days_past_due is not None
            and -days_before <= item.days_past_due <= 0 and item.line_type == "current")


def _letter(item: SimpleNamespace, interest: list[SimpleNamespace], ctx: Context) -> list[str]:
    """SPEC §4.6-§4.8: the letter it went into, and its interest lines."""
    sentences = [say("letter", letter_id=item.letter_id, level=item.letter_level, template=item.template,
                     final=say("final") if item.is_final else "", pay_by=item.pay_by,
                     total_due=money(item.total_due), currency=item.currency)]
    basis = ctx.policies[item.policy]["interest"]["basis"]
    for line in interest:
        sentences.append(say("interest_line", open_amount=money(line.open_amount), currency=item.currency,
                             rate=rate(line.rate_percent), basis=basis, days=days(line.interest_days),
                             date_from=line.interest_from, date_to=line.interest_to,
                             amount=money(line.interest_amount)))
    if not interest and item.line_type == "overdue" and item.letter_level:
        level = ctx.levels(item.policy)[item.letter_level - 1]
        if not level["interest"]:
            sentences.append(say("no_interest_level", level=item.letter_level, policy=item.policy))
        elif item.doc_type not in INTEREST_TYPES:
            sentences.append(say("no_interest_type"))
        elif not item.interest_total:
            sentences.append(say("interest_dropped", level=item.letter_level, currency=item.currency))
    return sentences
