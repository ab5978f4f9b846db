//! The solve driver: owns the time loop; progress and other side channels are [`Observer`]s.
//!
//! `solve` = analyse the control structure → tabulate the formulas → plan the time step from
//! the CFL bound → march `V^0 = g`, `V^{n+1} = S(V^n)` for `n = 0 … N−1` (time-to-go) → the value
//! and policy at `t = 0`, the stability numbers of the run and, when the problem has a
//! reference, the errors on its region.
//!
//! The fields of a [`Solution`] (and of its [`Snapshots`]) are `ndarray` arrays of shape
//! [`Grid::shape`](crate::Grid::shape), in row-major order with the last axis fastest, so users
//! get shapes, indexing (`values[[i, j]]`) and views (`values.index_axis(Axis(0), i)`). The
//! kernels work on the contiguous slices of these arrays: the drivers (`march`, `stationary`),
//! the time steppers and the schemes keep flat `Vec<f64>`s indexed with
//! [`Grid::strides`](crate::Grid::strides), which is where the speed is, and the arrays are
//! built from those vectors at the end without copying ([`Grid::field`](crate::Grid::field));
//! `values.as_slice()` gives the flat data back. The resumable state of a march
//! ([`MarchState`]) stays flat.

mod block_jacobi;
pub mod domain;
mod finite;
pub mod limits;
mod march;
pub mod observer;
mod snapshots;
mod stationary;

pub use observer::{KeepPartial, MarchState, Observer, RunView, Silent, StepView};
use snapshots::split_policy;
pub use snapshots::{Snapshots, StoredLevel};

use crate::error::{HjbError, Result};
use crate::norms::{error_norms, ErrorNorms};
use crate::problem::Problem;
use crate::scheme::{dominance_margin, ControlModel, DriftBounds, Tabulation};
use crate::settings::auto::MarchWork;
use crate::settings::{Settings, Stepping};
use crate::stability::StabilityReport;
use crate::time::plan::cfl_rate;
use crate::time::{HighOrderReport, SemiLagrangianReport, StepperReport, TimeStepPlan};
pub use domain::{DistributedReport, Domain, Whole};
use ndarray::ArrayD;
use std::time::Instant;

/// What the run did and whether its stability conditions held.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics {
    /// The settings of the run.
    pub settings: Settings,
    /// `closed_form` or `sampled(N)`.
    pub hamiltonian: String,
    /// The time step Δt (infinite for stationary policy iteration).
    pub time_step: f64,
    /// Steps taken (value-iteration sweeps, or policy-iteration sweeps when stationary).
    pub steps: usize,
    /// The explicit CFL bound `Δt_max` (infinite when nothing moves).
    pub time_step_max: f64,
    /// `Δt / Δt_max`.
    pub cfl_number: f64,
    /// All interior transition weights nonnegative (CFL number ≤ 1).
    pub monotone: bool,
    /// Coordinates of the node where the CFL rate peaks.
    pub cfl_peak: Vec<f64>,
    /// Boundary handling per axis.
    pub boundaries: Vec<String>,
    /// Per axis: extrapolated boundary nodes where the drift can point out (not monotone there).
    pub outflow_nodes: Vec<usize>,
    /// Estimated memory of the run's fields and tables, in bytes.
    pub memory_bytes: usize,
    /// Wall time of the solve.
    pub seconds: f64,
    /// Worker threads used.
    pub threads: usize,
    /// Policy-iteration and M-matrix numbers (implicit scheme only).
    pub implicit: Option<crate::time::ImplicitReport>,
    /// Foot displacement and consistency numbers (semi-Lagrangian scheme only).
    pub semi_lagrangian: Option<SemiLagrangianReport>,
    /// The high-order scheme's parts (ENO/WENO, TVD Runge–Kutta).
    pub high_order: Option<HighOrderReport>,
    /// The players of a game (`min_u max_d` or `max_u min_d`).
    pub game: Option<String>,
    /// The zero sublevel set of a reachability problem.
    pub reachable: Option<ReachableReport>,
    /// Sweeps of the fast-sweeping solver.
    pub sweeping: Option<crate::time::SweepingReport>,
    /// Processes, decomposition and communication of a run decomposed with MPI.
    pub distributed: Option<DistributedReport>,
}

