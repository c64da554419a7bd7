"""Fixtures of the coalition tests; the identity and coalition apps come from the root conftest.py."""

from __future__ import annotations

import httpx
import pytest
from coalition_world import CoalitionWorld
from fastapi import FastAPI
from identity_api import IdentityApi


@pytest.fixture
def world(
    identity_http: httpx.AsyncClient, coalition_http: httpx.AsyncClient, coalition_app: FastAPI
) -> CoalitionWorld:
    return CoalitionWorld(IdentityApi(identity_http), coalition_http, coalition_app)
