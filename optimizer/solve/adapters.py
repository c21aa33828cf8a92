"""Solvers behind one interface: HiGHS (in-process, default), CBC, GLPK, SCIP, Gurobi, CPLEX, Xpress.

Every solver takes a `LinearModel` and generic `SolveOptions` and returns a `SolveResult`
(status in horizon's vocabulary, objective, best bound, gap, solver name and version, wall
seconds) plus the column values in the model's column order, or None when there is no
solution. A time-limited run returns its incumbent (status ``feasible``).

HiGHS gets the matrix in memory (`horizon.optimizer.solve.starts`). The others get the model as an MPS file
that HiGHS writes from the same `LinearModel`, with the model's column and row names, in a
temporary folder that is always removed; values come back by column name:

- CBC: the ``cbc`` program (the venv's ``bin/`` first, e.g. from ``pip install cbcbox``, then
  PATH; ``HORIZON_CBC`` overrides). Status and values from its solution file; the bound from
  its log where it prints one ("Lower bound:"), else None.
- GLPK: ``glpsol`` (Debian ``glpk-utils``). Status and values from its raw solution file
  (``--write``, columns in file order, which is the model's order); the bound from the last
  branch-and-bound progress line. GLPK has no thread or seed option, and its time limit is
  whole seconds.
- SCIP: pyscipopt, ``Model.readProblem`` (pyscipopt ships no ``scip`` program).
- Gurobi, CPLEX, Xpress: their Python packages, when importable. The PyPI packages carry
  size-limited community licences; a model over the limit gives status ``error`` with a
  message saying so.

Ignored options (e.g. GLPK threads) are named in the result's message.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from horizon.models.linear import LinearModel
from horizon.optimizer.errors import InputError, SolverError
from horizon.optimizer.solve.highs import new_highs, pass_model, stdout_to_devnull, stdout_to_stderr
from horizon.optimizer.solve.result import Incumbent, SolveOptions, SolveResult
from horizon.optimizer.solve.strategy import solve_highs

#: Seconds a solver program may run past the time limit before it is killed.
KILL_MARGIN = 30.0

#: Size limits of the community licences shipped on PyPI (checked by the solvers themselves).
COMMUNITY_LIMITS = {
    "gurobi": "2000 variables and 2000 constraints",
    "cplex": "1000 variables and 1000 constraints",
    "xpress": "5000 rows and columns together",
}


# --- helpers -------------------------------------------------------------------------------


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Keep stdout clean for `--json`: C-level and Python-level prints go to stderr."""
    with stdout_to_stderr():
        try:
            yield
        finally:
            sys.stdout.flush()


_SAFE_NAME = re.compile(r"^[^\s$*\"']{1,255}$")


def mps_names(lm: LinearModel) -> tuple[list[str], list[str]]:
    """Column and row names for the MPS file: the model's own names when every reader takes
    them (no blanks or quotes, at most 255 characters, unique), else ``c<i>``/``r<i>``."""
    cols, rows = lm.column_names(), lm.row_names()
    names = cols + rows + ["Obj"]
    if all(_SAFE_NAME.match(n) for n in names) and len(set(names)) == len(names):
        return cols, rows
    return [f"c{i}" for i in range(lm.n_cols)], [f"r{i}" for i in range(lm.n_rows)]


def write_mps(lm: LinearModel, path: str | Path, *, write_copy: str | None = None) -> list[str]:
    """Write the model as a free-format MPS file (by HiGHS); return the column names used.

    `write_copy` (the user's ``--write-model``, .mps or .lp) gets the same model too."""
    cols, rows = mps_names(lm)
    h = new_highs()
    pass_model(h, lm)
    for i, name in enumerate(cols):
        h.passColName(i, name)
    for i, name in enumerate(rows):
        h.passRowName(i, name)
    with quiet_stdout():
        status = h.writeModel(str(path))
        if write_copy:
            suffix = Path(write_copy).suffix.lower()
            if suffix not in (".mps", ".lp"):
                raise InputError(f"--write-model: unsupported extension '{suffix}' (use .mps or .lp)")
            if suffix == ".mps":
                shutil.copyfile(path, write_copy)
            else:
                h.writeModel(str(write_copy))
    if status.name == "kError" or not Path(path).exists():
        raise SolverError(f"HiGHS could not write the model to {path}")
    return cols


