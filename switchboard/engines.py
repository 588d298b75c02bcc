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


def answer_generator(settings: Settings):
    """The answer generator the dialogue settings name."""
    from dialogue.llm import make_answer_generator

    d = settings.dialogue
    if d.answerer == "openai":
        if not (d.llm_url and d.llm_model):
            raise ValueError(
                "SWITCHBOARD_DIALOGUE__ANSWERER=openai needs SWITCHBOARD_DIALOGUE__LLM_URL and "
                "SWITCHBOARD_DIALOGUE__LLM_MODEL"
            )
        key = d.llm_api_key.get_secret_value() if d.llm_api_key else None
        return make_answer_generator(
            "openai",
            base_url=d.llm_url,
            model=d.llm_model,
            api_key=key,
            timeout=d.llm_timeout_secs,
        )
    if d.answerer == "llama-cpp":
        if d.gguf_path is None:
            raise ValueError(
                "SWITCHBOARD_DIALOGUE__ANSWERER=llama-cpp needs SWITCHBOARD_DIALOGUE__GGUF_PATH"
            )
        return make_answer_generator("llama-cpp", model_path=str(d.gguf_path))
    return make_answer_generator("extractive")


def dialogue_services(settings: Settings, *, store=None, collection: str | None = None, bank=None):
    """Everything the per-call dialogue managers share, built once per process.

    ``store`` defaults to the settings' knowledge store; ``bank`` to the demo bank in the
    data folder (created and seeded on first use).
    """
    from dialogue.bank import DemoBank
    from dialogue.flows import FLOWS_DIR, load_flows
    from dialogue.intents import DEMO_INTENT_MODEL, get_intent_model
    from dialogue.manager import DialogueConfig, DialogueServices
    from dialogue.retrieval import KnowledgeRetriever

    d = settings.dialogue
    store = store if store is not None else knowledge_store(settings)
    if bank is None:
        settings.bank_path.parent.mkdir(parents=True, exist_ok=True)
        bank = DemoBank(settings.bank_path)
    answerer = answer_generator(settings)
    write_prose = getattr(answerer, "complete", None) if d.llm_summaries else None
    return DialogueServices(
        intents=get_intent_model(d.intent_model or DEMO_INTENT_MODEL),
        retriever=KnowledgeRetriever(
            store,
            collection or settings.knowledge.default_collection,
            min_score=d.min_score,
            ambiguity_margin=d.ambiguity_margin,
            weak_score=d.weak_score,
            min_title_similarity=d.min_title_similarity,
        ),
        bank=bank,
        flows=load_flows(d.flows_dir or FLOWS_DIR),
        answerer=answerer,
        config=DialogueConfig(
            company_name=settings.company_name,
            flow_confidence=d.flow_confidence,
            max_failures=d.max_failures,
        ),
        write_prose=write_prose,
    )
