-- headline: the figures at the top of summary.html (checks/summary.py): items decided,
-- customers, letters, rejected rows, the letters' run date and how many letters have a PDF.
-- Grain: one row. Inputs: decisions, letters, rejected (views of an output folder).
SELECT (SELECT count(*) FROM decisions) AS items,
       (SELECT count(DISTINCT customer_id) FROM decisions) AS customers,
       (SELECT count(*) FROM letters) AS letters,
       (SELECT count(*) FROM rejected) AS rejected,
       (SELECT max(run_date) FROM letters) AS run_date,
       (SELECT count(*) FILTER (WHERE pdf_path IS NOT NULL) FROM letters) AS pdfs
