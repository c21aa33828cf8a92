"""The planning workspace without a browser: settings → edits, run differences, safe uploads,
the HTTP API (FastAPI's test client) and the `horizon serve` command's address and warning."""

from __future__ import annotations

import io
import stat
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("fastapi", reason="the 'serve' extra (fastapi) is not installed")
pytest.importorskip("multipart", reason="the 'serve' extra (python-multipart) is not installed")
pytest.importorskip("httpx", reason="httpx (FastAPI's test client) is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from horizon.cli import main  # noqa: E402
from horizon.optimizer.commands import serve as serve_command  # noqa: E402
from horizon.optimizer.data.loader import load_instance  # noqa: E402
from horizon.optimizer.data.writer import write_instance  # noqa: E402
from horizon.optimizer.errors import InputError  # noqa: E402
from horizon.optimizer.serve import workspace as ws  # noqa: E402
from horizon.optimizer.serve.app import create_app  # noqa: E402
from horizon.optimizer.serve.server import is_loopback, url_of  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny-two-hubs.yaml"


@pytest.fixture(scope="module")
def un():
    return load_instance(None)


def test_settings_as_loaded_change_nothing(un) -> None:
    inst, errors = ws.apply_settings(un, ws.base_settings(un))
    assert errors == {} and inst is un


def test_settings_make_the_edited_instance(un) -> None:
    s = ws.base_settings(un)
    s["budget"] = "60,000,000"
    s["soft"], s["penalty"] = True, "1e8"
    s["hubs"]["EBB"]["status"] = "excluded"
    s["types"]["qrf"]["fleet_limit"] = "6"
    s["deadline_factor"] = "1.5"
    s["scenarios"]["monuc-kivu"] = False
    s["policy"] = "regional"
    inst, errors = ws.apply_settings(un, ws.normalised(ws.base_settings(un), s))
    assert errors == {}
    assert inst.options.budget == 60e6 and inst.options.deadlines == "soft" and inst.options.penalty == 1e8
    assert inst.options.policy == "regional"
    assert "EBB" not in [h.node for h in inst.hubs] and inst.types["qrf"].fleet_limit == 6
    assert "monuc-kivu" not in [x.id for x in inst.spec.scenarios]
    assert un.options.budget is None  # the original is untouched
    changes = ws.describe_changes(ws.base_settings(un), ws.normalised(ws.base_settings(un), s))
    assert "budget none → 60,000,000" in changes and "hub EBB status candidate → excluded" in changes


def test_every_bad_field_is_reported_beside_it(un) -> None:
    s = ws.base_settings(un)
    s["budget"] = "lots"
    s["hubs"]["BDS"]["capacity"] = "-3"
    s["types"]["uh"]["holding_cost"] = ""
    s["max_hubs"] = "2.5"
    s["soft"], s["penalty"] = True, None
    s["scenarios"] = {k: False for k in s["scenarios"]}
    _, errors = ws.apply_settings(un, s)
    assert set(errors) >= {"budget", "hub:BDS:capacity", "type:uh:holding_cost", "max_hubs", "penalty", "scenarios"}
    assert "'lots' is not a number" in errors["budget"][0]
    assert any("capacity" in m for m in errors["hub:BDS:capacity"])


def test_run_diff_counts_hubs_units_costs_and_service(un) -> None:
    base = ws.base_settings(un)
    a = {"id": 1, "settings": base, "solution": _sol(["A", "B"], [("A", "q", 2), ("B", "q", 1)], 100, 10), "metrics": {}}
    b = {"id": 2, "settings": base, "solution": _sol(["A", "C"], [("A", "q", 1), ("C", "q", 3)], 90, 5), "metrics": {}}
    a["metrics"] = {"coverage_pct": 100.0, "worst_response_hours": 20.0, "mean_response_hours": 10.0, "units_total": 3.0}
    b["metrics"] = {"coverage_pct": 90.0, "worst_response_hours": 30.0, "mean_response_hours": 12.0, "units_total": 4.0}
    d = ws.run_diff(a, b)
    assert d["hubs_opened"] == ["C"] and d["hubs_closed"] == ["B"]
    assert {(u["hub"], u["change"]) for u in d["units"]} == {("A", -1.0), ("B", -1.0), ("C", 3.0)}
    costs = {c["part"]: c["change"] for c in d["costs"]}
    assert costs["fixed"] == -5 and costs["total"] == -10
    service = {s["key"]: s["change"] for s in d["service"]}
    assert service["coverage_pct"] == -10.0 and service["worst_response_hours"] == 10.0


def _sol(hubs, stationing, objective, fixed):  # noqa: ANN001, ANN202
    class Sol:
        pass

    s = Sol()
    s.open_hubs = hubs
    s.stationing = [{"hub": h, "asset_type": t, "units": u} for h, t, u in stationing]
    s.objective = objective
    s.costs = {"fixed": fixed, "holding": objective - fixed, "dispatch": 0.0, "penalty": 0.0}
    return s


# --- uploads ----------------------------------------------------------------------------------
def _zip(members: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, "/etc/passwd")
    return buf.getvalue()


def test_upload_yaml_and_zip_with_csv_tables(tmp_path: Path) -> None:
    inst = ws.open_upload("tiny.yaml", TINY.read_bytes(), tmp_path / "a")
    assert inst.name == "tiny-two-hubs"
    src = tmp_path / "gen"
    written = write_instance(load_instance(None).spec, src / "world.yaml", csv_threshold=5)
    assert any(p.suffix == ".csv" for p in written)
    data = _zip({f"world/{p.name}": p.read_bytes() for p in written})
    inst = ws.open_upload("world.zip", data, tmp_path / "b")
    assert inst.name == "un-2009" and len(inst.spec.scenarios) == 21


@pytest.mark.parametrize(
    ("members", "links", "message"),
    [
        ({"../evil.yaml": b"name: x"}, (), "outside the archive's root"),
        ({"/abs/evil.yaml": b"name: x"}, (), "outside the archive's root"),
        ({"inst.yaml": b"name: x"}, ("inst.csv",), "outside the archive's root"),
        ({"notes.txt": b"hello"}, (), "no instance file"),
        ({"a.yaml": b"name: a", "b.yaml": b"name: b"}, (), "several instance files"),
    ],
)
def test_unsafe_or_odd_zips_are_refused(tmp_path: Path, members, links, message) -> None:
    with pytest.raises(InputError) as err:
        ws.open_upload("bad.zip", _zip(members, links), tmp_path / "u")
    assert message in " ".join(err.value.messages)
    assert not (tmp_path / "evil.yaml").exists()


def test_malformed_and_oversized_uploads_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="not a valid zip archive"):
        ws.open_upload("broken.zip", b"PK\x03\x04 this is not a zip", tmp_path / "z")
    monkeypatch.setattr(ws, "MAX_UPLOAD_BYTES", 100)
    with pytest.raises(InputError, match="over the 0 MiB limit|over the"):
        ws.open_upload("big.yaml", b"x" * 101, tmp_path / "big")
    with pytest.raises(InputError, match="not an instance file"):
        ws.open_upload("model.exe", b"MZ", tmp_path / "exe")


