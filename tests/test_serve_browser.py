"""The planning workspace in a real browser (Playwright driving Debian's chromium).

The server runs as `horizon serve` in a subprocess on a free loopback port. Screenshots go to
$HORIZON_SCREENSHOTS when set (the docs' docs/img/serve-*.png are made so), else to a temp folder.
Budgets (page ready ≤ 2 s after the server listens; the bundled instance solved and drawn
≤ 3 s) are checked with a slack factor $HORIZON_BUDGET_SLACK (default 1.5) for a shared machine;
the measured seconds are printed.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the installed extras
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (pip install '.[test]')"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no chromium at {CHROMIUM} (apt-get install chromium)"),
]
pytest.importorskip("fastapi", reason="the 'serve' extra (fastapi) is not installed")

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
SLACK = float(os.environ.get("HORIZON_BUDGET_SLACK", "1.5"))
PAGE_READY_S, SOLVE_DRAW_S = 2.0, 3.0
SOFT_PENALTY, LOW_BUDGET = "100000000", "60000000"


def _shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("HORIZON_SCREENSHOTS")
    return Path(folder) if folder else tmp_path_factory.mktemp("shots")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, *args: str) -> None:
        self.port = _free_port()
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "horizon.cli", "serve", *args, "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()  # printed once the socket listens
        assert "http://127.0.0.1:" in line, (line, self.proc.stderr.read() if self.proc.poll() is not None else "")
        self.listening = time.monotonic()
        self.url = f"http://127.0.0.1:{self.port}/"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def chrome():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = _shots(tmp_path_factory)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def big_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated instance that takes HiGHS a while: an incumbent after a few seconds, no proof soon."""
    out = tmp_path_factory.mktemp("big") / "generated.yaml"
    cmd = [sys.executable, "-m", "horizon.cli", "generate", "--missions", "100", "--hubs", "30", "--types", "8"]
    subprocess.run([*cmd, "--scenarios", "80", "--seed", "1", "-o", str(out)], check=True, capture_output=True)
    return out


def _page(chrome, url: str, width: int = 1600, height: int = 1000):  # noqa: ANN001, ANN202
    ctx = chrome.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    page.errors = errors
    return ctx, page


def _solve(page, timeout: float = 120_000) -> None:  # noqa: ANN001
    runs = page.locator("#runs tbody tr").count()
    page.click("[data-testid=solve]")
    page.wait_for_function(f"document.querySelectorAll('#runs tbody tr').length > {runs}", timeout=timeout)
    page.wait_for_function(f"document.querySelector('#run-select').value == '{runs + 1}'", timeout=timeout)
    page.wait_for_selector("#map svg", timeout=timeout)


