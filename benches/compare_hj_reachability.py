"""Side by side with hj_reachability on the double-integrator reach problem, in one run.

Run through `benches/compare_hj_reachability.sh`, which builds hjb and installs hj_reachability
in a throwaway virtual environment outside the repository (nothing here is needed to build or
test hjb). The problem is `problems/double_integrator_reach.toml`: d(x, v) = (v, u), |u| <= 1
minimising, terminal value sqrt(x^2 + v^2) - 0.5, horizon 1, [-3, 3]^2, CFL 0.75, extrapolated
boundaries. The reference is hj_reachability `very_high` (WENO5 + TVD-RK3) in float64 on 801^2;
errors are max |V - V_ref| over [-1, 1]^2 on the coarse grid's nodes (every 2nd / 4th node).
Seconds: hj_reachability's `hj.step` after a warm-up call (compilation excluded), best of
`--repeats`; hjb's own solve time (`seconds` of `--json`, file writing excluded), best of
`--repeats`. The machine is shared and noisy: compare the ratios printed in the same run.
"""

import argparse
import json
import os
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
PROBLEM = os.path.join(ROOT, "problems", "double_integrator_reach.toml")


class DoubleIntegrator(hj.ControlAndDisturbanceAffineDynamics):
    def __init__(self):
        super().__init__(
            "min",
            "max",
            hj.sets.Box(jnp.array([-1.0]), jnp.array([1.0])),
            hj.sets.Box(jnp.array([0.0]), jnp.array([0.0])),
        )

    def open_loop_dynamics(self, state, time):
        return jnp.array([state[1], 0.0])

    def control_jacobian(self, state, time):
        return jnp.array([[0.0], [1.0]])

    def disturbance_jacobian(self, state, time):
        return jnp.array([[0.0], [0.0]])


def hj_solve(points, accuracy, repeats):
    grid = hj.Grid.from_lattice_parameters_and_boundary_conditions(
        hj.sets.Box(jnp.array([-3.0, -3.0]), jnp.array([3.0, 3.0])),
        (points, points),
        boundary_conditions=(hj.boundary_conditions.extrapolate, hj.boundary_conditions.extrapolate),
    )
    values = jnp.linalg.norm(grid.states, axis=-1) - 0.5
    settings = hj.SolverSettings.with_accuracy(accuracy, hamiltonian_postprocessor=lambda x: x)
    dynamics = DoubleIntegrator()
    result = hj.step(settings, dynamics, grid, 0.0, values, -1.0, progress_bar=False).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = hj.step(settings, dynamics, grid, 0.0, values, -1.0, progress_bar=False).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return np.asarray(result), best


def hjb_solve(binary, points, accuracy, threads, repeats, directory):
    best, values = float("inf"), None
    out = os.path.join(directory, f"hjb_{points}_{accuracy}_{threads}.h5")
    for _ in range(repeats):
        completed = subprocess.run(
            [binary, "solve", PROBLEM, "--json", "--no-plots", "--points", str(points),
             "--accuracy", accuracy, "--threads", str(threads), "--out", out],
            check=True, capture_output=True, text=True,
        )
        best = min(best, json.loads(completed.stdout)["seconds"])
    with h5py.File(out, "r") as file:
        values = np.asarray(file["value"])
    return values, best


def error_on_box(values, reference, points, reference_points):
    stride = (reference_points - 1) // (points - 1)
    coarse_reference = reference[::stride, ::stride]
    axis = np.linspace(-3.0, 3.0, points)
    inside = np.abs(axis) <= 1.0 + 1e-12
    mask = np.outer(inside, inside)
    return float(np.max(np.abs(values - coarse_reference)[mask]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hjb", default=os.path.join(ROOT, "target", "release", "hjb"))
    parser.add_argument("--points", type=int, nargs="+", default=[201, 401])
    parser.add_argument("--reference-points", type=int, default=801)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()

    print(f"reference: hj_reachability very_high float64 on {arguments.reference_points}^2 ...", flush=True)
    reference, seconds = hj_solve(arguments.reference_points, "very_high", 1)
    print(f"  ({seconds:.1f} s)")
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for points in arguments.points:
            for accuracy in ["low", "very_high"]:
                values, seconds = hj_solve(points, accuracy, arguments.repeats)
                error = error_on_box(values, reference, points, arguments.reference_points)
                rows.append((points, f"hj_reachability {accuracy} (1 core)", error, seconds))
                for threads in [1, 2]:
                    values, seconds = hjb_solve(arguments.hjb, points, accuracy, threads, arguments.repeats, directory)
                    error = error_on_box(values, reference, points, arguments.reference_points)
                    rows.append((points, f"hjb {accuracy}, {threads} thread{'s' if threads > 1 else ''}", error, seconds))
    print()
    print("| grid | solver | max error on [-1, 1]^2 | seconds | hj_reachability's time / this |")
    print("|---|---|---|---|---|")
    for points, name, error, seconds in rows:
        accuracy = "very_high" if "very_high" in name else "low"
        peer = next(r for r in rows if r[0] == points and r[1] == f"hj_reachability {accuracy} (1 core)")
        print(f"| {points}^2 | {name} | {error:.4f} | {seconds:.3f} | {peer[3] / seconds:.1f}x |")
    print()
    print(f"python {sys.version.split()[0]}, jax {jax.__version__}, "
          f"hj_reachability {getattr(hj, '__version__', '0.7.0')}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
