"""The checks that stop a run before it writes anything: problems in the inputs (`validate`,
a strict run), templates that do not exist, and what only the decided night shows (two letter
keys with one id, a reference-rate table too short, letters by email with no sender address).

Each check reads relations of the session through a file of `sql/guards/` or `sql/reports/`
and raises the error the user or we must see; none decides anything.
"""

from __future__ import annotations

import duckdb

from .config import Config
from .errors import ConfigError, InputError, LetterIdCollision
from .letters.templating import template_names
from .session import Session
from .sql_runner import one, rows

MAX_PROBLEMS = 50


def check_inputs(session: Session) -> None:
    """Step "validate": stop before deciding anything when the templates (for a run with PDFs) or, in a
    strict run, the inputs are wrong."""
    options = session.options
    if options.pdf:
        check_templates(session.config)
    strict = session.config.run.strict if options.strict is None else options.strict
    # SPEC §11.1: the exchange rates are reference data: a row of theirs is never set aside
    # (that would convert at an older rate without a word), so their problems stop any run
    lines, total = problem_lines(session, sources=None if strict else ("rates",))
    if lines:
        raise InputError(lines, more=total - len(lines))


def problem_lines(session: Session, limit: int = MAX_PROBLEMS,
                  sources: tuple[str, ...] | None = None) -> tuple[list[str], int]:
    """`file:row: column: what is wrong` lines, one per column and kind of problem (a flood of
    like values is one line: its first row's message, how many more rows and which), with the
    setting that reads the values where they show one; and how many such lines there are.
    With `sources`, only the problems of those inputs."""
    groups = [g for g in rows(session.con, "reports/problem_groups") if sources is None or g[0] in sources]
    # the raw inputs are read again for hints only when something is wrong
    hints = {(source, column, kind): hint for source, column, kind, hint in
             rows(session.con, "reports/problem_hints", session.params)} if groups else {}
    lines = []
    for source, row, count, column, kind, message, next_rows in groups[:limit]:
        hint = hints.get((source, column, kind))
        lines.append(f"{session.inputs[source].path}:{row}: {column}: {message}{like_rows(count, next_rows)}"
                     + (f"; {hint}" if hint else ""))
    return lines, len(groups)


def like_rows(count: int, next_rows: list[int]) -> str:
    """` (and 237 more rows like it: rows 3, 5, 6, ...)` for a kind of problem on `count` rows."""
    if count < 2:
        return ""
    if count == 2:
        return f" (and 1 more row like it: row {next_rows[0]})"
    listed = ", ".join(map(str, next_rows)) + (", ..." if count > len(next_rows) + 1 else "")
    return f" (and {count - 1:,} more rows like it: rows {listed})"


def check_decisions(session: Session, letter_ids: bool = True) -> None:
    """Problems only the decided night shows (two keys with one letter id, a rate table too
    short, no sender email). A shard of a Dask run leaves the letter ids to its coordinator,
    which checks the keys of all shards at once (`letter_ids=False`)."""
    if letter_ids:
        check_letter_ids(session.con)
    check_rate_coverage(session)
    if session.options.pdf:
        check_sender_email(session)


def check_letter_ids(con: duckdb.DuckDBPyConnection) -> None:
    """SPEC §5: two different letter keys never share a letter id. Raises LetterIdCollision
    (exit 3, nothing written) naming the id and its keys when the relation `letter_keys` has any."""
    collisions = rows(con, "guards/letter_id_collisions")
    if collisions:
        letter_id, keys = collisions[0]
        more = f"; {len(collisions) - 1} more id(s) like it" if len(collisions) > 1 else ""
        raise LetterIdCollision(f"letter id {letter_id} would be shared by the letter keys "
                                f"{' and '.join(repr(k) for k in keys)} (SPEC §5: two keys never share a "
                                f"letter){more}; the run stops and writes nothing")


def check_templates(config: Config) -> None:
    """Every level's template must exist before anything is rendered."""
    known = template_names()
    for policy, level, template in config.level_templates():
        if template not in known:
            raise ConfigError(f"{config.path}: [[policy]] {policy!r} level {level} key 'template': "
                              f"no template {template!r} in templates/ (have: {', '.join(sorted(known))})")


def check_sender_email(session: Session) -> None:
    """Letters going by email need the sender's address: their From and Message-ID (SPEC §10.2).
    An address that is given is checked when the config is read (config/load.py)."""
    email = session.config.sender.get("email") or ""
    if email:
        return
    [by_email] = one(session.con, "guards/email_letters")
    if by_email:
        raise ConfigError(f"{session.config.path}: [sender] key 'email': is not set, but {by_email} letter(s) "
                          f"go by email (their From and Message-ID need it); add the address")


def check_rate_coverage(session: Session) -> None:
    """A reference-rate table must cover every day it is needed for (SPEC §3.4)."""
    gap = one(session.con, "guards/rate_coverage_gap")
    if gap:
        policy, day, doc_id = gap
        source = session.config.reference_rates_path(policy)
        raise ConfigError(f"{source}: the reference rates start after {day}, a day interest is charged for "
                          f"(item {doc_id}, policy {policy!r}); add the rate in force on that day")