def values_by_name(names: list[str], found: dict[str, float], default: float = 0.0) -> np.ndarray:
    """Column values in the model's order from a name → value map (absent names: `default`,
    as CBC prints only non-zero values)."""
    return np.array([found.get(n, default) for n in names], dtype=float)


def inconsistent_bounds(lm: LinearModel) -> str | None:
    """A message naming the first row or column whose lower bound exceeds its upper bound."""
    for kind, (lo, up), names in (("row", lm.row_bounds(), lm.row_names), ("column", lm.col_bounds()[:2], lm.column_names)):
        bad = np.flatnonzero(lo > up)
        if bad.size:
            i = int(bad[0])
            return f"{kind} {names()[i]} has lower bound {lo[i]:g} above its upper bound {up[i]:g} ({bad.size} such {kind}s)"
    return None


def _is_mip(lm: LinearModel) -> bool:
    return bool(lm.col_bounds()[2].any())


def _hard_timeout(options: SolveOptions) -> float | None:
    if options.time_limit is None:
        return None
    return float(options.time_limit) + max(KILL_MARGIN, 0.5 * float(options.time_limit))


def run_program(
    cmd: list[str], *, timeout: float | None, verbose: bool, log_file: str | None, cwd: str | None = None
) -> tuple[int | None, str, float]:
    """Run a solver program in its own process group; return (exit code or None if it was
    killed at `timeout`, its combined output, wall seconds). Output is echoed to stderr when
    `verbose` and copied to `log_file` when given."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        raise SolverError(f"cannot start {cmd[0]}: {exc}") from exc
    lines: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if verbose:
                sys.stderr.write(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    killed = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        killed = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    reader.join(timeout=5)
    output = "".join(lines)
    if log_file:
        Path(log_file).write_text(output, encoding="utf-8")
    return (None if killed else proc.returncode), output, time.perf_counter() - t0


def _result(
    solver: str,
    version: str,
    status: str,
    objective: float | None,
    bound: float | None,
    seconds: float,
    has_solution: bool,
    message: str,
    *,
    mip: bool,
) -> SolveResult:
    if status == "unbounded":  # a ray's end point is no plan
        objective, has_solution = None, False
    if status == "optimal" and bound is None:
        bound = objective
    if not mip and status == "optimal":
        bound = objective
    return SolveResult.of(
        status,
        objective if has_solution else None,
        bound,
        solver=solver,
        solver_version=version,
        seconds=seconds,
        has_solution=has_solution,
        message=message,
    )


def _notes(ignored: list[str]) -> str:
    return f" (ignored: {', '.join(ignored)})" if ignored else ""


# --- the interface -------------------------------------------------------------------------


class Solver:
    """One solver: `available()` says whether it can run here and why not; `solve` runs it."""

    name = "?"
    title = "?"

    def available(self) -> tuple[bool, str]:
        raise NotImplementedError

    def version(self) -> str:
        raise NotImplementedError

    def solve(
        self, lm: LinearModel, options: SolveOptions, incumbent: Incumbent | None = None
    ) -> tuple[SolveResult, np.ndarray | None]:
        """Solve `lm`; `incumbent`, a plan found beforehand, is taken by solvers that can."""
        raise NotImplementedError


class FileSolver(Solver):
    """A solver that reads the model from an MPS file written by HiGHS."""

    def solve(
        self, lm: LinearModel, options: SolveOptions, incumbent: Incumbent | None = None
    ) -> tuple[SolveResult, np.ndarray | None]:
        """Through an MPS file; `incumbent` is not passed on (no MIP start file is written)."""
        ok, reason = self.available()
        if not ok:
            raise InputError(f"solver '{self.name}' is not available: {reason}")
        clash = inconsistent_bounds(lm)
        if clash:  # MPS cannot say lower > upper (HiGHS would write a valid range instead)
            result = _result(self.name, self.version(), "infeasible", None, None, 0.0, False, clash, mip=_is_mip(lm))
            return result, None
        if options.log_file:
            Path(options.log_file).write_text("", encoding="utf-8")  # a fresh log (some solvers append)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"horizon-{self.name}-") as tmp:
            mps = Path(tmp) / "model.mps"
            names = write_mps(lm, mps, write_copy=options.write_model)
            transfer = time.perf_counter() - t0
            result, found = self.solve_file(mps, Path(tmp), options, lm)
        values = values_by_name(names, found) if found is not None and result.has_solution else None
        return replace(result, transfer_seconds=transfer), values

    def solve_file(
        self, mps: Path, tmp: Path, options: SolveOptions, lm: LinearModel
    ) -> tuple[SolveResult, dict[str, float] | None]:
        raise NotImplementedError


class HighsSolver(Solver):
    name = "highs"
    title = "HiGHS (highspy, in-process)"

    def available(self) -> tuple[bool, str]:
        return True, "in-process via highspy (default)"

    @lru_cache(maxsize=1)  # noqa: B019 - one instance per process
    def version(self) -> str:
        h = new_highs()
        try:
            return str(h.version())
        except Exception:  # noqa: BLE001 - informative only
            return "unknown"

    def solve(
        self, lm: LinearModel, options: SolveOptions, incumbent: Incumbent | None = None
    ) -> tuple[SolveResult, np.ndarray | None]:
        return solve_highs(lm, options, incumbent)


# --- CBC -------------------------------------------------------------------------------------


def find_cbc() -> str | None:
    """HORIZON_CBC, else the running Python's bin/ (pip's cbcbox), else PATH."""
    env = os.environ.get("HORIZON_CBC")
    if env:
        return env if Path(env).is_file() and os.access(env, os.X_OK) else None
    local = Path(sys.executable).parent / "cbc"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("cbc")


_CBC_HEADER = re.compile(r"^(?P<head>.*?)\s*-\s*objective value\s+(?P<obj>\S+)\s*$")
_CBC_BOUND = re.compile(r"^Lower bound:\s+(\S+)", re.M)
_CBC_PARTIAL = re.compile(r"best possible\s+(\S+?)\)", re.M)


def parse_cbc_solution(text: str) -> tuple[str, float | None, dict[str, float], str]:
    """Parse a CBC solution file: (status, objective or None, name → value, header).

    "Stopped on ... (no integer solution - continuous used)" carries the LP relaxation, not a
    solution: status no_solution and no values."""
    lines = text.splitlines()
    if not lines:
        return "error", None, {}, "empty solution file"
    header = lines[0].strip()
    m = _CBC_HEADER.match(header)
    head = (m.group("head") if m else header).strip()
    obj = _float(m.group("obj")) if m else None
    low = head.lower()
    values: dict[str, float] = {}
    for line in lines[1:]:
        parts = line.replace("**", " ").split()
        if len(parts) >= 3:
            val = _float(parts[2])
            if val is not None:
                values[parts[1]] = val
    if low.startswith("optimal"):
        return "optimal", obj, values, header
    if "infeasible" in low and "no integer solution" not in low:
        return "infeasible", None, {}, header
    if low.startswith("unbounded") or "dualinfeasible" in low:
        return "unbounded", None, {}, header
    if "no integer solution" in low:
        return "no_solution", None, {}, header
    if low.startswith("stopped"):
        return ("feasible", obj, values, header) if values else ("no_solution", None, {}, header)
    return "error", None, {}, header


def parse_cbc_bound(log: str) -> float | None:
    """The best bound CBC printed: 'Lower bound:' in its summary, else the last 'best possible'."""
    found = _CBC_BOUND.findall(log)
    if found:
        return _float(found[-1])
    found = _CBC_PARTIAL.findall(log)
    return _float(found[-1]) if found else None


def _float(s: str) -> float | None:
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) and abs(v) < 1e49 else None


class CbcSolver(FileSolver):
    name = "cbc"
    title = "COIN-OR CBC (cbc program)"

    def available(self) -> tuple[bool, str]:
        path = find_cbc()
        if path is None:
            return False, "no 'cbc' program (pip install cbcbox, or apt-get install coinor-cbc; or set HORIZON_CBC)"
        return True, path

    def version(self) -> str:
        path = find_cbc()
        return _cbc_version(path) if path else "—"

    def solve_file(self, mps, tmp, options, lm):  # noqa: ANN001, ANN201
        sol = tmp / "model.sol"
        cmd = [find_cbc() or "cbc", str(mps), "-timeMode", "elapsed"]
        if options.time_limit is not None:
            cmd += ["-sec", repr(float(options.time_limit))]
        cmd += ["-ratioGap", repr(float(options.mip_gap))]
        if options.threads is not None:
            cmd += ["-threads", str(int(options.threads))]
        if options.seed is not None:
            cmd += ["-randomSeed", str(abs(int(options.seed)) % 2**31)]
        cmd += ["-solve", "-solution", str(sol)]
        code, log, seconds = run_program(
            cmd, timeout=_hard_timeout(options), verbose=options.verbose, log_file=options.log_file, cwd=str(tmp)
        )
        version = self.version()
        mip = _is_mip(lm)
        if code is None:
            msg = f"cbc ran past the time limit and was killed after {seconds:.0f} s"
            return _result("cbc", version, "no_solution", None, None, seconds, False, msg, mip=mip), None
        if not sol.exists():
            tail = " | ".join(log.strip().splitlines()[-3:])
            return _result("cbc", version, "error", None, None, seconds, False, f"cbc wrote no solution: {tail}", mip=mip), None
        status, obj, values, header = parse_cbc_solution(sol.read_text(errors="replace"))
        bound = parse_cbc_bound(log) if mip and status in ("feasible", "no_solution") else None
        has = status in ("optimal", "feasible")
        return _result("cbc", version, status, obj, bound, seconds, has, header, mip=mip), values if has else None


@lru_cache(maxsize=4)
def _cbc_version(path: str) -> str:
    try:
        out = subprocess.run([path, "-quit"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    m = re.search(r"^Version:\s*(\S+)", out, re.M) or re.search(r"^CBC\s+(\S+(?:\s+\(git:[0-9a-f]+\))?)", out, re.M)
    return m.group(1) if m else "unknown"


# --- GLPK ------------------------------------------------------------------------------------

_GLPK_PROGRESS = re.compile(r"^\+\s*\d+:\s*(?:mip =|>>>>>)\s*(.+?)\s*>=\s*(.+?)\s+(?:[<\d].*)?\(\s*\d+;\s*\d+\)\s*$", re.M)


def parse_glpk_raw(text: str, mip: bool) -> tuple[str, float | None, list[float]]:
    """Parse glpsol's raw solution file (``--write``): (status, objective, column values)."""
    status, obj, cols = "error", None, []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "s":
            kind = parts[1]
            if kind == "mip":  # s mip ROWS COLS STATUS OBJ
                st = parts[4]
                status = {"o": "optimal", "f": "feasible", "n": "infeasible", "u": "no_solution"}.get(st, "error")
                obj = _float(parts[5])
            elif kind == "bas":  # s bas ROWS COLS PRIM DUAL OBJ
                prim, dual = parts[4], parts[5]
                if prim == "f" and dual == "f":
                    status = "optimal"
                elif prim == "n":
                    status = "infeasible"
                elif prim == "f" and dual == "n":
                    status = "unbounded"
                elif prim == "f":
                    status = "feasible"
                else:
                    status = "no_solution"
                obj = _float(parts[6])
            elif kind == "ipt":  # s ipt ROWS COLS STATUS OBJ
                status = {"o": "optimal", "n": "infeasible"}.get(parts[4], "no_solution")
                obj = _float(parts[5])
        elif parts[0] == "j":
            # MIP: j idx val; basic LP: j idx stat prim dual; interior: j idx prim dual
            cols.append(float(parts[2]) if mip or len(parts) == 4 else float(parts[3]))
    if status not in ("optimal", "feasible"):
        obj = None
    return status, obj, cols


