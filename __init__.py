"""horizon: where to station reserves and pooled air assets, how many, at what cost.

As a library (docs/python-api.md)::

    import horizon
    inst = horizon.load()                               # the bundled instance, or a file
    sol = horizon.solve(horizon.edit.set_budget(inst, 2e8), time_limit=60)
    sol.frames.stationing                               # pandas tables of the plan

Everything not listed in ``__all__`` is internal and may change.
"""

from horizon.optimizer.api import Model, build, compare, load, marginal, read_pyomo, solve, sweep
from horizon.optimizer.data import edits as edit
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.errors import HorizonError, InfeasibleError, InputError, SolverError
from horizon.optimizer.results.solution import Solution, SolutionFrames

__version__ = "0.2.0"

__all__ = [
    "HorizonError",
    "InfeasibleError",
    "InputError",
    "Instance",
    "Model",
    "Solution",
    "SolutionFrames",
    "SolverError",
    "build",
    "compare",
    "edit",
    "load",
    "marginal",
    "read_pyomo",
    "solve",
    "sweep",
]
