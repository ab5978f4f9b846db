"""Side by side with hj_reachability on air3d (51 x 40 x 50, T = 2.8, tube), in one run.

Run through `benches/compare_hj_reachability.sh air3d` (which builds hjb and installs
hj_reachability in a throwaway virtual environment outside the repository). Both tools solve
`problems/air3d.toml`'s problem: relative coordinates on [-6, 20] x [-10, 10] x [0, 2pi) (psi
periodic), speeds 5, turn rates |a|, |b| <= 1, the evader (control) maximising, the pursuer
(disturbance) minimising, target the cylinder sqrt(x^2 + y^2) <= 5, backward reachable tube
over 2.8 (hj_reachability: `backwards_reachable_tube` postprocessor, float64).

Printed per solver: seconds (hj_reachability's `hj.step` after a warm-up call, so compilation
is excluded; hjb's own solve time from `--json`), the median and the best of `--repeats`; the
fraction of the grid inside {V <= 0}; and the set disagreement with a fine-grid hjb solution
(`--accuracy very_high` on 101 x 79 x 100, whose nodes contain the coarse ones at stride 2): the
fraction of coarse nodes where the sign of V differs. The machine is shared and noisy: compare
the ratios printed in the same run.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)
import hj_reachability as hj  # noqa: E402  (after the x64 switch)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBLEM = os.path.join(ROOT, "problems", "air3d.toml")
SHAPE = (51, 40, 50)
FINE = (101, 79, 100)


def hj_solve(accuracy, repeats):
    grid = hj.Grid.from_lattice_parameters_and_boundary_conditions(
        hj.sets.Box(jnp.array([-6.0, -10.0, 0.0]), jnp.array([20.0, 10.0, 2 * np.pi])),
        SHAPE,
        periodic_dims=2,
    )
    values = jnp.linalg.norm(grid.states[..., :2], axis=-1) - 5.0
    settings = hj.SolverSettings.with_accuracy(
        accuracy, hamiltonian_postprocessor=hj.solver.backwards_reachable_tube
    )
    dynamics = hj.systems.Air3d()
    result = hj.step(settings, dynamics, grid, 0.0, values, -2.8, progress_bar=False).block_until_ready()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = hj.step(settings, dynamics, grid, 0.0, values, -2.8, progress_bar=False).block_until_ready()
        seconds.append(time.perf_counter() - start)
    return np.asarray(result), seconds


def hjb_solve(binary, arguments, threads, repeats, out):
    seconds = []
    for _ in range(repeats):
        completed = subprocess.run(
            [binary, "solve", PROBLEM, "--json", "--no-plots", "--threads", str(threads), "--out", out]
            + arguments,
            check=True, capture_output=True, text=True,
        )
        seconds.append(json.loads(completed.stdout)["seconds"])
    with h5py.File(out, "r") as file:
        values = np.asarray(file["value"])
    return values, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hjb", default=os.path.join(ROOT, "target", "release", "hjb"))
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        print(f"fine reference: hjb very_high on {FINE} ...", flush=True)
        fine, seconds = hjb_solve(
            arguments.hjb,
            ["--accuracy", "very_high", "--points", ",".join(map(str, FINE))],
            2, 1, os.path.join(directory, "fine.h5"),
        )
        print(f"  ({seconds[0]:.1f} s, {100 * np.mean(fine <= 0):.2f} % inside)", flush=True)
        reference = fine[::2, ::2, ::2]
        assert reference.shape == SHAPE
        for accuracy in ["low", "very_high"]:
            values, seconds = hj_solve(accuracy, arguments.repeats)
            rows.append((f"hj_reachability {accuracy} (1 core)", accuracy, values, seconds))
            for threads in [1, 2]:
                # hjb's first order is the problem file's scheme (Lax-Friedrichs, first order).
                options = [] if accuracy == "low" else ["--accuracy", "very_high"]
                out = os.path.join(directory, f"hjb_{accuracy}_{threads}.h5")
                values, seconds = hjb_solve(arguments.hjb, options, threads, arguments.repeats, out)
                name = "hjb lax_friedrichs" if accuracy == "low" else "hjb very_high"
                rows.append((f"{name}, {threads} thread{'s' if threads > 1 else ''}", accuracy, values, seconds))
    print()
    print("| solver | median s | best s | inside {V <= 0} | sign disagreement with hjb very_high 101x79x100 "
          "| hj_reachability's median / this |")
    print("|---|---|---|---|---|---|")
    for name, accuracy, values, seconds in rows:
        peer = next(r for r in rows if r[0] == f"hj_reachability {accuracy} (1 core)")
        inside = 100 * np.mean(values <= 0)
        disagreement = 100 * np.mean((values <= 0) != (reference <= 0))
        median = statistics.median(seconds)
        print(f"| {name} | {median:.3f} | {min(seconds):.3f} | {inside:.2f} % | {disagreement:.2f} % "
              f"| {statistics.median(peer[3]) / median:.1f}x |")
    print()
    print(f"python {sys.version.split()[0]}, jax {jax.__version__}, "
          f"hj_reachability {getattr(hj, '__version__', '0.7.0')}, {os.cpu_count()} cores, "
          f"{arguments.repeats} repeats")


if __name__ == "__main__":
    main()