def parse_glpk_bound(log: str) -> float | None:
    """The best bound in glpsol's last branch-and-bound progress line, if numeric."""
    found = _GLPK_PROGRESS.findall(log)
    return _float(found[-1][1]) if found else None


class GlpkSolver(FileSolver):
    name = "glpk"
    title = "GLPK (glpsol program)"

    def available(self) -> tuple[bool, str]:
        path = shutil.which("glpsol")
        if path is None:
            return False, "no 'glpsol' program (apt-get install glpk-utils)"
        return True, path

    @lru_cache(maxsize=1)  # noqa: B019
    def version(self) -> str:
        path = shutil.which("glpsol")
        if not path:
            return "—"
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return "unknown"
        m = re.search(r"Solver\s+(\S+)", out)
        return m.group(1) if m else "unknown"

    def solve_file(self, mps, tmp, options, lm):  # noqa: ANN001, ANN201
        sol = tmp / "model.raw"
        mip = _is_mip(lm)
        cmd = [shutil.which("glpsol") or "glpsol", "--freemps", str(mps)]
        if options.time_limit is not None:
            cmd += ["--tmlim", str(max(1, math.ceil(float(options.time_limit))))]
        if mip:
            cmd += ["--mipgap", repr(float(options.mip_gap))]
        cmd += ["--write", str(sol)]
        ignored = ["threads"] if options.threads not in (None, 1) else []
        ignored += ["seed"] if options.seed is not None else []
        code, log, seconds = run_program(
            cmd, timeout=_hard_timeout(options), verbose=options.verbose, log_file=options.log_file, cwd=str(tmp)
        )
        version = self.version()
        if code is None:
            msg = f"glpsol ran past the time limit and was killed after {seconds:.0f} s"
            return _result("glpk", version, "no_solution", None, None, seconds, False, msg, mip=mip), None
        if not sol.exists():
            tail = " | ".join(log.strip().splitlines()[-3:])
            return _result(
                "glpk", version, "error", None, None, seconds, False, f"glpsol wrote no solution: {tail}", mip=mip
            ), None
        status, obj, cols = parse_glpk_raw(sol.read_text(errors="replace"), mip)
        if status == "no_solution" and re.search(r"HAS NO (PRIMAL|INTEGER) FEASIBLE SOLUTION", log):
            status = "infeasible"
        if status == "no_solution" and re.search(r"HAS UNBOUNDED (PRIMAL )?SOLUTION", log):
            status = "unbounded"
        bound = parse_glpk_bound(log) if mip and status in ("feasible", "no_solution") else None
        last = [ln for ln in log.splitlines() if ln.isupper() and len(ln) > 10]
        message = (last[-1].strip() if last else "") + _notes(ignored)
        has = status in ("optimal", "feasible") and len(cols) == lm.n_cols
        if status in ("optimal", "feasible") and not has:
            return _result(
                "glpk", version, "error", None, None, seconds, False, "glpsol's solution has the wrong size", mip=mip
            ), None
        names = mps_names(lm)[0]
        found = dict(zip(names, cols)) if has else None
        return _result("glpk", version, status, obj, bound, seconds, has, message, mip=mip), found


