-- item_details: one row per accepted item with the facts its decision rests on, so that
-- `explain` can say why from the output folder alone; in doc_id order. A view over
-- item_outcomes (which says what the candidate columns mean). open_balance (§9.3) and the
-- item's compensation_charged / interest_paid_to before the run (§9.2, §9.4) are written
-- only when those rules are configured (outputs.py).
-- Grain: doc_id. Inputs: item_outcomes.
SELECT doc_id, customer_id, policy, branch, last_dunned_before, blocked, disputed, grace_until,
       customer_grace_until, dunning_blocked, exclusion, target_level, advance_reason,
       candidate_letter_id, line_type, suppressed_by, candidate_overdue_total, candidate_credit_total,
       open_balance, compensation_charged, interest_paid_to
FROM item_outcomes
