"""The simple dialogue step: greet, answer from a FAQ, handle keypad, silence and goodbye.

One ``SimpleDialogue`` lives for one call and keeps the little state a call needs (the last
reply, for "say that again"; how many times in a row we failed to help). The full dialogue
manager (intents, flows, grounded answers, handoff) replaces it in a later issue; its
interface (``greeting``/``on_text``/``on_dtmf``/``on_idle``) stays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dialogue.faq import FAQIndex
from dialogue.types import Reply

_GOODBYE = re.compile(
    r"\b(bye|goodbye|good bye|that's all|that is all|that'll be all|that will be all|"
    r"that's it|that's everything|nothing else|no thanks|no thank you|hang up|i'm done|"
    r"i am done|have a good (day|one))\b"
)
_REPEAT = re.compile(r"\b(repeat|say (that|it) again|come again|pardon|what did you say)\b")
_AGENT = re.compile(
    r"\b(agent|human|person|representative|operator|someone real|real person|speak to somebody)\b"
)
_GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b[\s.!,]*$")
_THANKS = re.compile(
    r"^(?:(?:ok|okay|alright|all right|great|perfect|cool|lovely|so|thanks|thank you|"
    r"very much|much)\s*)+$"
)
_PUNCTUATION = re.compile(r"[^\w\s']+")

ANYTHING_ELSE = "Is there anything else I can help you with?"


@dataclass(frozen=True, slots=True)
class DialogueConfig:
    company_name: str = "Northwind Bank"
    min_score: float = 1.2
    """BM25 score below which a FAQ match is not trusted."""
    max_failures: int = 2


class SimpleDialogue:
    """The per-call dialogue state for the FAQ assistant."""

    def __init__(self, faq: FAQIndex, config: DialogueConfig | None = None):
        self.faq = faq
        self.config = config or DialogueConfig()
        self._last: Reply | None = None
        self._failures = 0
        self._menu = faq.entries[:9]

    def _remember(self, reply: Reply) -> Reply:
        self._last = reply
        return reply

    def greeting(self) -> Reply:
        name = self.config.company_name
        return self._remember(
            Reply(
                f"Thanks for calling {name}, this is the virtual assistant. "
                "How can I help you today?",
                action="greeting",
                intent="greeting",
            )
        )

    def on_text(self, text: str) -> Reply:
        """The caller said ``text`` (already transcribed)."""
        # Transcripts come punctuated ("No, thank you."): match on words alone.
        said = " ".join(_PUNCTUATION.sub(" ", text.lower().replace("’", "'")).split())
        if not said:
            return self._not_understood()
        if _GOODBYE.search(said):
            return self.goodbye()
        if _REPEAT.search(said) and self._last is not None:
            return Reply(
                self._last.text,
                action=self._last.action,
                intent="repeat",
                sources=self._last.sources,
            )
        if _AGENT.search(said):
            return self._agent()
        if _GREETING.match(said):
            return self._remember(
                Reply("Hello! How can I help you today?", action="prompt", intent="greeting")
            )
        if _THANKS.match(said):
            return self._remember(
                Reply(f"You're welcome. {ANYTHING_ELSE}", action="prompt", intent="affirm")
            )
        matches = self.faq.search(said, top_k=2)
        if matches and matches[0].score >= self.config.min_score:
            self._failures = 0
            best = matches[0]
            return self._remember(
                Reply(
                    f"{best.entry.answer} {ANYTHING_ELSE}",
                    action="answer",
                    intent="faq",
                    sources=(best.entry.id,),
                    confidence=round(best.score, 3),
                )
            )
        return self._not_understood(heard=True)

    def on_dtmf(self, digits: str) -> Reply:
        """The caller pressed keys: 1-9 pick a topic, 0 asks for a person, * repeats."""
        if digits == "*" and self._last is not None:
            return self._last
        if digits == "0":
            return self._agent()
        if digits == "#":
            return self._remember(self._menu_reply())
        if digits.isdigit() and 1 <= int(digits) <= len(self._menu):
            entry = self._menu[int(digits) - 1]
            self._failures = 0
            return self._remember(
                Reply(
                    f"{entry.answer} {ANYTHING_ELSE}",
                    action="answer",
                    intent="faq",
                    sources=(entry.id,),
                    meta={"dtmf": digits},
                )
            )
        return self._remember(
            Reply(
                "Sorry, that key doesn't do anything. " + self._menu_reply().text,
                action="fallback",
                meta={"dtmf": digits},
            )
        )

    def on_idle(self, prompts_so_far: int, max_prompts: int) -> Reply:
        """The caller has been silent; ``prompts_so_far`` prompts were already given."""
        if prompts_so_far >= max_prompts:
            return Reply(
                "I haven't heard anything, so I'll end the call now. "
                "Please call back any time. Goodbye.",
                action="goodbye",
                intent="silence",
                end_call=True,
            )
        return Reply("Are you still there? How can I help you?", action="prompt", intent="silence")

    def goodbye(self) -> Reply:
        return Reply(
            f"Thank you for calling {self.config.company_name}. Goodbye!",
            action="goodbye",
            intent="goodbye",
            end_call=True,
        )

    def _agent(self) -> Reply:
        return self._remember(
            Reply(
                "Transfers to an agent aren't available on this line yet. "
                "Our branch staff can help Monday to Friday, 9 am to 5 pm. "
                f"{ANYTHING_ELSE}",
                action="fallback",
                intent="agent_request",
            )
        )

    def _menu_reply(self) -> Reply:
        topics = ", ".join(f"{n} for {e.title.lower()}" for n, e in enumerate(self._menu, 1))
        return Reply(f"You can press {topics}.", action="prompt", intent="menu")

    def _not_understood(self, heard: bool = False) -> Reply:
        self._failures += 1
        if not heard:
            text = "Sorry, I didn't catch that. Could you say it again?"
        elif self._failures >= self.config.max_failures:
            titles = ", ".join(e.title.lower() for e in self._menu[:4])
            text = (
                "I'm sorry, I can't help with that here. "
                f"I can answer questions about {titles}, and more. "
                "You can also press pound to hear a menu."
            )
        else:
            text = "Sorry, I don't have an answer for that. Could you put it another way?"
        return self._remember(Reply(text, action="fallback", intent="out_of_scope"))
