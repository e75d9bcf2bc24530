"""CI runs every test: a skipped test or module fails the suite (tests/conftest.py), unless
it is marked allow_skip for a platform reason. Checked on a small suite run with this
suite's conftest, in a subprocess, in one process and on two pytest-xdist workers as
`make test` runs it (a worker's skips reach the conftest's hooks in the controlling process)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).resolve().parent / "conftest.py"

ALLOWED = """
import pytest

def test_passes():
    pass

@pytest.mark.allow_skip("Linux only")
@pytest.mark.skipif(True, reason="not on this platform")
def test_platform_only():
    pass

@pytest.mark.xfail(strict=True, reason="a known bug, pinned")
def test_known_bug():
    assert False
"""

FORBIDDEN = """
import pytest

def test_needs_a_binary():
    pytest.skip("no frobnicate command")
"""

MODULE = """
import pytest

pytest.importorskip("a_package_that_is_not_installed")

def test_never_collected():
    pass
"""


# how the small suite is run: in one process, and as `make test` runs the suite
RUNNERS = pytest.mark.parametrize("runner", [(), ("-n", "2", "--dist", "worksteal")], ids=["serial", "xdist"])


@RUNNERS
def test_allowed_skips_and_xfails_pass(pytester, runner):
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile(test_allowed=ALLOWED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *runner)
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=1, skipped=1, xfailed=1)


@RUNNERS
def test_a_skipped_test_or_module_fails_the_suite_and_is_named(pytester, runner):
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile(test_allowed=ALLOWED, test_forbidden=FORBIDDEN, test_module=MODULE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *runner)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    result.stdout.fnmatch_lines([
        "*skipped tests fail the suite*",
        "SKIPPED test_module.py: Skipped: could not import 'a_package_that_is_not_installed'*",  # collected first
        "SKIPPED test_forbidden.py::test_needs_a_binary: Skipped: no frobnicate command",
    ])
    assert "test_platform_only" not in result.stdout.str().split("skipped tests fail the suite")[1]
