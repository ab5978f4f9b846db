//! Semi-Lagrangian stepper, deterministic and stochastic (`docs/numerics.md` §4.4).
//!
//! One step from `τ_n` to `τ_{n+1} = τ_n + Δt` in time-to-go is, at every free node `x`,
//!
//! ```text
//! V^{n+1}(x) = min_u { β · 1/(2q) Σ_{k ∈ K} [ I[V^n](y + √(qΔt) σ_k e_k) + I[V^n](y − √(qΔt) σ_k e_k) ] + Δt ℓ(x, u, t_n) },
//! y = x + Δt f(x, u, t_n)                                     (Euler foot), or
//! y = x + Δt/2 · ( f(x, u, t_n) + f(x + Δt f(x, u, t_n), u, t_n) )   (Heun foot),
//! ```
//!
//! `β = e^{−ρΔt}`, `K` the `q` axes that carry noise (diagonal `σ_k`; Camilli–Falcone: the `2q`
//! feet have mean `y` and covariance `Δt σσᵀ`), and `V^{n+1}(x) = min_u { β I[V^n](y) + Δt ℓ }`
//! for deterministic problems. `I` is multilinear interpolation on the grid: its weights are
//! nonnegative and sum to one, so the step is monotone and `‖V^{n+1}‖∞ ≤ ‖V^n‖∞ + Δt‖ℓ‖∞` for
//! *any* Δt — there is no CFL condition. The weights are the transition probabilities of a
//! Markov chain on the nodes ([`SemiLagrangianStepper::sample_transitions`], reused by the MDP
//! bridge).
//!
//! Consistency: the local error is `O(Δt²)` from the characteristic and `O(h²)` from the
//! interpolation, so the global error is `O(Δt + h²/Δt)`: first order with `Δt ∝ h` (the default
//! `Δt = min_i h_i`), and the `h²/Δt` term dominates when the feet move less than about half a
//! cell per step (reported as a warning).
//!
//! Feet outside the box, per axis: **periodic** wraps; **dirichlet** projects the foot onto the
//! box (the path exits and takes the boundary value there; monotone); **extrapolate** extends the
//! boundary cell's linear interpolant (consistent with the finite-difference ghost
//! `V_{−1} = 2V_0 − V_1`; its outer weight is negative, so those nodes are counted as not
//! monotone, as the finite-difference outflow nodes are).
//!
//! Target sets (exit-time problems): when a foot `y` lands in the target `{φ ≤ 0}` from `x`
//! outside it, the path is stopped where it crosses the target boundary, at the fraction
//! `θ = φ(x)/(φ(x) − φ(y))` of the step (φ interpolated linearly along the segment), and pays
//! `θΔt ℓ + e^{−ρθΔt} g(x + θ(y − x))` instead of a full step. Without this rule the discrete
//! minimum time would round up to whole steps (an `O(Δt)` error that does not shrink with `h`
//! at a fixed Courant number). The rule applies to deterministic problems without regimes; with
//! noise or regimes target problems take whole steps (and the MDP chain never has the rule).
//!
//! Correlated noise (a full `σ`, n × k): the `2q` feet follow the noisy columns,
//! `y ± √(qΔt) σ_{·c}`. Regimes (`[regimes]`): the jump happens at the foot,
//! `(1 − Δt Σ_k λ_jk) E[V_j(feet)] + Σ_k Δtλ_jk E[V_k(feet)]` (requires `Δt Σλ ≤ 1`).
//! State-constrained axes: feet beyond the end are projected onto it, only the samples of the
//! best admissibility level compete at the end nodes, and no refinement happens there.
//!
//! Minimisation: over the control sample set (the file's `samples` per control), then, with
//! `refine = true`, a golden-section search per control in `[u*_j − δ_j, u*_j + δ_j]` (δ_j the
//! sample spacing) kept only where it lowers the value. The result lies between the exact
//! minimum and the minimum over the samples; the search depends on `V`, so strict monotonicity
//! holds for the sample set alone (`refine = false`). Coefficients at the samples come from the
//! tabulation; off the samples from the closed-form coefficients (affine drift, quadratic cost)
//! or, for general formulas, from a scalar evaluation of the compiled formulas.
//!
//! Nodes are updated in parallel chunks; each reads only the old array, so the result is
//! bit-identical whatever the number of threads.
//!
//! The files, one concept each:
//!
//! * this file — the stepper, its construction, the parallel step over the nodes and its report;
//! * [`feet`] — the foot `y` of the characteristic (Euler/Heun), the Camilli–Falcone feet around
//!   it, the interpolation `I` there, and the per-node coefficients `f, σ, ℓ` they need;
//! * [`controls`] — the minimisation over `u` at one node (samples, golden-section refinement) and
//!   the candidate value `β E[I V^n(feet)] + Δt ℓ` with the exit-at-target rule;
//! * [`chain`] — the same feet read as transition probabilities (the MDP bridge's Markov chain).

