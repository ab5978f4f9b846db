//! The solve driver: owns the time loop; progress and other side channels are [`Observer`]s.
//!
//! `solve` = analyse the control structure → tabulate the formulas → plan the time step from
//! the CFL bound → march `V^0 = g`, `V^{n+1} = S(V^n)` for `n = 0 … N−1` (time-to-go) → the value
//! and policy at `t = 0`, the stability numbers of the run and, when the problem has a
//! reference, the errors on its region.

use crate::checkpoint::{Checkpoint, StoredLevel};
use crate::error::{HjbError, Result};
use crate::problem::{Boundary, Problem, Scheme};
use crate::scheme::{dominance_margin, ControlModel, Tabulation};
use crate::stability::StabilityReport;
use crate::time::explicit::StepOutcome;
use crate::time::{ExplicitStepper, SemiLagrangianReport, SemiLagrangianStepper, TimeStepPlan};
use crate::validate::{error_norms, ErrorNorms};
use std::time::Instant;

/// Callbacks from the time loop. Every method has a do-nothing default.
pub trait Observer {
    /// Called once before the first step.
    fn started(&mut self, _steps: usize) {}
    /// Called after each step (`step` counts from 1).
    fn stepped(&mut self, _step: usize, _steps: usize) {}
    /// Called once after the last step.
    fn finished(&mut self) {}
}

/// An observer that does nothing.
#[derive(Debug)]
pub struct Silent;

impl Observer for Silent {}

/// What the run did and whether its stability conditions held.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics {
    pub scheme: Scheme,
    /// `closed_form` or `sampled(N)`.
    pub hamiltonian: String,
    pub time_step: f64,
    pub steps: usize,
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
    pub memory_bytes: usize,
    pub seconds: f64,
    pub threads: usize,
    /// Policy-iteration and M-matrix numbers (implicit scheme only).
    pub implicit: Option<crate::time::ImplicitReport>,
    /// Foot displacement and consistency numbers (semi-Lagrangian scheme only).
    pub semi_lagrangian: Option<SemiLagrangianReport>,
}

/// The stepper of an explicit-in-form scheme: `V^{n+1} = S(V^n)` node by node.
enum Marcher<'a> {
    Explicit(Box<ExplicitStepper<'a>>),
    SemiLagrangian(Box<SemiLagrangianStepper<'a>>),
}

impl<'a> Marcher<'a> {
    fn new(
        problem: &'a Problem,
        model: &'a ControlModel,
        table: &Tabulation,
        plan: &TimeStepPlan,
    ) -> Result<Self> {
        Ok(match problem.settings.scheme {
            Scheme::SemiLagrangian => Marcher::SemiLagrangian(Box::new(SemiLagrangianStepper::new(
                problem,
                model,
                table,
                plan.time_step,
                plan.time_step_max,
            )?)),
            scheme => Marcher::Explicit(Box::new(ExplicitStepper::new(problem, scheme, model, plan))),
        })
    }

    /// One step with the coefficients `table` tabulated at physical time `t`.
    fn step(
        &mut self,
        table: &Tabulation,
        t: f64,
        old: &[f64],
        new: &mut [f64],
        policy: &mut [f64],
        boundary_values: Option<&[f64]>,
    ) -> StepOutcome {
        match self {
            Marcher::Explicit(stepper) => stepper.step(table, old, new, policy, boundary_values),
            Marcher::SemiLagrangian(stepper) => stepper.step(table, t, old, new, policy, boundary_values),
        }
    }

    fn report(&self) -> Option<SemiLagrangianReport> {
        match self {
            Marcher::Explicit(_) => None,
            Marcher::SemiLagrangian(stepper) => Some(stepper.report()),
        }
    }
}

/// Refuse a semi-Lagrangian step after which every free node's feet lie outside the box: the
/// time step is so large that the solution is all boundary treatment.
fn check_feet(
    problem: &Problem,
    time_step: f64,
    report: Option<&SemiLagrangianReport>,
    boundary: Option<&[f64]>,
) -> Result<()> {
    let Some(report) = report else { return Ok(()) };
    let fixed = boundary.map_or(0, |field| field.iter().filter(|v| !v.is_nan()).count());
    let free = problem.grid.node_count() - fixed;
    if free > 0 && report.feet_outside == free {
        return Err(HjbError::InvalidOption {
            option: "time_step".to_string(),
            message: format!(
                "with Δt = {:.4e} the feet of every free node ({free}) leave the box (largest displacement \
                 {:.1} cells); use a smaller time step or a larger box",
                time_step, report.displacement_cells
            ),
        });
    }
    Ok(())
}

/// The result of a solve, on the problem's grid (row-major, last axis fastest).
#[derive(Debug, Clone)]
pub struct Solution {
    pub values: Vec<f64>,
    /// One field per control.
    pub policy: Vec<Vec<f64>>,
    pub reference: Option<Vec<f64>>,
    pub error: Option<ErrorNorms>,
    pub diagnostics: Diagnostics,
    /// Set when the run stopped early: why, and which step the fields belong to.
    pub stopped: Option<String>,
    /// Stored time levels, when the problem asks for them.
    pub snapshots: Option<Snapshots>,
}

/// V and the policy at several times, in increasing physical time.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshots {
    pub times: Vec<f64>,
    /// `values[k]`: V at `times[k]`.
    pub values: Vec<Vec<f64>>,
    /// `policies[k][j]`: control j at `times[k]` (at t = T: the first decision, made at T − Δt).
    pub policies: Vec<Vec<Vec<f64>>>,
}

