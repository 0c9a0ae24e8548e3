"""ICMA prompts: exact wording, example order, budget fitting and chat wrapping."""

from __future__ import annotations

import pytest

from molbridge.retrieval.prompts import PromptBudgetError, build_prompt
from molbridge.tasks import TASKS

MOL2TEXT, TEXT2MOL = TASKS.get("mol2text").template, TASKS.get("text2mol").template

EXAMPLES = [("CCO", "Ethanol is a primary alcohol."), ("CCCO", "Propan-1-ol is a primary alcohol."),
            ("CC(C)O", "Propan-2-ol is a secondary alcohol.")]


def words(text: str) -> int:
    return len(text.split())


def test_icma_mol2text_wording_and_most_similar_last():
    prompt = build_prompt(MOL2TEXT, "CCCCO", EXAMPLES[:2])
    assert prompt.text == (
        "Generate a caption for the molecule: CCCO\nCaption: Propan-1-ol is a primary alcohol.\n\n"
        "Generate a caption for the molecule: CCO\nCaption: Ethanol is a primary alcohol.\n\n"
        "Based on the above examples, analyse the similarities and differences between the examples "
        "and finally generate a caption for the molecule: CCCCO.")
    assert prompt.n_examples == 2 and prompt.n_tokens is None


def test_text2mol_completion_style_ends_open():
    prompt = build_prompt(TEXT2MOL, "A primary alcohol.", [("An alcohol.", "CCO")], style="completion",
                          most_similar_last=False)
    assert prompt.text == ("Generate a molecule for the caption: An alcohol.\nMolecule: CCO\n\n"
                           "Generate a molecule for the caption: A primary alcohol.\nMolecule:")


def test_budget_drops_least_similar_examples_first():
    full = build_prompt(MOL2TEXT, "CCCCO", EXAMPLES, count_tokens=words)
    fitted = build_prompt(MOL2TEXT, "CCCCO", EXAMPLES, count_tokens=words, max_tokens=full.n_tokens - 1)
    assert fitted.n_examples == 2 and fitted.n_tokens <= full.n_tokens - 1
    assert "Propan-2-ol" not in fitted.text  # the third (least similar) went
    assert fitted.text.index("Propan-1-ol") < fitted.text.index("Ethanol")


def test_budget_counts_the_chat_wrapper():
    def wrap(text: str) -> str:
        return f"<user> {text} <assistant>"

    plain = build_prompt(MOL2TEXT, "CCCCO", EXAMPLES[:1], count_tokens=words)
    wrapped = build_prompt(MOL2TEXT, "CCCCO", EXAMPLES[:1], count_tokens=words, wrap=wrap)
    assert wrapped.text.startswith("<user> Generate") and wrapped.n_tokens == plain.n_tokens + 2
    fitted = build_prompt(MOL2TEXT, "CCCCO", EXAMPLES[:1], count_tokens=words, wrap=wrap,
                          max_tokens=plain.n_tokens)
    assert fitted.n_examples == 0


def test_query_over_budget_is_an_error_naming_the_record():
    with pytest.raises(PromptBudgetError, match="CID 42"):
        build_prompt(MOL2TEXT, "C" * 10, EXAMPLES, count_tokens=len, max_tokens=5, record="CID 42")


@pytest.mark.parametrize("kwargs", [{"style": "nope"}, {"max_tokens": 10}])
def test_bad_arguments(kwargs):
    args = {"template": MOL2TEXT, "source": "CCO", "examples": EXAMPLES} | kwargs
    with pytest.raises(PromptBudgetError):
        build_prompt(**args)
