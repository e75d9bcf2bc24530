-- letter_pdfs: check 6 of `reconcile` (SPEC §8.6): the letters, those whose pdf_path names a
-- file pdf/ does not hold, and those without a pdf_path.
-- Grain: one row. Inputs: letters (a view of the folder). Parameters: $folder (the folder's
-- absolute path), $pattern (its pdf/*.pdf).
SELECT count(*) AS letters,
       count(*) FILTER (WHERE pdf_path IS NOT NULL
                        AND $folder || '/' || pdf_path NOT IN (SELECT file FROM glob($pattern))) AS missing,
       count(*) FILTER (WHERE pdf_path IS NULL) AS unlisted
FROM letters
