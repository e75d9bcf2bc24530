"""Getting letters to customers (SPEC §10): the outbox of emails and the print batch that a
run writes beside the PDFs, and `send`, which delivers the outbox by SMTP, never twice."""
