//! Limits checked before work: the memory a run will need, estimated from the sizes alone
//! before anything is allocated, and the number of time steps a march may take.
//!
//! The estimate is the one the `check` report prints (fields, coefficient tables, snapshots,
//! the implicit matrix), computed in floating point so that absurd sizes give a large number
//! instead of an overflow. The caller chooses the limit (the machine's available memory, or a
//! limit of its own) and calls [`check_memory`] before [`crate::solve`]; [`StepLimit`] is the
//! observer that refuses a march whose plan has more steps than allowed, before its first step.

use super::observer::{Observer, RunView};
use crate::error::{HjbError, Result};
use crate::problem::Problem;
use crate::settings::{LinearSolver, LinearSystem, Minimisation, Settings, Stepping};

/// The largest number of time steps any plan may have (beyond it the step count is not even
/// representable exactly); [`crate::solver::prepare`] refuses larger plans.
pub const MAX_STEPS: usize = 1_000_000_000_000_000;

/// The default largest number of time steps of a march ([`StepLimit::default`]).
pub const DEFAULT_MAX_STEPS: usize = 100_000_000;

/// The number of nodes of `problem`'s grid as a float (never overflows).
fn node_count(problem: &Problem) -> f64 {
    problem.grid.axes().iter().map(|axis| axis.points as f64).product()
}

/// Estimated peak memory of solving `problem` with `settings`, in bytes: the state fields
/// (coordinates, V, its successor, the terminal values, the policy), the snapshots, the tabulated
/// coefficients (twice for time-dependent problems, and twice again while they are built), and
/// the sparse matrix and factors of the implicit stepping.
pub fn memory_estimate(problem: &Problem, settings: &Settings) -> f64 {
    let nodes = node_count(problem);
    let n = problem.grid.dimension() as f64;
    let m = problem.controls.len() as f64;
    let snapshots = settings.snapshots as f64 * (1.0 + m);
    let fields = n + 3.0 + m + snapshots;
    let noise = if problem.diffusion.is_some() || problem.diffusion_matrix.is_some() { n } else { 0.0 };
    let closed_form = 2.0 * n + 1.0 + 2.0 * m + noise;
    let samples: f64 = problem.controls.iter().map(|control| control.samples as f64).product();
    let sampled = samples * (n + 1.0 + noise);
    let per_node_table = match settings.minimisation {
        Minimisation::Sampled => sampled,
        // Which model applies is decided later; a problem with a polynomial structure takes the
        // closed form, the others the samples.
        Minimisation::Auto if structurally_closed_form(problem) => closed_form,
        Minimisation::Auto => sampled.max(closed_form),
    };
    let copies = if problem.is_time_dependent() { 2.0 } else { 1.0 };
    let table = 2.0 * copies * per_node_table;
    let solver = match settings.stepping {
        Stepping::Implicit { .. } => {
            linear_solver_floats(settings, nodes, &crate::time::implicit::linear_system(problem))
        }
        _ => 0.0,
    };
    8.0 * nodes * (fields + table + solver)
}

