"""Writing files so that nobody ever reads half of one, written once for every output.

Each file (or folder) is written under a temporary name beside its target and renamed over
it only when complete, so a crash or a kill leaves either the old version or the new one.
Temporary names carry this process's id: a later write to the same target removes the
leftovers of processes that have gone. Files and folders get the modes the user's umask
gives (a plan is meant to be shared), not the 0600/0700 of `tempfile`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

TAG = "horizon"  # marks our temporary names: ".<target>.horizon-<pid>-<random>"


def _umask() -> int:
    """The process's umask, read without changing it where the OS allows."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _prefix(target: Path) -> str:
    return f".{target.name}.{TAG}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(target: Path) -> list[Path]:
    """Remove our temporary files and folders beside `target` left by processes that have
    gone (killed while writing); return what was removed."""
    removed: list[Path] = []
    parent = target.parent
    if not parent.is_dir():
        return removed
    head = f".{target.name}.{TAG}-"
    for p in parent.iterdir():
        if not p.name.startswith(head):
            continue
        pid = p.name[len(head) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()
            removed.append(p)
    return removed


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` to write; renamed over `path` when the block ends
    without error, removed otherwise."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=_prefix(target), suffix=target.suffix or ".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8, newlines as given) to `path` atomically."""
    with replacing(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


@contextlib.contextmanager
def replacing_all(paths: list[Path]) -> Iterator[list[Path]]:
    """Temporary paths for several files renamed over their targets together at the end
    (an instance and its CSV tables): an error before then leaves every target as it was."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(replacing(p)) for p in paths]


@contextlib.contextmanager
def replacing_dir(path: str | Path) -> Iterator[Path]:
    """A temporary folder beside `path` to fill; it replaces `path` (all files or none)
    when the block ends without error, and is removed otherwise."""
    out = Path(path)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale(parent / out.name)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(out), dir=parent))
    try:
        yield tmp
        mask = _umask()
        os.chmod(tmp, 0o777 & ~mask)
        for f in tmp.rglob("*"):
            os.chmod(f, (0o777 if f.is_dir() else 0o666) & ~mask)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=_prefix(out), dir=parent))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
