"""Admin only: user accounts (``/api/users``) and the knowledge base (``/api/kb/...``:
collections, document upload with ingestion, re-ingestion of what was uploaded).

Uploaded files are kept in ``<data_dir>/kb_uploads/<collection>/uploads/`` and ingested
from ``<data_dir>/kb_uploads/<collection>``, so their document ids are ``uploads/<name>``
and cannot clash with the ids of a folder ingested from the command line. The knowledge
store is the one the dialogue searches (one client per local Qdrant folder).
"""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from pydantic import BaseModel, Field

from console.auth import Admin, get_console
from console.security import generate_password, hash_password
from console.views import Role, UserOut, user_out

router = APIRouter(tags=["admin"])

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
_ingest_lock = threading.Lock()


class UserIn(BaseModel):
    name: str = Field(pattern=NAME_PATTERN, description="lower case letters, digits, . _ -")
    role: Role
    password: str | None = Field(
        None, min_length=10, max_length=1024, description="omit to have one generated"
    )


class UserCreatedOut(BaseModel):
    user: UserOut
    password: str | None = Field(description="the generated password, shown once")


class UserPatch(BaseModel):
    role: Role | None = None
    disabled: bool | None = None
    password: str | None = Field(None, min_length=10, max_length=1024)


@router.get("/api/users", response_model=list[UserOut])
async def list_users(request: Request, user: Admin) -> list[UserOut]:
    users = await asyncio.to_thread(get_console(request).store.list_users)
    return [user_out(u) for u in users]


@router.post("/api/users", response_model=UserCreatedOut, status_code=201)
async def add_user(request: Request, user: Admin, body: UserIn) -> UserCreatedOut:
    generated = None if body.password else generate_password()
    password_hash = await asyncio.to_thread(hash_password, body.password or generated)
    try:
        created = await asyncio.to_thread(
            get_console(request).store.add_user, body.name, body.role, password_hash
        )
    except ValueError as e:
        raise HTTPException(409, str(e)) from e
    return UserCreatedOut(user=user_out(created), password=generated)


@router.patch("/api/users/{name}", response_model=UserOut)
async def update_user(request: Request, user: Admin, name: str, body: UserPatch) -> UserOut:
    """Change a user's role, disable or enable them, or set a new password (which ends
    their sessions). An admin cannot disable or demote themselves."""
    if name == user.name and (body.disabled or (body.role and body.role != "admin")):
        raise HTTPException(409, "you cannot disable or demote yourself")
    password_hash = await asyncio.to_thread(hash_password, body.password) if body.password else None
    try:
        updated = await asyncio.to_thread(
            get_console(request).store.update_user,
            name,
            role=body.role,
            disabled=body.disabled,
            password_hash=password_hash,
        )
    except KeyError as e:
        raise HTTPException(404, "no such user") from e
    return user_out(updated)


# --- the knowledge base --------------------------------------------------------------------


class CollectionOut(BaseModel):
    name: str
    documents: int
    points: int


class IngestOut(BaseModel):
    collection: str
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    errors: list[str]
    chunks: int
    summary: str


def _knowledge(request: Request):
    from switchboard.kb_api import _store  # the dialogue's client, else one opened once

    return _store(request)


def _uploads(request: Request, collection: str) -> Path:
    return get_console(request).settings.data_dir / "kb_uploads" / collection


def _collection(request: Request, collection: str | None) -> str:
    name = collection or get_console(request).settings.knowledge.default_collection
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
        raise HTTPException(422, "a collection name is letters, digits, _ and -")
    return name


def _ingest(request: Request, collection: str) -> IngestOut:
    from knowledge.ingest import ingest

    store = _knowledge(request)
    with _ingest_lock:
        report = ingest(store, collection, [_uploads(request, collection)], prune=False)
    return IngestOut(
        collection=collection,
        added=report.added,
        updated=report.updated,
        unchanged=report.unchanged,
        errors=[str(e) for e in report.errors],
        chunks=report.chunks,
        summary=report.summary(),
    )


@router.get("/api/kb/collections", response_model=list[CollectionOut])
async def list_collections(request: Request, user: Admin) -> list[CollectionOut]:
    store = await asyncio.to_thread(_knowledge, request)
    return [CollectionOut(**c) for c in await asyncio.to_thread(store.list_collections)]


@router.post("/api/kb/documents", response_model=IngestOut, status_code=201)
async def upload_documents(
    request: Request,
    user: Admin,
    files: Annotated[list[UploadFile], File(description="Markdown, text, HTML, PDF, JSONL, CSV")],
    collection: Annotated[str | None, Form()] = None,
) -> IngestOut:
    """Add or replace documents in a collection and ingest them (unchanged ones are
    skipped). A file with the name of an earlier upload replaces it."""
    from knowledge.loaders import SUPPORTED_EXTENSIONS

    name = _collection(request, collection)
    folder = _uploads(request, name) / "uploads"
    saved: list[tuple[Path, bytes]] = []
    for upload in files:
        filename = Path(upload.filename or "").name
        if not re.fullmatch(r"[\w][\w .-]{0,120}", filename) or filename.startswith("."):
            raise HTTPException(422, f"unusable file name {upload.filename!r}")
        if Path(filename).suffix.lower() not in SUPPORTED_EXTENSIONS:
            raise HTTPException(
                415, f"{filename}: supported types are {', '.join(sorted(SUPPORTED_EXTENSIONS))}"
            )
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise HTTPException(413, f"{filename} is larger than {MAX_UPLOAD_BYTES} bytes")
        saved.append((folder / filename, data))
    folder.mkdir(parents=True, exist_ok=True)
    for path, data in saved:
        await asyncio.to_thread(path.write_bytes, data)
    return await asyncio.to_thread(_ingest, request, name)


class ReingestIn(BaseModel):
    collection: str | None = None


@router.post("/api/kb/reingest", response_model=IngestOut)
async def reingest(request: Request, user: Admin, body: ReingestIn) -> IngestOut:
    """Ingest the collection's uploaded documents again (changed files are re-embedded)."""
    name = _collection(request, body.collection)
    _uploads(request, name).mkdir(parents=True, exist_ok=True)
    return await asyncio.to_thread(_ingest, request, name)
