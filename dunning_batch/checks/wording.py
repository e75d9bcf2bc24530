"""The words an analyst reads, in one place: the sentences of `explain` (one template per fact
or reason, filled by `say`) and the short names of reasons and channels in summary.html.

explain.py picks the sentences that fit the facts the stages wrote to item_details and fills
in their figures; summary.py lays out the night's figures; every word comes from here. Placeholders are `str.format` fields.
"""

from __future__ import annotations

from decimal import Decimal

from ..terminal import printable

SENTENCES = {
    # the item and what happened to it
    "header": "{doc_id}: {doc_type} of customer {customer_id}, {open_amount} {currency} open{due}, "
              "level {level_before} before the run{policy}.",
    "due_on": ", due {due_date}",
    "no_due_date": ", no due date",
    "under_policy": " (policy {policy})",
    # letters across currencies (SPEC §11.1)
    "converted": "Its letter is in {letter_currency}: {currency} {open_amount} at {rate} (rate of {rate_date}, "
                 "the latest on or before the rate day {rate_day}) = {letter_currency} {letter_amount}.",
    # ... and of an item in no letter this run (excluded, or its letter not sent)
    "converted_no_letter": "Its policy writes its letters in {letter_currency}: {currency} {open_amount} at "
                           "{rate} (rate of {rate_date}, the latest on or before the rate day {rate_day}) = "
                           "{letter_currency} {letter_amount}.",
    "interest_converted": "At {rate}: {currency} {amount} = {letter_currency} {letter_amount}.",
    "outcome_changed": "Outcome: {outcome} ({reason}), level {level_before} -> {level_after}.",
    "outcome_kept": "Outcome: {outcome} ({reason}), level stays at {level_before}.",

    # exclusions of SPEC §4.2
    "settled": "Its open amount is 0.00 {currency}: it is settled, nothing is left to collect, so it is "
               "never listed in a letter and counts toward no total or threshold.",
    "customer_blocked": "Customer {customer_id} is blocked from dunning (dunning_blocked = true), "
                        "so none of its items is dunned.",
    "no_policy": "No dunning policy applies to customer {customer_id}: the customer names none, its "
                 "customer class is in no policy's customer_classes, and no policy is the default.",
    "customer_final": "Customer {customer_id} has had its final reminder: {final_doc} is at level "
                      "{final_level}, the last level of policy {final_policy}. Collection has taken over, "
                      "so none of the customer's items is dunned.",
    "customer_final_elsewhere": "Customer {customer_id} has had its final reminder (an item at its "
                                "policy's last level); collection has taken over, so none of the "
                                "customer's items is dunned.",
    "blocked": "The item is blocked for dunning (blocked = true).",
    "disputed": "The item is in dispute (disputed = true), and this run does not dun disputed items.",
    "in_grace_item": "The item is in grace until {grace_until}: the run date {as_of} is not after it.",
    "in_grace_customer": "Customer {customer_id} is in grace until {grace_until}: the run date {as_of} "
                         "is not after it.",
    "max_level": "The item is already at level {level_before}, the last level of policy {policy}.",

    # days past due against the thresholds (SPEC §4.3)
    "not_due": "It is not yet due: due {due_date}, {days} after the run date {as_of}.",
    "due_today": "It falls due on the run date {as_of} and is not overdue yet.",
    "exceeds": "{dpd} past due exceeds level {level}'s threshold of {threshold} (policy {policy}).",
    "not_exceeds": "{dpd} past due does not exceed level {level}'s threshold of {threshold} "
                   "(policy {policy}), so it does not reach level {level} on its own.",
    "sequential_cap": "Policy {policy} is sequential: an item advances one level per run, although "
                      "{dpd} also exceeds level {higher}'s threshold of {higher_threshold}.",
    "jump": "Policy {policy} is not sequential: it goes straight to the highest level it exceeds.",
    # a level's day range (SPEC §11.3)
    "beyond_range": "{dpd} past due is beyond level {level}'s range (days_to = {days_to}): it is not raised "
                    "to level {level}.",
    "jump_in_range": "Policy {policy} is not sequential: it goes straight to the highest level it exceeds "
                     "whose range holds it.",
    "range_stops_sequential": "Policy {policy} is sequential: an item advances one level per run and cannot "
                              "pass level {level}, so it stays at level {level_before}.",
    "range_holds_none": "Policy {policy} is not sequential, but no level above {level_before} whose threshold "
                        "it exceeds holds it in its range, so it stays at level {level_before}.",
    "spacing_met": "Spacing: the last letter was on {last}, {ago} ago; level {level_from} -> {level_to} "
                   "needs {needed}: max({days_to} - {days_from}, min_days_between_letters {min_days}) = "
                   "{needed_n}. Met.",
    "spacing_not_met": "Spacing: the last letter was on {last}, only {ago} ago; level {level_from} -> "
                       "{level_to} needs {needed}: max({days_to} - {days_from}, min_days_between_letters "
                       "{min_days}) = {needed_n}. Too soon, so it stays at level {level_from}.",
    "spacing_unknown": "No last letter date is recorded, so the spacing rule does not apply.",

    # riding along in a letter (SPEC §4.4)
    "piggyback": "It rides in letter {letter_id}, which {triggers} triggered for customer {customer_id} in "
                 "{currency}, and is raised to level 1 with it.",
    "listed": "It is listed at its level {level_before} in letter {letter_id}, which {triggers} triggered.",
    "current": "It is listed as a current (not yet due) item in letter {letter_id}, which {triggers} "
               "triggered; current items are shown but not part of the total due.",
    "credit_listed": "It lowers the balance and is listed as a credit in letter {letter_id}, which "
                     "{triggers} triggered; the credit is deducted from the total due.",
    "credit_no_letter": "It lowers the balance; no letter goes out for customer {customer_id} in "
                        "{currency} tonight, so it is not listed anywhere.",
    "credit_not_listed": "It lowers the balance; this run does not list credits in letters "
                         "(include_credits = false).",
    "no_letter_for_key": "No item of customer {customer_id} in {currency} advanced tonight, so no letter "
                         "goes out for it.",

    # suppressed letters (SPEC §4.5)
    "below_min_amount": "It would have gone into letter {letter_id}, but that letter's overdue total "
                        "{overdue_total} {currency} is below policy {policy}'s minimum of {min_amount} "
                        "{currency}: no letter went out, and none of its items changed level.",
    "customer_in_credit": "It would have gone into letter {letter_id}, but the customer is in credit: "
                          "overdue total {overdue_total} plus credits {credit_total} is {balance} "
                          "{currency}, not above zero. No letter went out, and none of its items "
                          "changed level.",

    "below_min_percent": "It would have gone into letter {letter_id}, but that letter's overdue total "
                         "{overdue_total} {currency} is below policy {policy}'s min_percent of {min_percent} % "
                         "of the customer's open balance {open_balance} {currency}: no letter went out, and "
                         "none of its items changed level.",
    "pre_due_below_min_amount": "It would have gone into courtesy notice {letter_id} before its due date, but "
                                "the notice's total {overdue_total} {currency} is below policy {policy}'s "
                                "minimum of {min_amount} {currency}, so no notice went out.",

    # a courtesy notice before the due date (SPEC §9.6)
    "due_in": "in {days}",
    "due_today_short": "today",
    "pre_due": "It falls due {when} and goes into courtesy notice {letter_id}: policy {policy} sends a "
               "notice up to {pre_due_days} days before the due date when no dunning letter goes out for "
               "the customer tonight.",

    # the letter and its interest (SPEC §4.6-§4.8)
    "letter": "Letter {letter_id}: level {level} ({template}{final}), pay by {pay_by}, total due "
              "{total_due} {currency}.",
    "final": ", the final reminder",
    "interest_line": "Interest on {open_amount} {currency}: {rate} % a year ({basis}) for {days}, "
                     "{date_from} to {date_to} = {amount} {currency}.",
    "no_interest_level": "Level {level} letters of policy {policy} charge no interest.",
    "no_interest_type": "No interest on this line: interest is charged on overdue invoices, debit memos "
                        "and refunds only.",
    "interest_dropped": "Level {level} charges interest, but the letter's interest came to less than "
                        "the interest minimum for {currency} and was dropped.",
    "compensation_line": "Compensation for recovery costs (SPEC §9.2): {amount} {currency}, charged once "
                         "for this invoice.",

    # a whole customer
    "customer_header": "Customer {customer_id}: {items} in this run, {letters}.",
    # issue 19: the ISO 11649 reference printed on the letter and carried by its QR code
    "letter_with_reference": "{letter_id}, payment reference {reference}",
    "payment_reference": "Its payment reference is {reference}: a transfer quoting it pays letter {letter_id}.",
    # SPEC §11.2: who the customer's letters were addressed to, and its sales rep
    "contact_attention": "Its letters are addressed to {contact} at {name}: the attention line under the "
                         "name in the window (contact_name).",
    "contact_email": "Its emails went to {email}, the contact's address (contact_email), in place of the "
                     "customer's {own}.",
    "own_email": "Its emails went to {email}, the customer's own address (it names no contact_email).",
    "no_own_email": "own address (none given)",
    "own_email_was": "own address {email}",
    "contact_print": "Its letters go by post only ({delivery}), to the postal address under the name.",
    "sales_rep": "Its sales rep is {rep_name} ({rep_id}): the letters name them as the contact for questions "
                 "({details}){reply_to}.",
    "sales_rep_reply_to": ", and the emails' Reply-To is {email}",

    # `render`: what re-rendering a folder changed (the CLI prints these, not `explain`)
    "render_in_place": "re-rendered {letters} ({pages}) into {pdf_dir}: {what}.",
    "render_new_folder": "re-rendered {letters} ({pages}) from {source} into the new folder {target}: {what}.",
    "render_same": "every PDF is the same as before, so nothing else was rewritten",
    "render_stale": "every PDF is the same as before, but the outbox or the print batch carried other PDFs",
    "render_same_as_source": "every PDF is the same as {source}'s",
    "render_changed": "{pdfs} changed ({letter_ids})",
    "render_differ": "{pdfs} {differ} from {source}'s ({letter_ids})",
    "render_missing": "{pdfs} written anew ({letter_ids}; they were missing)",
    "render_delivery_rebuilt": "outbox and print batch rebuilt from the new PDFs",
    "render_delivery_built": "outbox and print batch made from the new PDFs",
    "render_no_delivery": "the folder has no outbox or print batch to rebuild (its run had no PDFs)",
}


