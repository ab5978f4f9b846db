//! The linearly solvable MDP (Todorov 2007) on the scheme's own passive chain: the discrete twin
//! of the Cole–Hopf transform (`docs/numerics.md` §6.1).
//!
//! The passive dynamics `P` is the scheme's chain at `u = 0` ([`super::build_passive`]: the
//! uncontrolled diffusion's weights). The controlled chain may be any row `π(x, ·)` absolutely
//! continuous with respect to `P(x, ·)`, at the stage cost `q(x)Δt + λ KL(π(x, ·) ‖ P(x, ·))`
//! (`λ` the temperature of [`crate::problem::linearly_solvable`]). The minimum over `π` is the
//! Gibbs row `π*(x, y) ∝ P(x, y) e^{−V(y)/λ}`, and with the desirability `z = e^{−V/λ}` the
//! Bellman equation becomes linear:
//!
//! ```text
//! finite horizon:  z^N = e^{−g/λ},   z^n(x) = e^{−q(x)Δt/λ} Σ_y P(x, y) z^{n+1}(y),   n = N−1 … 0;
//! first exit:      z(x) = e^{−q(x)Δt/λ} Σ_y P(x, y) z(y)  (x not terminal),   z = e^{−g/λ}  (terminal),
//! ```
//!
//! and `V = −λ log z`. The march keeps `z` scaled to a largest entry of one and carries the log
//! of the scale, so nothing under- or overflows while `V` spans less than ~700 λ; the first-exit
//! system is solved by sparse LU. Terminal states (targets, Dirichlet ends) keep their value in
//! both forms. Rows are independent, so the march is parallel over states and gives the same bits
//! whatever the thread count.
//!
//! The cheapest row with mean displacement `uΔt` (the exponential tilt of `P`) has
//! `KL(π_u ‖ P) = Δt |u|²/(2σ²) + o(Δt)`, so the KL cost is the continuous control cost
//! `½ r|u|²Δt` exactly when `λ = σ² r`: `−λ log z` converges to the HJB's value (first order in
//! `h` with a passive drift, like the upwind scheme; second order in `h` = first in `Δt` without).

use super::{build_passive, matching_pde_settings, Chain, Mdp};
use crate::error::{HjbError, Result};
use crate::grid::row_major;
use crate::norms::{error_norms, ErrorNorms};
use crate::problem::linearly_solvable::{linearly_solvable, LinearlySolvable};
use crate::problem::Problem;
use crate::settings::Settings;
use crate::solver::{prepare, Silent, Solution};
use faer::linalg::solvers::Solve;
use faer::sparse::linalg::solvers::{Lu, SymbolicLu};
use faer::sparse::{Pair, SparseColMat, SymbolicSparseColMat};
use faer::Mat;
use rayon::prelude::*;
use std::time::Instant;

/// The value `V = −λ log z` of the linearly solvable MDP.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearSolution {
    /// `V = −λ log z` per state (at `t = 0` for a finite horizon).
    pub value: Vec<f64>,
    /// Backward steps marched (finite horizon); 0 for the first-exit linear solve.
    pub steps: usize,
    /// Wall-clock seconds of the march or solve.
    pub seconds: f64,
}

/// `−λ (log scaled + log_scale)`; refuses a `z` that underflowed to 0 or is not finite.
fn values_of(mdp: &Mdp, scaled: &[f64], log_scale: f64, temperature: f64) -> Result<Vec<f64>> {
    scaled
        .iter()
        .enumerate()
        .map(|(x, z)| {
            if *z > 0.0 && z.is_finite() {
                Ok(-temperature * (z.ln() + log_scale))
            } else {
                Err(HjbError::Numerical(format!(
                    "linear MDP: the desirability z = e^(−V/λ) is {z} at state {x}: V there is more than \
                     ~700 λ above its smallest value (or unreachable), beyond f64 (λ = {temperature}, {} states)",
                    mdp.nodes
                )))
            }
        })
        .collect()
}

