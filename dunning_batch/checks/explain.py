"""`explain`: says in plain sentences why an item, or each item of a customer, got its outcome.

Reads the output folder alone: decisions, item_details, letters and letter_lines. Every
fact it cites was made by the stage whose rule it is and written to item_details; this
module picks the sentences that fit the facts and fills in their figures, computing
nothing. The words are in wording.py, the queries in sql/explain/.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import duckdb

from .. import sql_runner
from ..errors import UserError
from ..letters.payment_codes import grouped_reference
from ..manifest import check_complete
from ..outputs.folder import connect_views, file_columns, read_manifest
from .wording import count, days, listing, money, rate, say


@dataclass
class Context:
    """What every explanation of one folder shares: the connection and the run date."""

    con: duckdb.DuckDBPyConnection
    as_of: str

    def rows(self, name: str, doc_id: str | None = None, customer_id: str | None = None) -> list[SimpleNamespace]:
        """The rows of `sql/explain/<name>.sql` for the item or customer asked about."""
        params = {"doc_id": doc_id, "customer_id": customer_id}
        return [SimpleNamespace(**r) for r in sql_runner.records(self.con, f"explain/{name}", params)]

# A column of item_details since the stages write explain's facts: a folder without it was
# written by an earlier version, whose item_details explain cannot read.
FACTS_SINCE = "spacing_days_needed"


def explain(out: str | Path, doc_id: str | None = None, customer_id: str | None = None) -> str:
    """Why item `doc_id`, or each item of `customer_id` (by doc_id), got its outcome in folder `out`."""
    if doc_id is None and customer_id is None:
        raise UserError("explain needs a DOC_ID or --customer ID: which item or customer to explain")
    if doc_id is not None and customer_id is not None:
        raise UserError("explain takes a DOC_ID or --customer ID, not both")
    manifest = read_manifest(out)
    check_complete(Path(out), manifest)
    con = connect_views(out)
    if FACTS_SINCE not in file_columns(out, "item_details"):
        raise UserError(f"{out}: was written by an earlier dunning-batch, whose item_details.parquet "
                        f"lacks the facts explain reads; run that night again into a new folder to explain it")
    ctx = Context(con, manifest["as_of"])
    items = ctx.rows("items", doc_id, customer_id)
    if not items:
        what = f"item {doc_id!r}" if doc_id is not None else f"customer {customer_id!r}"
        rejected = manifest.get("rejected_rows") or 0
        hint = f" ({rejected} input row(s) were rejected: see rejected.parquet)" if rejected else ""
        raise UserError(f"{out}: no {what} in decisions.parquet{hint}")
    interest: dict[str, list[SimpleNamespace]] = {}
    for line in ctx.rows("interest_lines", doc_id, customer_id):
        interest.setdefault(line.doc_id, []).append(line)
    compensation = {r.doc_id: r.compensation_amount for r in ctx.rows("compensation_lines", doc_id, customer_id)}
    paragraphs = [explain_item(item, interest.get(item.doc_id, []), ctx, compensation.get(item.doc_id))
                  for item in items]
    if customer_id is not None:
        # a folder written before issue 19 has no references: its letters are named alone
        letters = [say("letter_with_reference", letter_id=r.letter_id, reference=grouped_reference(r.payment_reference))
                   if r.payment_reference else r.letter_id
                   for r in ctx.rows("customer_letters", customer_id=customer_id)]
        letter_text = count(len(letters), "letter") + (f" ({', '.join(letters)})" if letters else "")
        header = say("customer_header", customer_id=customer_id, items=count(len(items), "item"), letters=letter_text)
        paragraphs.insert(0, "\n  ".join([header] + _contacts(ctx.rows("customer_contacts", customer_id=customer_id))))
    return "\n\n".join(paragraphs) + "\n"


def _contacts(recipients: list[SimpleNamespace]) -> list[str]:
    """SPEC §11.2: who the customer's letters were addressed to (the contact of the attention
    line, the address its emails went to) and the sales rep they name; nothing for a customer
    without a contact or a rep, as before §11."""
    sentences = []
    for r in recipients:
        if r.contact_name is None and r.contact_email is None and r.sales_rep is None:
            continue
        if r.contact_name is not None:
            sentences.append(say("contact_attention", contact=r.contact_name, name=r.name))
        if r.delivery in ("email", "both"):
            if r.contact_email is not None:
                own = say("own_email_was", email=r.email) if r.email else say("no_own_email")
                sentences.append(say("contact_email", email=r.contact_email, own=own))
            else:
                sentences.append(say("own_email", email=r.email))
        else:
            sentences.append(say("contact_print", delivery=r.delivery))
        if r.sales_rep is not None:
            details = ", ".join(v for v in (r.sales_rep_phone, r.sales_rep_email) if v)
            reply_to = say("sales_rep_reply_to", email=r.sales_rep_email) if r.delivery in ("email", "both") else ""
            sentences.append(say("sales_rep", rep_name=r.sales_rep_name, rep_id=r.sales_rep, details=details,
                                 reply_to=reply_to))
    return sentences


def explain_item(item: SimpleNamespace, interest: list[SimpleNamespace], ctx: Context,
                 compensation: Decimal | None = None) -> str:
    """The header line, then one sentence per fact, indented under it."""
    sentences = [_outcome(item)]
    if item.rate is not None:  # SPEC §11.1: converted into its letter's currency
        # an item in no letter this run has none to be in (excluded, or its letter not sent)
        sentences.append(say("converted" if item.letter_id else "converted_no_letter",
                             letter_currency=item.letter_currency, currency=item.currency,
                             open_amount=money(item.open_amount), rate=rate(item.rate), rate_date=item.rate_date,
                             rate_day=item.rate_day, letter_amount=money(item.letter_amount)))
    if item.exclusion:
        sentences += _exclusion(item, ctx)
    else:
        if item.advance_reason is not None:  # a raising item: 30_advance judged it
            sentences += _thresholds(item, ctx)
        sentences += _placement(item)
    if item.letter_id:
        sentences += _letter(item, interest)
    if compensation is not None:
        sentences.append(say("compensation_line", amount=money(compensation), currency=item.letter_currency))
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
        if item.final_doc_id is None:  # a folder whose item_details does not name it
            return [say("customer_final_elsewhere", customer_id=item.customer_id)]
        return [say(reason, customer_id=item.customer_id, final_doc=item.final_doc_id, final_level=item.final_level,
                    final_policy=item.policy)]
    if reason == "in_grace":
        if item.grace_of == "item":
            return [say("in_grace_item", grace_until=item.grace_until, as_of=ctx.as_of)]
        return [say("in_grace_customer", customer_id=item.customer_id, grace_until=item.customer_grace_until,
                    as_of=ctx.as_of)]
    return [say(reason, customer_id=item.customer_id, currency=item.currency, level_before=item.level_before,
                policy=item.policy)]


def _thresholds(item: SimpleNamespace, ctx: Context) -> list[str]:
    """SPEC §4.3: days past due against the level thresholds, and the spacing rule."""
    dpd = item.days_past_due
    if item.advance_reason == "not_due":
        if dpd == 0:
            return [say("due_today", as_of=ctx.as_of)]
        return [say("not_due", due_date=item.due_date, days=days(-dpd), as_of=ctx.as_of)]
    if item.advance_reason == "below_level_threshold":
        return [say("not_exceeds", dpd=days(dpd), level=item.threshold_level,
                    threshold=days(item.threshold_days_past_due), policy=item.policy)]
    if item.advance_reason == "beyond_level_range":
        return _beyond_range(item)
    sentences = [say("exceeds", dpd=days(dpd), level=item.threshold_level,
                     threshold=days(item.threshold_days_past_due), policy=item.policy)]
    if item.sequential and item.reached_level > item.threshold_level:
        sentences.append(say("sequential_cap", policy=item.policy, dpd=days(dpd), higher=item.reached_level,
                             higher_threshold=days(item.reached_days_past_due)))
    if item.range_level is not None:  # non-sequential: a level it exceeds but whose range it is beyond
        sentences.append(say("beyond_range", dpd=days(dpd), level=item.range_level, days_to=item.range_days_to))
    if not item.sequential and item.threshold_level > item.level_before + 1:
        sentences.append(say("jump" if item.range_level is None else "jump_in_range", policy=item.policy))
    if item.level_before >= 1:
        sentences.append(_spacing(item))
    return sentences


def _beyond_range(item: SimpleNamespace) -> list[str]:
    """SPEC §11.3: the level above its own whose threshold it exceeds but whose range it is
    beyond (sequential: the next level; non-sequential: the highest it exceeds)."""
    threshold = item.threshold_days_past_due if item.range_level == item.threshold_level else item.reached_days_past_due
    dpd = days(item.days_past_due)
    stop = "range_stops_sequential" if item.sequential else "range_holds_none"
    return [say("exceeds", dpd=dpd, level=item.range_level, threshold=days(threshold), policy=item.policy),
            say("beyond_range", dpd=dpd, level=item.range_level, days_to=item.range_days_to),
            say(stop, policy=item.policy, level=item.range_level, level_before=item.level_before)]


def _spacing(item: SimpleNamespace) -> str:
    if item.last_dunned_before is None:
        return say("spacing_unknown")
    key = "spacing_met" if item.advance_reason == "advanced" else "spacing_not_met"
    return say(key, last=item.last_dunned_before, ago=days(item.days_since_last_letter), level_from=item.level_before,
               level_to=item.threshold_level, needed=days(item.spacing_days_needed),
               days_to=item.threshold_days_past_due, days_from=item.level_before_days_past_due,
               min_days=item.min_days_between_letters, needed_n=item.spacing_days_needed)


def _placement(item: SimpleNamespace) -> list[str]:
    """SPEC §4.4-§4.5: the letter it rides in, or why no letter took it."""
    triggers = listing(item.triggers or [])
    common = dict(letter_id=item.letter_id, triggers=triggers, customer_id=item.customer_id,
                  currency=item.letter_currency, level_before=item.level_before)
    if item.suppressed_by:
        return [_suppressed(item)]
    if item.reason in ("piggyback", "listed", "current"):
        return [say(item.reason, **common)]
    if item.reason == "pre_due":
        when = say("due_in", days=days(-item.days_past_due)) if item.days_past_due else say("due_today_short")
        return [say("pre_due", letter_id=item.letter_id, when=when, pre_due_days=item.pre_due_days,
                    policy=item.policy)]
    if item.reason == "credit":
        if item.letter_id:
            return [say("credit_listed", **common)]
        return [say("credit_not_listed" if item.key_letters else "credit_no_letter", **common)]
    return []


def _suppressed(item: SimpleNamespace) -> str:
    """The letter's totals and minimums are in its currency (SPEC §11.1: the letter currency)."""
    overdue, credit, currency = item.candidate_overdue_total, item.candidate_credit_total, item.letter_currency
    if item.suppressed_by == "below_min_amount":
        # pre_due_days is set for an item whose candidate was a courtesy notice (SPEC §9.6)
        key = "pre_due_below_min_amount" if item.pre_due_days is not None else "below_min_amount"
        return say(key, letter_id=item.candidate_letter_id, overdue_total=money(overdue),
                   currency=currency, policy=item.policy, min_amount=money(item.min_amount))
    if item.suppressed_by == "below_min_percent":
        return say("below_min_percent", letter_id=item.candidate_letter_id, overdue_total=money(overdue),
                   currency=currency, policy=item.policy, min_percent=rate(item.min_percent),
                   open_balance=money(item.open_balance))
    return say("customer_in_credit", letter_id=item.candidate_letter_id, overdue_total=money(overdue),
               credit_total=money(credit), balance=money(overdue + credit), currency=currency)


