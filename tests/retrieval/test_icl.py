"""In-context predictions with the real SmolLM2-135M-Instruct: prompts, selection, extraction."""

from __future__ import annotations

import numpy as np
import pytest

from molbridge.retrieval.baselines import Retrieved, retrieve
from molbridge.retrieval.icl import IclSettings, IclSettingsError, icl_predictions, icl_prompts, select_examples
from molbridge.tasks import TASKS
from tests.conftest import chebi_record as rec

MOL2TEXT, TEXT2MOL = TASKS.get("mol2text"), TASKS.get("text2mol")


def build_prompts(task, pool, test, found, settings, tokenizer):
    prompts, kept, _ = icl_prompts(task, pool, test, found, settings, tokenizer)
    return prompts, kept


POOL = [rec("1", "CCO", "The molecule is ethanol, a primary alcohol."),
        rec("2", "CCCO", "The molecule is propan-1-ol, a primary alcohol."),
        rec("3", "CC(=O)O", "The molecule is acetic acid, a simple carboxylic acid."),
        rec("4", "CCC(=O)O", "The molecule is propanoic acid, a short-chain carboxylic acid.")]
TEST = [rec("t1", "CCCCO", "The molecule is butan-1-ol, a primary alcohol."),
        rec("t2", "CCCC(=O)O", "The molecule is butanoic acid, a short-chain carboxylic acid.")]


@pytest.mark.parametrize("task, reply, answer", [
    # text answers keep every line (in-context generation stops at the first newline before extraction)
    ("mol2text", " Caption: The molecule is an alcohol.\nMore text", "The molecule is an alcohol. More text"),
    ("mol2text", "\n\nThe molecule is an acid.", "The molecule is an acid."),
    ("mol2text", "   ", ""),
    ("text2mol", "Molecule: CCO is ethanol", "CCO"),
    ("text2mol", "`CC(=O)O`.", "CC(=O)O"),
    ("text2mol", "CCO.", "CCO"),
    ("text2mol", "", ""),
])
def test_extract_answer(task, reply, answer):
    assert TASKS.get(task).answer.extract(reply) == answer


def test_mmr_selection_uses_molecule_similarity():
    # candidates: ethanol, propanol (near-duplicate of ethanol), acetic acid
    settings = IclSettings(k=2, selector="mmr", lam=0.3)
    chosen = select_examples(MOL2TEXT, POOL, [0, 1, 2], [0.5, 0.49, 0.2], settings, np.random.default_rng(0))
    assert chosen[0] == 0 and len(chosen) == 2
    assert select_examples(MOL2TEXT, POOL, [0, 1, 2], [0.5, 0.49, 0.2], IclSettings(k=2),
                           np.random.default_rng(0)) == [0, 1]


@pytest.mark.parametrize("bad", [{"k": -1}, {"selector": "best"}, {"style": "poem"}, {"batch_size": 0}])
def test_bad_settings(bad):
    with pytest.raises(IclSettingsError):
        IclSettings(**bad).check()


@pytest.fixture(scope="module")
def llm():
    from molbridge.models.causal_lm import load_causal_lm

    return load_causal_lm()


def test_prompts_hold_the_nearest_examples_most_similar_last(llm):
    _, tokenizer = llm
    found = retrieve(MOL2TEXT, "morgan", POOL, TEST, 2)
    prompts, kept = build_prompts(MOL2TEXT, POOL, TEST, found, IclSettings(k=2), tokenizer)
    assert kept == [2, 2]
    assert prompts[0].startswith("<|im_start|>user\nGenerate a caption for the molecule: ")
    assert prompts[0].index("ethanol") < prompts[0].index("propan-1-ol")  # propanol is nearer butanol: last
    assert prompts[1].rstrip().endswith("generate a caption for the molecule: CCCC(=O)O.<|im_end|>\n"
                                        "<|im_start|>assistant")


def test_budget_keeps_fewer_examples(llm):
    _, tokenizer = llm
    from molbridge.models.causal_lm import count_tokens

    found = retrieve(MOL2TEXT, "morgan", POOL, TEST, 2)
    full, kept = build_prompts(MOL2TEXT, POOL, TEST, found, IclSettings(k=2), tokenizer)
    assert kept == [2, 2]
    budget = count_tokens(tokenizer, full[0]) - 1 + 16  # one token short of the two-example prompt
    short, kept = build_prompts(MOL2TEXT, POOL, TEST, found, IclSettings(k=2, max_prompt_tokens=budget,
                                                                          max_new_tokens=16), tokenizer)
    assert kept[0] == 1 and count_tokens(tokenizer, short[0]) <= budget - 16


def test_icl_predictions_answer_every_record(llm):
    model, tokenizer = llm
    found = retrieve(TEXT2MOL, "bm25", POOL, TEST, 2)
    rows, _issues = icl_predictions(TEXT2MOL, POOL, TEST, found, model, tokenizer,
                                   IclSettings(k=2, style="completion", max_new_tokens=24, batch_size=2))
    assert [r[:2] for r in rows] == [(t.modalities.caption, t.modalities.smiles) for t in TEST]
    assert all(isinstance(r[2], str) and " " not in r[2] for r in rows)
    # completion style with two alcohol/acid examples: the model continues with a SMILES-like string
    assert any(set(r[2]) & set("CO()=") for r in rows), rows


def test_a_query_without_neighbours_still_gets_a_prompt(llm):
    _, tokenizer = llm
    empty = Retrieved(np.full((1, 2), -1), np.full((1, 2), np.nan))
    prompts, kept = build_prompts(MOL2TEXT, POOL, TEST[:1], empty, IclSettings(k=2), tokenizer)
    assert kept == [0] and "CCCCO" in prompts[0]
