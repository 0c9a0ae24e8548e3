"""In-context prompts in a task's template (ICMA's wording), fitted to a token budget, optionally chat-wrapped.

Each task prompted with retrieved examples declares its `Template` (`molbridge.tasks`). ICMA writes
each example as "Generate a caption for the molecule: {SMILES}\\nCaption: {caption}" (blank line
between examples), most similar example last, then asks "Based on the above examples,
analyse the similarities and differences between the examples and finally generate a caption for
the molecule: {SMILES}." (../shared/FORMATS.md). Caption → molecule mirrors it with "Generate a
molecule for the caption: ...\\nMolecule: ...".

Two styles: "chat" puts that text in one user turn of the model's chat template (a bare user
turn, see `models.causal_lm.chat_prompt`); "completion" ends with the query's example line and an
open "Caption:" / "Molecule:" so a base model continues the pattern. When the prompt is over the
budget, the least similar examples are dropped first; if the query alone does not fit, that is a
`PromptBudgetError` naming the record, never a silently cut molecule: callers answer such a record
with nothing, scored as invalid and named in their issues (the one over-budget policy).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from molbridge.errors import MolbridgeError
from molbridge.retrieval.rerank import sequence_reversal
from molbridge.tasks import Template

STYLES = ("chat", "completion")


class PromptBudgetError(MolbridgeError, ValueError):
    """The query alone does not fit the token budget."""


@dataclass(frozen=True)
class Prompt:
    """The text to feed the model, how many examples survived the budget, and its token count."""

    text: str
    n_examples: int
    n_tokens: int | None


def build_prompt(template: Template, source: str, examples: Sequence[tuple[str, str]], *, style: str = "chat",
                 most_similar_last: bool = True, max_tokens: int | None = None,
                 count_tokens: Callable[[str], int] | None = None,
                 wrap: Callable[[str], str] | None = None, record: str = "query") -> Prompt:
    """A prompt for `source` with `examples` given best first as `(source, target)` pairs.

    `wrap` turns the user text into the model's input for style "chat" (e.g. a chat template);
    `count_tokens` and `max_tokens` fit the whole wrapped prompt to the budget. `record` names the
    query in errors.
    """
    if style not in STYLES:
        raise PromptBudgetError(f"unknown prompt style {style!r}; expected one of {', '.join(STYLES)}")
    if max_tokens is not None and count_tokens is None:
        raise PromptBudgetError("a token budget needs a token counter (count_tokens)")
    kept = list(examples)
    while True:
        text = _render(template, source, kept, style, most_similar_last)
        if style == "chat" and wrap is not None:
            text = wrap(text)
        n_tokens = count_tokens(text) if count_tokens is not None else None
        if max_tokens is None or n_tokens is None or n_tokens <= max_tokens:  # no counter: no budget (refused above)
            return Prompt(text, len(kept), n_tokens)
        if not kept:
            raise PromptBudgetError(f"{record}: the prompt without examples has {n_tokens} tokens, "
                                    f"over the budget of {max_tokens}")
        kept.pop()  # the least similar example goes first


def _render(template: Template, source: str, examples: list[tuple[str, str]], style: str,
            most_similar_last: bool) -> str:
    ordered = sequence_reversal(examples) if most_similar_last else examples
    blocks = [template.example(s, t) for s, t in ordered]
    blocks.append(template.final.format(source=source) if style == "chat" else template.open_example(source))
    return "\n\n".join(blocks)
