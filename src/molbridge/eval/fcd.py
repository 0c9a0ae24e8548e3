"""Fréchet ChemNet Distance that returns the ``fcd`` package's value, faster.

``fcd.get_fcd`` runs ChemNet on every SMILES one-hot encoded to ``pad_len`` rows, where
``pad_len = max(350, longest SMILES in that list + 1)``. Each SMILES gets a float64
``pad_len x 35`` array built in Python, and both LSTMs step through every padding row in
batches of 128. This module uses the same model (``fcd.load_ref_model()``), the same LSTM
kernels and the same ``fcd.utils.calculate_frechet_distance``. It skips work whose result is
known in advance and batches the rest more efficiently.

Why the result is the same. On the CPU build we test it is bit for bit, apart from batches of
one row: the kernel takes another path there, and fcd's own results then move in the last bits
(about 1e-7). At worst the two differ by float32 rounding.

* Padding rows are all zero and neither convolution has a bias, so with SELU(0) = 0 every conv
  output whose receptive field lies wholly in the padding is exactly zero. A SMILES of ``n``
  tokens (the appended ``"."`` included) has at most ``m1 = min(n // 2 + 1, T1)`` non-zero
  positions after conv 1 and ``m2 = min(m1 // 2 + 1, T2)`` after conv 2, where
  ``T1 = ceil(pad_len / 2)`` and ``T2 = ceil(T1 / 2)``. "Same" padding adds exactly one zero
  on the left for kernel 4 and stride 2. Only those positions are convolved, and they are the
  same dot products as in fcd.
* LSTM 1 reads the reversed sequence, so it first reads ``T2 - m2`` zero inputs from the zero
  state. That trajectory does not depend on the molecule: it is run once per list. Molecules
  with equal ``m2`` then run LSTM 1 over their own ``m2`` positions as one batch, starting from
  the shared state. The torch CPU LSTM gives each row the same bits for any batch of two or more
  rows. Splitting a sequence into consecutive calls that carry ``(h, c)`` also gives the same
  bits. The tests check the end result against fcd.
* LSTM 2 reads forward: the molecule's own ``m2`` positions, then a tail whose inputs are the
  shared zero-run outputs of LSTM 1, reversed in time. The tail carries the molecule's state,
  so it must be run for every molecule. We checked whether states that start from different
  molecules converge along the tail, so that the tail could stop early. They do not (they still
  differ by O(1) after hundreds of steps), so the full LSTM 2 is run, with inputs built as fcd
  builds them.

Where the time goes: almost all of it is LSTM 2's ``n x T2`` recurrent steps, which an exact
method cannot avoid. Gains over fcd come from the parts around them. There is no Python or
float64 one-hot and no DataLoader. The convs and LSTM 1 run only over non-padding positions.
Each distinct SMILES is computed once. fcd's LSTM 2 already runs at about 90% of the CPU's
float32 peak, so the speed-up is modest: about 1.2x on the MolT5 caption-to-SMILES file on
2 cores, more when a list repeats SMILES. Cost grows with ``n * pad_len``.

Everything runs on the CPU. Torch's global thread setting is left alone (it defaults to the
number of cores). ``fcd.get_fcd`` uses CUDA when it is available, and its values then differ
from its own CPU values by float32 rounding.
"""

from __future__ import annotations

import copy
import importlib.metadata
import itertools
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_PAD_LEN", "chemnet_activations", "fcd_score", "fcd_version"]

#: fcd's default pad length; a list whose longest SMILES has >= 350 characters gets more.
DEFAULT_PAD_LEN = 350

# ChemNet's input vocabulary in column order ("X" is the unknown-token column, "." the end token
# appended to every SMILES). Checked against fcd's own list before use.
_VOCAB: tuple[str, ...] = (
    "C", "N", "O", "H", "F", "Cl", "P", "B", "Br", "S", "I", "Si", "#", "(", ")", "+", "-",
    "1", "2", "3", "4", "5", "6", "7", "8", "=", "[", "]", "@", "c", "n", "o", "s", "X", ".",
)  # fmt: skip
_VOCAB_SIZE = len(_VOCAB)
_TOKEN_INDEX = {tok: i for i, tok in enumerate(_VOCAB)}
_UNK = _TOKEN_INDEX["X"]
_PAD = _VOCAB_SIZE  # an extra one-hot column that is dropped: padding rows stay all zero
# Longest tokens first, then any single character (an unknown token unless in the vocabulary).
# As in fcd, "." does not match a line break.
_TOKEN_RE = re.compile("|".join(re.escape(t) for t in sorted(_VOCAB, key=len, reverse=True)) + "|.")
_CONV_CHANNELS = 32
_HIDDEN1 = 128
_HIDDEN2 = 512
# Rows per LSTM-2 call: 128 ran fastest here (~180 GFLOP/s on 2 cores, near peak). The call
# returns every step's output, so very long pads get fewer rows (outputs stay under ~0.2 GB).
_LSTM2_MAX_ROWS = 128
_LSTM2_ROW_STEPS = 128 * 800


