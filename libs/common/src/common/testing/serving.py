"""A service app on a real uvicorn server on loopback, configured exactly as `python -m <service>` serves it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from common.cli import server_config
from common.settings import ServiceSettings


@asynccontextmanager
async def served(
    app: FastAPI, settings: ServiceSettings, *, startup_seconds: float = 60.0
) -> AsyncIterator[str]:
    """Serve `app` (lifespan included) at settings.host:settings.port; yields its base URL, then stops it."""
    server = uvicorn.Server(server_config(app, settings, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(startup_seconds):
            while not server.started:
                if serving.done():
                    raise RuntimeError(f"the server on port {settings.port} did not start")
                await asyncio.sleep(0.05)
        yield f"http://{settings.host}:{settings.port}"
    finally:
        server.should_exit = True
        await serving
