"""MongoDB through PyMongo's async client: connection, transactions and index declarations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions
from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

Document = dict[str, Any]
Database = AsyncDatabase[Document]
Session = AsyncClientSession
T = TypeVar("T")


def create_client(url: str, *, app_name: str) -> AsyncMongoClient[Document]:
    """A client with standard UUIDs and timezone-aware datetimes (UTC)."""
    return AsyncMongoClient(
        url,
        appname=app_name,
        uuidRepresentation="standard",
        tz_aware=True,
        serverSelectionTimeoutMS=10_000,
    )


CODEC_OPTIONS: CodecOptions[Document] = CodecOptions(
    tz_aware=True, uuid_representation=UuidRepresentation.STANDARD
)


@dataclass(frozen=True)
class Indexes:
    """The indexes one collection must have; applied at start-up."""

    collection: str
    models: Sequence[IndexModel] = field(default_factory=tuple)


async def apply_indexes(db: Database, declarations: Sequence[Indexes]) -> None:
    for declaration in declarations:
        if declaration.models:
            await db[declaration.collection].create_indexes(list(declaration.models))


async def in_transaction(client: AsyncMongoClient[Document], work: Callable[[Session], Awaitable[T]]) -> T:
    """Run `work` in one transaction, retried on transient errors (write conflicts, elections)."""
    async with client.start_session() as session:
        return await session.with_transaction(
            work,
            read_concern=ReadConcern("snapshot"),
            write_concern=WriteConcern("majority"),
        )


async def ping(client: AsyncMongoClient[Document]) -> bool:
    try:
        await client.admin.command("ping")
    except Exception:
        return False
    return True
