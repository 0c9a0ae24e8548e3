"""Optional paraphrase step: a local chat model rewrites each hand-written phrasing, checked before it is kept.

The model (SmolLM2-135M-Instruct by default, through `molbridge data paraphrase`) sees one
phrasing at a time after two worked examples, and is asked to keep every `{placeholder}`. A
rewrite is kept only if it is one line of 4–40 words with exactly its source's placeholders, no
echo of the prompt and no invented numbers, opens and ends like a question or a request, and is
new (case-insensitively) to its list; everything else is counted as rejected by reason. A
135 M-parameter model gets only a fraction through: the checks, not the model, decide quality.
The output is a phrasing file of the same shape with the kept rewrites appended and listed
under `"generated"`, so it is always visible which phrasings a model wrote; a build uses it
with `phrasings_dir:` in its config.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from molbridge.atomic import write_json
from molbridge.tasks.phrasing import load_phrasings

_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
# Two worked examples, continued as plain text: a 135 M chat model asked in a chat turn answers
# the instruction instead of rewriting it, while it continues a pattern well.
PROMPT = ("Rewrite each instruction in other words, keeping the words in curly braces.\n\n"
          "Instruction: What is the {{property}} of this molecule?\n"
          "Rewrite: Could you tell me the {{property}} of this molecule?\n\n"
          "Instruction: Describe the following compound.\n"
          "Rewrite: Please give a description of this compound.\n\n"
          "Instruction: {text}\nRewrite:")
_QUESTION_STARTS = ("what", "which", "how", "could", "can", "would", "will", "is", "are", "do", "does", "may", "who")
_ECHO = ("rewrite", "instruction", "curly", "braces")


class ChatModel(Protocol):
    """Anything that continues a batch of prompts, one reply each (see `models.causal_lm.reply_function`)."""

    def __call__(self, messages: Sequence[str], /) -> list[str]: ...


def acceptable(source: str, candidate: str, existing: set[str], request_starts: set[str]) -> str | None:
    """Why `candidate` is not a usable rewrite of `source` (None: it is).

    A question must open like one (What, Could, ...); a sentence ending in "." must open with a
    word that opens one of the family's hand-written requests (Please, Give, Predict, ...), which
    rejects statements such as "The {property} of this molecule is 5." that a small model writes.
    """
    text = candidate.strip().strip('"')
    words = text.split()
    if "\n" in text:
        return "more than one line"
    if not 4 <= len(words) <= 40:
        return "length"
    if sorted(_PLACEHOLDER.findall(text)) != sorted(_PLACEHOLDER.findall(source)):
        return "placeholders changed"
    if any(word in text.lower() for word in _ECHO) or re.search(r"\d", _PLACEHOLDER.sub("", text)):
        return "echoes the prompt or adds numbers"
    first = words[0].lower().strip(",")
    if not ((text.endswith("?") and first in _QUESTION_STARTS) or (text.endswith(".") and first in request_starts)):
        return "not a question or request"
    if text.lower() in existing:
        return "duplicate"
    return None


def paraphrase_family(family: str, chat: ChatModel, *, rounds: int = 1) -> tuple[dict, dict[str, int]]:
    """The family's phrasings extended with accepted rewrites, and rejected rewrites counted by reason."""
    data = json.loads(json.dumps(load_phrasings(family)))  # a deep copy of the cached file
    generated: dict[str, list[str]] = {}
    rejected: dict[str, int] = {}
    for key in [k for k, v in data.items() if "question" in k and isinstance(v, list)]:
        sources = list(data[key])
        existing = {s.lower() for s in sources}
        request_starts = {s.split()[0].lower().strip(",") for s in sources if s.endswith(".")}
        for _ in range(rounds):
            replies = chat([PROMPT.format(text=s) for s in sources])
            for source, reply in zip(sources, replies):
                reason = acceptable(source, reply, existing, request_starts)
                if reason:
                    rejected[reason] = rejected.get(reason, 0) + 1
                    continue
                text = reply.strip().strip('"')
                existing.add(text.lower())
                generated.setdefault(key, []).append(text)
        data[key] = sources + generated.get(key, [])
    data["generated"] = generated
    return data, rejected


def write_family(directory: str | Path, family: str, data: dict) -> Path:
    return write_json(Path(directory) / f"{family}.json", data)
