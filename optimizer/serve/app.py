"""`horizon serve`: the planning workspace, a local web app (FastAPI) over the instance edits,
the pipeline and the planner tools.

Each browser gets a session (a cookie): its instance, its edits, its runs. A solve, a policy
comparison or a sweep runs in a worker process (`horizon.optimizer.serve.worker`) so the page
stays responsive; one job per session at a time. Stop asks the worker to stop (its best plan is
kept); a tab that closes or stops polling during a job has its worker stopped, then ended.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import queue as queue_mod
import secrets
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, File, HTTPException, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.loader import load_instance
from horizon.optimizer.data.writer import write_instance
from horizon.optimizer.errors import HorizonError
from horizon.optimizer.results.metrics import scenario_coverage
from horizon.optimizer.results.report import BASEMAP, write_report
from horizon.optimizer.results.solution import write_solution_dir
from horizon.optimizer.serve import worker
from horizon.optimizer.serve.workspace import (
    MAX_UPLOAD_BYTES,
    apply_settings,
    base_settings,
    describe_changes,
    instance_view,
    map_view,
    normalised,
    open_upload,
    run_diff,
    run_summary,
)

COOKIE = "horizon_session"
HEARTBEAT_S = 20.0  # a running job whose page has not polled for this long is stopped
STOP_GRACE_S = 20.0  # after a stop request, a worker still running this long is ended
MAX_SESSIONS = 64
STATIC = Path(str(resources.files("horizon.optimizer.serve").joinpath("static")))
_REPORT_LOCK = threading.Lock()  # matplotlib's pyplot is not thread-safe


def bundled_instances() -> list[str]:
    folder = resources.files("horizon.instances")
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".yaml", ".json")))


def bundled_path(name: str) -> Path:
    return Path(str(resources.files("horizon.instances").joinpath(name)))


def mp_context() -> Any:
    """Workers fork from a server process that imported the solver once (fast starts, and no
    fork of the web server's threads); plain spawn where forkserver does not exist."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["horizon.cli", "horizon.optimizer.serve.worker"])
        return ctx
    return multiprocessing.get_context("spawn")


class Job:
    """One worker process and what it reported."""

    def __init__(self, ctx: Any, kind: str, instance: Instance, params: dict[str, Any], on_end: Any) -> None:
        self.kind = kind
        self.params = params
        self.queue = ctx.Queue()
        self.process = ctx.Process(target=worker.run_job, args=(kind, instance, params, self.queue), daemon=True)
        self.progress: dict[str, Any] = {"step": "starting", "elapsed": 0.0}
        self.state = "running"  # running, done, error
        self.result: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.stop_asked = False
        self.started = time.monotonic()
        self._on_end = on_end
        self.process.start()
        self.pid = self.process.pid
        self._reader = threading.Thread(target=self._read, name=f"horizon-job-{self.pid}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        finished = False
        while not finished:
            try:
                tag, payload = self.queue.get(timeout=0.2)
            except queue_mod.Empty:
                if not self.process.is_alive():
                    break
                continue
            except (EOFError, OSError):
                break
            if tag == "progress":
                self.progress = payload
            elif tag == "done":
                self.result, finished = payload, True
            elif tag == "error":
                self.error, finished = payload, True
        if not finished:
            self.process.join(timeout=5)
            code = self.process.exitcode
            self.error = {
                "headline": "the solve ended without a result",
                "messages": [f"the worker process ended (exit code {code})" + (" after a stop request" * self.stop_asked)],
                "kind": "worker",
            }
        self._on_end(self)  # the run is listed before the worker has exited
        self.state = "done" if self.result is not None else "error"
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        with contextlib.suppress(Exception):
            self.queue.close()

    def stop(self) -> None:
        """Ask the worker to stop (its best plan is kept); end it if it has not within the grace."""
        if self.state != "running" or not self.process.is_alive():
            return
        self.stop_asked = True
        with contextlib.suppress(ProcessLookupError, TypeError):
            os.kill(self.pid, worker.STOP_SIGNAL)
        timer = threading.Timer(STOP_GRACE_S, self.kill)
        timer.daemon = True
        timer.start()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()

    def view(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "state": self.state,
            "pid": self.pid,
            "alive": self.process.is_alive(),
            "progress": self.progress,
            "stop_asked": self.stop_asked,
            "error": self.error,
            "seconds": time.monotonic() - self.started,
        }


@dataclass
class Session:
    id: str
    folder: Path
    base: Instance
    settings: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)
    analyses: list[dict[str, Any]] = field(default_factory=list)
    job: Job | None = None
    last_job: Job | None = None
    last_seen: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self, inst: Instance) -> None:
        self.base = inst
        self.settings = base_settings(inst)


