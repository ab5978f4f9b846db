#!/usr/bin/env bash
# Side by side with hj_reachability on the double-integrator reach problem (201² and 401²),
# in one run. Builds hjb, installs hj_reachability in a throwaway virtual environment outside
# the repository (default /tmp/hjb-peers; nothing here is needed to build or test hjb), and
# runs benches/compare_hj_reachability.py, which prints a Markdown table of errors, seconds
# and ratios. Usage: bash benches/compare_hj_reachability.sh [--points 201 401] [--repeats 3]
set -euo pipefail
cd "$(dirname "$0")/.."
environment="${HJB_PEERS_VENV:-/tmp/hjb-peers}"
cargo build --release --quiet
if [ ! -x "$environment/bin/python" ]; then
    python3 -m venv "$environment"
    "$environment/bin/pip" install --quiet "hj-reachability==0.7.0" h5py numpy
fi
"$environment/bin/python" benches/compare_hj_reachability.py "$@"