mod chain;
mod controls;
mod feet;

pub(crate) use chain::merge;
pub use chain::Stencil;

use crate::error::Result;
use crate::grid::interpolation::AxisRule;
use crate::grid::MAX_DIMENSIONS;
use crate::problem::{Boundary, Problem};
use crate::scheme::constraint::StateConstraints;
use crate::scheme::hamiltonian::control_samples;
use crate::scheme::{ControlModel, Tabulation};
use crate::settings::Characteristic;
use crate::time::{StepContext, StepOutcome, Stepper, StepperReport};
use feet::Scratch;
use rayon::prelude::*;

/// Nodes per parallel task (a node costs tens of interpolations, so tasks are smaller than the
/// explicit stepper's).
pub const CHUNK: usize = 128;
/// Most interpolation corners of one foot (2^MAX_DIMENSIONS).
pub const MAX_CORNERS: usize = 1 << MAX_DIMENSIONS;

/// What the semi-Lagrangian run measured about its feet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SemiLagrangianReport {
    /// Largest displacement of a foot from its node in cells, `max_k |y_k − x_k|/h_k` (with the
    /// noise spread), over all steps.
    pub displacement_cells: f64,
    /// The interpolation (consistency) term `max_k h_k²/Δt` of the error bound
    /// `O(Δt + h²/Δt)`; it dominates when the feet move less than about half a cell.
    pub consistency_term: f64,
    /// `Δt / Δt_CFL` of the explicit upwind scheme on the same grid.
    pub explicit_step_ratio: f64,
    /// Nodes (of the last step) whose chosen feet left the box on a bounded axis.
    pub feet_outside: usize,
    /// Nodes (of the last step) that used an extrapolated (negative) weight: not monotone there.
    pub extrapolated_nodes: usize,
    /// Axes with noise (Camilli–Falcone feet per node: 2 × this, or 1 when 0).
    pub noisy_axes: usize,
    /// Whether the best control sample was refined by golden-section search.
    pub refine: bool,
    /// The foot rule, `euler` or `heun`.
    pub characteristic: &'static str,
    /// Candidate evaluations (node × control) per step, for throughput figures.
    pub evaluations_per_step: f64,
    /// Smallest spread of the noise feet in cells, `√(qΔt) σ_k/h_k`, over the nodes and noisy
    /// axes (infinite without noise). Below 1 the interpolation adds numerical diffusion of
    /// order `hσ/√Δt`.
    pub noise_spread_cells: f64,
    /// Set when the `h²/Δt` term dominates.
    pub warning: Option<String>,
}