/// Floats per node of policy iteration's linear solver on `nodes` unknowns (as a float: absurd
/// sizes do not overflow) of systems shaped as `system`: the matrix (`2d + 1` entries per row,
/// value and index) and
///
/// * tridiagonal: the three diagonals, the fill of the interchanges and the right-hand side (four
///   vectors, [`crate::time::tridiagonal`]);
/// * LU: its factors. On one axis the matrix is banded and the factors keep its band. On two
///   and more, the fill of a nested-dissection ordering grows like `N log N` (2-D) and
///   `N^{4/3}` (3-D): measured on `lqr_stochastic_2d`, the peak of a 2-D run is about
///   `20 log₂ N` floats per node (2.7 kB per node at 301², 3.0 kB at 1001²); the 3-D law is
///   scaled to meet the 2-D one at 10⁵ unknowns (not measured);
/// * BiCGSTAB: the ILU(0) factors on the matrix's pattern, the copies made while both are
///   assembled, and the work vectors: calibrated on the measured peak of a 2-D run (0.56 kB
///   per node at 1001², of which 0.16 kB are the fields and tables counted elsewhere).
///
/// A `tridiagonal` named on a system that is not is refused elsewhere; it is estimated as LU.
pub(crate) fn linear_solver_floats(settings: &Settings, nodes: f64, system: &LinearSystem) -> f64 {
    let dimension = system.dimension;
    let matrix = 2.0 * (2.0 * dimension as f64 + 1.0);
    let unknowns = if nodes.is_finite() { nodes.min(usize::MAX as f64) as usize } else { usize::MAX };
    let system = LinearSystem { nodes: unknowns, ..*system };
    match settings.linear_solver.resolve(&system).unwrap_or(LinearSolver::Lu) {
        LinearSolver::Tridiagonal => matrix + 4.0,
        LinearSolver::Bicgstab => 4.0 * matrix + 10.0,
        _ if dimension <= 1 => 2.0 * matrix,
        _ if dimension == 2 => matrix + 20.0 * nodes.max(2.0).log2(),
        _ => matrix + 20.0 * 1e5f64.log2() * (nodes / 1e5).max(1.0).cbrt(),
    }
}

/// Whether the dynamics and cost have the structure of the closed-form minimiser (the structural
/// checks of [`crate::scheme::ControlModel::analyse`], without its per-node separability test).
fn structurally_closed_form(problem: &Problem) -> bool {
    let n = problem.grid.dimension();
    let m = problem.controls.len();
    let mut selected = vec![false; n + m + 1];
    selected[n..n + m].iter_mut().for_each(|flag| *flag = true);
    // With several controls the closed form also needs a separable cost (checked per node
    // later); a quadratic cost usually is, so the estimate assumes it.
    let uses_controls =
        |formula: &crate::problem::PointFunction| formula.uses()[n..n + m].iter().filter(|u| **u).count();
    let mut noise =
        problem.diffusion.iter().flatten().chain(problem.diffusion_matrix.iter().flatten().flatten());
    matches!(problem.running_cost.degree_in(&selected), Some(0..=2))
        && problem
            .dynamics
            .iter()
            .all(|formula| matches!(formula.degree_in(&selected), Some(0 | 1)) && uses_controls(formula) <= 1)
        && noise.all(|formula| uses_controls(formula) == 0)
}

/// A description of the run for messages: `a grid of 101 × 101 nodes`.
pub fn describe_grid(problem: &Problem) -> String {
    let shape: Vec<String> = problem.grid.axes().iter().map(|axis| axis.points.to_string()).collect();
    format!("a grid of {} nodes", shape.join(" × "))
}

/// Refuse a run whose [`memory_estimate`] plus `extra` bytes is above `limit` bytes
/// (`limit_source` says where the limit comes from, for the message). Returns the estimate.
pub fn check_memory(
    problem: &Problem,
    settings: &Settings,
    extra: f64,
    limit: f64,
    limit_source: &str,
) -> Result<f64> {
    let needed = memory_estimate(problem, settings) + extra;
    if !(needed <= limit) {
        return Err(HjbError::TooLarge {
            what: format!("solving on {}", describe_grid(problem)),
            needed,
            limit,
            limit_source: limit_source.to_string(),
        });
    }
    Ok(needed)
}

/// Refuse a march with more than `limit` planned steps before its first step.
#[derive(Debug, Clone, Copy)]
pub struct StepLimit {
    /// The largest number of steps allowed.
    pub limit: usize,
}

impl Default for StepLimit {
    fn default() -> Self {
        StepLimit { limit: DEFAULT_MAX_STEPS }
    }
}

impl Observer for StepLimit {
    fn admit(&mut self, run: &RunView<'_>) -> Result<()> {
        if run.steps > self.limit {
            return Err(HjbError::TooMuchWork {
                what: format!("the march with time step {:.3e}", run.time_step),
                count: run.steps as f64,
                unit: "time steps",
                limit: self.limit as f64,
            });
        }
        Ok(())
    }
}