# --- SCIP ------------------------------------------------------------------------------------


class ScipSolver(FileSolver):
    name = "scip"
    title = "SCIP (pyscipopt)"

    def available(self) -> tuple[bool, str]:
        try:
            import pyscipopt  # noqa: F401
        except ImportError as exc:
            return False, f"pyscipopt is not installed (pip install pyscipopt): {exc}"
        return True, "pyscipopt"

    @lru_cache(maxsize=1)  # noqa: B019
    def version(self) -> str:
        try:
            import pyscipopt
        except ImportError:
            return "—"
        with quiet_stdout():
            m = pyscipopt.Model()
            v = f"{m.getMajorVersion()}.{m.getMinorVersion()}.{m.getTechVersion()}"
        return f"{v} (pyscipopt {pyscipopt.__version__})"

    def solve_file(self, mps, tmp, options, lm):  # noqa: ANN001, ANN201
        import pyscipopt

        mip = _is_mip(lm)
        ignored = ["threads"] if options.threads not in (None, 1) else []
        with quiet_stdout():
            m = pyscipopt.Model()
            if not options.verbose:
                m.hideOutput()
            if options.log_file:
                m.setLogfile(str(options.log_file))
            m.readProblem(str(mps))
            variables = m.getVars()
            if options.time_limit is not None:
                m.setParam("limits/time", float(options.time_limit))
            m.setParam("limits/gap", float(options.mip_gap))
            if options.seed is not None:
                m.setParam("randomization/randomseedshift", abs(int(options.seed)) % 2**31)
            t0 = time.perf_counter()
            m.optimize()
            seconds = time.perf_counter() - t0
            st = m.getStatus()
            has = m.getNSols() > 0
            obj = float(m.getObjVal()) if has else None
            found = None
            if has:
                best = m.getBestSol()
                found = {v.name: float(m.getSolVal(best, v)) for v in variables}
            bound = float(m.getDualbound()) if mip else None
        bound = bound if bound is not None and math.isfinite(bound) else None
        if st == "optimal":
            status = "optimal"
        elif st == "infeasible":
            status = "infeasible"
        elif st == "unbounded":
            status = "unbounded"
        elif st == "inforunbd":
            status = "infeasible"
        elif has:
            status = "feasible"
        else:
            status = "no_solution"
        return _result("scip", self.version(), status, obj, bound, seconds, has, st + _notes(ignored), mip=mip), found