def test_invalid_instance_lists_every_problem(tmp_path: Path) -> None:
    bad = TINY.read_text().replace("fixed_cost: 100", "fixed_cost: -100").replace("speed_kmh: 50", "speed_kmh: fast")
    with pytest.raises(InputError) as err:
        ws.open_upload("bad.yaml", bad.encode(), tmp_path)
    assert len(err.value.messages) >= 2


# --- the HTTP API -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(TINY, warm=False)) as c:
        yield c


def _wait(c: TestClient, timeout: float = 120) -> dict:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        job = c.get("/api/job").json()["job"]
        if job["state"] != "running":
            return job
        time.sleep(0.2)
    raise AssertionError("the job did not end")


def test_api_solve_edit_diff_and_downloads(client: TestClient) -> None:
    st = client.get("/api/state").json()
    assert st["instance"]["name"] == "tiny-two-hubs" and st["runs"] == []
    assert client.post("/api/solve", json={}).status_code == 200
    assert _wait(client)["state"] == "done"
    run1 = client.get("/api/runs/1").json()
    assert run1["objective"] == pytest.approx(200.0)
    settings = st["settings"]
    settings["hubs"]["H2"]["fixed_cost"] = "1000"
    r = client.post("/api/solve", json={"settings": settings})
    assert r.status_code == 200, r.text
    assert _wait(client)["state"] == "done"
    d = client.get("/api/diff", params={"a": 1, "b": 2}).json()
    assert {c["part"]: c["change"] for c in d["costs"]}["fixed"] == pytest.approx(850.0)
    assert d["settings"] == ["hub H2 fixed cost 150 → 1000"]
    settings["hubs"]["H2"]["status"] = "excluded"  # B is out of reach: the explanation is shown
    assert client.post("/api/solve", json={"settings": settings}).status_code == 200
    job = _wait(client)
    assert job["state"] == "error" and job["error"]["messages"]
    settings["hubs"]["H2"]["status"] = "candidate"
    client.post("/api/settings", json={"settings": settings})
    yaml_text = client.get("/api/download/instance.yaml").text
    assert "fixed_cost: 1000" in yaml_text
    z = zipfile.ZipFile(io.BytesIO(client.get("/api/runs/1/solution.zip").content))
    assert {"run1/solution.json", "run1/stationing.csv", "run1/instance.yaml"} <= set(z.namelist())
    assert client.get("/api/runs/9").status_code == 404


def test_api_refuses_bad_edits_and_uploads(client: TestClient) -> None:
    st = client.get("/api/state").json()
    settings = st["base_settings"] | {"budget": "abc"}
    r = client.post("/api/solve", json={"settings": settings})
    assert r.status_code == 422 and "budget" in r.json()["fields"]
    client.post("/api/settings", json={"settings": {}})
    r = client.post("/api/upload", files={"file": ("x.zip", b"not a zip", "application/zip")})
    assert r.status_code == 422 and "not a valid zip archive" in r.json()["messages"][0]


def test_sessions_are_separate(client: TestClient) -> None:
    with TestClient(client.app) as other:
        assert other.get("/api/state").json()["runs"] == []


# --- the command ----------------------------------------------------------------------------------
def test_serve_prints_its_address_and_warns_off_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake(source, host, port, ready) -> None:  # noqa: ANN001
        calls.append((source, host, port))
        ready(port)

    monkeypatch.setattr(serve_command, "run_server", fake)
    out = CliRunner().invoke(main, ["serve", "--port", "8799"])
    assert out.exit_code == 0 and "http://127.0.0.1:8799/" in out.output and "warning" not in out.output
    out = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "8799"])
    assert "no login" in out.output
    assert calls[-1] == (None, "0.0.0.0", 8799)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and not is_loopback("0.0.0.0")
    assert url_of("::1", 80) == "http://[::1]:80/"


def test_serve_without_the_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve_command, "run_server", None)
    monkeypatch.setattr(serve_command, "MISSING", "fastapi")
    out = CliRunner().invoke(main, ["serve"])
    assert out.exit_code == 2 and "pip install 'horizon[serve]'" in out.output
