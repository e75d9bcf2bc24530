-- customer_actions_restore: one row per customer action of the voided letters that is to be
-- undone (`void`), for the ERP to re-import next to customer_actions.csv. The first five
-- columns repeat the customer_actions row the run wrote (so the ERP finds what it imported);
-- `restore` says what to put back: 'release' lifts the credit hold, 'previous' puts back the
-- payment term the customer had before the run's customer_actions.csv was imported (the run
-- never saw it; the ERP's change history has it). An action that a letter still in force
-- (not voided now, nor by an earlier void) sets for the same customer is left alone.
-- Grain: (letter_id, action). Inputs: customer_actions (a view of the run's folder).
-- Parameters: $letters (voided now), $voided_before (voided by earlier voids), $void_date.
SELECT a.customer_id, a.action, a.value,
       CASE a.action WHEN 'credit_hold' THEN 'release' ELSE 'previous' END AS restore,
       a.letter_id, a.run_date, $void_date::DATE AS void_date
FROM customer_actions AS a
WHERE list_contains($letters, a.letter_id)
  AND NOT EXISTS (
        SELECT 1 FROM customer_actions AS s
        WHERE s.customer_id = a.customer_id AND s.action = a.action
          AND NOT list_contains($letters, s.letter_id) AND NOT list_contains($voided_before, s.letter_id))
ORDER BY a.letter_id, a.action