def fcd_version() -> str:
    """Installed version of the ``fcd`` package (report it with every FCD value)."""
    return importlib.metadata.version("fcd")


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ChemNet:
    conv1: torch.Tensor  # (32, 35, 4)
    conv2: torch.Tensor  # (32, 32, 4)
    lstm1: nn.LSTM  # 32 -> 128, batch_first
    lstm2: nn.LSTM  # 128 -> 512, batch_first


_EXPECTED_LAYERS = [
    "SamePadding1d", "Conv1d", "SELU", "SamePadding1d", "Conv1d", "SELU", "Transpose",
    "Reverse", "LSTM", "IndexTuple", "Reverse", "LSTM", "IndexTuple", "IndexTensor",
]  # fmt: skip


def _unpack_model(model: nn.Module) -> _ChemNet:
    """Check ``model`` is fcd's ChemNet ``nn.Sequential`` and return its layers (on CPU)."""
    layers = list(model.children()) if isinstance(model, nn.Sequential) else []
    names = [type(m).__name__ for m in layers]
    if names != _EXPECTED_LAYERS:
        raise ValueError(
            f"not an fcd ChemNet model: layer types {names}, expected {_EXPECTED_LAYERS}"
        )
    if any(p.device.type != "cpu" for p in model.parameters()):
        model = copy.deepcopy(model).cpu()
        layers = list(model.children())
    conv1, conv2, lstm1, lstm2 = layers[1], layers[4], layers[8], layers[11]
    if not (isinstance(conv1, nn.Conv1d) and isinstance(conv2, nn.Conv1d) and isinstance(lstm1, nn.LSTM)
            and isinstance(lstm2, nn.LSTM)):  # fcd builds them from torch's classes; a look-alike is refused
        raise ValueError(f"not an fcd ChemNet model: layers {names[1]}, {names[4]}, {names[8]}, {names[11]} are "
                         "not torch's Conv1d and LSTM")
    for conv, c_in in ((conv1, _VOCAB_SIZE), (conv2, _CONV_CHANNELS)):
        if (
            conv.kernel_size != (4,)
            or conv.stride != (2,)
            or conv.padding != (0,)
            or conv.dilation != (1,)
            or conv.groups != 1
            or conv.bias is not None
            or conv.in_channels != c_in
            or conv.out_channels != _CONV_CHANNELS
            or conv.weight.dtype != torch.float32
        ):
            raise ValueError(f"unexpected ChemNet convolution: {conv}")
    for lstm, n_in, n_h in ((lstm1, _CONV_CHANNELS, _HIDDEN1), (lstm2, _HIDDEN1, _HIDDEN2)):
        if (
            lstm.input_size != n_in
            or lstm.hidden_size != n_h
            or lstm.num_layers != 1
            or lstm.bidirectional
            or not lstm.bias
            or not lstm.batch_first
            or lstm.proj_size != 0
            or lstm.weight_hh_l0.dtype != torch.float32
        ):
            raise ValueError(f"unexpected ChemNet LSTM: {lstm}")
    if (layers[9].pos, layers[12].pos, layers[13].pos, layers[13].dim) != (0, 0, -1, 1):
        raise ValueError("unexpected ChemNet indexing layers")
    return _ChemNet(conv1.weight.detach(), conv2.weight.detach(), lstm1, lstm2)


def _check_vocab() -> None:
    import fcd.utils

    theirs = getattr(fcd.utils, "__vocab", None)
    if theirs is not None and tuple(theirs) != _VOCAB:
        raise RuntimeError(f"fcd {fcd_version()} uses a different ChemNet vocabulary: {theirs}")


def _load_model(model: nn.Module | None) -> _ChemNet:
    if model is None:
        import fcd

        model = fcd.load_ref_model()  # lru-cached by fcd
    _check_vocab()
    return _unpack_model(model)