/// The set `{V(·, 0) ≤ 0}` of a reachability problem.
#[derive(Debug, Clone, PartialEq)]
pub struct ReachableReport {
    /// `set`, `tube` or `reach_avoid`.
    pub mode: String,
    /// Grid nodes with `V ≤ 0`.
    pub inside_nodes: usize,
    /// Their fraction of the grid.
    pub inside_fraction: f64,
}

impl Diagnostics {
    /// Take the stepper's own section of the report.
    fn take_report(&mut self, report: StepperReport) {
        match report {
            StepperReport::None => {}
            StepperReport::Implicit(report) => self.implicit = Some(report),
            StepperReport::SemiLagrangian(report) => self.semi_lagrangian = Some(report),
            StepperReport::HighOrder(report) => self.high_order = Some(report),
            StepperReport::Sweeping(report) => self.sweeping = Some(report),
        }
    }
}

/// The result of a solve, on the problem's grid: every field has shape
/// [`Grid::shape`](crate::Grid::shape) (row-major, last axis fastest).
#[derive(Debug, Clone)]
pub struct Solution {
    /// `V` at `t = 0` (the fixed point of a stationary problem).
    pub values: ArrayD<f64>,
    /// One field per control, in the order of `[[control]]`.
    pub policy: Vec<ArrayD<f64>>,
    /// The reference solution on the grid, when the problem has one.
    pub reference: Option<ArrayD<f64>>,
    /// Errors against the reference on its region (none for a partial result).
    pub error: Option<ErrorNorms>,
    /// What the run did and whether its stability conditions held.
    pub diagnostics: Diagnostics,
    /// Set when the run stopped early: why, and which step the fields belong to.
    pub stopped: Option<String>,
    /// Stored time levels, when the problem asks for them.
    pub snapshots: Option<Snapshots>,
}

/// Everything decided before the first step (also what `hjb check` reports).
#[derive(Debug)]
pub struct Preparation {
    /// The settings the run uses: those given, or the implicit march `scheme = "auto"` chose for a
    /// finite horizon by estimated work ([`crate::settings::auto::by_work`]).
    pub settings: Settings,
    /// Node coordinates, one column per axis.
    pub coordinates: Vec<Vec<f64>>,
    /// Closed-form or sampled minimisation.
    pub model: ControlModel,
    /// The coefficients tabulated at the first time level.
    pub table: Tabulation,
    /// The time step and the stability numbers behind it.
    pub plan: TimeStepPlan,
    /// The stability report of the plan.
    pub stability: StabilityReport,
    /// The linear solver policy iteration will use (implicit stepping only; `auto` resolved).
    pub linear_solver: Option<crate::settings::LinearSolver>,
    /// Estimated memory of the run, in bytes.
    pub memory_bytes: usize,
    /// The terminal (or exit) cost `g` at the nodes, at `t = T` (`t = 0` when stationary), checked
    /// finite.
    pub terminal: Vec<f64>,
}

/// Analyse, tabulate at `t = T`, and plan the time step.
pub fn prepare(problem: &Problem, settings: &Settings) -> Result<Preparation> {
    prepare_in(problem, settings, &mut domain::Whole)
}

