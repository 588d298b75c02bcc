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
