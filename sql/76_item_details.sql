-- item_details: one row per accepted item with the facts its decision rests on, so that
-- `explain` can say why from the output folder alone; in doc_id order. A view over
-- item_outcomes (which says what the candidate columns mean). open_balance (§9.3) and the
-- item's compensation_charged / interest_paid_to before the run (§9.2, §9.4) are written
-- only when those rules are configured (outputs.py).
-- The facts `explain` cites, each made by the stage that owns its rule (NULL where the
-- rule did not look at the item):
--   final_doc_id, final_level        customer_final: the customer's item at its policy's
--                                    last level, and that level (25_exclusions)
--   grace_of                         in_grace: 'item' or 'customer', whose grace date the
--                                    run date is not after (25_exclusions)
--   sequential, min_days_between_letters   the item's policy (SPEC §3)
--   reached_level, reached_days_past_due   the highest level whose threshold the days past
--                                    due exceed, and that threshold (30_advance)
--   threshold_level, threshold_days_past_due  the level the item was tested for (the one
--                                    the thresholds give, else level_before + 1) and its
--                                    threshold (30_advance)
--   level_before_days_past_due       the threshold of the level the item is at (30_advance)
--   spacing_days_needed, days_since_last_letter  the spacing rule: days it asks since the
--                                    last letter (NULL at level 0), days since it (30_advance)
--   range_level, range_days_to       SPEC §11.3: the level whose range (days_to) the item is
--                                    beyond, and that days_to (30_advance); written only when a
--                                    level sets days_to (outputs.layout RULE_COLUMNS)
--   min_amount, min_percent          the minimums the candidate letter or notice was tested
--                                    against (45_letter_gates, 46_pre_due_lines)
--   pre_due_days                     the courtesy-notice window, for an item that was a
--                                    notice candidate: its candidate columns describe the
--                                    notice (46_pre_due_lines)
--   letter_charges_interest, interest_basis  the level of the item's letter charges
--                                    interest, and the day count (50_letter_heads)
--   interest_eligible                its doc type bears interest (00_macros earns_interest,
--                                    the rule of 55_interest_lines)
--   letter_currency, rate, rate_date, rate_day, letter_amount  SPEC §11.1: the currency of the
--                                    item's letter and, when it differs from the item's, the
--                                    rate used, its day, the rate day it was looked up for and
--                                    the item's amount in the letter currency (26_item_rates);
--                                    written only when a policy sets letter_currency
-- Grain: doc_id. Inputs: item_outcomes.
SELECT doc_id, customer_id, policy, branch, last_dunned_before, blocked, disputed, grace_until,
       customer_grace_until, dunning_blocked, exclusion, target_level, advance_reason,
       candidate_letter_id, line_type, suppressed_by, candidate_overdue_total, candidate_credit_total,
       open_balance, compensation_charged, interest_paid_to,
       final_doc_id, final_level, grace_of, sequential, min_days_between_letters,
       reached_level, reached_days_past_due, threshold_level, threshold_days_past_due,
       level_before_days_past_due, spacing_days_needed, days_since_last_letter,
       range_level, range_days_to,
       min_amount, min_percent, pre_due_days, letter_charges_interest, interest_basis, interest_eligible,
       letter_currency, rate, rate_date, rate_day, letter_amount
FROM item_outcomes
