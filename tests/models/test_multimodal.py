"""Soft tokens in a causal LM: splicing, placeholder checks, left-padded batched generation."""

from __future__ import annotations

import pytest
import torch

from molbridge.chem.conformer_tokens import conformer_tokens
from molbridge.models.causal_lm import load_causal_lm
from molbridge.models.encoders import ENCODERS
from molbridge.models.encoders.unimol import UniMolConfig, UniMolEncoder
from molbridge.models.multimodal import MultimodalLM, PlaceholderError, expand_placeholders
from molbridge.models.projectors import LinearProjector, QFormerProjector, QFormerSettings
from molbridge.records import Conformer
from tests.models.geometry import ETHANOL, PHENOL


@pytest.fixture
def assembly(tiny_llama, one_torch_thread):
    def build(projector: str = "qformer") -> MultimodalLM:
        torch.manual_seed(0)
        llm, tokenizer = load_causal_lm(str(tiny_llama))
        encoder = UniMolEncoder(UniMolConfig(layers=1, embed_dim=16, ffn_dim=32, heads=2, kernels=8)).eval()
        width = llm.get_input_embeddings().embedding_dim
        proj = (QFormerProjector(16, width, QFormerSettings(queries=3, hidden_size=16, layers=2, heads=2,
                                                             intermediate_size=32, vocab_size=50))
                if projector == "qformer" else LinearProjector(16, width))
        return MultimodalLM(llm, tokenizer, encoder, proj.eval(), ENCODERS["unimol"])
    return build


def items():
    return [conformer_tokens(Conformer(atoms=a, coords=c), name) for name, (a, c) in
            (("ethanol", ETHANOL), ("phenol", PHENOL))]


def test_placeholder_is_one_token_and_expands_to_the_query_count(assembly):
    model = assembly()
    ids = model.prompt_ids("Input molecule: <mol>.\nResponse: ", items()[0], "e1")
    assert ids.count(model.placeholder_id) == 3
    written_out = model.prompt_ids("Input molecule: <mol><mol><mol>.\nResponse: ", items()[0], "e1")
    assert written_out == ids


def test_a_wrong_placeholder_count_names_the_example(assembly):
    model = assembly()
    with pytest.raises(PlaceholderError, match="'rec-7'.*2 placeholders.*3 soft tokens"):
        model.prompt_ids("<mol> and <mol>", items()[0], "rec-7")
    with pytest.raises(PlaceholderError, match="0 placeholders"):
        expand_placeholders([1, 2, 3], 99, 4, "x")


def test_splicing_puts_each_rows_soft_tokens_at_its_placeholders_and_nothing_else_changes(assembly):
    model = assembly("linear")  # one soft token per encoder position: rows differ in count
    mols = items()
    prompts = ["A <mol> B", "Longer text then <mol> end"]
    ids = [model.prompt_ids(p, m, str(i)) for i, (p, m) in enumerate(zip(prompts, mols))]
    batch = model.tokenizer.pad({"input_ids": ids}, padding_side="left", return_tensors="pt")
    encoder_batch = ENCODERS["unimol"].collate(mols)
    embeds = model.inputs_embeds(batch["input_ids"], encoder_batch)
    soft, padding = model.soft_tokens(encoder_batch)
    plain = model.llm.get_input_embeddings()(batch["input_ids"])
    for row, mol in enumerate(mols):
        where = batch["input_ids"][row] == model.placeholder_id
        assert int(where.sum()) == len(mol.tokens)
        torch.testing.assert_close(embeds[row][where], soft[row][~padding[row]])
        torch.testing.assert_close(embeds[row][~where], plain[row][~where])


def test_soft_tokens_are_trainable_through_the_splice(assembly):
    model = assembly()
    encoder_batch = ENCODERS["unimol"].collate(items()[:1])
    ids = torch.tensor([model.prompt_ids("x <mol> y", items()[0], "0")])
    model.inputs_embeds(ids, encoder_batch).sum().backward()
    assert model.projector.query_tokens.grad is not None and model.projector.query_tokens.grad.abs().sum() > 0


def test_batched_generation_equals_one_prompt_at_a_time(assembly):
    model = assembly()
    prompts = ["Describe <mol>:", "Here is a much longer prompt about a molecule <mol>, please describe it:"]
    mols = items()
    together = model.generate(prompts, mols, ["a", "b"], max_new_tokens=6, batch_size=2)
    alone = [model.generate([p], [m], ["x"], max_new_tokens=6, batch_size=1)[0] for p, m in zip(prompts, mols)]
    assert together == alone
    assert all(together)


def test_generation_rejects_bad_arguments(assembly):
    model = assembly()
    with pytest.raises(ValueError, match="max_new_tokens"):
        model.generate(["<mol>"], items()[:1], ["a"], max_new_tokens=0)


@pytest.mark.parametrize("method", ["lora", "full"])
def test_save_and_load_round_trip_the_whole_assembly(tiny_llama, tmp_path, one_torch_thread, method):
    from peft import LoraConfig, get_peft_model

    from molbridge.models.multimodal_io import AssemblySpec, build_multimodal, load_multimodal, save_multimodal

    spec = AssemblySpec(llm=str(tiny_llama), encoder_settings={"layers": 1, "embed_dim": 16, "ffn_dim": 32,
                                                               "heads": 2, "kernels": 8},
                        projector="qformer", projector_settings={"queries": 2, "hidden_size": 16, "layers": 2,
                                                                 "heads": 2, "intermediate_size": 32,
                                                                 "vocab_size": 40},
                        llm_method=method)
    torch.manual_seed(1)
    model = build_multimodal(spec)
    if method == "lora":
        model.llm = get_peft_model(model.llm, LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"],
                                                         init_lora_weights=False))
    model.eval()
    mols = items()
    prompts = ["Describe <mol>:", "What is <mol>?"]
    before = model.generate(prompts, mols, ["a", "b"], max_new_tokens=5)
    ids = torch.tensor([model.prompt_ids(prompts[0], mols[0], "a")])
    with torch.no_grad():
        logits = model.llm(inputs_embeds=model.inputs_embeds(ids, ENCODERS["unimol"].collate(mols[:1]))).logits
    save_multimodal(model, spec, tmp_path / "saved", {"steps": 3})
    assert {p.name for p in (tmp_path / "saved").iterdir()} == {"multimodal.json", "encoder.safetensors",
                                                                "projector.safetensors", "tokenizer", "llm"}
    loaded = load_multimodal(tmp_path / "saved")
    assert loaded.generate(prompts, mols, ["a", "b"], max_new_tokens=5) == before
    with torch.no_grad():
        again = loaded.llm(inputs_embeds=loaded.inputs_embeds(ids, ENCODERS["unimol"].collate(mols[:1]))).logits
    torch.testing.assert_close(again, logits, atol=1e-5, rtol=1e-5)


def test_loading_something_else_says_what_is_missing(tmp_path):
    from molbridge.errors import MissingResourceError
    from molbridge.models.multimodal_io import load_multimodal

    with pytest.raises(MissingResourceError, match="not a saved multimodal model"):
        load_multimodal(tmp_path)
