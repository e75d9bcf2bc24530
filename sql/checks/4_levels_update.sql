-- §8.4 levels_update holds exactly the dunned items whose level changed, and
-- level_after = level_before + 1 in sequential policies. With §9 (compensation, posted
-- interest) it holds exactly the items whose level or re-importable state changed.
-- One row: ok, detail. Inputs: decisions, letters, letter_lines, levels_update, item_details,
-- cfg_policies (sequential), cfg_levels (post_interest).
WITH
posted AS (
    -- items charged in a letter whose level posts its interest (SPEC §9.4)
    SELECT DISTINCT ll.doc_id
    FROM letter_lines AS ll JOIN letters AS l USING (letter_id)
    JOIN cfg_levels AS c ON c.policy = l.policy AND c.level = l.level
    WHERE ll.line_type = 'interest' AND l.interest_total <> 0 AND c.post_interest
),
state_changed AS (
    SELECT doc_id FROM letter_lines WHERE line_type = 'compensation'   -- SPEC §9.2
    UNION
    SELECT doc_id FROM posted
),
changed AS (
    SELECT doc_id, level_before, level_after, letter_id FROM decisions
    WHERE level_after <> level_before OR doc_id IN (SELECT doc_id FROM state_changed)
),
mismatched AS (
    SELECT coalesce(c.doc_id, u.doc_id) AS doc_id
    FROM changed AS c FULL JOIN levels_update AS u USING (doc_id)
    WHERE c.doc_id IS NULL OR u.doc_id IS NULL
       OR c.level_before <> u.level_before OR c.level_after <> u.level_after
       OR c.letter_id IS DISTINCT FROM u.letter_id
),
skipped AS (
    SELECT u.doc_id FROM levels_update AS u JOIN item_details AS i USING (doc_id)
    WHERE i.policy IN (SELECT policy FROM cfg_policies WHERE sequential) AND u.level_after <> u.level_before + 1
      AND u.level_after <> u.level_before
)
SELECT NOT EXISTS (SELECT 1 FROM mismatched) AND NOT EXISTS (SELECT 1 FROM skipped)
       AND NOT EXISTS (SELECT 1 FROM changed WHERE letter_id IS NULL) AS ok,
       (SELECT count(*) FROM levels_update) || ' level updates vs ' || (SELECT count(*) FROM changed)
       || ' changed decisions; ' || (SELECT count(*) FROM mismatched) || ' mismatched'
       || coalesce(' (first: ' || (SELECT min(doc_id) FROM mismatched) || ')', '')
       || ', ' || (SELECT count(*) FROM skipped) || ' skipping a level in a sequential policy' AS detail