# --------------------------------------------------------------------------------------------
# Computation
# --------------------------------------------------------------------------------------------


def _tokenize(smiles: str) -> list[int]:
    """One-hot column of each token of ``smiles + "."``, as fcd's ``get_one_hot`` assigns them."""
    text = smiles + "."
    tokens = _TOKEN_RE.findall(text)
    if sum(len(t) for t in tokens) != len(text):
        raise ValueError(f"SMILES contains a line break, which fcd cannot tokenise: {smiles!r}")
    get = _TOKEN_INDEX.get
    return [get(t, _UNK) for t in tokens]


def _conv_features(
    tokens: list[list[int]], m2: np.ndarray, t1: int, net: _ChemNet, chunk: int = 256
) -> torch.Tensor:
    """Conv-stack outputs at each molecule's first ``m2`` positions, flattened to (sum m2, 32).

    ``tokens`` and ``m2`` are in processing order (``m2`` descending); a molecule's rows are
    contiguous. Everything past a molecule's ``m2`` positions is exactly zero in fcd's run.
    """
    scale = torch.tensor(1.0 / _VOCAB_SIZE, dtype=torch.float32)  # fcd's input: float32(1/35)
    out = []
    for start in range(0, len(tokens), chunk):
        toks = tokens[start : start + chunk]
        m2c = torch.from_numpy(m2[start : start + chunk])
        m2max = int(m2c.max())
        # conv-2 output k reads conv-1 outputs 2k-1..2k+2; conv-1 output j reads inputs 2j-1..2j+2
        width = 4 * m2max + 3
        tok = torch.full((len(toks), width), _PAD, dtype=torch.long)
        for row, seq in enumerate(toks):
            n = min(len(seq), width)
            tok[row, :n] = torch.tensor(seq[:n], dtype=torch.long)
        x = F.one_hot(tok, _VOCAB_SIZE + 1)[:, :, :_VOCAB_SIZE].to(torch.float32).mul_(scale)
        x = F.pad(x.transpose(1, 2), (1, 0))
        s1 = F.selu(F.conv1d(x, net.conv1, stride=2))  # (B, 32, 2 * m2max + 1)
        if s1.shape[2] > t1:
            s1[:, :, t1:] = 0.0  # fcd's conv-1 output ends at T1; past it conv 2 sees zero padding
        s2 = F.selu(F.conv1d(F.pad(s1, (1, 0)), net.conv2, stride=2))  # (B, 32, m2max)
        keep = torch.arange(m2max).unsqueeze(0) < m2c.unsqueeze(1)
        out.append(s2.transpose(1, 2)[keep])
    return torch.cat(out, 0)


