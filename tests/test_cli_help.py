"""Every command documents itself: help with an example, and usage errors are exit 2."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dunning_batch.cli import main


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output and f"dunning-batch {command}" in result.output


def test_a_usage_error_is_exit_2_without_a_traceback():
    result = CliRunner().invoke(main, ["run", "--config", "x.toml"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
