-- explain/compensation_lines: the compensation line (SPEC §9.2) of each item asked about
-- (the item $doc_id, or every item of customer $customer_id) that was charged one.
-- Grain: doc_id. Inputs: letter_lines, decisions (an output folder).
SELECT ll.doc_id, ll.compensation_amount
-- the column is in letter_lines only when a level charges compensation
FROM (FROM letter_lines UNION ALL BY NAME SELECT NULL::DECIMAL(18, 2) AS compensation_amount WHERE false) AS ll
JOIN decisions AS d ON d.doc_id = ll.doc_id AND d.letter_id = ll.letter_id
WHERE ll.line_type = 'compensation' AND (d.doc_id = $doc_id OR d.customer_id = $customer_id)
