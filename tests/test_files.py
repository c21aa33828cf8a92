"""Atomic writes leave nothing behind: a writer killed mid-write leaves a temporary folder
that the next write to the same target removes; files and folders follow the umask."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import horizon
from horizon.optimizer.files import TAG, remove_stale, replacing_dir, write_text


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_a_planted_stale_temp_of_a_dead_process_is_removed_on_the_next_write(tmp_path) -> None:
    out = tmp_path / "plan"
    stale = tmp_path / f".plan.{TAG}-{_dead_pid()}-abc123"
    stale.mkdir()
    (stale / "solution.json").write_text("{}")
    alive = tmp_path / f".plan.{TAG}-{os.getppid()}-def456"  # a live process's: kept
    alive.mkdir()
    other = tmp_path / ".plan.something-else"
    other.mkdir()
    with replacing_dir(out) as tmp:
        (tmp / "a.txt").write_text("a")
    assert not stale.exists() and alive.exists() and other.exists()
    assert (out / "a.txt").read_text() == "a"
    stale_file = tmp_path / f".x.csv.{TAG}-{_dead_pid()}-q.csv"
    stale_file.write_text("half")
    write_text(tmp_path / "x.csv", "whole")
    assert not stale_file.exists() and (tmp_path / "x.csv").read_text() == "whole"
    assert remove_stale(out) == []


def test_a_writer_killed_mid_write_leaves_a_temp_the_next_write_removes(tmp_path) -> None:
    out = tmp_path / "plan"
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from horizon.optimizer.files import replacing_dir
        with replacing_dir({str(out)!r}) as tmp:
            (tmp / "solution.json").write_text("{{")
            print("writing", flush=True)
            time.sleep(60)
        """
    )
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(Path(horizon.__file__).parent.parent), os.environ.get("PYTHONPATH", "")])
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".plan.")]
    assert len(left) == 1 and not out.exists()
    with replacing_dir(out) as tmp:
        (tmp / "solution.json").write_text("{}")
    assert [p.name for p in tmp_path.iterdir()] == ["plan"]


@pytest.mark.parametrize("mask, folder, file", [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600), (0o002, 0o775, 0o664)])
def test_output_follows_the_umask(tmp_path, mask, folder, file) -> None:
    old = os.umask(mask)
    try:
        with replacing_dir(tmp_path / "plan") as tmp:
            (tmp / "solution.json").write_text("{}")
            (tmp / "sub").mkdir()
        write_text(tmp_path / "alone.csv", "a\n")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "plan") == folder
    assert _mode(tmp_path / "plan" / "sub") == folder
    assert _mode(tmp_path / "plan" / "solution.json") == file
    assert _mode(tmp_path / "alone.csv") == file


def test_an_out_folder_replaced_keeps_no_old_copy(tmp_path) -> None:
    for text in ("one", "two"):
        with replacing_dir(tmp_path / "plan") as tmp:
            (tmp / "v.txt").write_text(text)
        time.sleep(0.01)
    assert (tmp_path / "plan" / "v.txt").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["plan"]
