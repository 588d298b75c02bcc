"""Settings -> engine options, shared by the service and the command line."""

from __future__ import annotations

from switchboard.settings import Settings
from voice.stt import WhisperOptions
from voice.tts import PiperOptions


def whisper_options(settings: Settings) -> WhisperOptions:
    stt = settings.stt
    return WhisperOptions(
        model=stt.model,
        device=stt.device,
        compute_type=stt.compute_type,
        cpu_threads=stt.cpu_threads,
        language=stt.language or None,
        beam_size=stt.beam_size,
        short_window=stt.short_window,
        initial_prompt=stt.initial_prompt,
    )


def piper_options(settings: Settings) -> PiperOptions:
    return PiperOptions(
        voice=settings.tts.voice,
        use_cuda=settings.tts.use_cuda,
        length_scale=settings.tts.length_scale,
    )


def knowledge_store(settings: Settings):
    """The knowledge store the settings describe (local Qdrant folder or a server)."""
    from knowledge.embeddings import OpenAIEmbedder, get_embedder
    from knowledge.store import KnowledgeStore

    k = settings.knowledge
    if k.embedding_url:
        key = k.embedding_api_key.get_secret_value() if k.embedding_api_key else None
        embedder = OpenAIEmbedder(base_url=k.embedding_url, api_key=key, model=k.embedding_model)
    else:
        embedder = get_embedder(k.embedding_model)
    if k.qdrant_url:
        key = k.qdrant_api_key.get_secret_value() if k.qdrant_api_key else None
        return KnowledgeStore(url=k.qdrant_url, api_key=key, embedder=embedder)
    settings.qdrant_path.mkdir(parents=True, exist_ok=True)
    return KnowledgeStore(path=settings.qdrant_path, embedder=embedder)
