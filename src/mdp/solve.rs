//! Solvers of the discounted (or exit-time) MDP `V = min_a {c_a + γ P_a V}`.
//!
//! * **Value iteration**, Jacobi (`V_{k+1} = T V_k`, parallel over states) or Gauss–Seidel (in
//!   place, in node order, sequential). Both contract by γ in the sup norm.
//! * **Policy iteration** (Howard): evaluate the policy exactly by sparse LU of
//!   `(I − γP_π) V = c_π` (terminal rows `V = g`), improve greedily (an action changes only
//!   when it lowers the Q-value by more than 1e-12 relative: no cycling on ties), stop when the
//!   policy is stable.
//! * **Modified policy iteration**: one improvement, then `k` evaluation sweeps
//!   `V ← c_π + γP_π V`.
//!
//! Stopping rules bound the error. For Jacobi value iteration without terminal states the
//! MacQueen bounds `V' + γ/(1−γ) min Δ ≤ V* ≤ V' + γ/(1−γ) max Δ` (Δ = V' − V, Puterman §6.6.3)
//! give the midpoint estimate with error ≤ γ/(1−γ)·sp(Δ)/2 (the span seminorm), which is what is
//! returned; otherwise `‖V* − V'‖∞ ≤ γ/(1−γ)‖Δ‖∞`. The same bound is applied after each
//! improvement of modified policy iteration. With γ = 1 (exit-time, terminal states reachable)
//! there is no contraction constant: the iteration stops when `‖Δ‖∞` stops moving, and the
//! reported bound is that change. Every method stops at its iteration limit with an error that
//! carries the residual history — never a hang.

use super::Mdp;
use crate::error::{HjbError, Result};
use faer::linalg::solvers::Solve;
use faer::sparse::linalg::solvers::{Lu, SymbolicLu};
use faer::sparse::{Pair, SparseColMat, SymbolicSparseColMat};
use faer::Mat;
use std::time::Instant;

/// Which MDP solver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Jacobi value iteration `V_{k+1} = T V_k`, parallel over states.
    ValueIteration,
    /// Gauss–Seidel value iteration: in place, in node order, sequential.
    GaussSeidel,
    /// Howard's policy iteration: exact policy evaluation by sparse LU, greedy improvement.
    PolicyIteration,
    /// Modified policy iteration with this many evaluation sweeps per improvement.
    ModifiedPolicyIteration(usize),
}

impl Method {
    /// Short name of the method: `vi`, `gs`, `pi` or `mpi`.
    pub fn name(self) -> &'static str {
        match self {
            Method::ValueIteration => "vi",
            Method::GaussSeidel => "gs",
            Method::PolicyIteration => "pi",
            Method::ModifiedPolicyIteration(_) => "mpi",
        }
    }
}

/// Tolerance and limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolveOptions {
    /// Stop when the error bound is below `tolerance · (1 + ‖V‖∞)`.
    pub tolerance: f64,
    /// Largest number of iterations (sweeps or policy improvements) before the solve fails.
    pub max_iterations: usize,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions { tolerance: 1e-10, max_iterations: 1_000_000 }
    }
}

/// The solution of one method.
#[derive(Debug, Clone, PartialEq)]
pub struct MdpSolution {
    /// The method that produced the solution.
    pub method: Method,
    /// Value `V` per state.
    pub value: Vec<f64>,
    /// Action index per state (0 at terminal states).
    pub policy: Vec<usize>,
    /// Number of iterations (sweeps or policy improvements) taken.
    pub iterations: usize,
    /// Bound on `‖V* − value‖∞` at the stop (see the module docs).
    pub error_bound: f64,
    /// Per iteration: the bound (value iteration) or the number of changed actions (policy
    /// iteration).
    pub history: Vec<f64>,
    /// Wall-clock time of the solve, in seconds.
    pub seconds: f64,
}

/// Solve `mdp` with `method`.
pub fn solve(mdp: &Mdp, method: Method, options: &SolveOptions) -> Result<MdpSolution> {
    let started = Instant::now();
    let mut solution = match method {
        Method::ValueIteration | Method::GaussSeidel => value_iteration(mdp, method, options)?,
        Method::PolicyIteration => policy_iteration(mdp, options)?,
        Method::ModifiedPolicyIteration(sweeps) => modified_policy_iteration(mdp, sweeps.max(1), options)?,
    };
    solution.seconds = started.elapsed().as_secs_f64();
    Ok(solution)
}

