"""`molbridge serve` under load on loopback: latency, throughput, errors and lost requests over mixed endpoints,
and dynamic batching's generation throughput against one request at a time.

    python benchmarks/bench_serve.py [--requests 2000] [--concurrency 32]

The server runs as its own process (`molbridge serve`), the clients in this one (httpx, asyncio), both on this
machine's cores. The world: a SmolLM2-135M run trained for one LoRA step on ChEBI-20 rows (a real trained run, not
a good one: generation cost is what is measured), a Morgan index and a BM25 index over ChEBI-20 test. The mix: 45%
molecule, 25% neighbours (half molecules, half captions), 20% scoring (20 caption -> molecule pairs), 10%
generation (one input, 16 new tokens). The load stops after `--requests`; every request is accounted for.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import code_version, write_section

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MOLBRIDGE_SHARED", ROOT.parent / "shared"))
MIX = (("molecule", 0.45), ("similar", 0.25), ("score", 0.20), ("generate", 0.10))


def world(root: Path) -> tuple[Path, Path, Path, list]:
    """(trained run, Morgan index, BM25 index, ChEBI-20 test records)."""
    import yaml

    from molbridge.data.formats.chebi20_tables import records_from_chebi20
    from molbridge.models.causal_lm import ensure_default_model
    from molbridge.retrieval.bm25 import BM25Index
    from molbridge.retrieval.fingerprint_index import FingerprintIndex
    from molbridge.train.config import load_train_config
    from molbridge.train.loop import train

    test = records_from_chebi20(SHARED / "data" / "chebi20" / "test.txt")
    rows = root / "train.txt"
    lines = (SHARED / "data" / "chebi20" / "validation.txt").read_text().splitlines()
    rows.write_text("\n".join(lines[:17]) + "\n")
    config = root / "run.yaml"
    config.write_text(yaml.safe_dump({
        "model": str(ensure_default_model()), "task": "sft", "max_steps": 1, "batch_size": 2, "save_every": 1,
        "eval_every": 0, "lora": {"r": 4, "alpha": 8}, "data": {"train": str(rows), "tasks": ["mol2text"]}}))
    train(load_train_config(config, out=str(root / "run")))
    ids = [r.meta.source_id or r.id for r in test]
    morgan, _ = FingerprintIndex.from_smiles(ids, [r.modalities.smiles or "" for r in test])
    morgan.save(root / "morgan.idx")
    BM25Index.build(ids, [r.modalities.caption or "" for r in test]).save(root / "bm25")
    return root / "run", root / "morgan.idx", root / "bm25", test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`molbridge serve` in a subprocess, up until closed."""

    def __init__(self, run: Path, morgan: Path, bm25: Path, generation_batch: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "molbridge", "serve", "--run", f"chebi={run}", "--index", f"morgan={morgan}",
             "--index", f"bm25={bm25}", "--port", str(self.port), "--rate-per-minute", "1000000",
             "--generation-batch", str(generation_batch)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        import httpx

        deadline = time.monotonic() + 300
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stderr.read().decode()[-2000:] if self.process.stderr else "died")
            try:
                if httpx.get(self.url + "/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not come up in 300 s")
            time.sleep(0.25)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(60)


def requests_for(n: int, test: list, seed: int = 0) -> list[tuple[str, str, dict]]:
    rng = random.Random(seed)
    kinds = [k for k, w in MIX for _ in range(int(w * 100))]
    out = []
    for _ in range(n):
        kind, record = rng.choice(kinds), rng.choice(test)
        smiles, caption = record.modalities.smiles or "C", record.modalities.caption or "a molecule"
        if kind == "molecule":
            out.append((kind, "/v1/molecule", {"text": smiles}))
        elif kind == "similar":
            out.append((kind, "/v1/similar", {"index": "morgan", "query": smiles, "k": 10} if rng.random() < 0.5
                        else {"index": "bm25", "query": caption, "k": 10}))
        elif kind == "score":
            pairs = [{"reference": r.modalities.smiles, "prediction": rng.choice(test).modalities.smiles}
                     for r in rng.sample(test, 20)]
            out.append((kind, "/v1/score", {"task": "text2mol", "pairs": pairs, "bootstrap": 0}))
        else:
            out.append((kind, "/v1/generate", {"run": "chebi", "task": "mol2text", "inputs": [smiles],
                                               "max_new_tokens": 16}))
    return out