/// `e^{−c/λ}` with `c` shifted by its smallest value; returns the scaled `z` and the log scale.
fn scaled_exponential(costs: &[f64], temperature: f64) -> (Vec<f64>, f64) {
    let smallest = costs.iter().copied().filter(|c| c.is_finite()).fold(f64::INFINITY, f64::min);
    let shift = if smallest.is_finite() { smallest / temperature } else { 0.0 };
    (costs.iter().map(|c| (-(c / temperature - shift)).exp()).collect(), -shift)
}

/// March `z^n = e^{−qΔt/λ} P z^{n+1}` from `z^N = e^{−g/λ}` (`terminal_cost` per state; terminal
/// states start from, and keep, their fixed value) for `steps` steps.
pub fn march(mdp: &Mdp, temperature: f64, terminal_cost: &[f64], steps: usize) -> Result<LinearSolution> {
    let started = Instant::now();
    let passive = mdp.transitions.action_matrix(0, mdp.action_count);
    let start: Vec<f64> = (0..mdp.nodes)
        .map(|x| if mdp.terminal[x] { mdp.terminal_value[x] } else { terminal_cost[x] })
        .collect();
    let (mut z, mut log_scale) = scaled_exponential(&start, temperature);
    let decay: Vec<f64> = (0..mdp.nodes)
        .map(|x| if mdp.terminal[x] { 1.0 } else { (-mdp.cost[x] / temperature).exp() })
        .collect();
    let mut next = vec![0.0; mdp.nodes];
    for _ in 0..steps {
        next.par_iter_mut().enumerate().for_each(|(x, out)| *out = decay[x] * passive.row_dot(x, &z));
        let top = next.par_iter().copied().reduce(|| 0.0, f64::max);
        if !(top > 0.0 && top.is_finite()) {
            return Err(HjbError::Numerical(format!("linear MDP: the largest desirability became {top}")));
        }
        next.par_iter_mut().for_each(|v| *v /= top);
        log_scale += top.ln();
        std::mem::swap(&mut z, &mut next);
    }
    let value = values_of(mdp, &z, log_scale, temperature)?;
    Ok(LinearSolution { value, steps, seconds: started.elapsed().as_secs_f64() })
}

/// Solve the first-exit system `(I − diag(e^{−qΔt/λ}) P) z = 0` off the terminal states,
/// `z = e^{−g/λ}` on them, by sparse LU.
pub fn first_exit(mdp: &Mdp, temperature: f64) -> Result<LinearSolution> {
    let started = Instant::now();
    if !mdp.terminal.iter().any(|t| *t) {
        return Err(HjbError::InvalidProblem {
            field: "target".to_string(),
            message: "a stationary linearly solvable problem needs terminal states (a target set or \
                      Dirichlet ends): without them z = e^(−qΔt/λ) P z has only z = 0"
                .to_string(),
        });
    }
    let nodes = mdp.nodes;
    let passive = mdp.transitions.action_matrix(0, mdp.action_count);
    let fixed: Vec<f64> =
        mdp.terminal_value.iter().map(|v| if v.is_nan() { f64::INFINITY } else { *v }).collect();
    let (boundary, log_scale) = scaled_exponential(&fixed, temperature);
    let mut pairs = Vec::with_capacity(passive.data.len() + nodes);
    let mut entries = Vec::with_capacity(passive.data.len() + nodes);
    let mut right = Mat::<f64>::zeros(nodes, 1);
    for x in 0..nodes {
        pairs.push(Pair::new(x, x));
        entries.push(1.0);
        if mdp.terminal[x] {
            right[(x, 0)] = boundary[x];
            continue;
        }
        let decay = (-mdp.cost[x] / temperature).exp();
        for k in passive.indptr[x]..passive.indptr[x + 1] {
            pairs.push(Pair::new(x, passive.indices[k]));
            entries.push(-decay * passive.data[k]);
        }
    }
    let numerical = |message: String| HjbError::Numerical(format!("linear MDP first-exit solve: {message}"));
    let (symbolic, argsort) = SymbolicSparseColMat::try_new_from_indices(nodes, nodes, &pairs)
        .map_err(|error| numerical(format!("sparsity pattern: {error:?}")))?;
    let matrix = SparseColMat::new_from_argsort(symbolic.clone(), &argsort, &entries)
        .map_err(|error| numerical(format!("assembly: {error:?}")))?;
    let symbolic_lu = SymbolicLu::try_new(symbolic.as_ref())
        .map_err(|error| numerical(format!("symbolic LU: {error:?}")))?;
    let lu = Lu::try_new_with_symbolic(symbolic_lu, matrix.as_ref()).map_err(|error| {
        numerical(format!("LU (with q = 0 every state must reach a terminal one): {error:?}"))
    })?;
    let solution = lu.solve(&right);
    let z: Vec<f64> = (0..nodes).map(|x| solution[(x, 0)]).collect();
    let value = values_of(mdp, &z, log_scale, temperature)?;
    Ok(LinearSolution { value, steps: 0, seconds: started.elapsed().as_secs_f64() })
}