/// The semi-Lagrangian stepper of one problem on one grid.
#[derive(Debug)]
pub struct SemiLagrangianStepper<'a> {
    problem: &'a Problem,
    model: &'a ControlModel,
    samples: Vec<f64>,
    sample_count: usize,
    /// Points and strides of the grid the stepper updates (a block: the block with its halo).
    shape: Vec<usize>,
    strides: Vec<usize>,
    /// The whole grid's points and lower ends, and the whole-grid index of local node 0 per
    /// axis (0 for a whole grid): feet are located on the whole grid, so a block computes the
    /// very cells and weights of one process ([`SemiLagrangianStepper::locate`]).
    whole_shape: Vec<usize>,
    start: Vec<usize>,
    windowed: bool,
    lower: Vec<f64>,
    spacing: Vec<f64>,
    inverse_spacing: Vec<f64>,
    /// The whole grid's closure per axis.
    closures: Vec<AxisRule>,
    /// Axes with a diffusion coefficient that is not identically zero.
    noisy: Vec<usize>,
    control_bounds: Vec<(f64, f64)>,
    control_step: Vec<f64>,
    time_step: f64,
    discount_factor: f64,
    refine: bool,
    heun: bool,
    /// Target sets: `φ` and the exit cost `g` at the nodes (empty without a target).
    target_level: Vec<f64>,
    exit_cost: Vec<f64>,
    constraints: StateConstraints,
    report: SemiLagrangianReport,
}

/// Per-chunk statistics, merged in node order.
#[derive(Debug, Clone, Copy)]
struct FootStatistics {
    largest_displacement: f64,
    smallest_spread: f64,
    outside: usize,
    extrapolated: usize,
    evaluations: usize,
}

impl Default for FootStatistics {
    fn default() -> Self {
        FootStatistics {
            largest_displacement: 0.0,
            smallest_spread: f64::INFINITY,
            outside: 0,
            extrapolated: 0,
            evaluations: 0,
        }
    }
}

impl FootStatistics {
    fn combine(self, other: FootStatistics) -> FootStatistics {
        FootStatistics {
            largest_displacement: self.largest_displacement.max(other.largest_displacement),
            smallest_spread: self.smallest_spread.min(other.smallest_spread),
            outside: self.outside + other.outside,
            extrapolated: self.extrapolated + other.extrapolated,
            evaluations: self.evaluations + other.evaluations,
        }
    }
}

