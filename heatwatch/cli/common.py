"""What every command shares: the stderr console, registry loading with exit code 2, progress."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from heatwatch.contract.registry import Household
from heatwatch.formats.registry_csv import RegistryError, load_registry_csv

console = Console(stderr=True)


def load_registry_or_exit(path: Path) -> list[Household]:
    try:
        households, _ = load_registry_csv(path)
    except RegistryError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if not households:
        console.print(f"[red]{path}: the registry has no households[/red]")
        raise typer.Exit(2)
    return households


def byte_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