/// [`prepare`] for one block of a decomposed grid: the checks that look for a node somewhere
/// (the target set) and the drift bounds behind the time step are taken over every block
/// together, so each block plans the very time step of the whole grid.
pub fn prepare_in(problem: &Problem, settings: &Settings, domain: &mut dyn Domain) -> Result<Preparation> {
    let coordinates = problem.grid.coordinate_columns();
    // The checks that look at nodes can fail on one block and pass on another: every block
    // learns the outcome of all before any takes part in a reduction.
    let local = local_checks(problem, settings, &coordinates, domain.is_whole());
    let (model, table, mut bounds, others, target_seen, terminal) = domain::agree(domain, local)?;
    let model_hash = if domain.is_whole() { 0.0 } else { model_fingerprint(&model) };
    if !domain.is_whole() && domain.gather_all(&[model_hash]).iter().any(|other| other[0] != model_hash) {
        return Err(HjbError::InvalidProblem {
            field: "running_cost".to_string(),
            message: "the blocks of the decomposed grid find different control structures (the running \
                      cost separates into one term per control on some blocks only); run on one process"
                .to_string(),
        });
    }
    if problem.target.is_some() && !domain.is_whole() && !domain.any(target_seen) {
        return Err(empty_target(problem));
    }
    let inverse_spacing: Vec<f64> = problem.grid.spacings().iter().map(|h| 1.0 / h).collect();
    let mut peak_place = reduce_bounds(domain, &mut bounds, &inverse_spacing);
    if problem.is_time_dependent() {
        // The bound must hold at every time level: take the worst over a sample of times now
        // (tabulated in `local_checks`), and re-check every step.
        for mut other in others {
            let other_place = reduce_bounds(domain, &mut other, &inverse_spacing);
            if other.largest_rate > bounds.largest_rate {
                peak_place = other_place;
                bounds.largest_rate = other.largest_rate;
                bounds.peak_node = other.peak_node;
                bounds.peak_drift = other.peak_drift.clone();
                bounds.peak_dissipation = other.peak_dissipation.clone();
                bounds.peak_diffusion = other.peak_diffusion.clone();
            }
            bounds.largest_dissipation_rate =
                bounds.largest_dissipation_rate.max(other.largest_dissipation_rate);
            bounds.largest_global_rate = bounds.largest_global_rate.max(other.largest_global_rate);
            bounds.largest_diffusion_rate = bounds.largest_diffusion_rate.max(other.largest_diffusion_rate);
            for (a, b) in bounds.largest_drift.iter_mut().zip(&other.largest_drift) {
                *a = a.max(*b);
            }
        }
    }
    if let Some(switching) = &problem.switching {
        // Regime jumps leave the node at rate Σ_k λ_jk: part of every explicit CFL rate.
        bounds.largest_rate += switching.largest_rate();
        bounds.largest_dissipation_rate += switching.largest_rate();
        bounds.largest_global_rate += switching.largest_rate();
    }
    let by_work = if domain.is_whole() { by_work(problem, settings, &bounds) } else { None };
    let settings = &by_work.unwrap_or(*settings);
    let plan = TimeStepPlan::new(settings, &bounds, problem, &problem.grid.spacings())?;
    // The step count is a float division cast to an integer: far past any run that could finish,
    // it saturates, and the time step derived from it is meaningless.
    let planned_steps = problem.final_time / plan.time_step;
    if problem.final_time.is_finite() && !(planned_steps <= limits::MAX_STEPS as f64) {
        return Err(HjbError::TooMuchWork {
            what: format!("the horizon T = {:e}", problem.final_time),
            count: planned_steps,
            unit: "time steps",
            limit: limits::MAX_STEPS as f64,
        });
    }
    let nodes = problem.grid.node_count();
    let snapshot_fields = settings.snapshots * (1 + problem.controls.len());
    let memory_bytes = 8 * nodes * (problem.grid.dimension() + 3 + problem.controls.len() + snapshot_fields)
        + table.bytes() * if problem.is_time_dependent() { 2 } else { 1 }
        + match settings.stepping {
            crate::settings::Stepping::Implicit { .. } => {
                (8.0 * nodes as f64
                    * limits::linear_solver_floats(
                        settings,
                        nodes as f64,
                        &crate::time::implicit::linear_system(problem),
                    )) as usize
            }
            _ => 0,
        };
    let mut stability = StabilityReport::new(problem, &model, &table, &plan);
    if let Some((_, point)) = peak_place.and_then(|global| domain.global_place(global)) {
        stability.cfl_peak = point;
    }
    if !domain.is_whole() {
        // An owned node on an end of its block is on an end of the whole grid (an inner block
        // edge is halo): count those, and add up over the blocks.
        let counts = crate::stability::outflow_nodes(problem, &model, &table, &|node| domain.owns(node));
        let counts: Vec<f64> = counts.iter().map(|c| *c as f64).collect();
        let all = domain.gather_all(&counts);
        stability.outflow_nodes =
            (0..counts.len()).map(|i| all.iter().map(|other| other[i] as usize).sum()).collect();
    }
    // ENO/WENO stencils are not monotone at any time step.
    stability.monotone &= settings.derivatives == crate::settings::Derivatives::FirstOrder;
    let linear_solver = match settings.stepping {
        Stepping::Implicit { .. } => {
            Some(settings.linear_solver.resolve(&crate::time::implicit::linear_system(problem))?)
        }
        _ => None,
    };
    Ok(Preparation {
        settings: *settings,
        coordinates,
        model,
        table,
        plan,
        stability,
        memory_bytes,
        linear_solver,
        terminal,
    })
}