async def load(url: str, requests: list[tuple[str, str, dict]], concurrency: int) -> tuple[list, float]:
    """[(kind, status, seconds)] of every request, and the wall time."""
    import httpx

    queue: asyncio.Queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    results: list[tuple[str, int, float]] = []

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            kind, path, body = queue.get_nowait()
            started = time.perf_counter()
            try:
                status = (await client.post(path, json=body)).status_code
            except httpx.HTTPError:
                status = -1
            results.append((kind, status, time.perf_counter() - started))

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return results, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q * 100))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--generations", type=int, default=64, help="requests per batching round")
    parser.add_argument("--rounds", type=int, default=3, help="batching rounds (batched and one at a time each)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        run, morgan, bm25, test = world(Path(tmp))
        requests = requests_for(args.requests, test)
        server = Server(run, morgan, bm25, generation_batch=16)
        try:
            results, wall = asyncio.run(load(server.url, requests, args.concurrency))
        finally:
            server.close()
        generations = [r for r in requests_for(args.generations * 10, test, seed=1) if r[0] == "generate"]
        generations = generations[:args.generations]
        rates: dict[int, list[float]] = {16: [], 1: []}
        for _ in range(args.rounds):
            for batch in (16, 1):
                server = Server(run, morgan, bm25, generation_batch=batch)
                try:
                    done, seconds = asyncio.run(load(server.url, generations, args.concurrency))
                finally:
                    server.close()
                assert all(status == 200 for _, status, _ in done), "a generation failed"
                rates[batch].append(len(done) / seconds)
    errors = sum(1 for _, status, _ in results if status != 200)
    lost = len(requests) - len(results)
    lines = ["| endpoint | requests | errors | p50 ms | p99 ms |", "|---|---|---|---|---|"]
    for kind, _ in MIX:
        times = [s * 1000 for k, _, s in results if k == kind]
        bad = sum(1 for k, status, _ in results if k == kind and status != 200)
        p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
        lines.append(f"| {kind} | {len(times)} | {bad} | {p50:.0f} | {p99:.0f} |")
    every = [s * 1000 for _, _, s in results]
    lines.append(f"| all | {len(results)} | {errors} | {percentile(every, 0.5):.0f} | {percentile(every, 0.99):.0f} |")
    ratios = [b / o for b, o in zip(rates[16], rates[1], strict=True)]
    command = (f"python benchmarks/bench_serve.py --requests {args.requests} --concurrency {args.concurrency} "
               f"--generations {args.generations} --rounds {args.rounds}")
    text = (f"Command: `{command}` ({date.today()}, {platform.machine()}, {os.cpu_count()} cores, code "
            f"{code_version()}). Server (`molbridge serve`, one process) and clients (httpx, {args.concurrency} "
            f"concurrent) on the same cores; SmolLM2-135M run (1 LoRA step), Morgan and BM25 indexes over ChEBI-20 "
            f"test ({len(test)} molecules).\n\n"
            f"Mixed load: {len(results)} of {len(requests)} requests answered (lost: {lost}), {errors} errors, "
            f"{wall:.1f} s, **{len(results) / wall:.1f} requests/s**.\n\n" + "\n".join(lines) + "\n\n"
            f"Generation ({args.generations} one-input requests, 16 new tokens, {args.concurrency} concurrent, "
            f"{args.rounds} rounds): dynamic batching (up to 16 examples) "
            f"{statistics.mean(rates[16]):.2f} answers/s [{min(rates[16]):.2f}–{max(rates[16]):.2f}] vs one at a "
            f"time {statistics.mean(rates[1]):.2f} [{min(rates[1]):.2f}–{max(rates[1]):.2f}]: "
            f"**{statistics.mean(ratios):.2f}x** (per-round ratios {min(ratios):.2f}–{max(ratios):.2f}).\n")
    write_section("bench_serve", "## Serving under load (bench_serve.py)\n\n" + text, ROOT / "BENCHMARKS.md")
    print(text)
    if errors or lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
