//! Reference solvers: the straightforward implementations the fast paths of [`super::solve`]
//! are checked against (tests assert agreement to 1e-12).
//!
//! Same equations, stopping rules and tie-breaking as [`super::solve`] (see its docs), but on
//! one CSR matrix per action ([`super::Csr`], extracted from the state-major rows), with the
//! Q-values of a state materialised action by action, sequential loops over states, and every
//! policy evaluation by a fresh sparse LU of `(I − γP_π) V = c_π` (terminal rows `V = g`). Slow
//! on purpose: nothing here is shared with the fast kernels except [`super::Csr::row_dot`]'s
//! summation order.

use super::solve::{bound, converged, limit_error, shift_values, start_values};
use super::{Csr, Mdp, MdpSolution, Method, SolveOptions};
use crate::error::{HjbError, Result};
use faer::linalg::solvers::Solve;
use faer::sparse::linalg::solvers::{Lu, SymbolicLu};
use faer::sparse::{Pair, SparseColMat, SymbolicSparseColMat};
use faer::Mat;

/// The MDP with per-action matrices.
struct PerAction<'a> {
    mdp: &'a Mdp,
    matrices: Vec<Csr>,
}

impl PerAction<'_> {
    fn q(&self, x: usize, a: usize, values: &[f64]) -> f64 {
        self.mdp.cost[x * self.mdp.action_count + a] + self.mdp.discount * self.matrices[a].row_dot(x, values)
    }

    /// All Q-values of state `x`, then their first minimiser.
    fn best(&self, x: usize, values: &[f64]) -> (f64, usize) {
        let q: Vec<f64> = (0..self.mdp.action_count).map(|a| self.q(x, a, values)).collect();
        let mut best = (f64::INFINITY, 0);
        for (a, value) in q.into_iter().enumerate() {
            if value < best.0 {
                best = (value, a);
            }
        }
        best
    }

    fn backup(&self, values: &[f64], out: &mut [f64], policy: &mut [usize]) {
        for x in 0..self.mdp.nodes {
            (out[x], policy[x]) =
                if self.mdp.terminal[x] { (self.mdp.terminal_value[x], 0) } else { self.best(x, values) };
        }
    }
}

/// Solve `mdp` with `method` by the reference implementation.
pub fn solve(mdp: &Mdp, method: Method, options: &SolveOptions) -> Result<MdpSolution> {
    let model = PerAction { mdp, matrices: (0..mdp.action_count).map(|a| mdp.action_matrix(a)).collect() };
    let solution = |value, policy, iterations, error_bound, history| MdpSolution {
        method,
        value,
        policy,
        iterations,
        error_bound,
        history,
        seconds: 0.0,
    };
    let mut values = start_values(mdp);
    let mut next = values.clone();
    let mut policy = vec![0usize; mdp.nodes];
    let mut history = Vec::new();
    if method == Method::PolicyIteration {
        model.backup(&values, &mut next, &mut policy);
        for iteration in 1..=options.max_iterations.min(10_000) {
            values = evaluate(mdp, &model.matrices, &policy)?;
            let mut changed = 0;
            for x in (0..mdp.nodes).filter(|x| !mdp.terminal[*x]) {
                let (best, action) = model.best(x, &values);
                let current = model.q(x, policy[x], &values);
                if best < current - 1e-12 * (1.0 + current.abs()) {
                    policy[x] = action;
                    changed += 1;
                }
            }
            history.push(changed as f64);
            if changed == 0 {
                let mut greedy = vec![0usize; mdp.nodes];
                model.backup(&values, &mut next, &mut greedy);
                let (error_bound, _) = bound(mdp, &values, &next, false);
                return Ok(solution(values, policy, iteration, error_bound, history));
            }
        }
        return Err(limit_error(method, options, &history));
    }
    for iteration in 1..=options.max_iterations {
        if method == Method::GaussSeidel {
            next.copy_from_slice(&values);
            for x in (0..mdp.nodes).filter(|x| !mdp.terminal[*x]) {
                (next[x], policy[x]) = model.best(x, &next);
            }
        } else {
            model.backup(&values, &mut next, &mut policy);
        }
        let (error_bound, shift) = bound(mdp, &values, &next, method != Method::GaussSeidel);
        history.push(error_bound);
        std::mem::swap(&mut values, &mut next);
        if converged(mdp, options, error_bound, &values) {
            shift_values(mdp, &mut values, shift);
            return Ok(solution(values, policy, iteration, error_bound, history));
        }
        if let Method::ModifiedPolicyIteration(sweeps) = method {
            for _ in 0..sweeps.max(1) {
                for x in 0..mdp.nodes {
                    next[x] =
                        if mdp.terminal[x] { mdp.terminal_value[x] } else { model.q(x, policy[x], &values) };
                }
                std::mem::swap(&mut values, &mut next);
            }
        }
    }
    Err(limit_error(method, options, &history))
}

/// `(I − γP_π) V = c_π` by a fresh sparse LU.
fn evaluate(mdp: &Mdp, matrices: &[Csr], policy: &[usize]) -> Result<Vec<f64>> {
    let nodes = mdp.nodes;
    let mut pairs = Vec::new();
    let mut entries = Vec::new();
    let mut right = Mat::<f64>::zeros(nodes, 1);
    for x in 0..nodes {
        pairs.push(Pair::new(x, x));
        entries.push(1.0);
        if mdp.terminal[x] {
            right[(x, 0)] = mdp.terminal_value[x];
            continue;
        }
        let matrix = &matrices[policy[x]];
        for k in matrix.indptr[x]..matrix.indptr[x + 1] {
            pairs.push(Pair::new(x, matrix.indices[k]));
            entries.push(-mdp.discount * matrix.data[k]);
        }
        right[(x, 0)] = mdp.cost[x * mdp.action_count + policy[x]];
    }
    let failed = |message: String| HjbError::Numerical(format!("MDP reference policy evaluation: {message}"));
    let (symbolic, argsort) = SymbolicSparseColMat::try_new_from_indices(nodes, nodes, &pairs)
        .map_err(|error| failed(format!("{error:?}")))?;
    let matrix = SparseColMat::new_from_argsort(symbolic.clone(), &argsort, &entries)
        .map_err(|error| failed(format!("{error:?}")))?;
    let symbolic_lu = SymbolicLu::try_new(symbolic.as_ref()).map_err(|error| failed(format!("{error:?}")))?;
    let lu = Lu::try_new_with_symbolic(symbolic_lu, matrix.as_ref())
        .map_err(|error| failed(format!("{error:?}")))?;
    let solution = lu.solve(&right);
    let values: Vec<f64> = (0..nodes).map(|x| solution[(x, 0)]).collect();
    match values.iter().position(|v| !v.is_finite()) {
        Some(x) => Err(failed(format!("non-finite value at state {x} (improper policy)"))),
        None => Ok(values),
    }
}