/// `scheme = "auto"`'s finite-horizon choice by estimated work ([`crate::settings::auto::by_work`])
/// from the CFL rate of the explicit step: the backward-Euler settings, or `None` to keep
/// `settings`. A decomposed grid keeps the explicit march (the implicit one is not decomposed).
fn by_work(problem: &Problem, settings: &Settings, bounds: &DriftBounds) -> Option<Settings> {
    if !problem.final_time.is_finite() {
        return None;
    }
    let Stepping::Explicit { cfl, .. } = settings.stepping else {
        return None;
    };
    let rate = cfl_rate(settings, bounds, problem.discount);
    let smallest_spacing = problem.grid.spacings().iter().fold(f64::INFINITY, |a, h| a.min(*h));
    let work = MarchWork {
        explicit_steps: (problem.final_time * rate / cfl).ceil().max(1.0),
        implicit_steps: (problem.final_time / smallest_spacing.min(problem.final_time)).ceil().max(1.0),
        dimension: problem.grid.dimension(),
        correlated_noise: problem.diffusion_matrix.is_some(),
        tridiagonal: settings.linear_solver.resolve(&crate::time::implicit::linear_system(problem)).ok()
            == Some(crate::settings::LinearSolver::Tridiagonal),
    };
    crate::settings::auto::by_work(settings, &work)
}

/// The checks of [`prepare_in`] that look at the nodes of this process, the control model, the
/// table at the tabulation time with its drift bounds, and the drift bounds at 17 times of a
/// time-dependent problem (all unreduced), and whether a node of this process lies in the
/// target set (for the whole grid, an empty target set is refused here, in its place among the
/// checks; a block's answer is combined with the others' by the caller).
#[allow(clippy::type_complexity)]
fn local_checks(
    problem: &Problem,
    settings: &Settings,
    coordinates: &[Vec<f64>],
    whole: bool,
) -> Result<(ControlModel, Tabulation, DriftBounds, Vec<DriftBounds>, bool, Vec<f64>)> {
    if let Some(matrix) = &problem.diffusion_matrix {
        check_cross_stencil(problem, settings, coordinates, matrix)?;
    }
    let mut target_seen = true;
    if let Some(target) = &problem.target {
        let inside = problem.tabulate(target, coordinates, &vec![0.0; problem.controls.len()], 0.0);
        target_seen = inside.iter().any(|v| *v <= 0.0);
        if whole && !target_seen {
            return Err(empty_target(problem));
        }
    }
    if settings.is_high_order() || problem.game.is_some() {
        check_high_order(problem, settings)?;
    }
    let terminal = finite::check_fixed_formulas(problem, coordinates)?;
    let model = ControlModel::analyse(problem, settings.minimisation, coordinates)?;
    if problem.game.is_some() {
        check_game(problem, settings, &model)?;
    }
    let inverse_spacing: Vec<f64> = problem.grid.spacings().iter().map(|h| 1.0 / h).collect();
    let table = Tabulation::new(problem, &model, coordinates, problem.tabulation_time());
    finite::check_table(problem, &model, &table, problem.tabulation_time())?;
    let bounds = table.drift_bounds(problem, &model, &inverse_spacing);
    let mut others = Vec::new();
    if problem.is_time_dependent() {
        for k in 0..=16 {
            let t = problem.final_time * k as f64 / 16.0;
            let table_at_t = Tabulation::new(problem, &model, coordinates, t);
            finite::check_table(problem, &model, &table_at_t, t)?;
            others.push(table_at_t.drift_bounds(problem, &model, &inverse_spacing));
        }
    }
    Ok((model, table, bounds, others, target_seen, terminal))
}