fn start_values(mdp: &Mdp) -> Vec<f64> {
    mdp.terminal_value.iter().map(|v| if v.is_nan() { 0.0 } else { *v }).collect()
}

fn largest(values: &[f64]) -> f64 {
    values.iter().fold(0.0f64, |a, v| a.max(v.abs()))
}

/// The error bound after a backup with change `Δ` over the non-terminal states, and the shift
/// to add to every non-terminal value (the MacQueen midpoint; 0 when not applicable).
fn bound(mdp: &Mdp, old: &[f64], new: &[f64], jacobi: bool) -> (f64, f64) {
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for x in 0..mdp.nodes {
        if !mdp.terminal[x] {
            let change = new[x] - old[x];
            low = low.min(change);
            high = high.max(change);
        }
    }
    if !low.is_finite() {
        return (0.0, 0.0);
    }
    let gamma = mdp.discount;
    if gamma >= 1.0 {
        return (low.abs().max(high.abs()), 0.0);
    }
    let factor = gamma / (1.0 - gamma);
    if jacobi && !mdp.terminal.iter().any(|t| *t) {
        (factor * (high - low) / 2.0, factor * (high + low) / 2.0)
    } else {
        (factor * low.abs().max(high.abs()), 0.0)
    }
}

/// The stopping rule of value iteration and modified policy iteration: the error bound below
/// `tolerance · (1 + ‖V‖∞)`; with γ = 1 (no contraction) the change must be 1000× smaller.
fn converged(mdp: &Mdp, options: &SolveOptions, error_bound: f64, values: &[f64]) -> bool {
    let scale = options.tolerance * (1.0 + largest(values));
    error_bound <= if mdp.discount < 1.0 { scale } else { 1e-3 * scale }
}

fn limit_error(method: Method, options: &SolveOptions, history: &[f64]) -> HjbError {
    let tail: Vec<String> = history.iter().rev().take(5).rev().map(|v| format!("{v:.3e}")).collect();
    HjbError::Numerical(format!(
        "MDP {} stopped at its limit of {} iterations without meeting the tolerance {:e}; last bounds/changes: [{}]",
        method.name(),
        options.max_iterations,
        options.tolerance,
        tail.join(", ")
    ))
}

fn value_iteration(mdp: &Mdp, method: Method, options: &SolveOptions) -> Result<MdpSolution> {
    let mut values = start_values(mdp);
    let mut next = values.clone();
    let mut policy = vec![0usize; mdp.nodes];
    let mut history = Vec::new();
    for iteration in 1..=options.max_iterations {
        match method {
            Method::GaussSeidel => {
                next.copy_from_slice(&values);
                for x in 0..mdp.nodes {
                    if !mdp.terminal[x] {
                        let (best, action) = mdp.best_action(x, &next);
                        next[x] = best;
                        policy[x] = action;
                    }
                }
            }
            _ => mdp.backup(&values, &mut next, &mut policy),
        }
        let (error_bound, shift) = bound(mdp, &values, &next, method == Method::ValueIteration);
        history.push(error_bound);
        std::mem::swap(&mut values, &mut next);
        if converged(mdp, options, error_bound, &values) {
            for x in 0..mdp.nodes {
                if !mdp.terminal[x] {
                    values[x] += shift;
                }
            }
            return Ok(MdpSolution {
                method,
                value: values,
                policy,
                iterations: iteration,
                error_bound,
                history,
                seconds: 0.0,
            });
        }
    }
    Err(limit_error(method, options, &history))
}

