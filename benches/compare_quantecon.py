"""Side by side with QuantEcon's DiscreteDP on the same Markov chain, in one run.

Run through `benches/compare_quantecon.sh`, which builds hjb and installs quantecon in a
throwaway virtual environment outside the repository (nothing here is needed to build or test
hjb). The chain is the one of `problems/lqr_1d_discounted.toml` (dx = (0.5x + u)dt, cost
x^2 + u^2, rho = 0.1, |u| <= 4 with 41 actions, dt = 0.05, semi-Lagrangian chain) at the given
numbers of states, exported by `hjb mdp --export` and loaded into DiscreteDP's sparse
state-action-pair form (R = -cost, Q stacked from the per-action CSR matrices, beta = gamma).

Same tolerance: hjb stops when its error bound is below tol * (1 + |V|_inf), tol = 1e-10. Its
VI and MPI (and QuantEcon's MPI) use the span rule: stop when sp(TV - V) < eps (1 - b) / b and
return the MacQueen midpoint, error < eps / 2; QuantEcon's VI uses the sup-norm rule
|TV - V| < eps (1 - b) / (2b), error < eps / 2 as well. So QuantEcon gets
eps = 2 tol (1 + |V|_inf). PI is exact in both (stops when the policy is stable).

Seconds: hjb's own solve time (`seconds` of `hjb mdp --json --skip-pde`, chain build and file
writing excluded), QuantEcon's `solve` call (the DiscreteDP object built once beforehand);
medians of `--repeats` runs, interleaved, on the same machine in the same run. The machine is
shared and noisy: compare the ratios. Values: max |V_hjb - V_qe| per method.
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
import numpy as np
import quantecon as qe
import scipy.sparse as sp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBLEM = os.path.join(ROOT, "problems", "lqr_1d_discounted.toml")
HJB = os.path.join(ROOT, "target", "release", "hjb")
TOLERANCE = 1e-10
METHODS = [("vi", "value_iteration"), ("pi", "policy_iteration"), ("mpi", "modified_policy_iteration")]


def hjb(points, method, export=None):
    command = [HJB, "mdp", PROBLEM, "--points", str(points), "--method", method, "--skip-pde", "--json"]
    if export:
        command += ["--export", export]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def load(path):
    with h5py.File(path, "r") as f:
        cost = f["mdp/cost"][...]
        value = f["mdp/value"][...]
        nodes, actions = cost.shape
        blocks = []
        for a in range(actions):
            g = f[f"mdp/transitions/{a}"]
            blocks.append(sp.csr_matrix((g["data"][...], g["indices"][...], g["indptr"][...]), shape=(nodes, nodes)))
    # State-action pairs in state-major order (s_indices sorted), as DiscreteDP prefers.
    stacked = sp.vstack(blocks).tocsr()  # row a * nodes + x
    order = (np.arange(actions)[None, :] * nodes + np.arange(nodes)[:, None]).ravel()
    q = stacked[order]
    s_indices = np.repeat(np.arange(nodes), actions)
    a_indices = np.tile(np.arange(actions), nodes)
    return -cost.ravel(), q, s_indices, a_indices, value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, nargs="+", default=[1001, 20001])
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    print(f"quantecon {qe.__version__}, numpy {np.__version__}, scipy {sp.__name__ and __import__('scipy').__version__}")
    print("| states | method | hjb s | QuantEcon s | ratio | hjb iterations | QuantEcon iterations | max abs V diff |")
    print("|---|---|---|---|---|---|---|---|")
    for points in arguments.points:
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "mdp.h5")
            summary = hjb(points, "pi", export=path)
            r, q, s_indices, a_indices, _ = load(path)
        discount = summary["discount"]
        ddp = qe.markov.DiscreteDP(r, q, discount, s_indices, a_indices)
        for name, qe_method in METHODS:
            hjb_times, qe_times = [], []
            for _ in range(arguments.repeats):
                mine = hjb(points, name)
                hjb_times.append(mine["seconds"])
                epsilon = 2 * TOLERANCE * (1 + float(np.max(np.abs(reference_value(ddp, points)))))
                started = time.perf_counter()
                result = ddp.solve(qe_method, epsilon=epsilon, max_iter=10**6, k=20) if name == "mpi" else ddp.solve(qe_method, epsilon=epsilon, max_iter=10**6)
                qe_times.append(time.perf_counter() - started)
            with tempfile.TemporaryDirectory() as directory:
                path = os.path.join(directory, "mdp.h5")
                mine = hjb(points, name, export=path)
                with h5py.File(path, "r") as f:
                    value = f["mdp/value"][...]
            difference = float(np.max(np.abs(value - (-result.v))))
            h, t = statistics.median(hjb_times), statistics.median(qe_times)
            iterations = f"{mine['iterations']}"
            if name == "mpi":
                iterations += f" (+{mine['evaluation_sweeps']} sweeps)"
            qe_iterations = f"{result.num_iter}"
            if name == "mpi":
                qe_iterations += f" (+{20 * (result.num_iter - 1)} sweeps)"
            print(f"| {points} | {name} | {h:.4f} | {t:.4f} | {t / h:.1f}x | {iterations} | {qe_iterations} | {difference:.1e} |")
            sys.stdout.flush()


_REFERENCE = {}


def reference_value(ddp, points):
    """|V| from QuantEcon's own policy iteration (exact), once per size, for the tolerance."""
    if points not in _REFERENCE:
        _REFERENCE[points] = ddp.solve("policy_iteration").v
    return _REFERENCE[points]


if __name__ == "__main__":
    main()
