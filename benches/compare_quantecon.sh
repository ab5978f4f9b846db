#!/usr/bin/env bash
# Side by side with QuantEcon's DiscreteDP on the same Markov chain, in one run. Builds hjb,
# installs quantecon in a throwaway virtual environment outside the repository (default
# /tmp/hjb-peers; nothing here is needed to build or test hjb), and runs
# benches/compare_quantecon.py, which exports the chain of problems/lqr_1d_discounted.toml with
# `hjb mdp --export`, times hjb's and QuantEcon's VI / PI / MPI on it and prints a Markdown table
# of medians and ratios. Usage: bash benches/compare_quantecon.sh [--points 1001 20001] [--repeats 5]
set -euo pipefail
cd "$(dirname "$0")/.."
environment="${HJB_PEERS_VENV:-/tmp/hjb-peers}"
cargo build --release --quiet
if [ ! -x "$environment/bin/python" ] || ! "$environment/bin/python" -c "import quantecon, h5py" 2>/dev/null; then
    python3 -m venv "$environment"
    "$environment/bin/pip" install --quiet "quantecon==0.11.4" h5py numpy scipy
fi
"$environment/bin/python" benches/compare_quantecon.py "$@"
