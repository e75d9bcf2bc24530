"""The errors of a run: those a user can act on (one-line messages, exit code 2) and the
internal ones that stop a run which must not go on (exit code 3, like any bug of ours)."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the command line, the config or an input; the run stops with exit 2.

    `problems` holds one line per problem, each naming file, row and column where known.
    """

    exit_code = 2

    def __init__(self, problems: str | list[str], more: int = 0):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.more = more  # problems found but not listed
        super().__init__(self.problems[0] if self.problems else "")

    def lines(self) -> list[str]:
        tail = [f"... and {self.more} more problem(s)"] if self.more else []
        return self.problems + tail


class ConfigError(UserError):
    """The TOML config is wrong; always stops the run, strict or not."""


class InputError(UserError):
    """An input file is unreadable or holds rows that do not validate."""


class StageError(RuntimeError):
    """A SQL stage failed: names the stage and its file; chained from the DuckDB error."""


class InternalError(RuntimeError):
    """A state the engine must never reach: the run stops with exit 3 and writes nothing."""


class LetterIdCollision(InternalError):
    """Two different letter keys would share one letter id (SPEC §5)."""
