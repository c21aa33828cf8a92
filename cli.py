"""horizon's command line: the `horizon` group and its commands (`horizon.optimizer.commands`).

Exit codes: 0 solved (optimal or feasible, also when stopped by a time limit or Ctrl-C with
a plan), 2 invalid input or usage, 3 infeasible (with the explanation), 4 no solution or solver
failure, 130 a second Ctrl-C. `--debug` shows tracebacks.
"""

from __future__ import annotations

import click

from horizon.optimizer.commands.bench import bench
from horizon.optimizer.commands.data import generate, import_
from horizon.optimizer.commands.planning import compare, marginal, plot, report, sweep
from horizon.optimizer.commands.serve import serve
from horizon.optimizer.commands.solve import schema, solve, solvers, validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of short messages.")
@click.version_option(package_name="horizon")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """horizon: where to station reserves and pooled air assets, at what cost."""
    ctx.obj = {"debug": debug}


for command in (solve, validate, import_, generate, solvers, bench, schema, compare, sweep, marginal, plot, report, serve):
    main.add_command(command)

if __name__ == "__main__":
    main()