def _cli_json(instance: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "horizon.cli", "solve", str(instance), "--json"], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_open_solve_edit_compare_and_save(chrome, server: Server, shots: Path, tmp_path: Path) -> None:
    t_goto = time.monotonic()
    ctx, page = _page(chrome, server.url)
    ready = time.monotonic()
    page_ready = ready - server.listening
    print(f"\npage ready: {page_ready:.2f} s after the server listened ({ready - t_goto:.2f} s after navigation)")
    assert page_ready <= PAGE_READY_S * SLACK
    assert "un-2009" in page.inner_text("[data-testid=instance-name]")
    page.screenshot(path=str(shots / "serve-open.png"))

    # the bundled instance as loaded: solved, drawn, and the same objective as the CLI's
    page.wait_for_selector("[data-testid=progress][data-solver=ready]", timeout=120_000)
    print(f"solver process ready: {time.monotonic() - server.listening:.2f} s after the server listened")
    t = time.monotonic()
    _solve(page)
    page.wait_for_selector("#map svg g.hub.open")
    solve_draw = time.monotonic() - t
    print(f"bundled instance solved and drawn: {solve_draw:.2f} s")
    assert solve_draw <= SOLVE_DRAW_S * SLACK
    objective1 = float(page.get_attribute("[data-testid=objective]", "data-value"))
    assert objective1 == pytest.approx(88397310.17, rel=1e-6)
    assert page.locator("#map svg path.arc").count() > 0 and page.locator("#map svg g.hub.closed").count() > 0
    assert page.locator("#stationing tbody tr").count() > 0 and page.locator("#costs tbody tr").count() == 5
    page.screenshot(path=str(shots / "serve-plan.png"), full_page=True)

    # sortable tables: units descending
    page.click("#stationing th:nth-child(3)")
    page.click("#stationing th:nth-child(3)")
    units = [float(x) for x in page.locator("#stationing tbody td:nth-child(3)").evaluate_all("e => e.map(x => x.dataset.value)")]
    assert units == sorted(units, reverse=True)

    # a bad edit is shown beside its field and blocks the solve
    page.fill("[data-testid=budget]", "sixty million")
    page.wait_for_selector(".ferr[data-for=budget]:not(:empty)")
    assert "not a number" in page.inner_text(".ferr[data-for=budget]")
    page.click("[data-testid=solve]")
    page.wait_for_selector("[data-testid=job-errors]:not([hidden])")

    # lower the budget (soft deadlines: under hard ones a budget below the plan's annual cost is infeasible)
    page.fill("[data-testid=budget]", LOW_BUDGET)
    page.check("[data-testid=soft]")
    page.fill("#f-penalty", SOFT_PENALTY)
    page.wait_for_function("document.querySelector('.ferr[data-for=budget]').textContent === ''")
    page.wait_for_function("document.querySelector('[data-testid=changes]').textContent.includes('budget')")
    _solve(page)
    objective2 = float(page.get_attribute("[data-testid=objective]", "data-value"))
    assert objective2 != pytest.approx(objective1)

    # the difference of the two runs, checked against the CLI's JSON on the downloaded instance
    page.select_option("[data-testid=diff-a]", "1")
    page.select_option("[data-testid=diff-b]", "2")
    page.click("[data-testid=diff-button]")
    page.wait_for_selector("[data-testid=diff-costs]")
    page.screenshot(path=str(shots / "serve-diff.png"), full_page=True)
    with page.expect_download() as dl:
        page.click("[data-testid=download-run-instance]")
    edited = tmp_path / "edited.yaml"
    dl.value.save_as(edited)
    with page.expect_download() as dl:
        page.click("[data-testid=download-instance]")
    dl.value.save_as(tmp_path / "current.yaml")
    assert (tmp_path / "current.yaml").read_text() == edited.read_text()
    cli = _cli_json(edited)
    base = _cli_json(ROOT / "instances" / "un-2009.yaml")
    assert cli["objective"] == pytest.approx(objective2, rel=1e-6)
    shown = {
        row.get_attribute("data-part"): float(row.locator("td").nth(3).get_attribute("data-value"))
        for row in page.locator("[data-testid=diff-costs] tbody tr").all()
    }
    for part in ("fixed", "holding", "dispatch", "penalty"):
        assert shown[part] == pytest.approx(cli["costs"][part] - base["costs"][part], rel=1e-6, abs=1e-3), part
    assert shown["total"] == pytest.approx(cli["objective"] - base["objective"], rel=1e-6)
    opened = page.inner_text("[data-testid=hubs-opened]")
    closed = page.inner_text("[data-testid=hubs-closed]")
    for h in sorted(set(cli["open_hubs"]) - set(base["open_hubs"])):
        assert h in opened
    for h in sorted(set(base["open_hubs"]) - set(cli["open_hubs"])):
        assert h in closed
    units_b: dict[tuple[str, str], float] = {}
    for r in cli["stationing"]:
        units_b[(r["hub"], r["asset_type"])] = units_b.get((r["hub"], r["asset_type"]), 0) + r["units"]
    for row in page.locator("#diff-units tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        b_units = float(row.locator("td").nth(3).get_attribute("data-value"))
        assert b_units == pytest.approx(units_b.get((cells[0], cells[1]), 0.0))

    # the solution folder and the HTML report of run 2
    with page.expect_download() as dl:
        page.click("[data-testid=download-solution]")
    z = zipfile.ZipFile(io.BytesIO(Path(dl.value.path()).read_bytes()))
    sol = json.loads(z.read("run2/solution.json"))
    assert sol["objective"] == pytest.approx(objective2) and "run2/stationing.csv" in z.namelist()
    with page.expect_download() as dl:
        page.click("[data-testid=download-report]")
    assert "<html" in Path(dl.value.path()).read_text().lower()
    assert page.errors == []
    ctx.close()


def test_compare_and_sweep_from_the_page(chrome, server: Server, shots: Path) -> None:
    ctx, page = _page(chrome, server.url)
    page.select_option("[data-testid=bundled]", "tiny-two-hubs.yaml")
    page.click("[data-testid=open-bundled]")
    page.wait_for_function("document.querySelector('[data-testid=instance-name]').textContent.includes('tiny')")
    page.click("[data-testid=compare]")
    page.wait_for_selector("[data-testid=analysis-compare] img", timeout=120_000)
    page.select_option("[data-testid=sweep-param]", "deadline-scale")
    page.fill("[data-testid=sweep-values]", "0.5 1 2")
    page.click("[data-testid=sweep]")
    page.wait_for_selector("[data-testid=analysis-sweep] img", timeout=120_000)
    for kind in ("compare", "sweep"):
        size = page.locator(f"[data-testid=analysis-{kind}] img").evaluate("i => i.complete ? i.naturalWidth : 0")
        assert size > 100
    assert page.locator("[data-testid=analysis-sweep] tbody tr").count() == 3
    page.locator("#history").screenshot(path=str(shots / "serve-tools.png"))
    ctx.close()


def test_bad_uploads_are_refused_with_every_problem(chrome, server: Server, shots: Path) -> None:
    ctx, page = _page(chrome, server.url)
    bad = (ROOT / "instances" / "tiny-two-hubs.yaml").read_text()
    bad = bad.replace("fixed_cost: 100", "fixed_cost: -100").replace("speed_kmh: 50", "speed_kmh: fast")
    bad = bad.replace("{node: H2, fixed_cost: 150}", "{node: H2, fixed_cost: 150, colour: red}")
    page.set_input_files("[data-testid=upload]", files=[{"name": "broken.yaml", "mimeType": "text/yaml", "buffer": bad.encode()}])
    page.wait_for_selector("[data-testid=open-errors]:not([hidden])")
    items = page.locator("[data-testid=open-errors] li").all_inner_texts()
    assert len(items) >= 3, items
    text = " ".join(items)
    assert "fixed_cost" in text and "speed_kmh" in text and "colour" in text
    page.screenshot(path=str(shots / "serve-upload-errors.png"))
    assert "un-2009" in page.inner_text("[data-testid=instance-name]")  # the open instance is kept

    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../../escape.yaml", "name: x")
    cases = [
        ("evil.zip", evil.getvalue(), "outside the archive's root"),
        ("broken.zip", b"PK\x03\x04garbage", "not a valid zip archive"),
        ("huge.yaml", b"#" * (21 * 2**20), "over the 20 MiB limit"),
    ]
    for name, data, message in cases:
        upload = {"name": name, "mimeType": "application/octet-stream", "buffer": data}
        page.set_input_files("[data-testid=upload]", files=[upload])
        page.wait_for_function(
            "([m]) => document.querySelector('[data-testid=open-errors]').textContent.includes(m)", arg=[message], timeout=30_000
        )
    assert not (ROOT.parent / "escape.yaml").exists()
    ctx.close()


def _upload_file(page, path: Path) -> None:  # noqa: ANN001
    page.set_input_files("[data-testid=upload]", str(path))
    page.wait_for_function(
        "!document.querySelector('[data-testid=instance-name]').textContent.startsWith('un-2009')", timeout=60_000
    )


def test_stop_keeps_the_best_plan(chrome, server: Server, shots: Path, big_instance: Path) -> None:
    ctx, page = _page(chrome, server.url)
    _upload_file(page, big_instance)
    page.click("[data-testid=solve]")
    page.wait_for_selector("[data-testid=progress][data-state=running]")
    page.wait_for_function("document.querySelector('[data-testid=progress]').dataset.incumbent !== ''", timeout=120_000)
    assert "incumbent" in page.inner_text("[data-testid=progress]")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "serve-progress.png"))
    # the page stays responsive during the solve, and a second solve is refused with a message
    page.click("[data-testid=diff-button]")
    again = "fetch('/api/solve', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'}).then(r => r.status)"
    assert page.evaluate(again) == 409
    page.click("[data-testid=stop]")
    page.wait_for_function("document.querySelectorAll('#runs tbody tr').length == 1", timeout=60_000)
    page.wait_for_selector("[data-testid=run-status]")
    status = page.inner_text("[data-testid=run-status]")
    assert "stopped" in status and "feasible" in status
    assert float(page.get_attribute("[data-testid=objective]", "data-value")) > 0
    page.wait_for_selector("#map svg g.hub.open")
    page.screenshot(path=str(shots / "serve-stopped.png"), full_page=True)
    ctx.close()