class Workspace:
    """The server's sessions, the default instance, the worker start method."""

    def __init__(self, source: str | Path | None = None) -> None:
        self.default = load_instance(source)
        self.ctx = mp_context()
        self.sessions: dict[str, Session] = {}
        self.root = Path(tempfile.mkdtemp(prefix="horizon-serve-"))
        self.solver_ready = threading.Event()  # the worker server has imported the solver
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._janitor = threading.Thread(target=self._watch, name="horizon-janitor", daemon=True)
        self._janitor.start()

    def warm_up(self) -> None:
        """Start the worker server now (it imports the solver), not at the first solve."""
        with contextlib.suppress(Exception):
            p = self.ctx.Process(target=worker.warm_up, daemon=True)
            p.start()
            p.join(timeout=120)
        self.solver_ready.set()

    def session(self, token: str | None) -> tuple[Session, bool]:
        with self._lock:
            s = self.sessions.get(token or "")
            if s is not None:
                s.last_seen = time.monotonic()
                return s, False
            if len(self.sessions) >= MAX_SESSIONS:  # forget the idle session seen longest ago
                idle = [x for x in self.sessions.values() if x.job is None]
                if idle:
                    self._drop(min(idle, key=lambda x: x.last_seen))
            token = secrets.token_urlsafe(24)
            folder = self.root / token[:12]
            folder.mkdir(parents=True, exist_ok=True)
            s = Session(token, folder, self.default, base_settings(self.default))
            self.sessions[token] = s
            return s, True

    def _drop(self, s: Session) -> None:
        self.sessions.pop(s.id, None)
        shutil.rmtree(s.folder, ignore_errors=True)

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            now = time.monotonic()
            for s in list(self.sessions.values()):
                job = s.job
                if job is not None and job.state == "running" and not job.stop_asked and now - s.last_seen > HEARTBEAT_S:
                    job.stop()

    def close(self) -> None:
        self._stop.set()
        for s in list(self.sessions.values()):
            if s.job is not None:
                s.job.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def _errors(exc: HorizonError) -> dict[str, Any]:
    return {"headline": exc.headline, "messages": exc.messages}


