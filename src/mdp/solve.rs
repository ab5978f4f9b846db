//! Solvers of the discounted (or exit-time) MDP `V = min_a {c_a + γ P_a V}`.
//!
//! * **Value iteration**, Jacobi (`V_{k+1} = T V_k`, parallel over blocks of states) or
//!   Gauss–Seidel (in place, in node order, sequential). Both contract by γ in the sup norm.
//! * **Policy iteration** (Howard): evaluate the policy exactly, `(I − γP_π) V = c_π` (terminal
//!   rows `V = g`), block-triangularly over the strongly connected components of its chain
//!   ([`super::evaluate`]); improve greedily (an action changes only when it lowers the Q-value
//!   by more than 1e-12 relative: no cycling on ties), stop when the policy is stable.
//! * **Modified policy iteration**: one improvement `V' = T V` (greedy `π`), then `k` evaluation
//!   sweeps `V ← c_π + γP_π V` on the policy's compact chain (QuantEcon's `DiscreteDP` scheme,
//!   `k = 20` by default there and here).
//!
//! Stopping rules bound the error. Without terminal states, Jacobi value iteration and modified
//! policy iteration use the MacQueen bounds, valid for any `V` with `Δ = TV − V`:
//! `TV + γ/(1−γ) min Δ ≤ V* ≤ TV + γ/(1−γ) max Δ` (Puterman §6.6.3), and return the midpoint,
//! whose error is ≤ γ/(1−γ)·sp(Δ)/2 (sp the span seminorm). This is QuantEcon's rule for
//! modified policy iteration (stop when `sp(Δ) < ε(1−γ)/γ`, return `TV + γ/(1−γ)·midrange(Δ)`,
//! error < ε/2), so the same tolerance means `ε = 2 · tolerance · (1 + ‖V‖∞)`. Otherwise
//! (Gauss–Seidel, terminal states) `‖V* − TV‖∞ ≤ γ/(1−γ)‖Δ‖∞`. With γ = 1 (exit-time, terminal
//! states reachable) there is no contraction constant: the iteration stops when `‖Δ‖∞` stops
//! moving, and the reported bound is that change. Every method stops at its iteration limit with
//! an error that carries the residual history — never a hang.
//!
//! Every state's arithmetic is the same on any number of threads (parallel loops split states,
//! never sums), so the results are bit-identical across thread counts; [`super::reference`] holds
//! the straightforward implementation the fast paths are tested against.

use super::evaluate::PolicyEvaluation;
use super::partial::PartialEvaluation;
use super::Mdp;
use super::{parallel, BLOCK};
use crate::error::{HjbError, Result};
use rayon::prelude::*;
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

pub(crate) fn start_values(mdp: &Mdp) -> Vec<f64> {
    mdp.terminal_value.iter().map(|v| if v.is_nan() { 0.0 } else { *v }).collect()
}

fn largest(values: &[f64]) -> f64 {
    values.iter().fold(0.0f64, |a, v| a.max(v.abs()))
}

/// The error bound after a backup with change `Δ` over the non-terminal states, and the shift
/// to add to every non-terminal value (the MacQueen midpoint; 0 when not applicable).
pub(crate) fn bound(mdp: &Mdp, old: &[f64], new: &[f64], macqueen: bool) -> (f64, f64) {
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
    if macqueen && !mdp.terminal.iter().any(|t| *t) {
        (factor * (high - low) / 2.0, factor * (high + low) / 2.0)
    } else {
        (factor * low.abs().max(high.abs()), 0.0)
    }
}

/// The stopping rule of value iteration and modified policy iteration: the error bound below
/// `tolerance · (1 + ‖V‖∞)`; with γ = 1 (no contraction) the change must be 1000× smaller.
pub(crate) fn converged(mdp: &Mdp, options: &SolveOptions, error_bound: f64, values: &[f64]) -> bool {
    let scale = options.tolerance * (1.0 + largest(values));
    error_bound <= if mdp.discount < 1.0 { scale } else { 1e-3 * scale }
}

/// Add the MacQueen midpoint `shift` to every non-terminal value.
pub(crate) fn shift_values(mdp: &Mdp, values: &mut [f64], shift: f64) {
    if shift != 0.0 {
        for (value, terminal) in values.iter_mut().zip(&mdp.terminal) {
            if !terminal {
                *value += shift;
            }
        }
    }
}

pub(crate) fn limit_error(method: Method, options: &SolveOptions, history: &[f64]) -> HjbError {
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
            shift_values(mdp, &mut values, shift);
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

/// Greedy improvement, parallel over states (each state's choice is independent); returns the
/// number of changed actions. An action changes only when it lowers the Q-value by more than
/// 1e-12 relative (no cycling on ties).
pub(crate) fn improve(mdp: &Mdp, values: &[f64], policy: &mut [usize]) -> usize {
    let kernel = |block: usize, policy: &mut [usize]| -> usize {
        let mut changed = 0;
        for (i, action) in policy.iter_mut().enumerate() {
            let x = block * BLOCK + i;
            if mdp.terminal[x] {
                continue;
            }
            let (best, candidate) = mdp.best_action(x, values);
            let current = *action;
            let current_q =
                mdp.cost[x * mdp.action_count + current] + mdp.discount * mdp.expectation(x, current, values);
            if best < current_q - 1e-12 * (1.0 + current_q.abs()) {
                *action = candidate;
                changed += 1;
            }
        }
        changed
    };
    if parallel(mdp.transitions.slots()) {
        policy.par_chunks_mut(BLOCK).enumerate().map(|(block, policy)| kernel(block, policy)).sum()
    } else {
        policy.chunks_mut(BLOCK).enumerate().map(|(block, policy)| kernel(block, policy)).sum()
    }
}

fn policy_iteration(mdp: &Mdp, options: &SolveOptions) -> Result<MdpSolution> {
    let mut policy = vec![0usize; mdp.nodes];
    let mut scratch = vec![0.0; mdp.nodes];
    mdp.backup(&start_values(mdp), &mut scratch, &mut policy);
    let mut history = Vec::new();
    let mut evaluation = PolicyEvaluation::new(mdp);
    for iteration in 1..=options.max_iterations.min(10_000) {
        let values = evaluation.evaluate(mdp, &policy)?;
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
    let mut partial = PartialEvaluation::default();
    let mut values = start_values(mdp);
    let mut next = values.clone();
    let mut policy = vec![0usize; mdp.nodes];
    let mut history = Vec::new();
    for iteration in 1..=options.max_iterations {
        mdp.backup(&values, &mut next, &mut policy);
        let (error_bound, shift) = bound(mdp, &values, &next, true);
        history.push(error_bound);
        std::mem::swap(&mut values, &mut next);
        if converged(mdp, options, error_bound, &values) {
            shift_values(mdp, &mut values, shift);
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
        partial.extract(mdp, &policy);
        partial.sweep(mdp, sweeps, &mut values, &mut next);
    }
    Err(limit_error(method, options, &history))
}