# --- commercial solvers (Python packages, licence needed) --------------------------------------


def _too_big(solver: str, lm: LinearModel, detail: str) -> str:
    return (
        f"{solver}: the model ({lm.n_cols} variables, {lm.n_rows} constraints) is too large for the "
        f"size-limited licence (community edition: {COMMUNITY_LIMITS[solver]}); install a full licence. "
        f"Solver said: {detail}"
    )


class GurobiSolver(FileSolver):
    name = "gurobi"
    title = "Gurobi (gurobipy)"

    def available(self) -> tuple[bool, str]:
        try:
            import gurobipy as gp
        except ImportError:
            return False, "gurobipy is not installed (pip install gurobipy; needs a licence for large models)"
        try:
            with quiet_stdout():
                env = gp.Env(empty=True)
                env.setParam("OutputFlag", 0)
                env.start()
                env.dispose()
        except gp.GurobiError as exc:
            return False, f"no usable Gurobi licence: {exc}"
        lic = os.environ.get("GRB_LICENSE_FILE") or (Path.home() / "gurobi.lic")
        if Path(lic).exists():
            return True, f"licence {lic}"
        return True, f"pip's size-limited licence ({COMMUNITY_LIMITS['gurobi']}) unless a full licence is installed"

    @lru_cache(maxsize=1)  # noqa: B019
    def version(self) -> str:
        try:
            import gurobipy as gp
        except ImportError:
            return "—"
        return ".".join(str(x) for x in gp.gurobi.version())

    def solve_file(self, mps, tmp, options, lm):  # noqa: ANN001, ANN201
        import gurobipy as gp
        from gurobipy import GRB

        mip = _is_mip(lm)
        version = self.version()
        with quiet_stdout():
            try:
                env = gp.Env(empty=True)
                env.setParam("OutputFlag", 1 if (options.verbose or options.log_file) else 0)
                env.setParam("LogToConsole", 1 if options.verbose else 0)
                if options.log_file:
                    env.setParam("LogFile", str(options.log_file))
                env.start()
                m = gp.read(str(mps), env)
                if options.time_limit is not None:
                    m.setParam("TimeLimit", float(options.time_limit))
                m.setParam("MIPGap", float(options.mip_gap))
                if options.threads is not None:
                    m.setParam("Threads", int(options.threads))
                if options.seed is not None:
                    m.setParam("Seed", abs(int(options.seed)) % 2**31)
                t0 = time.perf_counter()
                m.optimize()
                seconds = time.perf_counter() - t0
            except gp.GurobiError as exc:
                code = getattr(exc, "errno", None)
                msg = _too_big("gurobi", lm, str(exc)) if code == 10010 else f"gurobi error {code}: {exc}"
                return _result("gurobi", version, "error", None, None, 0.0, False, msg, mip=mip), None
            st = m.Status
            has = m.SolCount > 0
            obj = float(m.ObjVal) if has else None
            bound = None
            if mip and st != GRB.INFEASIBLE:
                with contextlib.suppress(gp.GurobiError, AttributeError):
                    bound = float(m.ObjBound)
            found = None
            if has:
                vs = m.getVars()
                found = dict(zip(m.getAttr("VarName", vs), map(float, m.getAttr("X", vs))))
            m.dispose()
            env.dispose()
        status = {
            GRB.OPTIMAL: "optimal",
            GRB.INFEASIBLE: "infeasible",
            GRB.UNBOUNDED: "unbounded",
            GRB.INF_OR_UNBD: "infeasible",
        }.get(st, "feasible" if has else "no_solution")
        bound = bound if bound is not None and math.isfinite(bound) else None
        names = {getattr(GRB.Status, n): n.lower() for n in dir(GRB.Status) if n.isupper()}
        return _result("gurobi", version, status, obj, bound, seconds, has, names.get(st, f"status {st}"), mip=mip), found