/// The refusal of a target set without a grid node.
fn empty_target(problem: &Problem) -> HjbError {
    HjbError::InvalidProblem {
        field: "target.set".to_string(),
        message: format!(
            "the target set \"{} ≤ 0\" contains no grid node; refine the grid or enlarge the target",
            problem.target.as_ref().map_or("", |target| target.source())
        ),
    }
}

/// FNV-1a of the control model's description, as an exactly representable float.
fn model_fingerprint(model: &ControlModel) -> f64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in format!("{model:?}").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash >> 12) as f64
}

/// Make the drift bounds of one block those of the whole grid: maxima of the maxima (exact),
/// the global Lax–Friedrichs rate recomputed from them with the same operations as
/// [`Tabulation::drift_bounds`], and the peak (and its frozen coefficients) of the block with
/// the largest rate, ties to the lowest global node. Returns that node's global index (`None`
/// for the whole grid, whose bounds are left as they are).
fn reduce_bounds(
    domain: &mut dyn Domain,
    bounds: &mut DriftBounds,
    inverse_spacing: &[f64],
) -> Option<usize> {
    if domain.is_whole() {
        return None;
    }
    let n = bounds.largest_drift.len();
    let mut maxima = bounds.largest_drift.clone();
    maxima.extend([bounds.largest_rate, bounds.largest_dissipation_rate, bounds.largest_diffusion_rate]);
    domain.maximum(&mut maxima);
    let mut peak = vec![bounds.largest_rate, domain.global_node(bounds.peak_node) as f64];
    peak.extend(bounds.peak_drift.iter().chain(&bounds.peak_dissipation).chain(&bounds.peak_diffusion));
    let peak_lengths = (bounds.peak_drift.len(), bounds.peak_dissipation.len(), bounds.peak_diffusion.len());
    let all = domain.gather_all(&peak);
    let best = all
        .iter()
        .filter(|other| other.len() == peak.len())
        .fold(&peak, |best, other| {
            if other[0] > best[0] || (other[0] == best[0] && other[1] < best[1]) {
                other
            } else {
                best
            }
        })
        .clone();
    bounds.largest_drift = maxima[..n].to_vec();
    bounds.largest_rate = maxima[n];
    bounds.largest_dissipation_rate = maxima[n + 1];
    bounds.largest_diffusion_rate = maxima[n + 2];
    bounds.largest_global_rate = (0..n).map(|i| bounds.largest_drift[i] * inverse_spacing[i]).sum::<f64>()
        + bounds.largest_diffusion_rate;
    let (a, b, _) = peak_lengths;
    bounds.peak_drift = best[2..2 + a].to_vec();
    bounds.peak_dissipation = best[2 + a..2 + a + b].to_vec();
    bounds.peak_diffusion = best[2 + a + b..].to_vec();
    Some(best[1] as usize)
}

