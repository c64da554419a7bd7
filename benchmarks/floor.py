"""The floors of the intake benchmark: the least an HTTP endpoint on the same MongoDB can cost.

`python -m benchmarks.floor --port P --mongodb-url URL` serves, in its own uvicorn process with the
services' uvicorn settings (common.cli.server_config: loopback, no access log, h11 with a bounded header buffer):

- `POST /floor/insert`: validate the same JSON body as a signature, insert one document;
- `POST /floor/action`: validate it, then in one MongoDB transaction (snapshot read concern, majority
  write concern, as common.mongo.in_transaction) insert an action document and stage its event with the
  platform's own outbox (common.outbox.Outbox.add, keyed by the action id, so no two requests share a
  document).
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, EmailStr

from common import mongo
from common.events import EventPayload
from common.outbox import OUTBOX_INDEXES, Outbox


class FloorActionRecorded(EventPayload):
    event_type = "bench.action.recorded"
    topic = "bench.actions.v1"
    action_id: uuid.UUID
    campaign: str


class Supporter(BaseModel):
    email: EmailStr
    first_name: str


class Signature(BaseModel):
    supporter: Supporter


def create_app(mongodb_url: str, database: str) -> FastAPI:
    client = mongo.create_client(mongodb_url, app_name="bench-floor")
    db = client.get_database(database, codec_options=mongo.CODEC_OPTIONS)
    outbox = Outbox(db, source="urn:bench:floor")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await mongo.apply_indexes(db, OUTBOX_INDEXES)
        yield
        await client.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/floor/insert", status_code=201)
    async def insert(body: Signature) -> dict[str, str]:
        doc = {"_id": uuid.uuid4(), "email": str(body.supporter.email), "created_at": datetime.now(UTC)}
        await db["inserts"].insert_one(doc)
        return {"id": str(doc["_id"])}

    @app.post("/floor/action", status_code=201)
    async def action(body: Signature) -> dict[str, str]:
        action_id = uuid.uuid4()
        doc = {
            "_id": action_id,
            "kind": "signature",
            "email": str(body.supporter.email),
            "created_at": datetime.now(UTC),
        }

        async def work(session: mongo.Session) -> None:
            await db["actions"].insert_one(doc, session=session)
            await outbox.add(
                session,
                FloorActionRecorded(action_id=action_id, campaign="floor"),
                key=str(action_id),
                subject=str(action_id),
            )

        await mongo.in_transaction(client, work)
        return {"id": str(action_id)}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mongodb-url", required=True)
    parser.add_argument("--database", default="bench_floor")
    args = parser.parse_args()
    app = create_app(args.mongodb_url, args.database)
    # The same uvicorn settings as every service (common.cli.server_config: h11 with a bounded header
    # buffer, no access log), so that the floor pays the same HTTP parser as the services.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        http="h11",
        h11_max_incomplete_event_size=2 * 16_384,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
