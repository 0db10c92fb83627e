"""Serving the workbench with uvicorn: loopback by default, a login required elsewhere."""

from __future__ import annotations

import uvicorn

from flows.config import Settings
from flows.workbench.app import create_app
from flows.workbench.security import credentials_for

__all__ = ["DEFAULT_PORT", "serve_workbench", "workbench_server"]

DEFAULT_PORT = 8765


def workbench_server(settings: Settings, host: str = "127.0.0.1",
                     port: int = DEFAULT_PORT) -> uvicorn.Server:
    """The uvicorn server of the workbench (not started); raises a
    :class:`~flows.errors.UserError` when ``host`` is not loopback and no login is set."""
    app = create_app(settings, credentials_for(host, settings.workbench))
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            lifespan="on")
    return uvicorn.Server(config)


def serve_workbench(settings: Settings, host: str = "127.0.0.1",
                    port: int = DEFAULT_PORT) -> None:
    """Serve until interrupted."""
    workbench_server(settings, host, port).run()
