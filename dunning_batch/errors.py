"""The errors a user can act on: each carries one-line messages and maps to exit code 2."""

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