/// The problems the high-order steps take: finite horizons, diagonal noise, axes long enough for
/// the stencil (the regime axis takes no derivatives).
fn check_high_order(problem: &Problem, settings: &Settings) -> Result<()> {
    let refuse = |message: String| HjbError::InvalidOption { option: "derivatives".to_string(), message };
    let scheme = settings.scheme_name();
    if problem.is_stationary() {
        return Err(refuse(format!(
            "{scheme} marches a finite horizon; a stationary problem (no final_time) is solved by value \
             iteration of the monotone scheme (scheme = \"upwind\") or by policy iteration (scheme = \"implicit\")"
        )));
    }
    if problem.diffusion_matrix.is_some() {
        return Err(refuse(format!(
            "{scheme} has no cross-derivative stencil for correlated noise; use scheme = \"upwind\" (Kushner's \
             cross stencil) or scheme = \"semi_lagrangian\""
        )));
    }
    let needed = settings.derivatives.minimum_points();
    for (k, axis) in problem.grid.axes().iter().enumerate() {
        let regime = problem.switching.as_ref().is_some_and(|s| s.axis == k);
        if !regime && axis.points < needed {
            return Err(refuse(format!(
                "{} derivatives read {} nodes on each side, so every axis needs at least {needed} points; \
                 axis `{}` has {} — refine it or use derivatives = \"first_order\"",
                settings.derivatives.name(),
                settings.derivatives.half_width(),
                axis.name,
                axis.points
            )));
        }
    }
    Ok(())
}

/// Correlated noise in the finite-difference schemes: the explicit schemes take Kushner's cross
/// stencil where the noise is diagonally dominant at every node (checked here, with the worst
/// node in the refusal) and does not depend on the control; otherwise, and for the implicit
/// scheme, the semi-Lagrangian scheme is the one to use (see [`crate::scheme::weights`]).
fn check_cross_stencil(
    problem: &Problem,
    settings: &Settings,
    coordinates: &[Vec<f64>],
    matrix: &[Vec<crate::problem::PointFunction>],
) -> Result<()> {
    if matches!(settings.stepping, Stepping::SemiLagrangian { .. }) {
        return Ok(());
    }
    let pointer = "use scheme = \"semi_lagrangian\" (Camilli–Falcone feet along the columns of σ: \
                   monotone for any correlation)";
    let refuse = |message: String| HjbError::InvalidOption { option: "scheme".to_string(), message };
    if matches!(settings.stepping, Stepping::Implicit { .. }) {
        return Err(refuse(format!(
            "correlated noise has no implicit cross stencil in this build; {pointer}"
        )));
    }
    let n = problem.grid.dimension();
    let m = problem.controls.len();
    if matrix.iter().flatten().any(|formula| formula.uses()[n..n + m].iter().any(|used| *used)) {
        return Err(refuse(format!(
            "correlated noise that depends on the control cannot use the explicit cross stencil; {pointer}"
        )));
    }
    let k = matrix[0].len();
    let inverse_spacing: Vec<f64> = problem.grid.spacings().iter().map(|h| 1.0 / h).collect();
    let mut worst = (f64::INFINITY, 0usize);
    let mut sigma = vec![0.0; n * k];
    // Time-dependent noise: the condition must hold at every time level; check 17 of them.
    let times: Vec<f64> = if problem.is_time_dependent() && !problem.is_stationary() {
        (0..=16).map(|j| problem.final_time * j as f64 / 16.0).collect()
    } else {
        vec![problem.tabulation_time()]
    };
    for t in times {
        let columns: Vec<Vec<f64>> = matrix
            .iter()
            .flatten()
            .map(|formula| problem.tabulate(formula, coordinates, &vec![0.0; m], t))
            .collect();
        for node in 0..problem.grid.node_count() {
            for (entry, column) in sigma.iter_mut().zip(&columns) {
                *entry = column[node];
            }
            let margin = dominance_margin(&sigma, n, &inverse_spacing);
            if margin < worst.0 {
                worst = (margin, node);
            }
        }
    }
    if worst.0 < -1e-14 {
        return Err(refuse(format!(
            "the noise is not diagonally dominant at {:?}: min_i (a_ii/h_i² − Σ_j |a_ij|/(h_i h_j))·h_min² = {:.3e} < 0 \
             (a = σσᵀ/2), so the {} cross stencil would have negative weights; {pointer}, or change the \
             spacing ratios h_i/h_j (the condition depends on them)",
            problem.grid.point(worst.1),
            worst.0,
            settings.scheme_name()
        )));
    }
    Ok(())
}