# Each decision reason (SPEC §4.2, §4.3, §4.5, §4.12, §9.3, §9.6, §11.3) in a few words, for summary.html.
REASONS = {
    "advanced": "reached a higher level and triggered a letter",
    "piggyback": "raised to level 1 in another item's letter",
    "listed": "listed at its level in another item's letter",
    "current": "not yet due, listed for information",
    "credit": "a credit (lowers the balance)",
    "pre_due": "in a courtesy notice before its due date",
    "settled": "settled: nothing left to collect",
    "customer_blocked": "the customer is blocked from dunning",
    "no_policy": "no dunning policy applies to the customer",
    "customer_final": "the customer has had its final reminder; collection has taken over",
    "blocked": "the item is blocked for dunning",
    "disputed": "the item is in dispute",
    "in_grace": "in grace (item or customer grace date not passed)",
    "max_level": "already at the last level",
    "not_due": "not yet due",
    "below_level_threshold": "not enough days past due for the next level",
    "beyond_level_range": "too many days past due for the next level's range (days_to)",
    "too_soon": "too soon after the last letter (spacing rule)",
    "below_min_amount": "the letter's overdue total is below the minimum amount",
    "customer_in_credit": "the customer is in credit: credits cover the overdue total",
    "below_min_percent": "the letter's overdue total is below the minimum percentage of the open balance",
}

