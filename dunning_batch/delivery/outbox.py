"""The outbox (SPEC §10.2): one `outbox/LETTER_ID.eml` per letter whose channel includes
email, built with the standard library's `email` package, and `outbox.parquet` listing them.

Every byte of a message follows from the output folder: the Date is the run date at 00:00
UTC and the MIME boundary is derived from the letter id, so a rerun writes the same files
(SPEC §4.11). Subject and body come from the `[email]` table of the message catalogues.
To, From and Reply-To (a customer's sales rep, SPEC §11.2) are built from the addresses as
addresses.py parsed them (the rule validation applied), never from text the header parser
reads again. To is the contact's email when the customer names one (§11.2), else its own.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..addresses import AddressError, display_name_problem, parse_address, parse_address_list
from ..errors import UserError
from ..outputs.folder import connect_views
from ..outputs.layout import DELIVERY_FILES
from ..outputs.writer import write_parquet
from ..letters.payment_codes import grouped_reference
from ..letters.templating import catalog, date, fill, letter_locale, money
from ..sql_runner import relation

OUTBOX_DIR = "outbox"
OUTBOX_FILE = DELIVERY_FILES["outbox"]
# SMTP's CRLF line ends; 8-bit text is encoded (quoted-printable, RFC 2047) so any server takes it
POLICY = SMTP.clone(cte_type="7bit")
RECIPIENTS = "recipients.parquet"   # where a folder keeps each letter's addresses and names


def write_outbox(folder: Path, sender: dict[str, Any], into: Path | None = None) -> int:
    """Write `outbox/*.eml` and `outbox.parquet` into an output folder; returns the letters.

    With `into`, the letters are the folder's but the PDFs are those of `into/pdf/`, and the
    outbox is written into `into` (`render` rebuilds it beside the folder's own)."""
    into = into or folder
    letters = email_letters(folder)
    (into / OUTBOX_DIR).mkdir(exist_ok=True)
    rows = [write_message(into, letter, sender) for letter in letters]
    write_index(into / OUTBOX_FILE, rows)
    return len(rows)


def email_letters(folder: Path) -> list[dict[str, Any]]:
    """The letters whose channel includes email, with what their message says (sql/delivery)."""
    con = connect_views(folder, relations=("letters", "recipients"))
    return relation(con, "delivery/email_letters").to_arrow_table().to_pylist()


def write_message(folder: Path, letter: dict[str, Any], sender: dict[str, Any]) -> dict[str, Any]:
    """Write one letter's .eml; returns its row of outbox.parquet."""
    message = build_message(letter, sender, (folder / letter["pdf_path"]).read_bytes())
    data = message.as_bytes(policy=POLICY)
    eml_path = f"{OUTBOX_DIR}/{letter['letter_id']}.eml"
    (folder / eml_path).write_bytes(data)
    return {"letter_id": letter["letter_id"], "to": message["To"], "subject": str(message["Subject"]),
            "message_id": message["Message-ID"], "eml_path": eml_path,
            "sha256": hashlib.sha256(data).hexdigest()}


def build_message(letter: dict[str, Any], sender: dict[str, Any], pdf: bytes) -> EmailMessage:
    """The MIME message of one letter: text body in the customer's language, the PDF attached."""
    subject, body = email_texts(letter, sender)
    rep_name = letter.get("sales_rep_name") or ""
    try:
        # SPEC §11.2: `email` is the contact's address when the customer names one (email_letters.sql)
        recipients = parse_address_list(letter["email"])
        origin = parse_address(sender["email"])
        rep = parse_address(letter["sales_rep_email"]) if letter.get("sales_rep_email") else None
        # a run's validation refused these (11_customer_problems, the config check); `render`
        # reads them back from a folder that may have been changed since
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in rep_name):
            raise AddressError(f"{rep_name!r} holds a control character")
        if why := display_name_problem(rep_name, "Reply-To"):
            raise AddressError(why)
    except AddressError as exc:
        raise UserError(f"{RECIPIENTS}: letter {letter['letter_id']}: an address or name that no run writes: "
                        f"{exc}; the folder was changed after its run: run the job again") from None
    message = EmailMessage(policy=POLICY)
    message["From"] = Address(display_name=sender.get("name") or "", username=origin.username,
                              domain=origin.domain)
    message["To"] = recipients
    if rep is not None:  # SPEC §11.2: answers go to the customer's sales rep; From stays [sender]
        message["Reply-To"] = Address(display_name=rep_name, username=rep.username, domain=rep.domain)
    message["Subject"] = subject
    message["Date"] = format_datetime(dt.datetime.combine(letter["run_date"], dt.time(), dt.timezone.utc))
    message["Message-ID"] = message_id(letter["letter_id"], origin.addr_spec)
    message.set_content(body, cte="quoted-printable")
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"{letter['letter_id']}.pdf")
    # without a boundary of ours, the generator draws a random one and no two runs agree
    message.set_boundary(boundary(letter["letter_id"]))
    return message


def email_texts(letter: dict[str, Any], sender: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) from the catalogue of the letter's language."""
    texts = catalog(letter["language"])
    email, common = texts["email"], texts["common"]
    tone = texts.get(letter["template"], {})  # a custom level template may have no table of its own
    title = tone.get("subject", email["title"])
    locale = letter_locale(letter["language"], letter.get("country"))  # as the letter formats them
    values = {
        "letter_id": letter["letter_id"], "title": title, "name": letter["customer_name"],
        "salutation": fill(tone.get("salutation", ""), name=letter["customer_name"]),
        "total": money(letter["total_due"], letter["currency"], locale),
        "pay_by": date(letter["pay_by"], locale),
        # issue 19: ISO 11649, in fours (a folder written before references: the letter id)
        "reference": grouped_reference(letter["payment_reference"]) or letter["letter_id"],
        "already_paid": common["already_paid"], "regards": common["regards"],
        "sender": sender.get("name") or sender["email"],
    }
    return fill(email["subject"], **values), fill(email["body"], **values).strip() + "\n"


def attached_pdf(data: bytes) -> bytes | None:
    """The PDF a message of the outbox carries (None when it has none): what `reconcile`
    compares with the letter's PDF in pdf/."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    for part in message.iter_attachments():
        if part.get_content_type() == "application/pdf":
            return part.get_content()
    return None


def message_id(letter_id: str, sender_email: str) -> str:
    return f"<{letter_id}@{sender_email.rpartition('@')[2]}>"


def boundary(letter_id: str) -> str:
    # '=_' never occurs in base64 or quoted-printable text, so the parts cannot contain it
    return "=_" + hashlib.sha256(letter_id.encode()).hexdigest()[:32]


OUTBOX_SCHEMA = pa.schema([("letter_id", pa.string()), ("to", pa.string()), ("subject", pa.string()),
                           ("message_id", pa.string()), ("eml_path", pa.string()), ("sha256", pa.string())])


def write_index(path: Path, rows: list[dict[str, Any]]) -> None:
    """outbox.parquet, written by DuckDB like the run's other Parquet files."""
    write_parquet(pa.Table.from_pylist(rows, schema=OUTBOX_SCHEMA), path, order_by="letter_id")