/// Solve `problem` with `settings`: the one entry point. Progress, checkpoints and partial
/// results go through `observer` (see [`observer`]); stationary problems (`T = ∞`) settle to
/// their fixed point, the others march from `V = g` at `t = T` back to `t = 0`.
pub fn solve(problem: &Problem, settings: &Settings, observer: &mut dyn Observer) -> Result<Solution> {
    let started = Instant::now();
    if problem.is_stationary() {
        stationary::settle(problem, &problem.grid, settings, observer, started, &mut Whole)
    } else {
        march::march(problem, settings, observer, started, &mut Whole)
    }
}

impl Diagnostics {
    /// The run's numbers as planned: the caller overwrites what the run changed (steps, the worst
    /// CFL number of a time-dependent problem, the implicit report).
    fn planned(
        problem: &Problem,
        settings: &Settings,
        model: &ControlModel,
        plan: &TimeStepPlan,
        stability: &StabilityReport,
        memory_bytes: usize,
        started: Instant,
    ) -> Diagnostics {
        Diagnostics {
            settings: *settings,
            hamiltonian: model.describe(),
            time_step: plan.time_step,
            steps: plan.steps,
            time_step_max: plan.time_step_max,
            cfl_number: plan.cfl_number,
            monotone: stability.monotone,
            cfl_peak: problem.grid.point(plan.peak_node),
            boundaries: problem.boundaries.iter().map(|b| b.name().to_string()).collect(),
            outflow_nodes: stability.outflow_nodes.clone(),
            memory_bytes,
            seconds: started.elapsed().as_secs_f64(),
            threads: rayon::current_num_threads(),
            implicit: None,
            semi_lagrangian: None,
            high_order: None,
            game: problem.game.as_ref().map(|game| game.describe()),
            reachable: None,
            sweeping: None,
            distributed: None,
        }
    }
}

/// The solution with its reference and errors (none when the run stopped early).
pub(crate) fn finish(
    problem: &Problem,
    coordinates: &[Vec<f64>],
    values: Vec<f64>,
    policy: Vec<Vec<f64>>,
    diagnostics: Diagnostics,
    snapshots: Option<Snapshots>,
) -> Solution {
    let reference = problem.reference_values(coordinates);
    let error = match (&reference, &problem.reference) {
        (Some(exact), Some(spec)) => Some(error_norms(&problem.grid, &values, exact, &spec.region)),
        _ => None,
    };
    let grid = &problem.grid;
    let mut diagnostics = diagnostics;
    if let Some(reach) = &problem.reachability {
        let (inside_nodes, inside_fraction) = crate::problem::game::inside_count(&values);
        diagnostics.reachable =
            Some(ReachableReport { mode: reach.mode.name().to_string(), inside_nodes, inside_fraction });
    }
    Solution {
        values: grid.field(values),
        policy: policy.into_iter().map(|field| grid.field(field)).collect(),
        reference: reference.map(|field| grid.field(field)),
        error,
        diagnostics,
        stopped: None,
        snapshots,
    }
}

