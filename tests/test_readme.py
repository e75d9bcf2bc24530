"""The README's examples run as written, from the repository root, in order (issue 14).

Every command of a ```sh block is run by bash in a folder laid out like the repository
(its config/ and fixtures/), with the virtualenv's bin first on the PATH, as after
`make demo` and `. .venv/bin/activate`. In a transcript (lines starting with `$ `) the
other lines are output; a command followed by `$ echo $?` and `1` must exit 1, every other
command 0. `make` itself is left out: it is what CI runs around this test. A line ending in
` &` starts a server that is stopped when the examples are done.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def examples(text: str) -> list[tuple[str, int]]:
    """(command, expected exit code) of every ```sh block, in order."""
    found: list[tuple[str, int]] = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M):
        lines = block.replace("\\\n", " ").splitlines()
        transcript = any(line.startswith("$ ") for line in lines)
        for i, line in enumerate(lines):
            if transcript and not line.startswith("$ "):
                continue
            command = line[2:] if transcript else line
            command = command.strip()
            if not command or command.startswith("#") or command.startswith("make "):
                continue
            if command == "echo $?":
                found[-1] = (found[-1][0], int(lines[i + 1].strip()))
                continue
            found.append((command, 0))
    return found


def test_the_readme_has_the_examples_this_test_runs():
    commands = [c for c, _ in examples(README.read_text(encoding="utf-8"))]
    assert any(c.startswith("dunning-batch run --config config/example.toml") for c in commands)
    assert any(c.startswith("dunning-batch diff demo-out demo-out-10") for c in commands)
    assert not any("export/" in c for c in commands)  # paths a fresh clone does not have


def _setup_section(text: str) -> str:
    return text.split("## Set-up", 1)[1].split("\n## ", 1)[0]


def test_the_setup_is_two_commands_and_says_how_to_call_dunning_batch():
    """`dunning-batch` is .venv/bin's until the venv is active: the set-up's last line says so (issue 18)."""
    setup = _setup_section(README.read_text(encoding="utf-8"))
    block = re.search(r"^```sh\n(.*?)^```", setup, flags=re.S | re.M).group(1)
    assert [line.split("#")[0].strip() for line in block.splitlines()] == ["make demo", "make test"]
    assert "`.venv/bin/dunning-batch`" in setup and "`. .venv/bin/activate`" in setup
    # as a user types it: not as a sub-make of `make test`, which would add "Leaving directory" lines
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    recipe = subprocess.run(["make", "--no-print-directory", "-n", "demo"], cwd=ROOT, capture_output=True,
                            text=True, check=True, env=env).stdout
    last = recipe.strip().splitlines()[-1]
    assert last.startswith("echo ") and "'. .venv/bin/activate'" in last and ".venv/bin/dunning-batch" in last


def test_no_example_needs_the_duckdb_command_line_tool():
    """The set-up does not install it (a 1.x CLI cannot open the files DuckDB 2 writes): the
    examples query through dunning-batch or Python, and the set-up names the version one needs."""
    text = README.read_text(encoding="utf-8")
    assert not [c for c, _ in examples(text) if re.match(r"(\S*/)?duckdb\b", c)]
    pinned = re.search(r"^duckdb==(\d+)\.(\d+)", (ROOT / "constraints.txt").read_text(encoding="utf-8"), re.M)
    assert f"written by DuckDB {pinned[1]}.{pinned[2]}" in _setup_section(text)
    assert f"must be {pinned[1]}.{pinned[2]} or later" in _setup_section(text)


def test_every_readme_example_runs_as_written(tmp_path):
    root = tmp_path / "repository"
    root.mkdir()
    for name in ("config", "fixtures"):
        shutil.copytree(ROOT / name, root / name)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    servers = []
    try:
        for command, expected in examples(README.read_text(encoding="utf-8")):
            if command.endswith(" &"):
                servers.append(subprocess.Popen(["bash", "-c", f"exec {command[:-2]}"], cwd=root, env=env,
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                _wait_for_port(command)
                continue
            result = subprocess.run(["bash", "-c", command], cwd=root, env=env, capture_output=True, text=True,
                                    timeout=300)
            assert result.returncode == expected, (command, result.stdout[-2000:], result.stderr[-2000:])
            assert "Traceback" not in result.stderr and "internal error" not in result.stderr, command
    finally:
        for server in servers:
            server.kill()
            server.wait()


def _wait_for_port(command: str) -> None:
    """The server of `command` (`-l HOST:PORT`) accepts connections; at most 20 s."""
    import socket
    import time
    host, port = re.search(r"-l (\S+):(\d+)", command).groups()
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
