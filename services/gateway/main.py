"""``tenantry serve gateway``: the FastAPI app under uvicorn."""

from __future__ import annotations

import uvicorn

from services.kit.settings import get_settings

DEFAULT_PORT = 8080


def serve(port: int | None = None) -> None:
    """Run the gateway until SIGTERM/SIGINT (uvicorn drains open requests)."""
    from .app import create_app

    settings = get_settings()
    uvicorn.run(create_app(settings), host="0.0.0.0", port=port or settings.http_port,
                log_config=None, access_log=False, timeout_graceful_shutdown=int(settings.shutdown_grace_seconds))
