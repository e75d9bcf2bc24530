-- email_letters: how many of the night's letters go by email (SPEC §10.2); when any do, the
-- config's [sender] email must be set (their From and Message-ID need it).
-- Not a pipeline stage: guards.check_sender_email runs it once the night is decided.
-- Grain: one row. Inputs: recipients.
SELECT count(*) AS letters
FROM recipients
WHERE delivery IN ('email', 'both')
