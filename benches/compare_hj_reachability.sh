#!/usr/bin/env bash
# Side by side with hj_reachability on the double-integrator reach problem (201² and 401²),
# in one run. Builds hjb, installs hj_reachability in a throwaway virtual environment outside
# the repository (default /tmp/hjb-peers; nothing here is needed to build or test hjb), and
# runs benches/compare_hj_reachability.py, which prints a Markdown table of errors, seconds
# and ratios. Usage: bash benches/compare_hj_reachability.sh [--points 201 401] [--repeats 3];
# `bash benches/compare_hj_reachability.sh air3d [--repeats 3]` runs the air3d tube comparison
# (benches/compare_hj_reachability_air3d.py) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
environment="${HJB_PEERS_VENV:-/tmp/hjb-peers}"
cargo build --release --quiet
if [ ! -x "$environment/bin/python" ]; then
    python3 -m venv "$environment"
fi
if ! "$environment/bin/python" -c "import hj_reachability, h5py" 2>/dev/null; then
    "$environment/bin/pip" install --quiet "hj-reachability==0.7.0" h5py numpy
fi
if [ "${1:-}" = "air3d" ]; then
    shift
    exec "$environment/bin/python" benches/compare_hj_reachability_air3d.py "$@"
fi
"$environment/bin/python" benches/compare_hj_reachability.py "$@"