impl<'a> SemiLagrangianStepper<'a> {
    /// The stepper for steps of `time_step` (`explicit_step`: the explicit upwind bound, for the
    /// report), with the given foot rule and control refinement. Refuses a step with
    /// `Δt · Σ_k λ_jk > 1` under regime switching (the jump weights must be probabilities).
    pub fn new(
        problem: &'a Problem,
        model: &'a ControlModel,
        table: &Tabulation,
        time_step: f64,
        explicit_step: f64,
        characteristic: Characteristic,
        refine: bool,
    ) -> Result<Self> {
        let grid = &problem.grid;
        let n = grid.dimension();
        let (samples, sample_count) = control_samples(problem)?;
        let origin = grid.window_origin();
        let closures = problem
            .boundaries
            .iter()
            .zip(grid.axes())
            .enumerate()
            .map(|(k, (boundary, axis))| match boundary {
                _ if axis.periodic || origin.as_ref().is_some_and(|o| o[k].periodic) => AxisRule::Periodic,
                Boundary::Periodic => AxisRule::Periodic,
                Boundary::Extrapolate => AxisRule::Extrapolate,
                Boundary::Dirichlet(_) | Boundary::StateConstraint => AxisRule::Clamp,
            })
            .collect();
        let diffusion = if table.diffusion.is_empty() { &table.sample_diffusion } else { &table.diffusion };
        // Noisy axes (diagonal noise) or noisy columns of σ (correlated noise).
        let noisy: Vec<usize> = if table.noise_columns > 0 {
            let k = table.noise_columns;
            (0..k).filter(|c| table.diffusion_matrix.iter().skip(*c).step_by(k).any(|v| *v != 0.0)).collect()
        } else {
            (0..n).filter(|k| diffusion.chunks(n).any(|a| a.get(*k).is_some_and(|a| *a > 0.0))).collect()
        };
        let control_step =
            problem.controls.iter().map(|c| (c.upper - c.lower) / (c.samples.max(2) - 1) as f64).collect();
        if let Some(switching) = &problem.switching {
            // The jump weights Δtλ_jk and the stay weight 1 − Δt Σ_k λ_jk must be probabilities.
            let rate = switching.largest_rate();
            if rate * time_step > 1.0 {
                return Err(crate::error::HjbError::InvalidOption {
                    option: "time_step".to_string(),
                    message: format!(
                        "with regime switching at rates up to Σλ = {rate} the semi-Lagrangian step must \
                         satisfy Δt · Σλ ≤ 1, i.e. Δt ≤ {:.4e} (Δt = {time_step:.4e})",
                        1.0 / rate
                    ),
                });
            }
        }
        let (target_level, exit_cost) = match &problem.target {
            Some(target) => {
                let coordinates = grid.coordinate_columns();
                let zeros = vec![0.0; problem.controls.len()];
                let t = problem.tabulation_time();
                (
                    problem.tabulate(target, &coordinates, &zeros, t),
                    problem.tabulate(&problem.terminal_cost, &coordinates, &zeros, t),
                )
            }
            None => (Vec::new(), Vec::new()),
        };
        Ok(SemiLagrangianStepper {
            constraints: StateConstraints::new(problem),
            target_level,
            exit_cost,
            problem,
            model,
            samples,
            sample_count,
            shape: grid.shape(),
            strides: grid.strides().to_vec(),
            whole_shape: origin
                .as_ref()
                .map_or_else(|| grid.shape(), |o| o.iter().map(|a| a.points).collect()),
            start: origin.as_ref().map_or_else(|| vec![0; n], |o| o.iter().map(|a| a.start).collect()),
            windowed: origin.is_some(),
            lower: origin.as_ref().map_or_else(
                || grid.axes().iter().map(|a| a.lower).collect(),
                |o| o.iter().map(|a| a.lower).collect(),
            ),
            spacing: grid.spacings(),
            inverse_spacing: grid.spacings().iter().map(|h| 1.0 / h).collect(),
            closures,
            report: SemiLagrangianReport {
                explicit_step_ratio: time_step / explicit_step,
                noisy_axes: noisy.len(),
                refine: refine && !problem.controls.is_empty(),
                characteristic: characteristic.name(),
                noise_spread_cells: f64::INFINITY,
                consistency_term: grid.spacings().iter().fold(0.0f64, |a, h| a.max(h * h)) / time_step,
                ..SemiLagrangianReport::default()
            },
            noisy,
            control_bounds: problem.controls.iter().map(|c| (c.lower, c.upper)).collect(),
            control_step,
            time_step,
            discount_factor: (-problem.discount * time_step).exp(),
            // Off the samples a sampled model's noise matrix is not tabulated: samples only.
            refine: refine && !(table.noise_columns > 0 && matches!(model, ControlModel::Sampled { .. })),
            heun: characteristic == Characteristic::Heun,
        })
    }

    /// The report so far (the warning is set once a step has run).
    pub fn report(&self) -> SemiLagrangianReport {
        self.report.clone()
    }

    /// One step `new = S(old)` with the coefficients `table` tabulated at physical time `t`;
    /// `policy[node * m + j]` receives the minimising control. Nodes where `boundary_values` is
    /// not NaN are fixed to it (Dirichlet ends and target sets).
    pub fn step(
        &mut self,
        table: &Tabulation,
        t: f64,
        old: &[f64],
        new: &mut [f64],
        policy: &mut [f64],
        boundary_values: Option<&[f64]>,
    ) -> StepOutcome {
        let (outcome, statistics) = match self.shape.len() {
            1 => self.step_in::<1>(table, t, old, new, policy, boundary_values),
            2 => self.step_in::<2>(table, t, old, new, policy, boundary_values),
            3 => self.step_in::<3>(table, t, old, new, policy, boundary_values),
            4 => self.step_in::<4>(table, t, old, new, policy, boundary_values),
            5 => self.step_in::<5>(table, t, old, new, policy, boundary_values),
            _ => self.step_in::<6>(table, t, old, new, policy, boundary_values),
        };
        let report = &mut self.report;
        report.displacement_cells = report.displacement_cells.max(statistics.largest_displacement);
        report.feet_outside = statistics.outside;
        report.extrapolated_nodes = statistics.extrapolated;
        report.evaluations_per_step = statistics.evaluations as f64;
        report.noise_spread_cells = report.noise_spread_cells.min(statistics.smallest_spread);
        report.warning = if report.noise_spread_cells < 1.0 {
            Some(format!(
                "the noise feet spread only {:.2} cells: linear interpolation adds numerical diffusion \
                 of order hσ/√Δt; use a larger time step (Δt ≥ h²/σ², e.g. the default Δt = h)",
                report.noise_spread_cells
            ))
        } else if report.displacement_cells < 0.5 {
            Some(format!(
                "the feet move at most {:.2} cells per step: the interpolation error h²/Δt dominates; \
                 use a larger time step (Δt ∝ h with at least a cell of displacement)",
                report.displacement_cells
            ))
        } else {
            None
        };
        outcome
    }