/// Solve `(I − γP_π) V = c_π` (terminal rows `V = g`) by sparse LU.
fn evaluate_policy(mdp: &Mdp, policy: &[usize]) -> Result<Vec<f64>> {
    let nodes = mdp.nodes;
    let mut pairs = Vec::with_capacity(nodes * 5);
    let mut entries = Vec::with_capacity(nodes * 5);
    let mut right = Mat::<f64>::zeros(nodes, 1);
    for x in 0..nodes {
        pairs.push(Pair::new(x, x));
        entries.push(1.0);
        if mdp.terminal[x] {
            right[(x, 0)] = mdp.terminal_value[x];
            continue;
        }
        let a = policy[x];
        let matrix = &mdp.transitions[a];
        for k in matrix.indptr[x]..matrix.indptr[x + 1] {
            pairs.push(Pair::new(x, matrix.indices[k]));
            entries.push(-mdp.discount * matrix.data[k]);
        }
        right[(x, 0)] = mdp.cost[x * mdp.action_count + a];
    }
    let numerical = |message: String| HjbError::Numerical(format!("MDP policy evaluation: {message}"));
    let (symbolic, argsort) = SymbolicSparseColMat::try_new_from_indices(nodes, nodes, &pairs)
        .map_err(|error| numerical(format!("sparsity pattern: {error:?}")))?;
    let matrix = SparseColMat::new_from_argsort(symbolic.clone(), &argsort, &entries)
        .map_err(|error| numerical(format!("assembly: {error:?}")))?;
    let symbolic_lu = SymbolicLu::try_new(symbolic.as_ref())
        .map_err(|error| numerical(format!("symbolic LU: {error:?}")))?;
    let lu = Lu::try_new_with_symbolic(symbolic_lu, matrix.as_ref()).map_err(|error| {
        numerical(format!(
            "LU (is the policy proper? with γ = 1 every state must reach a terminal one): {error:?}"
        ))
    })?;
    let solution = lu.solve(&right);
    let values: Vec<f64> = (0..nodes).map(|x| solution[(x, 0)]).collect();
    if let Some(x) = values.iter().position(|v| !v.is_finite()) {
        return Err(numerical(format!(
            "non-finite value at state {x}: the policy never reaches a terminal state"
        )));
    }
    Ok(values)
}

/// Greedy improvement; returns the number of changed actions.
fn improve(mdp: &Mdp, values: &[f64], policy: &mut [usize]) -> usize {
    let mut changed = 0;
    for x in 0..mdp.nodes {
        if mdp.terminal[x] {
            continue;
        }
        let (best, action) = mdp.best_action(x, values);
        let current = policy[x];
        let current_q = mdp.cost[x * mdp.action_count + current]
            + mdp.discount * mdp.transitions[current].row_dot(x, values);
        if best < current_q - 1e-12 * (1.0 + current_q.abs()) {
            policy[x] = action;
            changed += 1;
        }
    }
    changed
}

fn policy_iteration(mdp: &Mdp, options: &SolveOptions) -> Result<MdpSolution> {
    let mut policy = vec![0usize; mdp.nodes];
    let mut scratch = vec![0.0; mdp.nodes];
    mdp.backup(&start_values(mdp), &mut scratch, &mut policy);
    let mut history = Vec::new();
    for iteration in 1..=options.max_iterations.min(10_000) {
        let values = evaluate_policy(mdp, &policy)?;
        let changed = improve(mdp, &values, &mut policy);
        history.push(changed as f64);
        if changed == 0 {
            // The Bellman residual of the final values bounds their error.
            let mut backup = vec![0.0; mdp.nodes];
            let mut greedy = vec![0usize; mdp.nodes];
            mdp.backup(&values, &mut backup, &mut greedy);
            let (error_bound, _) = bound(mdp, &values, &backup, false);
            return Ok(MdpSolution {
                method: Method::PolicyIteration,
                value: values,
                policy,
                iterations: iteration,
                error_bound,
                history,
                seconds: 0.0,
            });
        }
    }
    Err(limit_error(Method::PolicyIteration, options, &history))
}

fn modified_policy_iteration(mdp: &Mdp, sweeps: usize, options: &SolveOptions) -> Result<MdpSolution> {
    let method = Method::ModifiedPolicyIteration(sweeps);
    let mut values = start_values(mdp);
    let mut next = values.clone();
    let mut policy = vec![0usize; mdp.nodes];
    let mut history = Vec::new();
    for iteration in 1..=options.max_iterations {
        mdp.backup(&values, &mut next, &mut policy);
        let (error_bound, _) = bound(mdp, &values, &next, false);
        history.push(error_bound);
        std::mem::swap(&mut values, &mut next);
        if converged(mdp, options, error_bound, &values) {
            return Ok(MdpSolution {
                method,
                value: values,
                policy,
                iterations: iteration,
                error_bound,
                history,
                seconds: 0.0,
            });
        }
        // Partial evaluation of the greedy policy: k sweeps of V ← c_π + γP_π V.
        for _ in 0..sweeps {
            use rayon::prelude::*;
            next.par_iter_mut().enumerate().for_each(|(x, value)| {
                *value = if mdp.terminal[x] {
                    mdp.terminal_value[x]
                } else {
                    let a = policy[x];
                    mdp.cost[x * mdp.action_count + a] + mdp.discount * mdp.transitions[a].row_dot(x, &values)
                };
            });
            std::mem::swap(&mut values, &mut next);
        }
    }
    Err(limit_error(method, options, &history))
}
