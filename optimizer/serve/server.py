"""Running the workspace: uvicorn on a loopback address by default."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path

import uvicorn

from horizon.optimizer.serve.app import create_app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_ready: Callable[[int], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list | None = None) -> None:  # type: ignore[type-arg]
        await super().startup(sockets=sockets)
        if self.started:
            ports = [sock.getsockname()[1] for server in self.servers for sock in server.sockets]
            self._on_ready(ports[0] if ports else self.config.port)


def serve(source: str | Path | None, host: str, port: int, on_ready: Callable[[int], None]) -> None:
    """Serve the workspace until interrupted; `on_ready` runs once the socket listens."""
    app = create_app(source)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
    _Server(config, on_ready).run()
