#!/usr/bin/env bash
# Strong and weak scaling of `mpirun -np P hjb solve` (the `mpi` feature), P = 1, 2, 4, one
# rayon thread per rank, on a 3-D problem (the Dubins tube, high-order-free first-order game)
# and a 4-D LQR problem (benches/mpi_lqr_4d.toml). Each point is the median of REPEATS runs of
# the solve's own clock (JSON `seconds`: the march, without start-up and file writing), with
# the communication share from the JSON `mpi` section.
#
#   strong: the same grid on 1, 2, 4 ranks        efficiency = T1 / (P · TP)
#   weak:   the first axis grows with P            efficiency = (T1/N1) / (TP/NP)
#
# (Growing an axis refines it, and the CFL bound then takes more steps N: the weak efficiency
# compares seconds per step, the work per rank and step being the same.)
#
# Usage: benches/mpi_scaling.sh [REPEATS]   (builds with --features mpi first)
# On a machine with fewer cores than ranks the runs are oversubscribed and the efficiencies
# measure the sharing of cores, not the method; run it on a machine with ≥ 4 free cores.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats="${1:-3}"
cargo build --release --features mpi >/dev/null 2>&1
hjb=target/release/hjb
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# median seconds, communication seconds and steps of REPEATS runs: run RANKS FILE POINTS
run() {
    local ranks="$1" file="$2" points="$3"
    for _ in $(seq "$repeats"); do
        mpirun --oversubscribe --allow-run-as-root -np "$ranks" "$hjb" solve "$file" --points "$points" \
            --threads 1 --no-plots --json --out "$scratch/r.h5" 2>/dev/null |
            python3 -c 'import json,sys; s=json.load(sys.stdin); m=s.get("mpi",{}); print(s["seconds"], m.get("communication_seconds",0.0), s["steps"])'
    done | sort -n | awk '{a[NR]=$1; c[NR]=$2; n[NR]=$3} END {m=int((NR+1)/2); printf "%.4f %.4f %d\n", a[m], c[m], n[m]}'
}

printf "%-8s %-6s %-16s %5s %6s %9s %9s %6s\n" problem kind grid ranks steps seconds comm eff
for case in "3d problems/dubins_tube.toml 61 61 61" "4d benches/mpi_lqr_4d.toml 25 25 25 25"; do
    set -- $case
    name="$1"; file="$2"; shift 2
    rest="$(IFS=,; echo "${*:2}")"
    base=""
    for ranks in 1 2 4; do
        read -r seconds comm steps < <(run "$ranks" "$file" "$1,$rest")
        [ -z "$base" ] && base="$seconds"
        eff="$(python3 -c "print(f'{$base / ($ranks * $seconds):.2f}')")"
        printf "%-8s %-6s %-16s %5s %6s %9s %9s %6s\n" "$name" strong "$1,$rest" "$ranks" "$steps" "$seconds" "$comm" "$eff"
    done
    base=""
    for ranks in 1 2 4; do
        first=$(( $1 * ranks ))
        read -r seconds comm steps < <(run "$ranks" "$file" "$first,$rest")
        [ -z "$base" ] && base="$seconds / $steps"
        eff="$(python3 -c "print(f'{($base) / ($seconds / $steps):.2f}')")"
        printf "%-8s %-6s %-16s %5s %6s %9s %9s %6s\n" "$name" weak "$first,$rest" "$ranks" "$steps" "$seconds" "$comm" "$eff"
    done
done
