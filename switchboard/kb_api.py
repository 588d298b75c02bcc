"""``GET /api/kb/search``: the knowledge base over HTTP (authentication arrives with the
console; until then put the service behind your own gateway)."""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

router = APIRouter(prefix="/api/kb", tags=["knowledge"])
_lock = threading.Lock()


def _store(request: Request):
    """Opened on first use: local-mode Qdrant locks its folder for one process at a time."""
    from switchboard.engines import knowledge_store

    state = request.app.state
    dialogue = getattr(getattr(state, "resources", None), "dialogue", None)
    if dialogue is not None and dialogue.retriever is not None:
        return dialogue.retriever.store  # one client per folder: share the dialogue's
    with _lock:
        if getattr(state, "knowledge", None) is None:
            state.knowledge = knowledge_store(state.settings)
        return state.knowledge


@router.get("/search")
async def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=500, description="the question")],
    collection: str | None = None,
    top_k: Annotated[int, Query(ge=1, le=50)] = 5,
    entity: str | None = None,
) -> dict:
    from knowledge.store import KnowledgeStoreError
    from switchboard.cli import search_json

    settings = request.app.state.settings
    name = collection or settings.knowledge.default_collection
    store = await asyncio.to_thread(_store, request)
    try:
        passages = await asyncio.to_thread(
            store.search, name, q, top_k=top_k, entity=entity, mode=settings.knowledge.search_mode
        )
    except KnowledgeStoreError as e:
        raise HTTPException(status_code=404, detail=str(e)) from e
    return search_json(q, passages)
