"""Settings for Switchboard, read from the environment (prefix ``SWITCHBOARD_``) and ``.env``.

Nested sections use a double underscore: ``SWITCHBOARD_STT__MODEL=tiny.en``. Every setting has
an embedded default that runs offline on a laptop CPU; secrets have no default.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class STTSettings(BaseModel):
    """Speech-to-text (faster-whisper)."""

    model: str = Field(
        "tiny.en",
        description="Whisper model: 'tiny.en' or 'base' (bundled), a CTranslate2 folder, "
        "or a model name faster-whisper can fetch where a hub is reachable.",
    )
    device: str = Field("cpu", description="'cpu', 'cuda' or 'auto'.")
    compute_type: str = Field("int8", description="CTranslate2 compute type (int8, float16…).")
    cpu_threads: int = Field(0, description="CPU threads for Whisper; 0 uses all cores.")
    language: str | None = Field("en", description="Spoken language; empty to auto-detect.")
    beam_size: int = Field(1, ge=1, description="Beam size; 1 (greedy) is fastest.")
    short_window: bool = Field(
        True, description="Encode only the utterance, not Whisper's fixed 30 s window."
    )
    initial_prompt: str | None = Field(
        None, description="Words to bias recognition towards (product names)."
    )


class TTSSettings(BaseModel):
    """Text-to-speech (Piper)."""

    voice: str = Field(
        "en_US-joe-medium", description="Piper voice: bundled name or a path to a .onnx voice."
    )
    use_cuda: bool = Field(False, description="Run Piper on a GPU (needs onnxruntime-gpu).")
    length_scale: float | None = Field(None, description="Speaking rate; >1 is slower.")
    cache_pieces: int = Field(
        512, ge=0, description="Spoken pieces kept in memory for reuse by every call; 0 = off."
    )


class TurnSettings(BaseModel):
    """Voice activity detection, end of turn, barge-in and silence handling."""

    vad: Literal["webrtc", "silero"] = Field("webrtc", description="Voice activity detector.")
    vad_aggressiveness: int = Field(2, ge=0, le=3, description="webrtcvad aggressiveness.")
    vad_confidence: float = Field(0.7, description="Silero speech probability threshold.")
    vad_start_secs: float = Field(0.12, description="Speech needed before a turn starts.")
    vad_stop_secs: float = Field(0.2, description="Silence that pauses a turn.")
    vad_min_volume: float = Field(0.0, description="Minimum smoothed volume that counts.")
    end_of_turn: Literal["smart_turn", "silence"] = Field(
        "smart_turn",
        description="'smart_turn' asks Smart Turn v3 at each pause; 'silence' waits for "
        "silence_timeout_secs of silence.",
    )
    silence_timeout_secs: float = Field(
        0.6, description="Silence that ends a turn ('silence' mode, and smart_turn's fallback)."
    )
    smart_turn_max_wait_secs: float = Field(
        1.2, description="Longest silence before a turn ends even if Smart Turn says incomplete."
    )
    smart_turn_recheck_secs: float = Field(
        0.3, description="While Smart Turn says incomplete, ask again after this much more silence."
    )
    smart_turn_threshold: float = Field(0.5, description="Smart Turn completion probability.")
    allow_barge_in: bool = Field(True, description="Caller speech stops the bot.")
    min_barge_in_secs: float = Field(
        0.15, description="Caller speech needed to interrupt the bot (filters coughs)."
    )
    idle_prompt_secs: float = Field(7.0, description="Silence before 'are you still there?'.")
    idle_prompts_before_hangup: int = Field(2, description="Prompts before a polite hang-up.")
    max_utterance_secs: float = Field(20.0, description="A turn is cut after this long.")


class KnowledgeSettings(BaseModel):
    """The knowledge base: embeddings and the Qdrant store."""

    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="Bundled 'all-MiniLM-L6-v2', or a folder with an ONNX sentence model and "
        "its tokenizer.json.",
    )
    embedding_url: str | None = Field(
        None, description="An OpenAI-compatible embeddings endpoint instead of the ONNX model."
    )
    embedding_api_key: SecretStr | None = None
    qdrant_url: str | None = Field(
        None, description="Qdrant server URL; empty uses local mode in <data_dir>/qdrant."
    )
    qdrant_api_key: SecretStr | None = None
    default_collection: str = Field("demo_bank", description="Collection searched by default.")
    search_mode: Literal["hybrid", "dense", "sparse"] = "hybrid"
    top_k: int = Field(5, ge=1, le=50)


class DialogueSettings(BaseModel):
    """The dialogue manager: intents, flows, answers, the bank behind the flows."""

    intent_model: Path | None = Field(
        None, description="Intent model folder (switchboard intents train); default: bundled."
    )
    flows_dir: Path | None = Field(
        None, description="Folder of flow YAML files; default: the bundled bank flows."
    )
    bank_path: Path | None = Field(
        None, description="Demo bank SQLite file; default <data_dir>/demo_bank.sqlite."
    )
    answerer: Literal["extractive", "openai", "llama-cpp"] = Field(
        "extractive", description="How answers are worded from retrieved passages."
    )
    llm_url: str | None = Field(
        None, description="OpenAI-compatible base URL (http://host:8000/v1) for 'openai'."
    )
    llm_model: str | None = Field(None, description="Model name at llm_url.")
    llm_api_key: SecretStr | None = None
    llm_timeout_secs: float = Field(10.0, gt=0)
    gguf_path: Path | None = Field(None, description="Local GGUF file for 'llama-cpp'.")
    llm_summaries: bool = Field(
        True, description="Let the LLM (when one is set) write the handoff prose."
    )
    min_score: float = Field(0.35, description="Dense score below which nothing is relevant.")
    ambiguity_margin: float = Field(
        0.04, description="Candidates on different topics this close to the best -> clarify."
    )
    weak_score: float = Field(
        0.65, description="A best passage under this must have its title near the question."
    )
    min_title_similarity: float = Field(
        0.2, description="Title cosine a weak best passage needs; 0 turns the check off."
    )
    flow_confidence: float = Field(0.6, ge=0, le=1)
    max_failures: int = Field(2, ge=1)


class TwilioSettings(BaseModel):
    """Twilio credentials: needed only for call control (REST hang-up) and signatures."""

    account_sid: str | None = None
    auth_token: SecretStr | None = None
    api_base_url: str | None = Field(
        None, description="Twilio REST root; set to a local fake in tests."
    )
    public_url: str | None = Field(
        None,
        description="Public base URL Twilio reaches (https://abc.ngrok.app); the stream URL "
        "is derived from it. Defaults to the request's own host.",
    )
    validate_signature: bool = Field(
        True, description="Check X-Twilio-Signature when an auth token is set."
    )

    @property
    def can_control_calls(self) -> bool:
        return bool(self.account_sid and self.auth_token)


TWILIO_HOLD_MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"
"""One of the classical pieces Twilio itself plays to callers on hold."""


class TransferSettings(BaseModel):
    """Warm transfer to a person: where the caller goes and what happens while they wait."""

    mode: Literal["queue", "dial"] = Field(
        "queue",
        description="'queue': <Enqueue> the caller with hold music until an agent dials "
        "/twilio/agent; 'dial': <Dial> dial_to directly (deployments without a queue).",
    )
    queue: str = Field("support", description="Twilio queue name callers wait in.")
    dial_to: str | None = Field(
        None,
        description="For mode 'dial': an agent's number (+15550100), 'client:IDENTITY' "
        "(Twilio Client) or a 'sip:' address.",
    )
    dial_timeout_secs: int = Field(30, ge=5, le=600, description="Ringing time for 'dial'.")
    max_wait_secs: int = Field(
        120,
        ge=0,
        description="Time in the queue before the caller is offered a callback or voicemail. "
        "Checked each time the hold audio ends, so keep the hold clip short (about a minute).",
    )
    hold_message: str = Field(
        "Thanks for waiting. One of our team will be with you as soon as possible.",
        description="Said to the caller when they join the queue.",
    )
    hold_music: str = Field(
        TWILIO_HOLD_MUSIC,
        description="Hold audio: an http(s) URL Twilio can fetch, or a local audio file "
        "(served at /twilio/hold-music).",
    )
    voice: str | None = Field(
        None, description="Twilio <Say> voice for hold and callback prompts (e.g. Polly.Joanna)."
    )
    voicemail_max_secs: int = Field(120, ge=5, le=3600, description="Longest voicemail.")
    connect_message: str = Field(
        "Thanks for holding. I'm connecting you now.",
        description="Said to the caller as an agent takes their call; empty for none.",
    )

    @model_validator(mode="after")
    def _dial_needs_a_target(self) -> TransferSettings:
        if self.mode == "dial" and not self.dial_to:
            raise ValueError("SWITCHBOARD_TRANSFER__DIAL_TO is required with mode 'dial'.")
        return self


class Settings(BaseSettings):
    """All of Switchboard's settings."""

    model_config = SettingsConfigDict(
        env_prefix="SWITCHBOARD_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    environment: Literal["development", "production", "test"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Field(Path("data"), description="Models cache, call store, recordings.")
    recording_retention_days: int = Field(
        90, ge=0, description="Days a call recording is kept; 0 keeps them."
    )
    database_url: str | None = Field(
        None, description="Call-record store; default sqlite:///<data_dir>/calls.db."
    )
    company_name: str = "Northwind Bank"
    log_level: str = "INFO"
    stt: STTSettings = STTSettings()
    tts: TTSSettings = TTSSettings()
    turn: TurnSettings = TurnSettings()
    twilio: TwilioSettings = TwilioSettings()
    transfer: TransferSettings = TransferSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    dialogue: DialogueSettings = DialogueSettings()

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> Settings:
        if self.environment == "production" and not self.twilio.auth_token:
            raise ValueError(
                "SWITCHBOARD_TWILIO__AUTH_TOKEN is required in production: without it "
                "requests to /twilio/voice cannot be authenticated."
            )
        return self

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def whisper_cache_dir(self) -> Path:
        """Where the bundled Whisper base model's two parts are joined (once)."""
        return self.models_dir / "whisper-base"

    @property
    def qdrant_path(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    @property
    def bank_path(self) -> Path:
        return self.dialogue.bank_path or self.data_dir / "demo_bank.sqlite"

    @property
    def call_store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'calls.db'}"


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once; tests build their own ``Settings``."""
    return Settings()