    fn step_in<const D: usize>(
        &self,
        table: &Tabulation,
        t: f64,
        old: &[f64],
        new: &mut [f64],
        policy: &mut [f64],
        boundary_values: Option<&[f64]>,
    ) -> (StepOutcome, FootStatistics) {
        let m = self.problem.controls.len();
        new.par_chunks_mut(CHUNK)
            .zip(policy.par_chunks_mut(CHUNK * m.max(1)))
            .enumerate()
            .map(|(chunk, (values, controls))| {
                let start = chunk * CHUNK;
                let mut index = [0usize; D];
                self.problem.grid.unravel_inplace(start, &mut index);
                let mut first_bad = None;
                let mut largest = (0.0f64, start);
                let mut statistics = FootStatistics::default();
                let mut scratch = Scratch::new(self.problem);
                for offset in 0..values.len() {
                    let node = start + offset;
                    let value = match boundary_values.map(|fixed| fixed[node]).filter(|v| !v.is_nan()) {
                        Some(fixed) => {
                            controls[offset * m..(offset + 1) * m].fill(0.0);
                            fixed
                        }
                        None => self.update_node::<D>(
                            table,
                            t,
                            old,
                            node,
                            &index,
                            &mut controls[offset * m..(offset + 1) * m],
                            &mut statistics,
                            &mut scratch,
                        ),
                    };
                    if !value.is_finite() && first_bad.is_none() {
                        first_bad = Some((node, value));
                    }
                    if value.abs() > largest.0 {
                        largest = (value.abs(), node);
                    }
                    values[offset] = value;
                    for k in (0..D).rev() {
                        index[k] += 1;
                        if index[k] < self.shape[k] {
                            break;
                        }
                        index[k] = 0;
                    }
                }
                (StepOutcome { first_non_finite: first_bad, largest }, statistics)
            })
            .reduce(
                || (StepOutcome::empty(), FootStatistics::default()),
                |a, b| (a.0.combine(b.0), a.1.combine(b.1)),
            )
    }
}

impl Stepper for SemiLagrangianStepper<'_> {
    fn step(
        &mut self,
        context: &StepContext<'_>,
        old: &[f64],
        new: &mut [f64],
        policy: &mut [f64],
    ) -> Result<StepOutcome> {
        Ok(SemiLagrangianStepper::step(self, context.table, context.time, old, new, policy, context.fixed))
    }

    /// Refuse a step after which every free node's feet lie outside the box: the time step is so
    /// large that the solution is all boundary treatment.
    fn check_first_step(&self, problem: &Problem, fixed: Option<&[f64]>) -> Result<()> {
        let fixed_count = fixed.map_or(0, |field| field.iter().filter(|v| !v.is_nan()).count());
        let free = problem.grid.node_count() - fixed_count;
        if free > 0 && self.report.feet_outside == free {
            return Err(crate::error::HjbError::FeetOutside {
                time_step: self.time_step,
                free_nodes: free,
                displacement_cells: self.report.displacement_cells,
            });
        }
        Ok(())
    }

    /// Interpolation weights are nonnegative for any Δt.
    fn monotone(&self, _worst_cfl: f64) -> bool {
        true
    }

    fn report(&self) -> StepperReport {
        StepperReport::SemiLagrangian(self.report())
    }
}
