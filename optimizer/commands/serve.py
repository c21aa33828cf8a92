"""`serve`: the planning workspace in the browser (needs the extra: pip install 'horizon[serve]')."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from horizon.optimizer.commands.common import err_console, run
from horizon.optimizer.errors import InputError

try:  # the web stack is an optional extra; the rest of the CLI works without it
    from horizon.optimizer.serve.server import is_loopback, url_of
    from horizon.optimizer.serve.server import serve as run_server
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    if exc.name not in {"fastapi", "uvicorn", "starlette", "multipart", "python_multipart"}:
        raise
    run_server = None  # type: ignore[assignment]
    MISSING = exc.name
else:
    MISSING = None


@click.command()
@click.argument("instance", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8765, show_default=True, help="TCP port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.pass_context
def serve(ctx: click.Context, instance: Path | None, port: int, host: str) -> None:
    """Start the planning workspace (a local web app) on INSTANCE (default: the bundled one)."""

    def go() -> None:
        if run_server is None:
            # errors are printed literally (markup escaped by the error wrapper)
            raise InputError(f"horizon serve needs the 'serve' extra ({MISSING} is missing): pip install 'horizon[serve]'")
        if instance is not None and not instance.exists():
            raise InputError(f"{instance}: no such file")
        if not is_loopback(host):
            err_console.print(
                f"[bold yellow]warning:[/] listening on {escape(host)}: the workspace has no login, so anyone who can reach "
                "this address can open and solve instances and read the files it serves",
                soft_wrap=True,
            )

        def ready(bound: int) -> None:
            click.echo(f"horizon workspace: {url_of(host, bound)}  (Ctrl-C to stop)")

        run_server(instance, host, port, ready)

    run(ctx, go)
