"""BM25 queries per second: molbridge's bm25s index vs rank_bm25 on the same tokens; writes BENCHMARKS.md.

    python benchmarks/bench_bm25.py [--shared ../shared] [--docs 100000]

The corpus is built reproducibly from ChEBI-20 caption sentences (3 random sentences per
document, seeded), so it has the vocabulary of real captions at 100 k-document scale; queries
are ChEBI-20 test captions. rank_bm25 scores every document in Python per query, so it gets
fewer queries; both are timed per query.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import time
from datetime import date
from pathlib import Path

from rank_bm25 import BM25Okapi

from molbridge.data.sources.chebi20 import read_chebi20
from molbridge.eval.versions import package_versions
from molbridge.retrieval.bm25 import BM25Index, tokenize_default
from report import write_section  # benchmarks/ is the script's directory, hence on sys.path

REPO = Path(__file__).resolve().parents[1]


def corpus(shared: Path, n_docs: int, seed: int = 0) -> tuple[list[str], list[str]]:
    val = read_chebi20(shared / "data" / "chebi20" / "validation.txt")
    test = read_chebi20(shared / "data" / "chebi20" / "test.txt")
    sentences = [s for r in val for s in re.split(r"(?<=\.)\s+", r.description) if s]
    rng = random.Random(seed)
    docs = [" ".join(rng.sample(sentences, 3)) for _ in range(n_docs)]
    return docs, [r.description for r in test]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=os.environ.get("MOLBRIDGE_SHARED", str(REPO.parent / "shared")))
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--rank-bm25-queries", type=int, default=20)
    parser.add_argument("--out", default=str(REPO / "BENCHMARKS.md"))
    args = parser.parse_args()
    docs, queries = corpus(Path(args.shared), args.docs)
    queries = queries[: args.queries]

    start = time.perf_counter()
    index = BM25Index.build([str(i) for i in range(len(docs))], docs)
    build_ours = time.perf_counter() - start
    start = time.perf_counter()
    index.search(queries, 10)
    qps_ours = len(queries) / (time.perf_counter() - start)

    tokens = [tokenize_default(d) for d in docs]  # the very tokens our index uses
    start = time.perf_counter()
    okapi = BM25Okapi(tokens, k1=1.5, b=0.75)
    build_rank = time.perf_counter() - start
    few = queries[: args.rank_bm25_queries]
    query_tokens = [tokenize_default(q) for q in few]
    start = time.perf_counter()
    for q in query_tokens:
        okapi.get_top_n(q, list(range(len(tokens))), n=10)
    qps_rank = len(few) / (time.perf_counter() - start)

    versions = ", ".join(f"{k} {v}" for k, v in package_versions("bm25s", "rank-bm25", "numpy").items())
    text = "\n".join([
        "## BM25 over captions (`benchmarks/bench_bm25.py`)\n",
        f"Run {date.today()} with `python benchmarks/bench_bm25.py` on {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {versions}. {len(docs):,} documents of 3 ChEBI-20 validation caption "
        "sentences each (seeded), bm25s's default tokens (lowercase, `\\w\\w+`, its English stopwords) for both; "
        "top-10 per query; k1 1.5, b 0.75.\n",
        "| method | build (s) | queries | QPS | ratio |",
        "|---|---:|---:|---:|---:|",
        f"| molbridge `BM25Index` (bm25s, lucene) | {build_ours:.1f} | {len(queries):,} | {qps_ours:,.0f} | "
        f"{qps_ours / qps_rank:,.0f}x |",
        f"| rank_bm25 `BM25Okapi.get_top_n` | {build_rank:.1f} | {len(few)} | {qps_rank:.2f} | 1x |",
        "",
        "bm25s pre-computes every document's term scores at build time (a sparse matrix), so a query is",
        "a sparse row sum; rank_bm25 loops over all documents in Python for every query.\n\n",
    ])
    write_section("bench_bm25", text, Path(args.out))
    print(text)


if __name__ == "__main__":
    main()