/// The linear MDP of a problem, solved, next to the matching PDE solve and the reference.
#[derive(Debug)]
pub struct LinearComparison {
    /// The passive chain (one action, `u = 0`).
    pub mdp: Mdp,
    /// The temperature and control weights the problem satisfies.
    pub structure: LinearlySolvable,
    /// `V = −λ log z`.
    pub solution: LinearSolution,
    /// The PDE solution of the matching scheme on the same grid and time step.
    pub pde: Solution,
    /// Its settings.
    pub pde_settings: Settings,
    /// Seconds spent building the passive chain.
    pub build_seconds: f64,
    /// `max |V_linear − V_pde|` over all nodes.
    pub max_difference_from_pde: f64,
    /// The same over the reference's region, when there is one (away from the box ends, where
    /// the chain reflects and the PDE extrapolates).
    pub max_difference_in_region: Option<f64>,
    /// Errors of `V_linear` against the exact reference, when there is one.
    pub reference_error: Option<ErrorNorms>,
}

/// The refusal of a problem outside the linearly solvable class (bad input: exit 2).
pub fn not_linearly_solvable(reason: String) -> HjbError {
    HjbError::InvalidProblem {
        field: "dynamics, cost, diffusion".to_string(),
        message: format!("the linear (KL-control) MDP does not apply: {reason}"),
    }
}

/// Check the structure, build the passive `chain` with the time step of the matching PDE scheme,
/// solve the linear MDP (march for a finite horizon, first-exit solve otherwise), solve the PDE,
/// and compare.
pub fn solve_linear(problem: &Problem, settings: &Settings, chain: Chain) -> Result<LinearComparison> {
    let structure = linearly_solvable(problem).map_err(not_linearly_solvable)?;
    let (pde_settings, characteristic) = matching_pde_settings(settings, chain);
    let preparation = prepare(problem, &pde_settings)?;
    let time_step = preparation.plan.time_step;
    let built = Instant::now();
    let mdp = build_passive(problem, chain, time_step, characteristic)?;
    let build_seconds = built.elapsed().as_secs_f64();
    let solution = if problem.is_stationary() {
        first_exit(&mdp, structure.temperature)?
    } else {
        let coordinates = problem.grid.coordinate_columns();
        let zeros = vec![0.0; problem.controls.len()];
        let g = problem.tabulate(&problem.terminal_cost, &coordinates, &zeros, problem.final_time);
        march(&mdp, structure.temperature, &g, preparation.plan.steps)?
    };
    let pde = crate::solver::solve(problem, &pde_settings, &mut Silent)?;
    let max_difference_from_pde = solution
        .value
        .iter()
        .zip(row_major(&pde.values).iter())
        .fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
    let max_difference_in_region = problem.reference.as_ref().map(|spec| {
        let pde_values = row_major(&pde.values);
        (0..problem.grid.node_count())
            .filter(|&node| spec.region.contains(&problem.grid.point(node)))
            .fold(0.0f64, |a, node| a.max((solution.value[node] - pde_values[node]).abs()))
    });
    let reference_error = match (&pde.reference, &problem.reference) {
        (Some(exact), Some(spec)) => {
            Some(error_norms(&problem.grid, &solution.value, &row_major(exact), &spec.region))
        }
        _ => None,
    };
    Ok(LinearComparison {
        mdp,
        structure,
        solution,
        pde,
        pde_settings,
        build_seconds,
        max_difference_from_pde,
        max_difference_in_region,
        reference_error,
    })
}