def _letter(item: SimpleNamespace, interest: list[SimpleNamespace]) -> list[str]:
    """SPEC §4.6-§4.8: the letter it went into, and its interest lines."""
    sentences = [say("letter", letter_id=item.letter_id, level=item.letter_level, template=item.template,
                     final=say("final") if item.is_final else "", pay_by=item.pay_by,
                     total_due=money(item.total_due), currency=item.letter_currency)]
    if item.payment_reference:  # issue 19: what the customer's transfer quotes
        sentences.append(say("payment_reference", reference=grouped_reference(item.payment_reference),
                             letter_id=item.letter_id))
    for line in interest:
        sentences.append(say("interest_line", open_amount=money(line.open_amount), currency=item.currency,
                             rate=rate(line.rate_percent), basis=item.interest_basis, days=days(line.interest_days),
                             date_from=line.interest_from, date_to=line.interest_to,
                             amount=money(line.interest_amount)))
        if line.rate is not None and line.currency != item.letter_currency:  # SPEC §11.1
            sentences.append(say("interest_converted", rate=rate(line.rate), currency=line.currency,
                                 amount=money(line.interest_amount), letter_currency=item.letter_currency,
                                 letter_amount=money(line.letter_amount)))
    if not interest and item.line_type == "overdue" and item.letter_level:
        if not item.letter_charges_interest:
            sentences.append(say("no_interest_level", level=item.letter_level, policy=item.policy))
        elif not item.interest_eligible:
            sentences.append(say("no_interest_type"))
        elif not item.interest_total:
            sentences.append(say("interest_dropped", level=item.letter_level, currency=item.letter_currency))
    return sentences