# The delivery channel of a letter (SPEC §10.1), for summary.html.
CHANNELS = {"email": "by email", "print": "on paper", "both": "by email and on paper"}


def reason_words(reason: str) -> str:
    """A reason code in words; an unknown code as itself."""
    return REASONS.get(reason, reason)


def say(key: str, **values: object) -> str:
    """The sentence `key` with its figures filled in; text from the data (ids, names) with its
    control and invisible characters escaped, so a sentence is one line of plain text."""
    return SENTENCES[key].format_map({k: printable(v) if isinstance(v, str) else v for k, v in values.items()})


def days(n: int) -> str:
    return f"{n} day" if abs(n) == 1 else f"{n} days"


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def money(amount: Decimal | None) -> str:
    """An amount exactly, with thousands separators: 2,200.40."""
    return "0.00" if amount is None else format(amount, ",f")


def rate(percent: Decimal) -> str:
    """A rate without trailing zeros: 8.000000 -> 8, 6.270000 -> 6.27."""
    text = format(percent, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def first_of(names: list[str], shown: int = 5) -> str:
    """'A, B and C', or 'A, B, C, D, E and 7 more' for a long list."""
    return listing(names if len(names) <= shown else names[:shown] + [f"{len(names) - shown} more"])


def listing(names: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
