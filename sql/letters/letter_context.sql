-- letter_context: one row per letter with everything its PDF shows, read from an output
-- folder's views (not a pipeline stage: `render` runs it over finished outputs).
-- Grain: letter_id. Inputs: letters, letter_lines, recipients, customer_actions.
-- payment_reference: the ISO 11649 reference the payment block prints and its QR code carries.
-- The columns of SPEC §9.2 are NULL and interest_documents (§9.4) is empty when the rule is
-- off (the folder's views have every column and document of §9: outputs/folder.py).
-- interest_apart: the letter shows interest that its total due leaves out (include_in_total
-- = false; total_due is then the sum of the other parts); interest_posted: that interest was
-- booked as its own receivable (an INT- document, §9.4).
-- With $letter_ids, only those letters (`render --letter`).
-- `sections` counts the letter's table sections (overdue, current, credit): their headings
-- show only when there are several, also in a long letter laid out in parts.
-- SPEC §11.1: each line's own currency (line_currency; NULL in a folder whose run set no
-- letter_currency, where every line is in the letter's currency) and its amount in the
-- letter's (letter_amount; an interest line's is in its own entry); `converted` when a line is in another currency
-- than the letter, and `rates`, the exchange rates the letter converted at with their days,
-- for the note under its table.
WITH
item_interest AS (
    SELECT letter_id, doc_id, sum(interest_amount) AS interest
    FROM letter_lines WHERE line_type = 'interest' GROUP BY ALL
),
conversions AS (
    -- SPEC §11.1: the letters with a line in another currency, and the rates they used
    SELECT ll.letter_id,
           list(DISTINCT struct_pack(rate_date := ll.rate_date, from_currency := ll.currency,
                                     to_currency := l.currency, rate := ll.rate)) AS rates
    FROM letter_lines AS ll JOIN letters AS l USING (letter_id)
    WHERE ll.currency <> l.currency AND ll.rate IS NOT NULL
    GROUP BY ll.letter_id
),
items AS (
    SELECT l.letter_id,
           list(struct_pack(
                   line_no := l.line_no, line_type := l.line_type, doc_id := l.doc_id,
                   due_date := l.due_date, days_past_due := l.days_past_due,
                   open_amount := l.open_amount, interest := i.interest,
                   section := CASE l.line_type WHEN 'overdue' THEN 1 WHEN 'current' THEN 2 ELSE 3 END,
                   line_currency := l.currency, letter_amount := l.letter_amount)
                ORDER BY l.line_no) AS lines,
           count(DISTINCT l.line_type) AS sections
    FROM letter_lines AS l
    LEFT JOIN item_interest AS i USING (letter_id, doc_id)
    WHERE l.line_type IN ('overdue', 'current', 'credit')
    GROUP BY l.letter_id
),
late_interest AS (
    -- SPEC §9.5: open_amount of a late-interest line is the paid amount, days_past_due the days late
    SELECT letter_id,
           list(struct_pack(doc_id := doc_id, due_date := due_date, paid_amount := open_amount,
                            paid_on := due_date + days_past_due, interest_from := interest_from,
                            interest_to := interest_to, interest_days := interest_days,
                            rate_percent := rate_percent, interest_amount := interest_amount,
                            line_currency := currency, letter_amount := letter_amount)
                ORDER BY line_no) AS late_interest_lines
    FROM letter_lines WHERE line_type = 'late_interest' GROUP BY letter_id
),
compensation AS (
    SELECT letter_id,
           list(struct_pack(doc_id := doc_id, compensation_amount := compensation_amount) ORDER BY line_no)
               AS compensation_lines
    FROM letter_lines WHERE line_type = 'compensation' GROUP BY letter_id
),
interest AS (
    SELECT letter_id,
           list(struct_pack(doc_id := doc_id, interest_from := interest_from, interest_to := interest_to,
                            interest_days := interest_days, rate_percent := rate_percent,
                            interest_amount := interest_amount, line_currency := currency,
                            letter_amount := letter_amount) ORDER BY line_no) AS interest_lines
    FROM letter_lines WHERE line_type = 'interest' GROUP BY letter_id
),
actions AS (
    SELECT letter_id, list(struct_pack(action := action, value := value) ORDER BY action) AS actions
    FROM customer_actions GROUP BY letter_id
)
SELECT
    l.letter_id, l.run_date, l.customer_id, l.customer_name, l.currency, l.language, l.template,
    l.level, l.is_final, l.overdue_total, l.current_total, l.credit_total, l.interest_total, l.fee,
    l.total_due, l.pay_by, l.payment_reference, r.address, r.country, r.email,
    -- SPEC §11.2: the attention line and the rep named for questions (NULL: none)
    r.contact_name, r.sales_rep_name, r.sales_rep_email, r.sales_rep_phone,
    items.lines, items.sections, coalesce(interest.interest_lines, []) AS interest_lines,
    coalesce(actions.actions, []) AS actions,
    coalesce(late_interest.late_interest_lines, []) AS late_interest_lines,
    coalesce(compensation.compensation_lines, []) AS compensation_lines,
    coalesce(l.compensation_total, 0) AS compensation_total,
    l.level > 0 AND l.interest_total <> 0
        AND l.total_due = l.overdue_total + l.credit_total + l.fee + coalesce(l.compensation_total, 0)
        AS interest_apart,
    l.letter_id IN (SELECT letter_id FROM interest_documents) AS interest_posted,
    conversions.letter_id IS NOT NULL AS converted,
    coalesce(list_sort(conversions.rates), []) AS rates
FROM letters AS l
JOIN recipients AS r USING (letter_id)
JOIN items USING (letter_id)
LEFT JOIN interest USING (letter_id)
LEFT JOIN actions USING (letter_id)
LEFT JOIN late_interest USING (letter_id)
LEFT JOIN compensation USING (letter_id)
LEFT JOIN conversions USING (letter_id)
WHERE $letter_ids IS NULL OR list_contains($letter_ids, l.letter_id)
ORDER BY l.letter_id