def test_sessions_are_separate_and_a_closed_tab_ends_its_worker(chrome, server: Server, big_instance: Path) -> None:
    ctx_a, page_a = _page(chrome, server.url)
    ctx_b, page_b = _page(chrome, server.url)
    _upload_file(page_a, big_instance)
    page_a.click("[data-testid=solve]")
    page_a.wait_for_selector("[data-testid=progress][data-state=running]")
    job = ctx_a.request.get(server.url + "api/job").json()["job"]
    pid = job["pid"]
    assert os.path.exists(f"/proc/{pid}")
    # the other context sees neither the instance nor the job nor the runs
    state_b = ctx_b.request.get(server.url + "api/state").json()
    assert state_b["instance"]["name"] == "un-2009" and state_b["job"] is None and state_b["runs"] == []
    assert "un-2009" in page_b.inner_text("[data-testid=instance-name]")
    page_a.close()  # the tab closes mid-solve
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = ctx_a.request.get(server.url + "api/job").json()["job"]
        if not job["alive"] and not os.path.exists(f"/proc/{pid}"):
            break
        time.sleep(0.5)
    assert not job["alive"] and not os.path.exists(f"/proc/{pid}"), job
    assert server.alive()
    assert ctx_b.request.get(server.url + "api/state").ok
    ctx_a.close()
    ctx_b.close()


def test_serve_opens_a_file_given_on_the_command_line(chrome, tmp_path: Path) -> None:
    inst = tmp_path / "mine.yaml"
    shutil.copy(ROOT / "instances" / "tiny-two-hubs.yaml", inst)
    s = Server(str(inst))
    try:
        ctx, page = _page(chrome, s.url)
        assert "tiny-two-hubs" in page.inner_text("[data-testid=instance-name]")
        ctx.close()
    finally:
        s.close()
