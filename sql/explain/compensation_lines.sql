-- explain/compensation_lines: the compensation line (SPEC §9.2) of each item asked about
-- (the item $doc_id, or every item of customer $customer_id) that was charged one.
-- Grain: doc_id. Inputs: letter_lines, decisions (an output folder).
SELECT ll.doc_id, ll.compensation_amount
FROM letter_lines AS ll  -- compensation_amount NULL when no level charges it (outputs/folder.py)
JOIN decisions AS d ON d.doc_id = ll.doc_id AND d.letter_id = ll.letter_id
WHERE ll.line_type = 'compensation' AND (d.doc_id = $doc_id OR d.customer_id = $customer_id)