/// Steps after which a snapshot is taken: `round(k·N/(K−1))`, k = 0 … K−1.
fn snapshot_steps(count: usize, steps: usize) -> Vec<usize> {
    if count < 2 {
        return Vec::new();
    }
    let mut chosen: Vec<usize> =
        (0..count).map(|k| ((k as f64) * steps as f64 / (count - 1) as f64).round() as usize).collect();
    chosen.dedup();
    chosen
}

fn split_policy(policy: &[f64], m: usize, nodes: usize) -> Vec<Vec<f64>> {
    (0..m).map(|j| (0..nodes).map(|node| policy[node * m + j]).collect()).collect()
}

/// Everything decided before the first step (also what `hjb check` reports).
#[derive(Debug)]
pub struct Preparation {
    pub coordinates: Vec<Vec<f64>>,
    pub model: ControlModel,
    pub table: Tabulation,
    pub plan: TimeStepPlan,
    pub stability: StabilityReport,
    pub memory_bytes: usize,
}

/// Analyse, tabulate at `t = T`, and plan the time step.
pub fn prepare(problem: &Problem) -> Result<Preparation> {
    let coordinates = problem.grid.coordinate_columns();
    if let Some(matrix) = &problem.diffusion_matrix {
        check_cross_stencil(problem, &coordinates, matrix)?;
    }
    if let Some(target) = &problem.target {
        let inside = problem.tabulate(target, &coordinates, &vec![0.0; problem.controls.len()], 0.0);
        if !inside.iter().any(|v| *v <= 0.0) {
            return Err(HjbError::InvalidProblem {
                field: "target.set".to_string(),
                message: format!(
                    "the target set \"{} ≤ 0\" contains no grid node; refine the grid or enlarge the target",
                    target.source()
                ),
            });
        }
    }
    let model = ControlModel::analyse(problem, &coordinates)?;
    let inverse_spacing: Vec<f64> = problem.grid.spacings().iter().map(|h| 1.0 / h).collect();
    let table = Tabulation::new(problem, &model, &coordinates, problem.tabulation_time());
    let mut bounds = table.drift_bounds(problem, &model, &inverse_spacing);
    if problem.is_time_dependent() {
        // The bound must hold at every time level: take the worst over a sample of times now,
        // and re-check every step.
        for k in 0..=16 {
            let t = problem.final_time * k as f64 / 16.0;
            let other = Tabulation::new(problem, &model, &coordinates, t).drift_bounds(
                problem,
                &model,
                &inverse_spacing,
            );
            if other.largest_rate > bounds.largest_rate {
                bounds.largest_rate = other.largest_rate;
                bounds.peak_node = other.peak_node;
                bounds.peak_drift = other.peak_drift.clone();
                bounds.peak_dissipation = other.peak_dissipation.clone();
                bounds.peak_diffusion = other.peak_diffusion.clone();
            }
            bounds.largest_dissipation_rate =
                bounds.largest_dissipation_rate.max(other.largest_dissipation_rate);
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
    }
    let settings = &problem.settings;
    let plan = TimeStepPlan::new(
        settings.scheme,
        &bounds,
        problem.final_time,
        settings.cfl,
        settings.courant,
        settings.time_step,
        settings.allow_unstable,
        &problem.grid.spacings(),
    )?;
    let nodes = problem.grid.node_count();
    let snapshot_fields = problem.output.snapshots * (1 + problem.controls.len());
    let memory_bytes = 8 * nodes * (problem.grid.dimension() + 3 + problem.controls.len() + snapshot_fields)
        + table.bytes() * if problem.is_time_dependent() { 2 } else { 1 };
    let stability = StabilityReport::new(problem, &model, &table, &plan);
    Ok(Preparation { coordinates, model, table, plan, stability, memory_bytes })
}

/// Correlated noise in the finite-difference schemes: the explicit schemes take Kushner's cross
/// stencil where the noise is diagonally dominant at every node (checked here, with the worst
/// node in the refusal) and does not depend on the control; otherwise, and for the implicit
/// scheme, the semi-Lagrangian scheme is the one to use (see [`crate::scheme::weights`]).
fn check_cross_stencil(
    problem: &Problem,
    coordinates: &[Vec<f64>],
    matrix: &[Vec<crate::problem::formula::Formula>],
) -> Result<()> {
    let scheme = problem.settings.scheme;
    if scheme == Scheme::SemiLagrangian {
        return Ok(());
    }
    let pointer = "use scheme = \"semi_lagrangian\" (Camilli–Falcone feet along the columns of σ: \
                   monotone for any correlation)";
    let refuse = |message: String| HjbError::InvalidOption { option: "scheme".to_string(), message };
    if scheme == Scheme::Implicit {
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
            scheme.name()
        )));
    }
    Ok(())
}