def _activations_distinct(smiles: Sequence[str], pad_len: int, net: _ChemNet) -> np.ndarray:
    """ChemNet activations of SMILES encoded with ``pad_len`` rows: float32 (n, 512)."""
    t1 = (pad_len + 1) // 2
    t2 = (t1 + 1) // 2
    tokens = [_tokenize(s) for s in smiles]
    n_tok = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
    m2_orig = np.minimum(np.minimum(n_tok // 2 + 1, t1) // 2 + 1, t2)
    order = np.argsort(-m2_orig, kind="stable")  # equal m2 -> contiguous rows
    m2 = np.ascontiguousarray(m2_orig[order])
    n = len(order)
    conv = _conv_features([tokens[i] for i in order], m2, t1, net)  # (sum m2, 32)
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(m2)

    # LSTM 1 on zero inputs from the zero state, run once in segments that end where a group of
    # molecules starts its own positions (after T2 - m2 zero steps).
    lstm1, lstm2 = net.lstm1, net.lstm2
    group_starts = np.flatnonzero(np.r_[True, m2[1:] != m2[:-1]])  # m2 descending
    runs = sorted({t2 - int(m2[g]) for g in group_starts} | {t2})
    zero_in = torch.zeros(1, t2, _CONV_CHANNELS)
    h = torch.zeros(1, 1, _HIDDEN1)
    c = torch.zeros(1, 1, _HIDDEN1)
    states = {0: (h, c)}
    zero_out = [torch.zeros(1, 0, _HIDDEN1)]
    done = 0
    for run in runs:
        if run > done:
            out, (h, c) = lstm1(zero_in[:, : run - done], (h, c))
            zero_out.append(out)
            done = run
        states[run] = (h, c)
    zero_h = torch.cat(zero_out, 1)[0]  # (T2, 128): row t = output after t + 1 zero steps

    # LSTM 1 over each group's own positions (reversed), from the shared state.
    y1 = torch.empty(conv.shape[0], _HIDDEN1)
    bounds = np.r_[group_starts, n]
    for a, b in itertools.pairwise(bounds):
        v = int(m2[a])
        lo, hi = int(offsets[a]), int(offsets[b])
        h0, c0 = states[t2 - v]
        rows = int(b - a)
        out, _ = lstm1(
            conv[lo:hi].view(rows, v, _CONV_CHANNELS).flip(1),
            (h0.expand(1, rows, _HIDDEN1).contiguous(), c0.expand(1, rows, _HIDDEN1).contiguous()),
        )
        y1[lo:hi] = out.flip(1).reshape(-1, _HIDDEN1)

    # LSTM 2 (forward) over own positions followed by the shared tail: the input at position
    # p >= m2 is LSTM 1's output at reversed time T2 - 1 - p, i.e. after T2 - p zero steps.
    tail = zero_h.flip(0)  # row p = zero_h[T2 - 1 - p]
    positions = torch.arange(t2).unsqueeze(0)
    rows_per_call = max(2, min(_LSTM2_MAX_ROWS, _LSTM2_ROW_STEPS // t2))
    # Near-equal calls, so no call has a single row unless n == 1: the CPU kernel takes another
    # path for one row, whose last bits can differ from the batched result (fcd's too).
    n_calls = -(-n // rows_per_call)
    cuts = np.linspace(0, n, n_calls + 1).round().astype(np.int64)
    result = torch.empty(n, _HIDDEN2)
    for start, stop in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
        inputs = tail.unsqueeze(0).repeat(stop - start, 1, 1)
        own = positions < torch.from_numpy(m2[start:stop]).unsqueeze(1)
        inputs[own] = y1[int(offsets[start]) : int(offsets[stop])]
        out, _ = lstm2(inputs)
        result[start:stop] = out[:, -1]
    acts = np.empty((n, _HIDDEN2), dtype=np.float32)
    acts[order] = result.numpy()
    return acts


def chemnet_activations(
    smiles: list[str], *, model: nn.Module | None = None, pad_len: int | None = None
) -> np.ndarray:
    """ChemNet activations equal to ``fcd.get_predictions(model, smiles)``, shape (n, 512) float32.

    ``pad_len`` defaults to fcd's rule for this list, ``max(350, longest SMILES + 1)``; the
    activations depend on it. ``model`` defaults to ``fcd.load_ref_model()``.
    """
    if len(smiles) == 0:
        return np.zeros((0, _HIDDEN2), dtype=np.float32)
    max_len = max(len(s) for s in smiles) + 1
    if pad_len is None:
        pad_len = max(DEFAULT_PAD_LEN, max_len)
    elif pad_len < max_len:
        raise ValueError(f"pad_len {pad_len} is less than the longest SMILES + 1 ({max_len})")
    net = _load_model(model)
    t0 = time.perf_counter()
    distinct: dict[str, int] = {}
    inverse = np.fromiter(
        (distinct.setdefault(s, len(distinct)) for s in smiles), dtype=np.int64, count=len(smiles)
    )
    with torch.no_grad():
        acts = _activations_distinct(list(distinct), pad_len, net)
    logger.debug(
        "ChemNet activations: %d SMILES (%d distinct), pad_len %d, %.2f s",
        len(smiles), len(distinct), pad_len, time.perf_counter() - t0,
    )  # fmt: skip
    return acts[inverse]


def fcd_score(
    reference: list[str], generated: list[str], *, model: nn.Module | None = None
) -> float:
    """FCD of two SMILES lists: same contract and value as ``fcd.get_fcd(reference, generated)``.

    Each list is encoded with its own pad length, as fcd does. Report ``fcd_version()`` with it.
    """
    from fcd.utils import calculate_frechet_distance

    if len(reference) == 0 or len(generated) == 0:
        raise ValueError(
            "FCD needs two non-empty SMILES lists "
            f"(got {len(reference)} reference and {len(generated)} generated)"
        )
    act1 = chemnet_activations(reference, model=model)
    act2 = chemnet_activations(generated, model=model)
    mu1 = np.mean(act1, axis=0)
    sigma1 = np.cov(act1.T)
    mu2 = np.mean(act2, axis=0)
    sigma2 = np.cov(act2.T)
    return float(calculate_frechet_distance(mu1=mu1, mu2=mu2, sigma1=sigma1, sigma2=sigma2))
