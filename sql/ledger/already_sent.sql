-- already sent: tonight's letters a server accepted from a folder of an earlier run of this
-- night (ledger_sent): the run marks them sent, and `send` skips them.
-- Grain: letter_id. Inputs: letters, ledger_sent.
SELECT letter_id FROM letters WHERE letter_id IN (SELECT letter_id FROM ledger_sent) ORDER BY letter_id
