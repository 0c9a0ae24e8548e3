"""Every endpoint through FastAPI's test client, with the bad input a public server meets: invalid molecules, empty,
malformed and oversize bodies, a wrong or missing token, unknown runs, indexes and jobs, broken prediction files."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from molbridge.serve.app import create_app
from molbridge.serve.guards import ServeSettingsError, check_bind
from molbridge.serve.state import ServeSettings, load_state

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "text2mol.tsv"
TOKEN = "s3cret-token-0123456789"


def client(files: dict[str, Path] | None = None, raise_server_exceptions: bool = True, **settings) -> TestClient:
    named = {}
    if files is not None:
        named = {"runs": {"chebi": files["run"]}, "indexes": {"molecules": files["molecules"],
                                                              "captions": files["captions"]},
                 "datasets": {"tiny": files["dataset"]}}
    return TestClient(create_app(load_state(ServeSettings(**named, **settings))), base_url="http://127.0.0.1",
                      raise_server_exceptions=raise_server_exceptions)


@pytest.fixture(scope="module")
def api(served_files):
    with client(served_files) as c:
        yield c


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and "Traceback" not in body["detail"]
    return body["detail"]


def test_molecule_identifiers_from_each_notation(api) -> None:
    aspirin = {"smiles": "CC(=O)Oc1ccccc1C(=O)O", "inchikey": "BSYNRYMUTXBXSQ-UHFFFAOYSA-N", "formula": "C9H8O4"}
    for text, notation in [("OC(=O)c1ccccc1OC(C)=O", "auto"), ("2-acetyloxybenzoic acid", "name"),
                           ("InChI=1S/C9H8O4/c1-6(10)13-8-5-3-2-4-7(8)9(11)12/h2-5H,1H3,(H,11,12)", "auto")]:
        body = api.post("/v1/molecule", json={"text": text, "notation": notation}).json()
        assert {k: body[k] for k in aspirin} == aspirin, text
        assert body["svg"].startswith("<?xml") and "</svg>" in body["svg"]
        assert body["descriptors"]["heavy_atoms"] == 13
    selfies = api.post("/v1/molecule", json={"text": "[C][C][O]"}).json()
    assert (selfies["notation"], selfies["smiles"]) == ("selfies", "CCO")


def test_bad_molecules_name_the_reason(api) -> None:
    assert "unclosed ring" in error_of(api.post("/v1/molecule", json={"text": "C1CC"}), 422)
    assert "Explicit valence" in error_of(api.post("/v1/molecule", json={"text": "C(C)(C)(C)(C)C"}), 422)
    assert "OPSIN" in error_of(api.post("/v1/molecule", json={"text": "frobnicate", "notation": "name"}), 422)
    assert "InChIError" in error_of(api.post("/v1/molecule", json={"text": "InChI=1S/nonsense"}), 422)
    assert "text" in error_of(api.post("/v1/molecule", json={}), 422)
    assert "notation" in error_of(api.post("/v1/molecule", json={"text": "CCO", "notation": "smarts"}), 422)
    assert "JSON" in error_of(api.post("/v1/molecule", content=b"{not json",
                                       headers={"content-type": "application/json"}), 422)
    assert "body: Field required" in error_of(api.post("/v1/molecule", content=b"",
                                                       headers={"content-type": "application/json"}), 422)


def test_scoring_pairs_and_an_uploaded_file_give_the_engines_report(api) -> None:
    from molbridge.eval.engine import score_file

    upload = api.post("/v1/score", data={"task": "text2mol", "bootstrap": "0"},
                      files={"file": ("mine.tsv", EXAMPLE.read_bytes())})
    report = upload.json()["report"]
    expected, _ = score_file(EXAMPLE, "text2mol", bootstrap=0)
    assert {k: report[k] for k in expected.values()} == pytest.approx(expected.values())
    assert report["file"] == "mine.tsv" and report["counts"]["invalid_outputs"] == expected.counts["invalid_outputs"]

    pairs = [{"reference": "CCO", "prediction": "OCC"}, {"reference": "c1ccccc1", "prediction": None}]
    scored = api.post("/v1/score", json={"task": "text2mol", "pairs": pairs, "bootstrap": 0}).json()["report"]
    assert scored["exact_match"] == 0.5 and scored["validity"] == 0.5 and scored["n"] == 2

    text = api.post("/v1/score", json={"task": "mol2text", "convention": "whitespace", "bootstrap": 0, "pairs": [
        {"reference": "a small alcohol", "prediction": "a small alcohol"}]}).json()["report"]
    assert text["rouge1"] == pytest.approx(1.0)


def test_scoring_bad_input_is_a_named_4xx(api) -> None:
    broken = api.post("/v1/score", data={"task": "text2mol"}, files={"file": ("broken.tsv", b"one\ttwo\n1\t2\n")})
    detail = error_of(broken, 422)
    assert detail.startswith("broken.tsv") and "missing column" in detail and "/tmp" not in detail
    assert "empty" in error_of(api.post("/v1/score", data={"task": "text2mol"}, files={"file": ("e.tsv", b"")}), 422)
    assert "task" in error_of(api.post("/v1/score", files={"file": ("x.tsv", EXAMPLE.read_bytes())}), 422)
    assert "file" in error_of(api.post("/v1/score", data={"task": "text2mol"},
                                       files={"other": ("x.tsv", b"x")}), 422)
    assert "no_such_task" in error_of(api.post("/v1/score", json={"task": "no_such_task", "pairs": [
        {"reference": "C", "prediction": "C"}]}), 422)
    assert "pairs" in error_of(api.post("/v1/score", json={"task": "text2mol", "pairs": []}), 422)
    assert "convention" in error_of(api.post("/v1/score", json={"task": "text2mol", "convention": "nope", "pairs": [
        {"reference": "C", "prediction": "C"}]}), 422).lower()
    assert "multipart" in error_of(api.post("/v1/score", content=b"x", headers={"content-type": "text/plain"}), 415)


def test_fcd_scoring_is_a_job_to_poll(api) -> None:
    pairs = [{"reference": s, "prediction": s} for s in ("CCO", "c1ccccc1O", "CC(=O)O", "CCN")]
    started = api.post("/v1/score", json={"task": "text2mol", "pairs": pairs, "fcd": True, "bootstrap": 0})
    assert started.status_code == 202 and started.json()["status"] == "queued"
    job = started.json()["id"]
    deadline = time.monotonic() + 300
    while (status := api.get(f"/v1/score/jobs/{job}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert status["status"] == "done" and status["report"]["fcd"] == pytest.approx(0.0, abs=1e-3)
    assert "no scoring job" in error_of(api.get("/v1/score/jobs/unknown"), 404)


def test_similar_answers_molecules_by_tanimoto_and_captions_by_bm25(api, served_files) -> None:
    from molbridge.data.formats.chebi20_tables import records_from_chebi20

    first = records_from_chebi20(served_files["rows"])[0]
    molecules = api.post("/v1/similar", json={"index": "molecules", "query": first.modalities.smiles, "k": 3}).json()
    assert molecules["kind"] == "fingerprint" and len(molecules["neighbours"]) == 3
    assert molecules["neighbours"][0] == {"id": first.meta.source_id, "score": 1.0}
    captions = api.post("/v1/similar", json={"index": "captions", "query": first.modalities.caption, "k": 2}).json()
    assert captions["kind"] == "bm25" and captions["neighbours"][0]["id"] == first.meta.source_id
    scores = [n["score"] for n in captions["neighbours"]]
    assert scores == sorted(scores, reverse=True)
    assert "no index 'nope'" in error_of(api.post("/v1/similar", json={"index": "nope", "query": "C"}), 404)
    assert "unclosed ring" in error_of(api.post("/v1/similar", json={"index": "molecules", "query": "C1CC"}), 422)
    assert "limit" in error_of(api.post("/v1/similar", json={"index": "molecules", "query": "C", "k": 10_000}), 422)
    listed = api.get("/v1/indexes").json()
    assert {(i["name"], i["kind"], i["size"]) for i in listed} == {("molecules", "fingerprint", 24),
                                                                   ("captions", "bm25", 24)}


def test_generate_answers_as_predict_does(api, served_files) -> None:
    from molbridge.apps.predict import predict
    from molbridge.serve.runs import load_run

    inputs = ["CCO", "c1ccccc1O"]
    body = api.post("/v1/generate", json={"run": "chebi", "task": "mol2text", "inputs": inputs,
                                          "max_new_tokens": 6}).json()
    assert [a["input"] for a in body["answers"]] == inputs and body["model"]
    run = load_run("chebi", served_files["run"])
    expected = predict(run.model, run.tokenizer, run.examples("mol2text", inputs, None), max_new_tokens=6)
    assert [a["answer"] for a in body["answers"]] == [p.prediction for p in expected]

    runs = api.get("/v1/runs").json()
    assert runs[0]["name"] == "chebi" and set(runs[0]["tasks"]) == {"mol2text", "text2mol"}


def test_generate_bad_requests(api) -> None:
    assert "no run 'nope'" in error_of(api.post("/v1/generate", json={"run": "nope", "task": "mol2text",
                                                                      "inputs": ["C"]}), 404)
    assert "not trained on task 'molecule_design'" in error_of(api.post("/v1/generate", json={
        "run": "chebi", "task": "molecule_design", "inputs": ["C"]}), 422)
    assert "limit" in error_of(api.post("/v1/generate", json={"run": "chebi", "task": "mol2text",
                                                              "inputs": ["C"] * 100}), 413)
    assert "max_new_tokens" in error_of(api.post("/v1/generate", json={
        "run": "chebi", "task": "mol2text", "inputs": ["C"], "max_new_tokens": 100_000}), 422)
    assert "inputs" in error_of(api.post("/v1/generate", json={"run": "chebi", "task": "mol2text", "inputs": []}), 422)


def test_concurrent_generations_are_batched(served_files) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with client(served_files, batch_wait_s=0.5) as c:
        def ask(text: str) -> list[str]:
            return c.post("/v1/generate", json={"run": "chebi", "task": "mol2text", "inputs": [text],
                                                "max_new_tokens": 4}).json()["answers"]

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(ask, ["CCO", "CCN", "CCC", "CCCl"]))
        assert [a[0]["input"] for a in answers] == ["CCO", "CCN", "CCC", "CCCl"]
        metrics = c.get("/metrics").text
    count = float(next(line.split()[-1] for line in metrics.splitlines()
                       if line.startswith('molbridge_generation_batch_examples_count{run="chebi"}')))
    assert count < 4  # four requests in fewer batches


def test_datasets_health_metrics_page_and_openapi(api) -> None:
    assert api.get("/v1/datasets/tiny").json() == {"name": "tiny", "records": 3}
    assert "no dataset 'nope'" in error_of(api.get("/v1/datasets/nope"), 404)
    assert api.get("/v1/health").json()["runs"] == 1
    api.post("/v1/molecule", json={"text": "C1CC"})
    metrics = api.get("/metrics").text
    assert 'molbridge_requests_total{route="/v1/molecule",status="422"}' in metrics
    page = api.get("/")
    assert page.status_code == 200 and 'id="molecule-input"' in page.text
    assert api.get("/static/app.js").status_code == 200
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/v1/molecule", "/v1/score", "/v1/similar", "/v1/generate", "/v1/runs"} <= set(paths)
    assert "multipart/form-data" in paths["/v1/score"]["post"]["requestBody"]["content"]


def test_token_required_when_set_and_public_binds_refused() -> None:
    with client(token=TOKEN) as c:
        assert "bearer token" in error_of(c.post("/v1/molecule", json={"text": "C"}), 401)
        assert error_of(c.post("/v1/molecule", json={"text": "C"}, headers={"Authorization": "Bearer wrong"}), 401)
        assert error_of(c.get("/metrics"), 401)
        ok = c.post("/v1/molecule", json={"text": "C"}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert c.get("/v1/health").status_code == 200 and c.get("/").status_code == 200
    with pytest.raises(ServeSettingsError, match="token"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", TOKEN)
    check_bind("::1", None)


def test_limits_body_rate_and_cors() -> None:
    with client(max_body_bytes=2000, rate_per_minute=60, rate_burst=3) as c:
        big = json.dumps({"text": "C" * 3000})
        assert "limit" in error_of(c.post("/v1/molecule", content=big, headers={"content-type": "application/json"}),
                                   413)
        statuses = [c.post("/v1/molecule", json={"text": "CCO"}).status_code for _ in range(4)]
        assert statuses[:2] == [200, 200] and statuses[-1] == 429
        assert c.options("/v1/molecule", headers={"Origin": "https://elsewhere.example",
                                                  "Access-Control-Request-Method": "POST"}).headers.get(
            "access-control-allow-origin") is None
    with client(cors_origins=["https://lab.example"]) as c:
        allowed = c.options("/v1/molecule", headers={"Origin": "https://lab.example",
                                                     "Access-Control-Request-Method": "POST"})
        assert allowed.headers["access-control-allow-origin"] == "https://lab.example"


def test_a_streamed_body_over_the_limit_is_refused_without_content_length() -> None:
    with client(max_body_bytes=1000) as c:
        def chunks():
            for _ in range(10):
                yield b"x" * 500

        assert "limit" in error_of(c.post("/v1/score", content=chunks(), headers={"content-type": "application/json"}),
                                   413)


def test_a_run_or_index_that_cannot_load_stops_the_server_at_start(tmp_path, served_files) -> None:
    from molbridge.errors import FileFormatError, MolbridgeError
    from molbridge.train.config import TrainConfigError

    with pytest.raises(TrainConfigError, match="no config.yaml"):
        load_state(ServeSettings(runs={"x": tmp_path}))
    junk = tmp_path / "junk.idx"
    junk.write_bytes(b"not an index")
    with pytest.raises(MolbridgeError, match="truncated"):
        load_state(ServeSettings(indexes={"x": junk}))
    with pytest.raises(FileFormatError, match="card"):
        load_state(ServeSettings(datasets={"x": tmp_path}))


def test_an_internal_failure_is_a_500_without_a_trace(served_files, monkeypatch) -> None:
    from molbridge.serve import molecule

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals at /home/x")

    monkeypatch.setattr(molecule, "view", broken)
    with client(raise_server_exceptions=False) as c:
        detail = error_of(c.post("/v1/molecule", json={"text": "C"}), 500)
    assert "secret" not in detail and "log" in detail


def test_a_3d_molm_run_answers_a_smiles_through_its_conformer_encoder(tmp_path, multimodal_dataset, tiny_llama) -> None:
    import yaml

    from molbridge.train.config import load_train_config
    from molbridge.train.loop import train

    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({
        "model": str(tiny_llama), "task": "instructions", "max_steps": 1, "batch_size": 2, "save_every": 1,
        "eval_every": 0, "lora": {"r": 2, "alpha": 4, "target_modules": ["q_proj"]},
        "data": {"dataset": str(multimodal_dataset), "tasks": ["mol2text"], "eval_examples": 2},
        "multimodal": {"stage": "llm", "train_encoder": True, "encoder_settings": {
            "layers": 1, "embed_dim": 16, "ffn_dim": 32, "heads": 2, "kernels": 8}}}))
    train(load_train_config(config, out=str(tmp_path / "run")))
    with TestClient(create_app(load_state(ServeSettings(runs={"mol3d": tmp_path / "run"}))),
                    base_url="http://127.0.0.1") as c:
        listed = c.get("/v1/runs").json()[0]
        assert listed["multimodal"] == "unimol" and listed["tasks"] == ["mol2text"]
        body = c.post("/v1/generate", json={"run": "mol3d", "task": "mol2text", "inputs": ["CCO", "c1ccccc1O"],
                                            "max_new_tokens": 4}).json()
        assert [a["input"] for a in body["answers"]] == ["CCO", "c1ccccc1O"]
        assert "request:0" in error_of(c.post("/v1/generate", json={  # no molecule, so no conformer to encode
            "run": "mol3d", "task": "mol2text", "inputs": ["C1CC"], "max_new_tokens": 4}), 422)


def test_cross_site_and_rebinding_requests_are_refused(api) -> None:
    evil = {"Origin": "https://evil.example"}
    assert "cross-site" in error_of(api.post("/v1/score", data={"task": "text2mol"}, headers=evil,
                                             files={"file": ("x.tsv", EXAMPLE.read_bytes())}), 403)
    assert api.post("/v1/molecule", json={"text": "C"}, headers={"Origin": "http://127.0.0.1"}).status_code == 200
    assert "own host" in error_of(api.post("/v1/molecule", json={"text": "C"}, headers={"Host": "evil.example"}), 403)
    assert api.get("/v1/health", headers={"Host": "localhost:8000"}).status_code == 200


def test_upload_fields_and_names_are_checked(api) -> None:
    assert "bootstrap" in error_of(api.post("/v1/score", data={"task": "text2mol", "bootstrap": "99999999"},
                                            files={"file": ("x.tsv", EXAMPLE.read_bytes())}), 422)
    assert "bootstrap" in error_of(api.post("/v1/score", data={"task": "text2mol", "bootstrap": "many"},
                                            files={"file": ("x.tsv", EXAMPLE.read_bytes())}), 422)
    for name, shown in (("..", "upload"), ("../../etc/passwd", "passwd"), ("a b;$(x).tsv", "a_b___x_.tsv")):
        report = api.post("/v1/score", data={"task": "text2mol", "bootstrap": "0"},
                          files={"file": (name, EXAMPLE.read_bytes())}).json()["report"]
        assert report["file"] == shown


def test_a_report_without_valid_answers_is_json_with_nulls(api) -> None:
    pairs = [{"reference": "CCO", "prediction": None}, {"reference": "c1ccccc1", "prediction": "not a molecule"}]
    response = api.post("/v1/score", json={"task": "text2mol", "pairs": pairs})
    assert response.status_code == 200, response.text
    report = response.json()["report"]
    assert report["validity"] == 0.0 and report["counts"]["invalid_outputs"] == 2
    assert report["morgan_fts"] is None  # no valid answer: no similarity (NaN in the engine, null in JSON)


def test_scoring_jobs_are_bounded(served_files) -> None:
    pairs = [{"reference": s, "prediction": s} for s in ("CCO", "c1ccccc1O", "CC(=O)O")]
    with client(max_jobs=1) as c:
        first = c.post("/v1/score", json={"task": "text2mol", "pairs": pairs, "fcd": True, "bootstrap": 0})
        assert first.status_code == 202
        assert "scoring jobs" in error_of(c.post("/v1/score", json={
            "task": "text2mol", "pairs": pairs, "fcd": True, "bootstrap": 0}), 503)


def test_starlettes_own_errors_have_the_error_shape(api) -> None:
    assert error_of(api.get("/v1/nowhere"), 404)
    assert error_of(api.get("/v1/molecule"), 405)


def test_fingerprint_neighbours_read_any_notation(api) -> None:
    by_smiles = api.post("/v1/similar", json={"index": "molecules", "query": "OCC", "k": 3}).json()["neighbours"]
    by_inchi = api.post("/v1/similar", json={"index": "molecules", "query": "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3",
                                              "k": 3}).json()["neighbours"]
    assert by_smiles == by_inchi and len(by_smiles) == 3


def test_instruction_and_icma_runs_prompt_as_in_training(tmp_path, multimodal_dataset, tiny_llama,
                                                         served_files) -> None:
    import yaml

    from molbridge.data.formats.chebi20_tables import records_from_chebi20
    from molbridge.serve.runs import GenerateRequestError, load_run
    from molbridge.train.config import load_train_config
    from molbridge.train.loop import train

    common = {"model": str(tiny_llama), "max_steps": 1, "batch_size": 2, "save_every": 1, "eval_every": 0,
              "lora": {"r": 2, "alpha": 4, "target_modules": ["q_proj"]}}
    (tmp_path / "instr.yaml").write_text(yaml.safe_dump({**common, "task": "instructions", "data": {
        "dataset": str(multimodal_dataset), "tasks": ["computed_property"], "eval_examples": 2}}))
    train(load_train_config(tmp_path / "instr.yaml", out=str(tmp_path / "instr")))
    run = load_run("instr", tmp_path / "instr")
    first = run.instructions["computed_property"]
    assert first and first in run.examples("computed_property", ["CCO"], None)[0].prompt
    assert "How heavy" in run.examples("computed_property", ["CCO"], "How heavy is it?")[0].prompt

    (tmp_path / "icma.yaml").write_text(yaml.safe_dump({**common, "task": "icma", "data": {
        "train": str(served_files["rows"]), "tasks": ["mol2text"], "k": 1}}))
    train(load_train_config(tmp_path / "icma.yaml", out=str(tmp_path / "icma")))
    icma = load_run("icma", tmp_path / "icma")
    pool = records_from_chebi20(served_files["rows"])
    prompt = icma.examples("mol2text", [pool[0].modalities.smiles], None)[0].prompt
    assert pool[0].modalities.caption in prompt  # its nearest training example is itself, caption and all
    with pytest.raises(GenerateRequestError, match="not trained on task"):
        icma.examples("text2mol", ["a caption"], None)