/// Solve the problem with its settings, reporting progress to `observer`.
pub fn solve(problem: &Problem, observer: &mut dyn Observer) -> Result<Solution> {
    match solve_keeping_partial(problem, observer) {
        Ok(solution) => Ok(solution),
        Err(failure) => Err(failure.error),
    }
}

/// A failed solve, with the last finite state when the failure came during the time loop.
#[derive(Debug)]
pub struct Failure {
    pub error: HjbError,
    /// The value and policy after the last completed step, flagged in `stopped`.
    pub partial: Option<Box<Solution>>,
}

impl From<HjbError> for Failure {
    fn from(error: HjbError) -> Self {
        Failure { error, partial: None }
    }
}

/// Like [`solve`], but a failure inside the time loop (non-finite value, blow-up) keeps the last
/// finite state so that it can be saved with a flag (`Solution::stopped`).
pub fn solve_keeping_partial(
    problem: &Problem,
    observer: &mut dyn Observer,
) -> std::result::Result<Solution, Failure> {
    solve_with(problem, observer, &RunOptions::default())
}

/// Checkpointing and resuming (see [`crate::checkpoint`]).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Where checkpoints go.
    pub checkpoint_path: Option<std::path::PathBuf>,
    /// Write a checkpoint every this many steps (0: never).
    pub checkpoint_every: usize,
    /// Also write one whenever this many seconds have passed since the last (None: never).
    pub checkpoint_seconds: Option<f64>,
    /// Continue from the checkpoint at `checkpoint_path`.
    pub resume: bool,
}

