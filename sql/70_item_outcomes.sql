-- item_outcomes: one row per accepted input item with its outcome and reason (SPEC §4.12)
-- and the facts that outcome rests on. `decisions` and `item_details` are its two faces
-- (71_decisions, 76_item_details): the items are joined with the stages once, here, and the
-- writer sorts each file by doc_id. A table, not a view: DuckDB writes a Parquet column as
-- REQUIRED when its statistics say it holds no NULL, which only a table's say exactly.
-- The facts `explain` cites are made by the stage whose rule they belong to and carried
-- here as they are (76_item_details lists them); none is worked out again.
-- SPEC §11.1: the item's letter currency and, when it differs from its own, the rate that
-- converted it (its day, the rate day) and its amount in the letter currency (26_item_rates);
-- the candidate totals and minimums are in the letter currency.
-- Grain: doc_id. Inputs: items, final_customers, exclusions, advance, candidate_lines, letter_gates,
-- pre_due_lines, letter_items, letter_heads, item_rates.
SELECT
    i.doc_id, i.customer_id, i.doc_type, i.currency, i.open_amount, i.due_date,
    CAST(i.days_past_due AS INTEGER) AS days_past_due,
    CAST(i.level_before AS INTEGER) AS level_before,
    CAST(CASE WHEN sent.letter_id IS NOT NULL THEN sent.level_after ELSE i.level_before END AS INTEGER)
        AS level_after,
    -- an item goes out in a dunning letter or a courtesy notice (§9.6: listed, pre_due); one
    -- that does not takes the reason of the notice or letter that was suppressed, or of §4.2/§4.3
    CASE WHEN sent.letter_id IS NULL                   THEN 'excluded'
         WHEN sent.level_after <> i.level_before       THEN 'dunned'
         ELSE 'listed'
    END AS outcome,
    CASE WHEN e.exclusion IS NOT NULL                  THEN e.exclusion
         WHEN sent.letter_id IS NOT NULL               THEN sent.line_reason
         WHEN n.suppressed_by IS NOT NULL              THEN n.suppressed_by   -- a courtesy notice (§9.6)
         WHEN g.suppressed_by IS NOT NULL              THEN g.suppressed_by
         WHEN a.advance_reason IS NOT NULL             THEN a.advance_reason
         ELSE 'credit'                                 -- a lowering item that is not listed
    END AS reason,
    sent.letter_id,
    -- the facts for `explain`. The candidate columns describe the dunning letter the item
    -- was a candidate for, or the courtesy notice (SPEC §9.6) it went into instead; for a
    -- notice, candidate_overdue_total is the notice's total (what its minimum is tested on).
    i.policy, i.branch, i.last_dunned_before, i.blocked, i.disputed,
    i.grace_until, i.customer_grace_until, i.dunning_blocked, e.exclusion,
    a.target_level, a.advance_reason,
    coalesce(n.letter_id, c.letter_id) AS candidate_letter_id,
    coalesce(n.line_type, c.line_type) AS line_type,
    CASE WHEN n.letter_id IS NOT NULL THEN n.suppressed_by ELSE g.suppressed_by END AS suppressed_by,
    -- DECIMAL(18, 2) holds them: 13_overflow_problems bounds a customer's items per currency to it
    CAST(CASE WHEN n.letter_id IS NOT NULL THEN n.notice_total ELSE g.overdue_total END AS DECIMAL(18, 2))
        AS candidate_overdue_total,
    CAST(CASE WHEN n.letter_id IS NOT NULL THEN 0 ELSE g.credit_total END AS DECIMAL(18, 2))
        AS candidate_credit_total,
    CAST(CASE WHEN n.letter_id IS NULL THEN g.open_balance END AS DECIMAL(18, 2)) AS open_balance,
    i.compensation_charged, i.interest_paid_to,
    CASE WHEN e.final_level IS NOT NULL THEN f.final_doc_id END AS final_doc_id,  -- 24_final_customers
    e.final_level,                                                              -- 25_exclusions
    CASE e.customer_grace WHEN true THEN 'customer' WHEN false THEN 'item' END AS grace_of,
    i.sequential, i.min_days_between_letters,                                   -- the policy (22_items)
    a.reached_level, a.reached_days_past_due, a.threshold_level, a.threshold_days_past_due,
    a.level_before_days_past_due, a.spacing_days_needed, a.days_since_last_letter,  -- 30_advance
    a.range_level, a.range_days_to,                                             -- 30_advance, SPEC §11.3
    CASE WHEN n.letter_id IS NOT NULL THEN n.min_amount ELSE g.min_amount END AS min_amount,
    CASE WHEN n.letter_id IS NULL THEN g.min_percent END AS min_percent,        -- 45_letter_gates
    n.pre_due_days,                                                             -- 46_pre_due_lines
    h.interest AS letter_charges_interest, h.interest_basis,                    -- 50_letter_heads
    earns_interest(i.doc_type) AS interest_eligible,                            -- 55_interest_lines' rule
    i.letter_currency, ir.rate, ir.rate_date, ir.rate_day, ir.letter_amount      -- 26_item_rates (SPEC §11.1)
FROM items AS i
JOIN exclusions AS e USING (_row)
LEFT JOIN final_customers AS f ON f.customer_id = i.customer_id
LEFT JOIN advance AS a USING (_row)
LEFT JOIN candidate_lines AS c USING (_row)
LEFT JOIN letter_gates AS g ON g.letter_id = c.letter_id
LEFT JOIN pre_due_lines AS n USING (_row)
LEFT JOIN letter_items AS sent USING (_row)
LEFT JOIN letter_heads AS h ON h.letter_id = sent.letter_id
LEFT JOIN item_rates AS ir ON ir._row = i._row