class CplexSolver(FileSolver):
    name = "cplex"
    title = "IBM CPLEX (cplex)"

    def available(self) -> tuple[bool, str]:
        try:
            import cplex  # noqa: F401
        except ImportError:
            return False, "cplex is not installed (pip install cplex: Community Edition, size-limited)"
        return True, f"the PyPI package is the Community Edition ({COMMUNITY_LIMITS['cplex']}) unless a full CPLEX is installed"

    @lru_cache(maxsize=1)  # noqa: B019
    def version(self) -> str:
        try:
            import cplex
        except ImportError:
            return "—"
        with quiet_stdout():
            return str(cplex.Cplex().get_version())

    def solve_file(self, mps, tmp, options, lm):  # noqa: ANN001, ANN201
        import cplex
        from cplex.exceptions import CplexError

        mip = _is_mip(lm)
        version = self.version()
        log = open(options.log_file, "w", encoding="utf-8") if options.log_file else None  # noqa: SIM115
        try:
            with quiet_stdout():
                c = cplex.Cplex()
                stream = sys.stderr if options.verbose else log
                c.set_results_stream(stream)
                c.set_log_stream(stream)
                c.set_warning_stream(stream)
                c.set_error_stream(stream)
                try:
                    c.read(str(mps))
                    if options.time_limit is not None:
                        c.parameters.timelimit.set(float(options.time_limit))
                    c.parameters.mip.tolerances.mipgap.set(float(options.mip_gap))
                    if options.threads is not None:
                        c.parameters.threads.set(int(options.threads))
                    if options.seed is not None:
                        c.parameters.randomseed.set(abs(int(options.seed)) % 2**31)
                    t0 = time.perf_counter()
                    c.solve()
                    seconds = time.perf_counter() - t0
                except CplexError as exc:
                    code = exc.args[2] if len(exc.args) > 2 else None
                    msg = _too_big("cplex", lm, str(exc.args[0])) if code == 1016 else f"cplex error: {exc.args[0]}"
                    return _result("cplex", version, "error", None, None, 0.0, False, msg, mip=mip), None
                s = c.solution
                code = s.get_status()
                text = s.get_status_string()
                has = bool(s.is_primal_feasible())
                obj = float(s.get_objective_value()) if has else None
                bound = None
                if mip:
                    with contextlib.suppress(CplexError):
                        bound = float(s.MIP.get_best_objective())
                found = dict(zip(c.variables.get_names(), map(float, s.get_values()))) if has else None
                st = s.status
                if code in (st.optimal, st.MIP_optimal, st.optimal_tolerance):
                    status = "optimal"
                elif code in (st.infeasible, st.MIP_infeasible, st.infeasible_or_unbounded, st.MIP_infeasible_or_unbounded):
                    status = "infeasible"
                elif code in (st.unbounded, st.MIP_unbounded):
                    status = "unbounded"
                else:
                    status = "feasible" if has else "no_solution"
                c.end()
        finally:
            if log:
                log.close()
        bound = bound if bound is not None and math.isfinite(bound) and abs(bound) < 1e74 else None
        return _result("cplex", version, status, obj, bound, seconds, has, text, mip=mip), found


