"""`import` and `generate`: instance files from OR-Library data or from a seeded generator."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from horizon.optimizer.commands.common import err_console, run
from horizon.optimizer.data.orlib import read_cap, read_pmed
from horizon.optimizer.data.schema import InstanceSpec
from horizon.optimizer.data.writer import write_instance
from horizon.optimizer.network.generate import generate_spec


@click.group(name="import")
def import_() -> None:
    """Convert OR-Library test files into horizon instance files."""


def _write_spec(spec: InstanceSpec, out: Path, csv_threshold: int) -> None:
    written = write_instance(spec, out, csv_threshold=csv_threshold)
    err_console.print(escape(f"written: {', '.join(str(p) for p in written)}"))


@import_.command("orlib-cap")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Instance file to write.")
@click.option("--capacity", type=click.FloatRange(min=0), help="Capacity for files whose capacities read 'capacity' (capa/b/c).")
@click.option("--uncapacitated", is_flag=True, help="Drop the capacities (UFLP).")
@click.option("--csv-threshold", type=click.IntRange(min=1), default=2000, show_default=True, help="Tables this long go to CSV.")
@click.pass_context
def import_cap(
    ctx: click.Context, file: Path, out: Path, capacity: float | None, uncapacitated: bool, csv_threshold: int
) -> None:
    """OR-Library cap FILE (capacitated warehouse location, split sourcing) → instance."""
    run(ctx, lambda: _write_spec(read_cap(file, capacity=capacity, uncapacitated=uncapacitated), out, csv_threshold))


@import_.command("orlib-pmed")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Instance file to write.")
@click.option("--csv-threshold", type=click.IntRange(min=1), default=2000, show_default=True, help="Tables this long go to CSV.")
@click.pass_context
def import_pmed(ctx: click.Context, file: Path, out: Path, csv_threshold: int) -> None:
    """OR-Library pmed FILE (p-median) → instance."""
    run(ctx, lambda: _write_spec(read_pmed(file), out, csv_threshold))


@click.command()
@click.option("--missions", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--hubs", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--types", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--scenarios", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--soft", is_flag=True, help="Soft deadlines (penalised) instead of hard ones.")
@click.option("--split-loads", is_flag=True, help="Set options.split_loads: a unit's loads may fly on several lift types.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Instance file to write.")
@click.option("--csv-threshold", type=click.IntRange(min=1), default=500, show_default=True, help="Tables this long go to CSV.")
@click.pass_context
def generate(
    ctx: click.Context,
    missions: int,
    hubs: int,
    types: int,
    scenarios: int,
    seed: int,
    soft: bool,
    split_loads: bool,
    out: Path,
    csv_threshold: int,
) -> None:
    """Generate a plausible synthetic instance (deterministic for a seed)."""
    spec = generate_spec(missions, hubs, types, scenarios, seed, deadlines="soft" if soft else "hard", split_loads=split_loads)
    run(ctx, lambda: _write_spec(spec, out, csv_threshold))
