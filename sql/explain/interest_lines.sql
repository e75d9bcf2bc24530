-- explain/interest_lines: the interest lines of the items asked about (the item $doc_id, or
-- every item of customer $customer_id) in the letters they went into, in letter order.
-- SPEC §11.1: the line's currency, rate and amount in the letter currency (NULL in a folder
-- whose run set no letter_currency).
-- Grain: (doc_id, line_no). Inputs: letter_lines, decisions (an output folder).
SELECT ll.doc_id, ll.open_amount, ll.interest_from, ll.interest_to, ll.interest_days,
       ll.rate_percent, ll.interest_amount, ll.currency, ll.rate, ll.letter_amount
FROM letter_lines AS ll
JOIN decisions AS d ON d.doc_id = ll.doc_id AND d.letter_id = ll.letter_id
WHERE ll.line_type = 'interest' AND (d.doc_id = $doc_id OR d.customer_id = $customer_id)
ORDER BY ll.doc_id, ll.line_no
