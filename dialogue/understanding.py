"""Rules that read a caller's turn before (and beside) the intent model.

The intent model is good at "which task is this?"; it is not the right tool for the few
things that must never be missed or guessed: a caller asking for a person, a caller who is
upset, a fraud report, a goodbye, a yes or a no in the middle of a task, or speech that was
not words at all. Those are plain phrase lists here, checked on a normalised transcript
(lower case, punctuation removed, curly apostrophes straightened), so they are predictable
and cheap (microseconds) and a contact-centre lead can read and extend them.
"""

from __future__ import annotations

import re
from typing import Literal

Sentiment = Literal["negative", "neutral", "positive"]

_PUNCTUATION = re.compile(r"[^\w\s']+")
_FILLER = frozenset("uh um er erm hmm mm mhm ah oh eh huh".split())


# How transcripts write branch names and their words ("Harbour Road", "Elm St.", "Oak Ave.").
_SPELLINGS = {"harbour": "harbor", "st": "street", "ave": "avenue", "rd": "road"}
_SPELLING = re.compile(r"\b(?:" + "|".join(_SPELLINGS) + r")\b")


def normalise(text: str) -> str:
    """Lower case, words only: ``"No, thank you."`` -> ``"no thank you"``; a sum keeps its
    thousands ("5,000" is "5000"); "Elm St." is "elm street", "Harbour" "harbor"."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    words = " ".join(_PUNCTUATION.sub(" ", text).split())
    return _SPELLING.sub(lambda m: _SPELLINGS[m.group(0)], words)


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b")


_AGENT = _any(
    r"(?:an? |the |real |live |human )?(?:agent|representative|operator|advisor|adviser)",
    r"(?:a |an? )?(?:real |live |actual )?(?:human|person|human being)",
    r"(?:speak|talk|chat) (?:to|with) (?:someone|somebody|anyone|anybody|a person|"
    r"a human|a real person|staff|your staff|a member of staff)",
    r"customer (?:service|care|support)",
    r"someone (?:real|else|who can help)",
    r"transfer me",
    r"put me through",
    r"(?:get|be) put through",
    r"connect me",
    r"(?:an? |the )?(?:actual |real |live )?banker",
    r"(?:an? |the )?(?:actual |real |live )?teller on the (?:line|phone)",
    r"(?:speak|talk) (?:to|with) (?:an? |the )?(?:actual |real |live )?teller",
    r"one of your (?:people|staff|team|colleagues|employees)",
    r"flesh and blood",
    r"pass me (?:along |over |on )?to (?:someone|somebody|a person|a human|an? \w+)",
)
_NOT_AGENT = _any(r"in person", r"person to person", r"per person", r"personal")

_GOODBYE = _any(
    r"bye", r"goodbye", r"good bye", r"bye bye", r"that's all i needed", r"that's all",
    r"that is all", r"that'll be all",
    r"that will be all", r"that's it", r"that's everything", r"nothing else", r"no thanks",
    r"no thank you", r"hang up", r"i'm done", r"i am done",
    r"have a (?:good|nice|great) (?:day|one)", r"i'm all set", r"i'm good thanks",
    r"talk to you later", r"take care", r"that covers it",
)  # fmt: skip

_REPEAT = _any(
    r"repeat", r"say (?:that|it) again", r"come again", r"pardon", r"what did you say",
    r"say again", r"one more time", r"didn't (?:catch|hear|get) (?:that|it|you)",
    r"go over that again", r"what were you saying", r"where were we",
)  # fmt: skip

# Questions about the assistant or the call, asked in passing: answered, then the task goes on.
_ABOUT_ME = (
    (
        re.compile(
            r"\b(?:am i (?:talking|speaking) to|are you|is this|is that) (?:a |an |just a )?"
            r"(?:computer|robot|machine|bot|real person|human|person|ai|recording)\b"
            r"|\bwho am i (?:actually |really )?(?:talking|speaking) to\b"
        ),
        "I'm the bank's virtual assistant. You can ask for a person at any time.",
    ),
    (
        re.compile(r"\bis (?:this|the) (?:call|conversation) (?:being )?recorded\b"),
        "Yes, calls are recorded, for quality and to keep your account safe.",
    ),
    (
        re.compile(
            r"\bwhy do you need (?:that|this|it|to know)|is (?:this|the) (?:line|call) secure\b"
        ),
        "I need it to check that it's you before I can help with your accounts.",
    ),
)
_HOLD_ON = re.compile(
    r"^(?:\w+ ){0,3}(?:hold on|hang on|wait)(?: a| one)? (?:sec|second|minute|moment)\b"
    r"(?!.*\b(?:wrong|change|mistake|actually|not right)\b)"
)


# Asking for a person, not about us: "can I talk to a real person?"
_WANTS_PERSON = re.compile(
    r"\b(?:speak|talk|put me|transfer me|connect me|get me|i want|i need|i'd like|give me)\b"
)


def about_me(said: str) -> str | None:
    """A short answer to a question about the assistant or the call ("am I talking to a
    computer?", "is this call recorded?"), or None; None too when the turn asks for a
    person, is frustrated ("are you a robot? this is useless") or reports a fraud."""
    if _WANTS_PERSON.search(said) or is_frustrated(said) or needs_person(said) is not None:
        return None
    return next((answer for pattern, answer in _ABOUT_ME if pattern.search(said)), None)


_START_OVER = re.compile(
    r"\b(?:start (?:over|again|afresh|from scratch)|from the top|begin again"
    r"|start (?:the whole|this|the) (?:\w+ )?(?:again|over))\b"
)


def starts_over(said: str) -> bool:
    """ "Can we just start the whole transfer again from the top?" """
    return bool(_START_OVER.search(said))


def is_hold_on(said: str) -> bool:
    """ "Hold on a second, my kid's shouting": the caller steps away for a moment."""
    return bool(_HOLD_ON.search(said))


_CANCEL = _any(
    r"cancel(?: that| it| this)?", r"never ?mind", r"forget (?:it|that|about it)", r"stop",
    r"don't (?:do|bother)", r"changed my mind", r"not anymore", r"scrap that", r"leave it",
)  # fmt: skip
# Said at any length: "I'll have another look in the car first, let's just forget the whole thing"
_CANCEL_ANYWHERE = _any(
    r"forget (?:the whole thing|all (?:of )?(?:it|that|this)|about the whole thing)",
    r"cancel (?:the whole thing|all (?:of )?(?:it|that|this)|everything)",
    r"(?:let's|lets|let us|we can) (?:just )?(?:leave it|forget it|forget about it|drop it)",
    r"i(?:'ve| have) changed my mind",
    r"(?:i'll|i will|i think i'll|let me|i'd rather|i'm going to|i'm gonna) (?:just )?hold off",
    r"you know what,? never ?mind",
    r"leave (?:it|the money|them) (?:where it is|where they are|as it is|for now|for today)",
    r"(?:let's|lets|let us) not (?:bother|do (?:it|that|this))",
)  # fmt: skip

_YES = _any(
    r"yes", r"yeah", r"yep", r"yup", r"sure", r"correct", r"right", r"that's right",
    r"that is right", r"go ahead", r"please do", r"do it", r"ok(?:ay)?", r"confirm(?:ed)?",
    r"absolutely", r"of course", r"sounds good", r"perfect", r"exactly", r"affirmative",
    r"uh huh", r"yes please", r"that's correct", r"alright", r"all right",
    r"mhm", r"mm hmm", r"go on then", r"go for it", r"fire away",
)  # fmt: skip
_NO = _any(
    r"no", r"nope", r"nah", r"not really", r"don't", r"do not", r"wrong", r"incorrect",
    r"negative", r"that's not right", r"not quite", r"wait",
)  # fmt: skip

_GREETING = re.compile(
    r"^(?=.*\b(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening)|how's it going"
    r"|how are you)\b)"
    r"(?:(?:oh|um|uh|hi|hello|hey|hiya|there|yes|yeah|good (?:morning|afternoon|evening)"
    r"|how's it going|how are you(?: doing)?(?: today)?|how are things|you all right|what's up"
    r"|(?:i )?hope you're (?:having )?an? (?:good|nice|great|lovely) (?:day|one|morning|afternoon)"
    r"|well|to you"
    r")(?: |$))+$"
)
_THANKS = re.compile(
    r"^(?:(?:ok|okay|alright|all right|great|perfect|cool|lovely|so|thanks|thank you|cheers|"
    r"very much|much|brilliant|wonderful|that's great|that helps|got it|i see|awesome|a bunch|oh"
    r"|a lot|a million|so much|excellent|fantastic|nice|amazing|super|that's helpful"
    r"|that's perfect|appreciate it|i appreciate it|i appreciate that|much appreciated)\s*)+$"
)

_FRUSTRATION = _any(
    r"useless", r"ridiculous", r"stupid", r"pointless", r"waste of (?:my )?time", r"fed up",
    r"sick of", r"frustrat\w*", r"annoy\w*", r"not helping", r"you're not listening",
    r"you are not listening", r"not listening to me", r"i already (?:told|said)", r"for god's sake",
    r"this is (?:a )?joke", r"unbelievable", r"terrible", r"awful", r"hopeless", r"damn\w*",
    r"bloody", r"hell", r"shit\w*", r"crap", r"fuck\w*", r"piss\w*", r"stupid machine",
    r"stupid robot", r"hate this", r"hate you", r"what is wrong with you", r"are you deaf",
    r"this is not working", r"this isn't working", r"doesn't understand", r"don't understand me",
    r"losing (?:my )?patience", r"(?:way )?too complicated", r"(?:round|around) in circles",
    r"taking (?:forever|ages)", r"had enough", r"about to lose it", r"back and forth with",
    r"driving me (?:crazy|mad|nuts|insane|up the wall)", r"up the wall",
    r"keep getting (?:it|everything|this|that|things|my \w+) wrong",
    r"brick wall", r"up to here", r"automated (?:rubbish|garbage|nonsense|junk)",
    r"doing my head in", r"getting nowhere", r"going nowhere",
)  # fmt: skip

_POSITIVE = _any(
    r"thanks", r"thank you", r"great", r"perfect", r"brilliant", r"wonderful", r"excellent",
    r"lovely", r"awesome", r"helpful", r"appreciate", r"fantastic",
)  # fmt: skip

# A fraud report or a dispute needs a person; a question about how they work does not.
_FRAUD = _any(
    r"fraud\w*", r"scam\w*", r"identity theft", r"hack\w*",
    r"unauthori[sz]ed",
    r"(?:someone|somebody)(?:'s| has| is)?(?: already)? ?(?:been )?"
    r"(?:used|using|took|taken|got|withdrew|spent|accessed|stole|made|making"
    r"|take|takes|use|uses|spend|spends|changed|opened)",
    r"phish\w*", r"stolen and (?:used|being used)",
    r"(?:don't|do not|didn't|did not) (?:recogni[sz]e|make|authori[sz]e)",
    r"never (?:made|authori[sz]ed|placed|ordered|bought|signed up)",
    r"(?:didn't|did not) (?:place|order|buy|sign up)",
    r"not mine", r"isn't mine", r"wasn't me", r"weren't me",
    r"never (?:even )?been (?:there|to)",
    r"never set (?:any of )?(?:that|it|this|them|those) up",
    r"(?:company|business|merchant|shop|store|website|name|someone|somebody)"
    r" (?:i've |i have |i )?never (?:even )?heard of",
    r"clicked (?:on )?(?:a|the) link", r"fake (?:text|email|message|call|website)",
    r"(?:dollars|money|cash|savings) (?:is|are|has|have) (?:all )?(?:gone|disappeared|vanished)",
    r"(?:money|dollars|cash) (?:is |are )?missing from my",
    r"never (?:applied|asked) for", r"opened (?:it |one |an? \w+ )?in my name",
    r"gave (?:him|her|them|someone|somebody|a man|a woman) my (?:card|pin|account|password|bank)",
    r"(?:said|saying|claimed|claiming) (?:he|she|they) (?:was|were|is|are)"
    r" from (?:your|the|my) bank",
)  # fmt: skip
_DISPUTE = _any(
    r"dispute\w*", r"charge ?back", r"charged (?:me )?twice", r"double charged",
    r"overcharged", r"wrong (?:amount|charge)", r"refund\w*",
    # "the parcel never came"; not "I never got any alert" or "I can never get the fee"
    r"(?<!can )(?<!could )(?:didn't|did not|never) (?:get|got|receive|received|arrive|arrived"
    r"|came|come)(?! (?:anything|any|a text|an? alert|a message|a notification)\b)",
    r"(?:won't|will not|wouldn't|refus\w* to) (?:give|pay|send) (?:it|me|my money|the money)",
    r"(?:kept|keep|keeps|still|are still|is still) (?:taking|charging|billing|debiting)",
    r"(?:took|taken|charged|billed|debited|pulled)(?: [\w']+){0,5} twice",
    r"(?:charge|payment|transaction) reversed", r"reverse (?:the|that|this) (?:charge|payment)",
    r"(?:won't|will not|wouldn't|refus\w* to) (?:take it back|accept (?:it|the) (?:back|return))",
    r"get my money back",
    r"(?:didn't|did not|never) (?:give|gave) me (?:the|my|any) (?:cash|money)",
    r"no (?:money|cash) came out",
)  # fmt: skip
_QUESTION_START = re.compile(
    r"^(?:(?:thanks|thank you|ok|okay|and|so)\s+(?:\w+\s+)?(?:and\s+)?)?"
    r"(?:how|what|when|where|which|who|why|is|are|can|could|do|does|will|would|should)\b"
)
# "what should I do if I see a charge I don't recognise" asks; it does not report.
_HYPOTHETICAL = re.compile(
    r"\b(?:what (?:should|do|can) i do if|what happens (?:if|when)|how long (?:do|does|have|will)"
    r"|how do i|how can i|if i|in case)\b"
)
# Asking whether something needs a dispute is not yet one.
_WHETHER_TO_DISPUTE = re.compile(
    r"\b(?:do i (?:need|have) to|should i|would i have to|is it worth(?: it to)?)"
    r"(?: \w+)? (?:dispute|file a dispute|open a dispute|raise a dispute|do a chargeback)\b"
)
# A question about how something works, anywhere in the turn.
_ASKS_PROCESS = re.compile(
    r"\b(?:how long (?:do|does|have|will|is|can|until|till|before)|how (?:do|can|should) i"
    r"|where (?:do|can|should) i|who (?:do|should) i|what (?:should|do|can) i do|what happens"
    r"|is there (?:somewhere|anywhere|a way|any way|a place))\b"
)
_INCIDENT = _any(
    # "how long do I have to answer" asks; "I have a charge I don't know" reports
    r"(?<!\bdo )(?<!\bdid )i (?:think|believe|see|saw|found|noticed|have|got|need|want)",
    r"there(?:'s| is| are| was| were)", r"my (?:card|account|money|wallet|phone|purse)",
    r"someone", r"somebody", r"on my", r"from my", r"i (?:didn't|did not|never)",
    r"i've been", r"i was", r"i am being", r"i'm being", r"been (?:stolen|hacked|charged)",
    r"i'd like to", r"i would like to",
)  # fmt: skip

_WORD = re.compile(r"[a-z][a-z']*|\d+")
_LONG_FILLER = re.compile(r"^(?:u+h+|u+m+|e+r+m*|h+m+|m+h*m*|a+h+|o+h+|e+h+)$")  # "uhhh", "hmmm"


def is_agent_request(said: str) -> bool:
    """``said`` is ``normalise``d. "Can I speak to a person" yes; "in person" no."""
    asked = [m.span() for m in _AGENT.finditer(said)]
    if not asked:
        return False
    # "in person" is not a person asked for; "talk to somebody in person" still asks
    excluded = [m.span() for m in _NOT_AGENT.finditer(said)]
    return any(not any(a < y and x < b for x, y in excluded) for a, b in asked) or bool(
        re.search(r"\b(?:agent|human|operator)\b", said)
    )


_POLITE = frozenset(
    "thanks thank you so much very a lot bunch for your help today again bye cheers all the".split()
)


def is_goodbye(said: str) -> bool:
    """A goodbye ends the turn: "no that covers it take care", not "I'm done way after you
    close, is there a night drop?"."""
    found = max(_GOODBYE.finditer(said), key=lambda m: m.start(), default=None)  # the last
    if found is None:
        return False
    after = [w for w in said[found.end() :].split() if w not in _POLITE]
    return len(said.split()) <= 6 or len(after) <= 2


def is_repeat_request(said: str) -> bool:
    """ "Say that again?", also at the end of a longer turn: "sorry, the line cut out for a
    second, can you repeat that"."""
    found = _REPEAT.search(said)
    if found is None:
        return False
    return len(said.split()) <= 8 or len(said[found.end() :].split()) <= 2


def is_cancel(said: str) -> bool:
    return (bool(_CANCEL.search(said)) and len(said.split()) <= 8) or bool(
        _CANCEL_ANYWHERE.search(said)
    )


def is_greeting(said: str) -> bool:
    return bool(_GREETING.match(said))


def is_thanks(said: str) -> bool:
    return bool(_THANKS.match(said))


def yes_or_no(said: str) -> bool | None:
    """True for a yes, False for a no, None when it is neither (or both, "yes... no")."""
    words = said.split()
    if not words:
        return None
    # the answer opens the turn; a short turn may lead up to it ("oh that's fine then, yep")
    head = " ".join(words[:4] if len(words) > 8 else words)
    yes, no = bool(_YES.search(head)), bool(_NO.search(head))
    if yes and no:
        # "no that's right" / "yes no wait": whichever comes first decides
        y, n = _YES.search(head), _NO.search(head)
        assert y is not None and n is not None
        return y.start() < n.start() and not said.startswith(("no ", "nope", "not "))
    if yes:
        return True
    if no:
        return False
    return None


def is_frustrated(said: str) -> bool:
    return bool(_FRUSTRATION.search(said))


def needs_person(said: str) -> str | None:
    """``"fraud"`` or ``"dispute"`` when the caller reports one (not when they ask how one
    works: "how long does a dispute take?" is a knowledge question, and neither is "there's
    a hold on my card from the hotel, do I need to dispute that?")."""
    fraud = _FRAUD.search(said)
    dispute = _DISPUTE.search(_WHETHER_TO_DISPUTE.sub(" ", said))
    if not (fraud or dispute):
        return None
    question = bool(_QUESTION_START.match(said))
    if question and (_HYPOTHETICAL.search(said) or not _INCIDENT.search(said)):
        return None
    if _ASKS_PROCESS.search(said) and not _INCIDENT.search(said):
        # "after you send off the chargeback how long does the store have to answer it",
        # "I keep getting scam texts, where do I forward them": asks, reports nothing taken
        return None
    return "fraud" if fraud else "dispute"


def sentiment(said: str) -> Sentiment:
    if is_frustrated(said):
        return "negative"
    if _POSITIVE.search(said):
        return "positive"
    return "neutral"


def is_unintelligible(text: str) -> bool:
    """No words that say anything: empty, noise markers ("[inaudible]", "(music)"), fillers,
    or a lone letter. Whisper writes these for line noise and coughs."""
    stripped = re.sub(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*", " ", text.lower())
    words = [w for w in _WORD.findall(stripped) if w not in _FILLER and not _LONG_FILLER.match(w)]
    if not words:
        return True
    return len(words) == 1 and len(words[0]) == 1 and not words[0].isdigit() and words[0] != "i"


# --- phrases the dialogue manager routes on ----------------------------------------------------
# Applied to ``normalise``d text. They tell a question about a task ("how do I order
# checks?") from a request to do it ("I'd like to order checks"), and spot follow-ups.

HOW_TO = re.compile(
    r"^(?:(?:and|so|also|but|ok|okay|um|uh)\s+)*(?:how (?:do|does|can|would|should|long|much|many)"
    r"|what time (?:do|does|should|must) (?:i|you|it)|how late"
    r"|what (?:is|are|does) (?:the|a|an|your)|what's (?:the|a|your)|whats the|is there|are there"
    r"|do you|does it|(?:can you |could you )?tell me (?:how|what|about|more)"
    r"|(?:i have|i've got|quick) (?:a )?question|i(?:'d| would)? (?:like|want|wanted) to know"
    r"|(?:can you |could you )?explain)\b"
)
# A question somewhere in the turn ("I got locked out, how long until I can try again").
ASKS_ABOUT = re.compile(
    r"\b(?:how (?:do|does|can|long|much|many|often|soon)|what (?:do|does|should|is|are|happens)"
    r"|what's|whats|when's|where's|how's|when (?:do|does|is|will|can)|where (?:do|does|is|can)"
    r"|which|why"
    r"|is (?:it|there|that)|are (?:there|you)|do (?:i|you|they)|does (?:it|that|the)"
    r"|can i|could i|should i|will (?:it|i|they)|am i)\b"
)
# What callers put around a request that says nothing about what they want: an aside
# before it, their name, the digits they expect to be asked for.
_ASIDE = re.compile(
    r"\b(?:but |and |oh |so |also |okay |ok )*(?:while i'm (?:here|at it|on the (?:line|phone))"
    r"|while i have you|before i forget|one more thing)\b[\s,]*",
    re.IGNORECASE,
)
_INTRODUCTION = re.compile(
    r"\b(?:this is|my name is|my name's|it's)\s+[a-z'\-]+(?:\s+[a-z'\-]+)?(?:\s+(?:here|calling))?",
    re.IGNORECASE,
)
_DIGITS_SAID = re.compile(
    r"\b(?:and )?(?:(?:the|my) )?(?:last (?:four|4)|pin)(?: digits)?"
    r"(?: (?:of|on|for) (?:my|the) [a-z]+(?: (?:card|account))?)?(?: (?:is|are|number))*"
    r"(?: (?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\d+)){1,4}\b",
    re.IGNORECASE,
)
# Spoken contractions Whisper writes as said, in the words the intent model learnt from.
_SPOKEN = {
    "gotta": "need to", "wanna": "want to", "gonna": "going to", "hafta": "have to",
    "i've got to": "i need to", "i have got to": "i need to", "i got to": "i need to",
}  # fmt: skip
_SPOKEN_WORD = re.compile(r"\b(?:" + "|".join(_SPOKEN) + r")\b", re.IGNORECASE)
# A task the caller drops while naming the one they want: "forget the balance, my card's gone"
_DROPPED = re.compile(
    r"\b(?:forget|never ?mind|scratch|skip)(?: about)? (?:the|my) [a-z]+(?: [a-z]+)?\b"
    r"(?= (?:i|the|my|what|it|actually|oh|okay|so|and)\b)",
    re.IGNORECASE,
)
_MISSING_TO = re.compile(
    r"\b(want|need|like)\s+(pay|make|send|transfer|move|check|know|order|book|reset|change"
    r"|open|close|get|see|block|cancel|replace)\b",
    re.IGNORECASE,
)
_REAL_REASON = re.compile(
    r"\b(?:the real reason i'm calling|what i (?:really|actually) (?:need|want|called about))\b",
    re.IGNORECASE,
)


def drops_task(said: str) -> bool:
    """Whether the caller drops what they asked for to ask for something else ("forget the
    balance, ...", "never mind the checkbook, the real reason I'm calling is ...")."""
    return bool(_DROPPED.search(said) or _REAL_REASON.search(said))


def the_request(text: str, name: str | None) -> str:
    """``text`` without what says nothing about the task: an aside ("but while I'm here"),
    the caller's own ``name`` introduced, verification digits said unasked and a task they
    drop ("forget the balance"); "gotta" and "wanna" as "need to" and "want to". For the
    intent model, which reads "this is John Smith, the last four are 1100" as noise."""
    if name:
        text = _INTRODUCTION.sub(" ", text, count=1)
    text = _DIGITS_SAID.sub(" ", _ASIDE.sub(" ", _DROPPED.sub(" ", text)))
    text = _SPOKEN_WORD.sub(lambda m: _SPOKEN[m.group(0).lower()], text)
    text = _MISSING_TO.sub(r"\1 to \2", text)  # "I want pay the internet bill"
    return " ".join(text.split()) or text


# Where one request ends and a second begins: "pay the water bill, and then tell me what's
# left", "I need new checks, and I also need to reset my password".
_THEN = re.compile(
    r"(?:,\s*|\s+)(?:and\s+)?then\s+(?:can you\s+|could you\s+|please\s+)?"
    r"|,?\s+and\s+(?:i\s+)?also\s+(?:need\s+to\s+|want\s+to\s+|would like to\s+)?",
    re.IGNORECASE,
)


def two_requests(text: str) -> tuple[str, str] | None:
    """The first request and the second when ``text`` asks for one and then another; None
    when it does not split into two of at least three words each."""
    found = _THEN.search(text)
    if found is None:
        return None
    first, second = text[: found.start()].strip(" ,."), text[found.end() :].strip()
    if len(first.split()) < 3 or len(second.split()) < 3:
        return None
    return first, second


# A day on its own, after an answer about one ("saturday?", "and on sundays"): a follow-up.
BARE_DAY = re.compile(
    r"^(?:and |or |what about |how about )?(?:on |at )?(?:the )?"
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|today|tomorrow)s?$"
)
# A question later in the turn, with a word before its verb ("where exactly is the branch").
WH_QUESTION = re.compile(
    r"\b(?:how|what|when|where|which|who|why)(?: \w+)? (?:is|are|do|does|can|could|will|would)\b"
)
PAYS_SOMEONE = re.compile(r"\bpay(?:ing)? (?!(?:my|the|your) (?:own|other) )(?!(?:into|to) )\w")
THERE = re.compile(r"\b(?:there|that branch|that one|the same branch)\b")
# The caller has the problem the task solves ("I lost my card, what should I do?").
HAS_NEED = re.compile(
    r"\bi(?:'ve| have)? (?:lost|need|want|have to|broke|misplaced|dropped)\b"
    r"|\bmy \w+(?: \w+)? (?:was|is|got|has been) (?:lost|stolen|broken|damaged|snapped)\b"
)
# Alerts are a question about a service, not the balance or payment they mention.
ALERTS = re.compile(
    r"\b(?:text|email|e mail|notify|alert|message|warn) me (?:when|if)\b|\balerts?\b"
    r"|\bnotifications?\b"
)
# The caller's own money: what the balance task answers.
OWN_MONEY = re.compile(
    r"\b(?:balances?|how much (?:money )?(?:do i|have i|i have|is (?:in|on|left))|in my|on my"
    r"|my (?:checking|savings|account|credit card)|do i owe|i owe"
    r"|(?:what's|what is|left) in (?:the )?(?:checking|savings))\b"
)
# Asking for the task to be done, not about it.
ASKS_TO_DO = re.compile(
    r"\b(?:i want to|i'd like to|i would like to|i need to|please|help me|can you|could you"
    r"|would you|i want you to|let's|go ahead"
    r"|(?:can|could|may) i (?:please )?(?:make|book|schedule|set up|transfer|move|send|order"
    r"|reorder|re order|reset|replace|get (?:a new|another|more|some more)|block|cancel|check my"
    r"|pay (?:my|the|a|an|off|\d)))\b"
    # "can I get it reset", "I need my card replaced"
    r"|\b(?:get|have|need) (?:it|this|that|them|my \w+(?: \w+)?) (?:reset|replaced|changed"
    r"|unlocked|sent|blocked|cancell?ed)\b"
)
# "yeah, actually, one more thing": there is something else, not yet what it is
ONE_MORE = re.compile(
    r"^(?:(?:yes|yeah|yep|um|uh|oh|well|actually|so|ok|okay|there is|there's)\s+)*"
    r"(?:one more thing|one more question|another question|another thing|something else"
    r"|i have another question|i've got another question|one other thing|just one more)$"
)
FOLLOW_UP = re.compile(r"^(?:and|so|also|what about|how about|and what about)\b")
# Asking about something ("what's your SWIFT code") rather than asking for it to be done
# ("can you send a hundred dollars to savings").
_LEAD = r"^(?:(?:and|so|also|but|oh|ok|okay|um|uh|actually|well|sorry|wait|no)\s+)*"
KB_QUESTION = re.compile(
    _LEAD + r"(?:how|how's|what|what's|whats|when|when's|"
    r"where|where's|which|who|why|is|are|do|does|should)\b"
)
QUESTION = re.compile(
    _LEAD + r"(?:how|what|what's|when|where|which|who|"
    r"why|is|are|can|could|do|does|will|would|should)\b"
)


__all__ = [
    "ALERTS",
    "ASKS_ABOUT",
    "ASKS_TO_DO",
    "FOLLOW_UP",
    "HAS_NEED",
    "HOW_TO",
    "KB_QUESTION",
    "OWN_MONEY",
    "PAYS_SOMEONE",
    "QUESTION",
    "THERE",
    "Sentiment",
    "is_agent_request",
    "is_cancel",
    "is_frustrated",
    "is_goodbye",
    "is_greeting",
    "is_repeat_request",
    "is_thanks",
    "is_unintelligible",
    "needs_person",
    "normalise",
    "sentiment",
    "yes_or_no",
]