/// March one block of a decomposed finite-horizon problem: `problem` is the block (its grid a
/// [`crate::Grid::window`] of the whole grid, extended by the halo), `domain` exchanges the halo
/// and reduces the driver's decisions over all blocks. The solution holds the block's fields,
/// halo included, without reference, errors or reachability counts (the caller gathers the owned
/// nodes and finishes the whole field with [`finish_whole`]).
pub fn march_block(
    problem: &Problem,
    settings: &Settings,
    observer: &mut dyn Observer,
    domain: &mut dyn Domain,
) -> Result<Solution> {
    march::march(problem, settings, observer, Instant::now(), domain)
}

/// Value iteration on one block of a decomposed stationary problem (explicit steps only):
/// `problem` is the block extended by its halo, `whole` the grid of the whole problem; the
/// stopping rule is decided over every block together, so every process stops after the same
/// sweep. The solution holds the block's fields, as for [`march_block`].
pub fn settle_block(
    problem: &Problem,
    whole: &crate::Grid,
    settings: &Settings,
    observer: &mut dyn Observer,
    domain: &mut dyn Domain,
) -> Result<Solution> {
    stationary::settle(problem, whole, settings, observer, Instant::now(), domain)
}

/// The solution on the whole grid from gathered fields: reference, errors and reachability
/// counts as a single-process run computes them.
pub fn finish_whole(
    problem: &Problem,
    values: Vec<f64>,
    policy: Vec<Vec<f64>>,
    diagnostics: Diagnostics,
    snapshots: Option<Snapshots>,
) -> Solution {
    let coordinates = problem.grid.coordinate_columns();
    finish(problem, &coordinates, values, policy, diagnostics, snapshots)
}

/// Run `work` on a pool of `threads` threads (or the global pool when `None`).
pub fn with_threads<T: Send>(threads: Option<usize>, work: impl FnOnce() -> T + Send) -> Result<T> {
    match threads {
        None => Ok(work()),
        Some(count) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(count)
                .build()
                .map_err(|error| HjbError::ThreadPool { threads: count, message: error.to_string() })?;
            Ok(pool.install(work))
        }
    }
}

/// What games take: explicit steps (policy iteration does not apply to a min–max; the
/// semi-Lagrangian scheme has no min–max here), Lax–Friedrichs where a state is driven by several
/// inputs (the upwind min–max does not separate), and no state-constrained ends (admissibility
/// of one player's input would depend on the other's).
fn check_game(problem: &Problem, settings: &Settings, model: &ControlModel) -> Result<()> {
    let refuse =
        |option: &str, message: String| HjbError::InvalidOption { option: option.to_string(), message };
    let pointer = "use scheme = \"lax_friedrichs\" (monotone for any Hamiltonian under the CFL bound)";
    match settings.stepping {
        Stepping::Implicit { .. } => {
            return Err(refuse(
                "scheme",
                format!(
                    "policy iteration does not apply to a differential game: one player's improvement step \
                     can undo the other's, so Howard's iteration need not converge; {pointer}"
                ),
            ))
        }
        Stepping::SemiLagrangian { .. } => {
            return Err(refuse(
                "scheme",
                format!("the semi-Lagrangian scheme has no min–max for games in this build; {pointer}"),
            ))
        }
        Stepping::Sweeping => {
            return Err(refuse(
                "scheme",
                format!(
                    "fast sweeping solves stationary problems; a game marches a finite horizon; {pointer}"
                ),
            ))
        }
        Stepping::Explicit { .. } => {}
    }
    if *model == ControlModel::Affine && settings.differencing == crate::settings::Differencing::Upwind {
        return Err(refuse(
            "differencing",
            format!(
                "a state of this game is driven by several inputs (or a ball of inputs), so the upwind \
                 min–max does not separate into one monotone problem per input; {pointer}"
            ),
        ));
    }
    if problem.boundaries.iter().any(|b| matches!(b, crate::problem::Boundary::StateConstraint)) {
        return Err(refuse(
            "boundary",
            "state-constrained ends are not supported in games (which inputs are admissible would \
             depend on the other player); use an obstacle with [reachability] mode = \"reach_avoid\", \
             or extrapolated ends"
                .to_string(),
        ));
    }
    Ok(())
}