class XpressSolver(FileSolver):
    name = "xpress"
    title = "FICO Xpress (xpress)"

    def available(self) -> tuple[bool, str]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import xpress  # noqa: F401
        except ImportError:
            return False, "xpress is not installed (pip install xpress: community licence, size-limited)"
        except Exception as exc:  # noqa: BLE001 - licence problems surface on import
            return False, f"xpress cannot start: {exc}"
        return True, f"community licence ({COMMUNITY_LIMITS['xpress']}) unless a full licence is installed"

    @lru_cache(maxsize=1)  # noqa: B019
    def version(self) -> str:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import xpress as xp
            return f"{xp.getVersion()} (xpress {xp.__version__})"
        except Exception:  # noqa: BLE001
            return "—"

    def solve_file(self, mps, tmp, options, lm):  # noqa: ANN001, ANN201
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import xpress as xp

            mip = _is_mip(lm)
            version = self.version()
            quiet = stdout_to_devnull() if options.log_file and not options.verbose else quiet_stdout()
            with quiet:
                p = xp.problem()
                p.controls.outputlog = 1 if (options.verbose or options.log_file) else 0
                if options.log_file:
                    p.setLogFile(str(options.log_file))
                try:
                    p.readProb(str(mps))
                    if options.time_limit is not None:
                        p.controls.timelimit = float(options.time_limit)
                    p.controls.miprelstop = float(options.mip_gap)
                    if options.threads is not None:
                        p.controls.threads = int(options.threads)
                    if options.seed is not None:
                        p.controls.randomseed = abs(int(options.seed)) % 2**31
                    t0 = time.perf_counter()
                    p.optimize()
                    seconds = time.perf_counter() - t0
                except Exception as exc:  # noqa: BLE001 - xpress raises its own error types
                    text = str(exc)
                    too_big = "too many" in text.lower() or "?120" in text
                    msg = _too_big("xpress", lm, text) if too_big else f"xpress error: {text}"
                    return _result("xpress", version, "error", None, None, 0.0, False, msg, mip=mip), None
                a = p.attributes
                solve_status, sol_status = a.solvestatus, a.solstatus
                has = sol_status in (xp.SolStatus.OPTIMAL, xp.SolStatus.FEASIBLE)
                obj = float(a.objval) if has else None
                bound = float(a.bestbound) if mip else None
                found = dict(zip(p.getNameList(2, 0, a.cols - 1), map(float, p.getSolution()))) if has else None
        if sol_status == xp.SolStatus.OPTIMAL:
            status = "optimal"
        elif sol_status == xp.SolStatus.INFEASIBLE:
            status = "infeasible"
        elif sol_status == xp.SolStatus.UNBOUNDED:
            status = "unbounded"
        elif has:
            status = "feasible"
        else:
            status = "error" if solve_status == xp.SolveStatus.FAILED else "no_solution"
        bound = bound if bound is not None and math.isfinite(bound) and abs(bound) < 1e39 else None
        msg = f"solve {solve_status.name.lower()}, solution {sol_status.name.lower()}"
        return _result("xpress", version, status, obj, bound, seconds, has, msg, mip=mip), found


