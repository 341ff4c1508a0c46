"""The root loads a subcommand only when it is run: its help lists each one from
``LAZY_COMMANDS``, whose lines must stay the commands' own, and a loaded command is the one
mounting it would give."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
import typer.main
from typer.core import TyperGroup

from heatwatch.cli.main import LAZY_COMMANDS, _mount_subcommands, app, load_command


def _listed_line(command: object) -> str:
    """The first paragraph typer lists for a command in its group's help."""
    text = getattr(command, "short_help", None) or getattr(command, "help", None) or ""
    return inspect.cleandoc(text).split("\n\n")[0]


@pytest.mark.parametrize("name", list(LAZY_COMMANDS))
def test_a_lazy_command_is_the_mounted_one_with_its_own_line(name: str) -> None:
    _mount_subcommands()
    mounted = typer.main.get_command(app)
    assert isinstance(mounted, TyperGroup)
    eager = mounted.commands[name]
    lazy = load_command(name)
    assert _listed_line(lazy) == _listed_line(eager) == LAZY_COMMANDS[name][2]
    assert [p.name for p in lazy.params] == [p.name for p in eager.params]
    assert sorted(getattr(lazy, "commands", {})) == sorted(getattr(eager, "commands", {}))


@pytest.mark.slow  # a fresh interpreter: in this one, other tests have imported everything
def test_the_root_help_lists_every_command_and_imports_none() -> None:
    code = (
        "import sys\n"
        "from heatwatch.cli.main import app, LAZY_COMMANDS\n"
        "try:\n"
        "    app(['--help'], prog_name='heatwatch')\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m, _, _ in LAZY_COMMANDS.values() if m in sys.modules]\n"
        "print('LOADED', loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        cwd=".",
    ).stdout
    assert "LOADED []" in out
    listed = [line.split()[1] for line in out.splitlines() if line.startswith("│ ")]
    assert [n for n in listed if n in LAZY_COMMANDS] == list(LAZY_COMMANDS)
