"""Follow-up questions: earlier turns in, a question that stands alone out.

"And how many warships?" means nothing to a search engine; the condensing step
rewrites it from the conversation ("How many warships did Russia send?") before
retrieval. Only the last few turns are used, to keep the extra prompt short.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Union

from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate

from index.text import content_words
from rag.draft import strip_markers
from rag.errors import InputError

Turn = Union[tuple[str, str], Mapping[str, str], BaseMessage]
History = Sequence[Turn]

MAX_TURNS = 6
MAX_TURN_CHARS = 600

# Worked examples on another topic: the model follows them far better than a bare
# instruction (with none it returned "And how many warships?" unchanged).
CONDENSE_SYSTEM = """You rewrite a follow-up question so that it can be understood without \
the conversation before it. Replace pronouns and references ("it", "they", "he", "that", \
"there", "and ...?") with the people, things and facts they refer to in the conversation, \
and keep the topic of the conversation in the question. Reply with the rewritten question \
only. Do not answer it.

Example 1
Conversation:
User: When did the Golden Gate Bridge open?
Assistant: It opened in 1937.
Follow-up: And how long is it?
Rewritten: How long is the Golden Gate Bridge?

Example 2
Conversation:
User: How many people live in Lyon?
Assistant: About 520,000 people live in Lyon.
Follow-up: Who said that?
Rewritten: Who said that about 520,000 people live in Lyon?

Example 3
Conversation:
User: What did the mayor build in Lyon?
Assistant: The mayor built a new tram line.
Follow-up: And how many bridges?
Rewritten: How many bridges did the mayor build in Lyon?"""

_ROLES = {"user": "user", "human": "user", "assistant": "assistant", "ai": "assistant",
          "bot": "assistant"}


_REFERRING = re.compile(
    r"^\s*(?:and|but|so|also|then|what about|how about|why|why not|who else|what else)\b"
    r"|\b(?:it|its|he|him|his|she|her|hers|they|them|their|theirs|this|that|these|those|"
    r"there|then|same|such|former|latter|also|too|else|other|one)\b",
    re.IGNORECASE,
)


def needs_context(question: str) -> bool:
    """Whether a question likely leans on the conversation ("And how many warships?",
    "Who said that?"); a question that stands alone is searched as it is, which saves
    a model call."""
    return bool(_REFERRING.search(question)) or len(content_words(question)) <= 1


def normalise_history(history: History | None) -> list[tuple[str, str]]:
    """(role, text) pairs with role "user" or "assistant", the last `MAX_TURNS` only."""
    turns: list[tuple[str, str]] = []
    for turn in history or []:
        if isinstance(turn, BaseMessage):
            role, text = turn.type, turn.content
        elif isinstance(turn, Mapping):
            role, text = turn.get("role", ""), turn.get("content", "")
        elif isinstance(turn, (tuple, list)) and len(turn) == 2:
            role, text = turn
        else:
            raise InputError("Each history turn must be (role, text) or {'role', 'content'}.")
        role = _ROLES.get(str(role).lower())
        if role is None:
            raise InputError("History roles must be 'user' or 'assistant'.")
        if isinstance(text, list):  # multimodal content parts: keep the text ones
            text = " ".join(p.get("text", "") if isinstance(p, Mapping) else str(p) for p in text)
        text = " ".join(strip_markers(str(text or ""))[0].split())
        if text:
            turns.append((role, text[:MAX_TURN_CHARS]))
    return turns[-MAX_TURNS:]


def condense_prompt(turns: Sequence[tuple[str, str]]) -> ChatPromptTemplate:
    """The prompt that asks for a standalone version of `{question}`."""
    lines = "\n".join(f"{'User' if role == 'user' else 'Assistant'}: {text}"
                      for role, text in turns)
    conversation = lines.replace("{", "{{").replace("}", "}}")
    return ChatPromptTemplate.from_messages([
        ("system", CONDENSE_SYSTEM),
        ("human", f"Conversation:\n{conversation}\nFollow-up: {{question}}\nRewritten:"),
    ])