# --- registry --------------------------------------------------------------------------------

REGISTRY: dict[str, Solver] = {
    s.name: s for s in (HighsSolver(), CbcSolver(), GlpkSolver(), ScipSolver(), GurobiSolver(), CplexSolver(), XpressSolver())
}


def available_solvers() -> list[str]:
    return [name for name, s in REGISTRY.items() if s.available()[0]]


def get_solver(name: str) -> Solver:
    """The solver called `name`; `InputError` (exit 2) if unknown or not available here."""
    key = (name or "").strip().lower()
    solver = REGISTRY.get(key)
    if solver is None:
        raise InputError(
            f"unknown solver '{name}': known solvers are {', '.join(REGISTRY)}; available here: {', '.join(available_solvers())}"
        )
    ok, reason = solver.available()
    if not ok:
        raise InputError(
            f"solver '{key}' is not available on this machine: {reason}. Available here: {', '.join(available_solvers())} "
            "(see `horizon solvers`)"
        )
    return solver


def solve_model(
    lm: LinearModel, options: SolveOptions, incumbent: Incumbent | None = None
) -> tuple[SolveResult, np.ndarray | None]:
    """Solve `lm` with the solver named in `options.solver` (from `incumbent` where it can)."""
    return get_solver(options.solver).solve(lm, options, incumbent)


def describe() -> list[dict[str, str | bool]]:
    """One row per registered solver: name, title, available, version, reason."""
    rows: list[dict[str, str | bool]] = []
    for name, s in REGISTRY.items():
        ok, reason = s.available()
        rows.append({"name": name, "title": s.title, "available": ok, "version": s.version() if ok else "—", "reason": reason})
    return rows
