-- top_customers: customers by overdue amount, with tonight's letters.
-- Grain: (customer_id, currency). Inputs: decisions, letters.
SELECT d.customer_id, d.currency,
       sum(d.open_amount) FILTER (WHERE d.days_past_due > 0) AS overdue_amount,
       count(*) FILTER (WHERE d.days_past_due > 0) AS overdue_items,
       max(d.days_past_due) AS oldest_days_past_due,
       count(DISTINCT d.letter_id) AS letters_tonight,
       max(l.level) AS highest_level_tonight
FROM decisions AS d
LEFT JOIN letters AS l USING (letter_id)
GROUP BY ALL
HAVING sum(d.open_amount) FILTER (WHERE d.days_past_due > 0) > 0
ORDER BY overdue_amount DESC, d.customer_id