/// [`solve_keeping_partial`] with checkpoints and resume.
pub fn solve_with(
    problem: &Problem,
    observer: &mut dyn Observer,
    options: &RunOptions,
) -> std::result::Result<Solution, Failure> {
    let started = Instant::now();
    if problem.is_stationary() {
        return solve_stationary(problem, observer, started);
    }
    let Preparation { coordinates, model, mut table, plan, stability, memory_bytes } = prepare(problem)?;
    let scheme = problem.settings.scheme;
    let mut marcher = Marcher::new(problem, &model, &table, &plan)?;
    let mut implicit = if scheme == Scheme::Implicit {
        Some(crate::time::ImplicitStepper::new(problem, &model, plan.time_step)?)
    } else {
        None
    };
    let mut samples = vec![0usize; if implicit.is_some() { problem.grid.node_count() } else { 0 }];
    let nodes = problem.grid.node_count();
    let m = problem.controls.len();
    let no_controls = vec![0.0; m];
    let time_dependent = problem.is_time_dependent();
    let inverse_spacing: Vec<f64> = problem.grid.spacings().iter().map(|h| 1.0 / h).collect();

    let dirichlet_values = |t: f64| dirichlet_field(problem, &coordinates, t);

    let mut old = problem.tabulate(&problem.terminal_cost, &coordinates, &no_controls, problem.final_time);
    if let Some(boundary) = dirichlet_values(problem.final_time) {
        apply_dirichlet(&mut old, &boundary);
    }
    // A monotone step obeys ‖V^{n+1}‖∞ ≤ ‖V^n‖∞ + Δt·max|ℓ| (β ≤ 1), so ‖V^n‖∞ ≤ ‖g‖∞ + τ_n·L.
    // Exceeding ten times that bound is a blow-up.
    let terminal_size = old.iter().fold(0.0f64, |largest, v| largest.max(v.abs()));
    let boundary_size = dirichlet_values(0.0)
        .map_or(0.0, |field| field.iter().filter(|v| v.is_finite()).fold(0.0f64, |a, v| a.max(v.abs())));
    let mut cost_size = table.largest_cost(problem, &model);
    let mut new = vec![0.0; nodes];
    let mut policy = vec![0.0; nodes * m];
    observer.started(plan.steps);
    let mut worst_cfl = plan.cfl_number;
    let mut stopped: Option<(HjbError, usize)> = None;
    let mut completed = 0;
    let wanted = snapshot_steps(problem.output.snapshots, plan.steps);
    // (step, V after it, policy used in it — None until known).
    let mut stored: Vec<StoredLevel> = Vec::new();
    if wanted.first() == Some(&0) {
        stored.push((0, old.clone(), None));
    }
    let fingerprint = crate::checkpoint::fingerprint(problem, &plan);
    let mut last_checkpoint = Instant::now();
    let mut first_step = 0;
    if options.resume {
        let path = options.checkpoint_path.as_ref().ok_or_else(|| HjbError::InvalidOption {
            option: "--resume".to_string(),
            message: "no checkpoint path".to_string(),
        })?;
        let checkpoint = crate::checkpoint::read(path)?;
        if checkpoint.fingerprint != fingerprint
            || checkpoint.values.len() != nodes
            || checkpoint.completed > plan.steps
        {
            return Err(HjbError::InvalidOption {
                option: "--resume".to_string(),
                message: format!(
                    "checkpoint {} was written for another problem, grid, scheme or time step; \
                     remove it or run with the settings that wrote it",
                    path.display()
                ),
            }
            .into());
        }
        old = checkpoint.values;
        stored = checkpoint.stored;
        worst_cfl = worst_cfl.max(checkpoint.worst_cfl);
        first_step = checkpoint.completed;
        completed = first_step;
    }
    for step in first_step..plan.steps {
        let t_old = problem.final_time - step as f64 * plan.time_step;
        let t_new = problem.final_time - (step + 1) as f64 * plan.time_step;
        if time_dependent && implicit.is_some() {
            // Backward Euler takes the coefficients at the new time level; no step limit.
            table = Tabulation::new(problem, &model, &coordinates, t_new);
            cost_size = cost_size.max(table.largest_cost(problem, &model));
        } else if time_dependent && step > 0 {
            table = Tabulation::new(problem, &model, &coordinates, t_old);
            cost_size = cost_size.max(table.largest_cost(problem, &model));
            let bounds = table.drift_bounds(problem, &model, &inverse_spacing);
            let rate = match scheme {
                Scheme::Upwind | Scheme::Implicit | Scheme::SemiLagrangian => bounds.largest_rate,
                Scheme::LaxFriedrichs => bounds.largest_dissipation_rate,
            } + problem.switching.as_ref().map_or(0.0, |s| s.largest_rate());
            worst_cfl = worst_cfl.max(rate * plan.time_step);
            if rate * plan.time_step > 1.0 + 1e-12
                && !problem.settings.allow_unstable
                && !matches!(scheme, Scheme::Implicit | Scheme::SemiLagrangian)
            {
                return Err(HjbError::CflViolated {
                    scheme: scheme.name().to_string(),
                    time_step: plan.time_step,
                    time_step_max: 1.0 / rate,
                    cfl: rate * plan.time_step,
                }
                .into());
            }
        }
        let boundary = dirichlet_values(t_new);
        let outcome = match implicit.as_mut() {
            None => {
                let outcome = marcher.step(&table, t_old, &old, &mut new, &mut policy, boundary.as_deref());
                if step == first_step {
                    check_feet(problem, plan.time_step, marcher.report().as_ref(), boundary.as_deref())?;
                }
                outcome
            }
            Some(implicit) => {
                match implicit.step(&table, &old, &mut policy, &mut samples, boundary.as_deref()) {
                    Ok(values) => {
                        new = values;
                        let largest = new.iter().enumerate().fold((0.0f64, 0usize), |best, (node, v)| {
                            if v.abs() > best.0 {
                                (v.abs(), node)
                            } else {
                                best
                            }
                        });
                        crate::time::explicit::StepOutcome { first_non_finite: None, largest }
                    }
                    Err(HjbError::NonFinite { index, point, value, .. }) => {
                        stopped = Some((
                            HjbError::NonFinite { step: step + 1, time: t_new, index, point, value },
                            step,
                        ));
                        break;
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        };
        if let Some((node, value)) = outcome.first_non_finite {
            stopped = Some((
                HjbError::NonFinite {
                    step: step + 1,
                    time: t_new,
                    index: problem.grid.unravel(node),
                    point: problem.grid.point(node),
                    value,
                },
                step,
            ));
            break;
        }
        let bound = terminal_size.max(boundary_size) + (step + 1) as f64 * plan.time_step * cost_size;
        let (largest, node) = outcome.largest;
        if largest > 10.0 * bound + 1e-300 {
            stopped = Some((
                HjbError::BlowUp {
                    step: step + 1,
                    time: t_new,
                    index: problem.grid.unravel(node),
                    point: problem.grid.point(node),
                    value: new[node],
                    bound,
                    cfl: worst_cfl,
                    time_step: plan.time_step,
                    time_step_max: plan.time_step_max,
                },
                step,
            ));
            break;
        }
        std::mem::swap(&mut old, &mut new);
        completed = step + 1;
        if step == 0 {
            // The decision at t = T is taken one step earlier; reuse the first step's policy.
            if let Some(first) = stored.first_mut().filter(|entry| entry.0 == 0) {
                first.2 = Some(split_policy(&policy, m, nodes));
            }
        }
        if wanted.binary_search(&completed).is_ok() {
            stored.push((completed, old.clone(), Some(split_policy(&policy, m, nodes))));
        }
        if let Some(path) = &options.checkpoint_path {
            let by_steps = options.checkpoint_every > 0 && completed % options.checkpoint_every == 0;
            let by_time = options
                .checkpoint_seconds
                .is_some_and(|seconds| last_checkpoint.elapsed().as_secs_f64() >= seconds);
            if (by_steps || by_time) && completed < plan.steps {
                last_checkpoint = Instant::now();
                let checkpoint = Checkpoint {
                    fingerprint: fingerprint.clone(),
                    completed,
                    values: old.clone(),
                    stored: stored.clone(),
                    worst_cfl,
                };
                crate::checkpoint::write(path, &checkpoint)?;
            }
        }
        observer.stepped(step + 1, plan.steps);
    }
    if stopped.is_none() {
        if let Some(path) = &options.checkpoint_path {
            // The run is complete: its checkpoint has served its purpose.
            let _ = std::fs::remove_file(path);
        }
    }
    observer.finished();
    let values = old;
    let policy_fields = split_policy(&policy, m, nodes);
    let mut diagnostics = Diagnostics::planned(problem, &model, &plan, &stability, memory_bytes, started);
    diagnostics.steps = completed;
    diagnostics.cfl_number = worst_cfl;
    diagnostics.implicit = implicit.as_ref().map(|stepper| stepper.report());
    diagnostics.semi_lagrangian = marcher.report();
    // Explicit: the CFL condition; implicit: the interior rows are M-matrix rows for any Δt;
    // semi-Lagrangian: interpolation weights are nonnegative for any Δt.
    diagnostics.monotone = match &diagnostics.implicit {
        Some(report) => report.margin > 0.0,
        None if scheme == Scheme::SemiLagrangian => true,
        None => worst_cfl <= 1.0 + 1e-12,
    };
    let snapshots = (!stored.is_empty()).then(|| {
        // Increasing physical time: the last step taken (t closest to 0) first.
        stored.reverse();
        Snapshots {
            times: stored.iter().map(|(n, _, _)| problem.final_time - *n as f64 * plan.time_step).collect(),
            values: stored.iter().map(|(_, v, _)| v.clone()).collect(),
            policies: stored
                .into_iter()
                .map(|(_, _, p)| p.unwrap_or_else(|| vec![vec![f64::NAN; nodes]; m]))
                .collect(),
        }
    });
    let mut solution = finish(problem, &coordinates, values, policy_fields, diagnostics, snapshots);
    if stopped.is_some() {
        // A partial result is not compared with the reference.
        solution.error = None;
    }
    match stopped {
        None => Ok(solution),
        Some((error, step)) => {
            solution.stopped = Some(format!(
                "stopped before step {} of {}: {error}; the fields hold V after step {step} (t = {})",
                step + 1,
                plan.steps,
                problem.final_time - step as f64 * plan.time_step
            ));
            Err(Failure { error, partial: Some(Box::new(solution)) })
        }
    }
}

/// Stationary (infinite-horizon, ρ > 0) problems: `ρV − min_u [A(u)V + ℓ(u)] = 0`.
///
/// Solved by value iteration `V ← S(V)` with the explicit step (a β-contraction,
/// `β = e^{−ρΔt}`), stopped when the contraction bound `β/(1−β)·‖V_{k+1} − V_k‖∞` on the distance to
/// the fixed point is below `1e-9 (1 + ‖V‖∞)`: the long-time limit of explicit marching, which is
/// the value iteration of the scheme's discounted Markov chain.
fn solve_stationary(
    problem: &Problem,
    observer: &mut dyn Observer,
    started: Instant,
) -> std::result::Result<Solution, Failure> {
    let scheme = problem.settings.scheme;
    if scheme == Scheme::Implicit {
        return solve_stationary_by_policy_iteration(problem, started);
    }
    let Preparation { coordinates, model, table, plan, stability, memory_bytes } = prepare(problem)?;
    let (coordinates, model, table, plan) = (&coordinates, &model, &table, &plan);
    let nodes = problem.grid.node_count();
    let m = problem.controls.len();
    let boundary = dirichlet_field(problem, coordinates, 0.0);
    let mut values = problem.tabulate(&problem.terminal_cost, coordinates, &vec![0.0; m], 0.0);
    if let Some(boundary) = &boundary {
        apply_dirichlet(&mut values, boundary);
    }
    let mut policy = vec![0.0; nodes * m];
    let mut marcher = Marcher::new(problem, model, table, plan)?;
    let beta = (-problem.discount * plan.time_step).exp();
    let limit = if beta < 1.0 {
        ((40.0 / (1.0 - beta)).ceil() as usize).max(100)
    } else {
        // Exit time: enough sweeps to cross the box 20 times at the largest speed.
        let diameter: f64 =
            problem.grid.axes().iter().map(|a| (a.upper - a.lower).powi(2)).sum::<f64>().sqrt();
        let speed = plan.largest_drift.iter().fold(0.0f64, |a, f| a.max(*f)).max(1e-12);
        ((20.0 * diameter / speed / plan.time_step).ceil() as usize).clamp(100, 50_000_000)
    };
    let mut next = vec![0.0; nodes];
    let mut iterations = 0;
    let mut last_change = f64::INFINITY;
    observer.started(limit);
    while iterations < limit {
        let outcome = marcher.step(table, 0.0, &values, &mut next, &mut policy, boundary.as_deref());
        if iterations == 0 {
            check_feet(problem, plan.time_step, marcher.report().as_ref(), boundary.as_deref())?;
        }
        if let Some((node, value)) = outcome.first_non_finite {
            return Err(HjbError::NonFinite {
                step: iterations + 1,
                time: 0.0,
                index: problem.grid.unravel(node),
                point: problem.grid.point(node),
                value,
            }
            .into());
        }
        let change = values.iter().zip(&next).fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
        std::mem::swap(&mut values, &mut next);
        iterations += 1;
        observer.stepped(iterations, limit);
        last_change = change;
        // With ρ > 0 the contraction bound; with ρ = 0 (exit-time problems) no contraction
        // constant exists and the sweep stops when the values no longer move.
        let converged = if beta < 1.0 {
            beta / (1.0 - beta) * change <= 1e-9 * (1.0 + outcome.largest.0)
        } else {
            change <= 1e-12 * (1.0 + outcome.largest.0)
        };
        if converged {
            break;
        }
    }
    if iterations == limit {
        return Err(HjbError::Numerical(format!(
            "value iteration stopped at its limit of {limit} sweeps with ‖ΔV‖∞ = {last_change:.3e}; \
             refine the control set or check that the target is reachable"
        ))
        .into());
    }
    observer.finished();
    let mut diagnostics = Diagnostics::planned(problem, model, plan, &stability, memory_bytes, started);
    diagnostics.steps = iterations;
    diagnostics.semi_lagrangian = marcher.report();
    if scheme == Scheme::SemiLagrangian {
        diagnostics.monotone = true;
    }
    Ok(finish(problem, coordinates, values, split_policy(&policy, m, nodes), diagnostics, None))
}

/// Stationary problems with `scheme = "implicit"`: Howard's policy iteration on
/// `(ρI − A(u))V = ℓ(u)` (see [`crate::time::implicit`]); no time step, no contraction factor.
fn solve_stationary_by_policy_iteration(
    problem: &Problem,
    started: Instant,
) -> std::result::Result<Solution, Failure> {
    let Preparation { coordinates, model, table, plan, stability, memory_bytes } = prepare(problem)?;
    let nodes = problem.grid.node_count();
    let m = problem.controls.len();
    let mut stepper = crate::time::ImplicitStepper::new(problem, &model, f64::INFINITY)?;
    let boundary = dirichlet_field(problem, &coordinates, 0.0);
    let mut start = problem.tabulate(&problem.terminal_cost, &coordinates, &vec![0.0; m], 0.0);
    if let Some(boundary) = &boundary {
        apply_dirichlet(&mut start, boundary);
    }
    let mut policy = vec![0.0; nodes * m];
    let mut samples = vec![0usize; nodes];
    let values = stepper.step(&table, &start, &mut policy, &mut samples, boundary.as_deref())?;
    let mut diagnostics = Diagnostics::planned(problem, &model, &plan, &stability, memory_bytes, started);
    let report = stepper.report();
    diagnostics.steps = report.most_iterations;
    diagnostics.time_step = f64::INFINITY;
    diagnostics.monotone = report.margin > 0.0 && report.positive_off_diagonal_rows == 0;
    diagnostics.implicit = Some(report);
    Ok(finish(problem, &coordinates, values, split_policy(&policy, m, nodes), diagnostics, None))
}

impl Diagnostics {
    /// The run's numbers as planned: the caller overwrites what the run changed (steps, the worst
    /// CFL number of a time-dependent problem, the implicit report).
    fn planned(
        problem: &Problem,
        model: &ControlModel,
        plan: &TimeStepPlan,
        stability: &StabilityReport,
        memory_bytes: usize,
        started: Instant,
    ) -> Diagnostics {
        Diagnostics {
            scheme: problem.settings.scheme,
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
        }
    }
}

/// The solution with its reference and errors (none when the run stopped early).
fn finish(
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
    Solution { values, policy, reference, error, diagnostics, stopped: None, snapshots }
}

/// The fixed values at time `t` (NaN where free): each node on the boundary of a Dirichlet axis
/// takes that axis's formula (the last such axis winning at corners), each node of the target
/// set takes the exit cost g.
pub(crate) fn dirichlet_field(problem: &Problem, coordinates: &[Vec<f64>], t: f64) -> Option<Vec<f64>> {
    let no_controls = vec![0.0; problem.controls.len()];
    let columns: Vec<Option<Vec<f64>>> = problem
        .boundaries
        .iter()
        .map(|boundary| match boundary {
            Boundary::Dirichlet(formula) => Some(problem.tabulate(formula, coordinates, &no_controls, t)),
            _ => None,
        })
        .collect();
    if columns.iter().all(Option::is_none) && problem.target.is_none() {
        return None;
    }
    let nodes = problem.grid.node_count();
    let mut field = vec![f64::NAN; nodes];
    let mut index = vec![0; problem.grid.dimension()];
    for (node, value) in field.iter_mut().enumerate() {
        problem.grid.unravel_inplace(node, &mut index);
        for (k, column) in columns.iter().enumerate() {
            if let Some(column) = column {
                if index[k] == 0 || index[k] + 1 == problem.grid.axes()[k].points {
                    *value = column[node];
                }
            }
        }
    }
    // Target nodes hold the exit cost g.
    if let Some(target) = &problem.target {
        let inside = problem.tabulate(target, coordinates, &no_controls, t);
        let exit = problem.tabulate(&problem.terminal_cost, coordinates, &no_controls, t);
        for node in 0..nodes {
            if inside[node] <= 0.0 {
                field[node] = exit[node];
            }
        }
    }
    Some(field)
}

fn apply_dirichlet(values: &mut [f64], boundary: &[f64]) {
    for (value, fixed) in values.iter_mut().zip(boundary) {
        if !fixed.is_nan() {
            *value = *fixed;
        }
    }
}

/// Run `work` on a pool of `threads` threads (or the global pool when `None`).
pub fn with_threads<T: Send>(threads: Option<usize>, work: impl FnOnce() -> T + Send) -> Result<T> {
    match threads {
        None => Ok(work()),
        Some(count) => {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(count).build().map_err(|error| {
                HjbError::InvalidOption { option: "--threads".to_string(), message: error.to_string() }
            })?;
            Ok(pool.install(work))
        }
    }
}