def create_app(source: str | Path | None = None, *, warm: bool = True) -> FastAPI:
    """The web app over a workspace whose sessions start with `source` (default: bundled)."""
    ws = Workspace(source)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        ws.close()

    app = FastAPI(title="horizon workspace", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.workspace = ws
    if warm:
        threading.Thread(target=ws.warm_up, name="horizon-warm-up", daemon=True).start()
    else:
        ws.solver_ready.set()

    def session(request: Request, response: Response) -> Session:
        s, new = ws.session(request.cookies.get(COOKIE))
        if new:
            response.set_cookie(COOKIE, s.id, httponly=True, samesite="strict")
        return s

    def existing(request: Request) -> Session:
        s = ws.sessions.get(request.cookies.get(COOKIE) or "")
        if s is None:
            raise HTTPException(404, "no session: reload the page")
        s.last_seen = time.monotonic()
        return s

    def run_of(s: Session, run_id: int) -> dict[str, Any]:
        for r in s.runs:
            if r["id"] == run_id:
                return r
        raise HTTPException(404, f"no run {run_id} in this session")

    def finished(s: Session) -> Any:
        def on_end(job: Job) -> None:
            with s.lock:
                if job.result is not None:
                    if job.kind == "solve":
                        _add_run(s, job)
                    else:
                        _add_analysis(s, job)
                s.last_job = job
                if s.job is job:
                    s.job = None

        return on_end

    def state(s: Session) -> dict[str, Any]:
        job = s.job or s.last_job
        _, errors = apply_settings(s.base, s.settings)
        return {
            "instance": instance_view(s.base),
            "bundled": bundled_instances(),
            "base_settings": base_settings(s.base),
            "settings": s.settings,
            "errors": errors,
            "changes": describe_changes(base_settings(s.base), normalised(base_settings(s.base), s.settings)),
            "runs": [run_summary(r) for r in s.runs],
            "analyses": [{k: a[k] for k in ("id", "kind", "title", "columns", "rows", "notes", "seconds")} for a in s.analyses],
            "job": job.view() if job is not None else None,
            "upload_limit_mib": MAX_UPLOAD_BYTES // 2**20,
            "solver_ready": ws.solver_ready.is_set(),
        }

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/basemap.json", include_in_schema=False)
    def basemap() -> FileResponse:
        """The Natural Earth countries the reports draw, one shipped copy for both."""
        return FileResponse(BASEMAP, media_type="application/json")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/api/state")
    def get_state(request: Request, response: Response) -> dict[str, Any]:
        return state(session(request, response))

    @app.post("/api/settings")
    async def put_settings(request: Request, response: Response) -> dict[str, Any]:
        s = session(request, response)
        body = await request.json()
        s.settings = normalised(base_settings(s.base), body.get("settings") or {})
        return state(s)

    @app.post("/api/open")
    async def open_bundled(request: Request, response: Response) -> Any:
        s = session(request, response)
        name = (await request.json()).get("bundled", "")
        if name not in bundled_instances():
            return JSONResponse({"headline": "unknown bundled instance", "messages": [f"no bundled instance '{name}'"]}, 422)
        try:
            inst = await run_in_threadpool(load_instance, bundled_path(name))
        except HorizonError as exc:
            return JSONResponse(_errors(exc), 422)
        s.open(inst)
        return state(s)

    @app.post("/api/upload")
    async def upload(request: Request, response: Response, file: UploadFile = File(...)) -> Any:  # noqa: B008
        s = session(request, response)
        data = await file.read(MAX_UPLOAD_BYTES + 1)
        name = file.filename or "upload"
        folder = s.folder / f"upload-{secrets.token_hex(4)}"
        try:
            inst = await run_in_threadpool(open_upload, name, data, folder)
        except HorizonError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            hide = str(folder.resolve()) + os.sep  # the server's folders are no business of the page's
            err = {k: (v.replace(hide, "") if isinstance(v, str) else v) for k, v in _errors(exc).items()}
            err["messages"] = [m.replace(hide, "") for m in err["messages"]]
            return JSONResponse({**err, "file": name}, 422)
        s.open(inst)
        return state(s)

    def start(s: Session, kind: str, params: dict[str, Any]) -> Any:
        with s.lock:
            if s.job is not None and s.job.state == "running":
                msg = f"a {s.job.kind} is running in this workspace: wait for it or stop it first"
                return JSONResponse({"headline": "busy", "messages": [msg]}, 409)
            inst, errors = apply_settings(s.base, s.settings)
            if inst is None:
                return JSONResponse({"headline": "the edits are not valid", "messages": _flat(errors), "fields": errors}, 422)
            params = {**params, "settings": normalised(base_settings(s.base), s.settings), "instance": inst}
            job = Job(ws.ctx, kind, inst, {k: v for k, v in params.items() if k not in ("settings", "instance")}, finished(s))
            job.params = params
            s.job = job
            return {"job": job.view()}

    @app.post("/api/solve")
    async def post_solve(request: Request, response: Response) -> Any:
        s = session(request, response)
        body = await request.json()
        if "settings" in body:
            s.settings = normalised(base_settings(s.base), body["settings"])
        return start(s, "solve", {"time_limit": body.get("time_limit") or None})

    @app.post("/api/compare")
    async def post_compare(request: Request, response: Response) -> Any:
        return start(session(request, response), "compare", {})

    @app.post("/api/sweep")
    async def post_sweep(request: Request, response: Response) -> Any:
        s = session(request, response)
        body = await request.json()
        try:
            values = [float(v) for v in str(body.get("values") or "").replace(",", " ").split()]
        except ValueError:
            return JSONResponse({"headline": "sweep values", "messages": ["values must be numbers, e.g. 0.5 1 1.5"]}, 422)
        return start(s, "sweep", {"param": body.get("param") or "budget", "values": values})

    @app.get("/api/job")
    def get_job(request: Request) -> dict[str, Any]:
        s = existing(request)
        job = s.job or s.last_job
        return {"job": job.view() if job is not None else None, "runs": len(s.runs), "analyses": len(s.analyses)}

    @app.post("/api/stop")
    def post_stop(request: Request) -> dict[str, Any]:
        s = existing(request)
        if s.job is not None:
            s.job.stop()
        return {"job": s.job.view() if s.job is not None else None}

    @app.post("/api/leave")
    def post_leave(request: Request) -> dict[str, Any]:
        """The page is closing (sent as a beacon): stop its job; the kept plan stays in its runs."""
        s = ws.sessions.get(request.cookies.get(COOKIE) or "")
        if s is not None and s.job is not None:
            s.job.stop()
        return {"ok": True}

    @app.get("/api/runs/{run_id}")
    def get_run(request: Request, run_id: int) -> dict[str, Any]:
        s = existing(request)
        r = run_of(s, run_id)
        sol = r["solution"]
        return {
            **run_summary(r),
            "solution": sol.to_dict(),
            "metrics": r["metrics"],
            "map": r["map"],
            "coverage": scenario_coverage(r["instance"], sol),
            "settings": r["settings"],
        }

    @app.get("/api/diff")
    def get_diff(request: Request, a: int, b: int) -> dict[str, Any]:
        s = existing(request)
        return run_diff(run_of(s, a), run_of(s, b))

    @app.get("/api/analyses/{analysis_id}.png")
    def get_chart(request: Request, analysis_id: int) -> Response:
        s = existing(request)
        for a in s.analyses:
            if a["id"] == analysis_id:
                return Response(a["png"], media_type="image/png")
        raise HTTPException(404, f"no analysis {analysis_id}")

    @app.get("/api/download/instance.yaml")
    def download_instance(request: Request) -> Response:
        s = existing(request)
        inst, errors = apply_settings(s.base, s.settings)
        if inst is None:
            return JSONResponse({"headline": "the edits are not valid", "messages": _flat(errors), "fields": errors}, 422)
        return _yaml(s, inst, f"{_stem(inst)}-edited.yaml")

    @app.get("/api/runs/{run_id}/instance.yaml")
    def download_run_instance(request: Request, run_id: int) -> Response:
        s = existing(request)
        r = run_of(s, run_id)
        return _yaml(s, r["instance"], f"{_stem(r['instance'])}-run{run_id}.yaml")

    @app.get("/api/runs/{run_id}/solution.zip")
    def download_solution(request: Request, run_id: int) -> Response:
        s = existing(request)
        r = run_of(s, run_id)
        with tempfile.TemporaryDirectory(dir=s.folder) as tmp:
            out = Path(tmp) / "solution"
            write_solution_dir(r["solution"], out)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                for f in sorted(out.iterdir()):
                    z.write(f, f"run{run_id}/{f.name}")
                inst_path = Path(tmp) / "instance.yaml"
                write_instance(r["instance"].spec, inst_path, csv_threshold=None)
                z.write(inst_path, f"run{run_id}/instance.yaml")
        return _attachment(buf.getvalue(), "application/zip", f"{_stem(r['instance'])}-run{run_id}.zip")

    @app.get("/api/runs/{run_id}/report.html")
    def download_report(request: Request, run_id: int) -> Response:
        s = existing(request)
        r = run_of(s, run_id)
        with tempfile.TemporaryDirectory(dir=s.folder) as tmp, _REPORT_LOCK:
            out = Path(tmp) / "report.html"
            write_report(r["instance"], r["solution"], out)
            data = out.read_bytes()
        return _attachment(data, "text/html", f"{_stem(r['instance'])}-run{run_id}-report.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _add_run(s: Session, job: Job) -> None:
    res = job.result or {}
    inst: Instance = job.params["instance"]
    sol = res["solution"]
    settings = job.params["settings"]
    run_id = len(s.runs) + 1
    changes = describe_changes(base_settings(s.base), settings) if inst.name == s.base.name else []
    stopped = bool(res.get("stopped"))
    s.runs.append(
        {
            "id": run_id,
            "label": f"Run {run_id}"
            + (f": {'; '.join(changes)}" if changes else ": as loaded")
            + (" (stopped)" if stopped else ""),
            "status": sol.status,
            "settings": settings,
            "changes": changes,
            "instance": inst,
            "solution": sol,
            "metrics": res["metrics"],
            "map": map_view(inst, sol),
            "stopped": stopped,
            "seconds": res.get("seconds"),
        }
    )


def _add_analysis(s: Session, job: Job) -> None:
    res = job.result or {}
    aid = len(s.analyses) + 1
    title = "Pooling policies compared" if job.kind == "compare" else f"Sweep of {job.params.get('param')}"
    s.analyses.append(
        {
            "id": aid,
            "kind": job.kind,
            "title": title,
            "columns": res.get("columns", []),
            "rows": _jsonable(res.get("rows", [])),
            "notes": res.get("notes", []),
            "png": res.get("png", b""),
            "seconds": res.get("seconds"),
        }
    )


def _jsonable(rows: list[list[Any]]) -> list[list[Any]]:
    def cell(v: Any) -> Any:
        if isinstance(v, float) and v != v:  # NaN
            return None
        if isinstance(v, (int, float, str, bool)) or v is None:
            return v
        return str(v)

    return [[cell(v) for v in row] for row in rows]


def _flat(errors: dict[str, list[str]]) -> list[str]:
    return [f"{k}: {m}" for k, ms in errors.items() for m in ms]


def _stem(inst: Instance) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in inst.name) or "instance"


def _yaml(s: Session, inst: Instance, filename: str) -> Response:
    with tempfile.TemporaryDirectory(dir=s.folder) as tmp:
        path = Path(tmp) / filename
        write_instance(inst.spec, path, csv_threshold=None)
        data = path.read_bytes()
    return _attachment(data, "application/x-yaml", filename)


def _attachment(data: bytes, media: str, filename: str) -> Response:
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
