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
//! Markov chain on the nodes ([`SemiLagrangianStepper::foot_weights`], reused by the MDP bridge).
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

use crate::error::Result;
use crate::grid::interpolation::{AxisRule, Cell};
use crate::grid::MAX_DIMENSIONS;
use crate::problem::{Boundary, Problem};
use crate::scheme::constraint::{admissibility, required_level, StateConstraints};
use crate::scheme::hamiltonian::{control_samples, MAX_CONTROLS};
use crate::scheme::{ControlModel, Tabulation};
use crate::settings::Characteristic;
use crate::time::{StepContext, StepOutcome, Stepper, StepperReport};
use rayon::prelude::*;

/// Golden-section iterations per control (the bracket shrinks by 0.618²⁴ ≈ 1e-5).
const GOLDEN_ITERATIONS: usize = 24;
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
    pub refine: bool,
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
    shape: Vec<usize>,
    strides: Vec<usize>,
    lower: Vec<f64>,
    spacing: Vec<f64>,
    inverse_spacing: Vec<f64>,
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

/// The interpolation stencil of one point: `value = Σ weight · V[node]`.
#[derive(Debug, Clone, Copy)]
pub struct Stencil {
    pub nodes: [usize; MAX_CORNERS],
    pub weights: [f64; MAX_CORNERS],
    pub count: usize,
    /// The point lies outside the box on a bounded axis.
    pub outside: bool,
    /// Some weight is negative (linear extrapolation).
    pub extrapolated: bool,
}

/// The grid cell around a point: lower and upper node per axis and the fractions in between
/// (outside `[0, 1]` only on an extrapolated axis).
/// Coefficients of one (node, control) pair.
#[derive(Debug, Clone, Copy)]
struct Coefficients<'t> {
    drift: [f64; MAX_DIMENSIONS],
    /// `σ_k = √(2a_kk)` per axis (0 without noise): the diagonal, for constraints and reports.
    sigma: [f64; MAX_DIMENSIONS],
    cost: f64,
    /// Correlated noise: the full `σ` (n × k, row-major) from the tabulation; empty otherwise.
    matrix: &'t [f64],
}

impl<'a> SemiLagrangianStepper<'a> {
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
        let closures = problem
            .boundaries
            .iter()
            .zip(grid.axes())
            .map(|(boundary, axis)| match boundary {
                _ if axis.periodic => AxisRule::Periodic,
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
            lower: grid.axes().iter().map(|a| a.lower).collect(),
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

    #[allow(clippy::too_many_arguments)]
    fn update_node<const D: usize>(
        &self,
        table: &Tabulation,
        t: f64,
        old: &[f64],
        node: usize,
        index: &[usize; D],
        controls: &mut [f64],
        statistics: &mut FootStatistics,
        scratch: &mut Scratch,
    ) -> f64 {
        let m = controls.len();
        let mut x = [0.0f64; D];
        for k in 0..D {
            x[k] = self.lower[k] + index[k] as f64 * self.spacing[k];
        }
        let mut best = f64::INFINITY;
        let mut best_sample = 0;
        let mut chosen = self.sample_coefficients::<D>(table, node, 0);
        // State-constrained ends: only samples with inward drift (all when none is), and no
        // refinement off the samples there.
        let sides = if self.constraints.any() { self.constraints.sides(index) } else { None };
        let level = |coefficients: &Coefficients, sides: &crate::scheme::constraint::Sides| {
            admissibility(&coefficients.drift[..D], &coefficients.sigma[..D], sides)
        };
        let required = sides.map(|sides| {
            (
                sides,
                required_level(self.sample_count, |s| {
                    level(&self.sample_coefficients::<D>(table, node, s), &sides)
                }),
            )
        });
        for s in 0..self.sample_count {
            let coefficients = self.sample_coefficients::<D>(table, node, s);
            if required.as_ref().is_some_and(|(sides, required)| level(&coefficients, sides) < *required) {
                continue;
            }
            let candidate = self.candidate::<D>(
                old,
                node,
                &x,
                &coefficients,
                t,
                &self.samples[s * m..(s + 1) * m],
                scratch,
            );
            if candidate < best {
                best = candidate;
                best_sample = s;
                chosen = coefficients;
            }
        }
        statistics.evaluations += self.sample_count;
        controls.copy_from_slice(&self.samples[best_sample * m..(best_sample + 1) * m]);
        let mut refined = false;
        if self.refine && sides.is_none() {
            let mut trial = [0.0f64; MAX_CONTROLS];
            trial[..m].copy_from_slice(controls);
            for j in 0..m {
                let (lower, upper) = self.control_bounds[j];
                let centre = controls[j];
                let (mut a, mut b) =
                    ((centre - self.control_step[j]).max(lower), (centre + self.control_step[j]).min(upper));
                let evaluate = |u: f64, trial: &mut [f64; MAX_CONTROLS], scratch: &mut Scratch| {
                    trial[j] = u;
                    let coefficients = self.point_coefficients::<D>(table, node, &x, &trial[..m], t, scratch);
                    self.candidate::<D>(old, node, &x, &coefficients, t, &trial[..m], scratch)
                };
                const INVERSE_PHI: f64 = 0.618_033_988_749_894_8;
                let mut c = b - INVERSE_PHI * (b - a);
                let mut d = a + INVERSE_PHI * (b - a);
                let mut fc = evaluate(c, &mut trial, scratch);
                let mut fd = evaluate(d, &mut trial, scratch);
                for _ in 0..GOLDEN_ITERATIONS {
                    if fc < fd {
                        b = d;
                        d = c;
                        fd = fc;
                        c = b - INVERSE_PHI * (b - a);
                        fc = evaluate(c, &mut trial, scratch);
                    } else {
                        a = c;
                        c = d;
                        fc = fd;
                        d = a + INVERSE_PHI * (b - a);
                        fd = evaluate(d, &mut trial, scratch);
                    }
                }
                statistics.evaluations += GOLDEN_ITERATIONS + 2;
                let (u, value) = if fc < fd { (c, fc) } else { (d, fd) };
                if value < best {
                    best = value;
                    controls[j] = u;
                    refined = true;
                }
                trial[j] = controls[j];
            }
        }
        // Feet of the chosen control, for the report (coefficients off the samples only when the
        // refinement moved the control; sampled models with a noise matrix never refine).
        let coefficients = if refined {
            self.point_coefficients::<D>(table, node, &x, controls, t, scratch)
        } else {
            chosen
        };
        let mut foot = [0.0f64; D];
        self.foot::<D>(&x, &coefficients, t, controls, scratch, &mut foot);
        let spread = (self.noisy.len() as f64 * self.time_step).sqrt();
        let mut displacement = 0.0f64;
        let mut outside = false;
        let mut extrapolated = false;
        for k in 0..D {
            let noise = spread * coefficients.sigma[k];
            displacement = displacement.max(((foot[k] - x[k]).abs() + noise) * self.inverse_spacing[k]);
        }
        for &k in &self.noisy {
            // The spread of noise column/axis k in cells (the largest component of a column).
            let cells = if coefficients.matrix.is_empty() {
                spread * coefficients.sigma[k] * self.inverse_spacing[k]
            } else {
                let columns = coefficients.matrix.len() / D;
                (0..D)
                    .map(|i| spread * coefficients.matrix[i * columns + k].abs() * self.inverse_spacing[i])
                    .fold(0.0, f64::max)
            };
            if cells > 0.0 {
                statistics.smallest_spread = statistics.smallest_spread.min(cells);
            }
        }
        let mut visit = |point: &[f64; D]| {
            let cell = self.locate::<D>(point);
            outside |= cell.outside;
            extrapolated |= cell.extrapolated;
        };
        self.for_each_foot::<D>(&foot, &coefficients, &mut visit);
        statistics.largest_displacement = statistics.largest_displacement.max(displacement);
        statistics.outside += usize::from(outside);
        statistics.extrapolated += usize::from(extrapolated);
        best
    }

    /// `β E[I V(feet)] + Δt ℓ` for one control (with the exit rule on target sets).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn candidate<const D: usize>(
        &self,
        old: &[f64],
        node: usize,
        x: &[f64; D],
        coefficients: &Coefficients,
        t: f64,
        controls: &[f64],
        scratch: &mut Scratch,
    ) -> f64 {
        let mut foot = [0.0f64; D];
        self.foot::<D>(x, coefficients, t, controls, scratch, &mut foot);
        if let Some(switching) = &self.problem.switching {
            // Regimes: jump at the foot, `(1 − Δtλ_j) E[V_j(feet)] + Σ_k Δtλ_jk E[V_k(feet)]`.
            let axis = switching.axis;
            let mut mixed = 0.0;
            let mut stay = 1.0;
            for (_, k, rate) in switching.jumps(node) {
                let mut shifted = foot;
                shifted[axis] = self.lower[axis] + k as f64 * self.spacing[axis];
                mixed += self.time_step * rate * self.expectation::<D>(old, &shifted, coefficients);
                stay -= self.time_step * rate;
            }
            mixed += stay * self.expectation::<D>(old, &foot, coefficients);
            return self.discount_factor * mixed + self.time_step * coefficients.cost;
        }
        if !self.noisy.is_empty() {
            return self.discount_factor * self.expectation::<D>(old, &foot, coefficients)
                + self.time_step * coefficients.cost;
        }
        let cell = self.locate::<D>(&foot);
        let full_step =
            self.discount_factor * cell.apply(old, &self.strides) + self.time_step * coefficients.cost;
        if self.target_level.is_empty() {
            return full_step;
        }
        // Exit-time problems: stop at the target boundary when the step crosses it.
        let (start, end) = (self.target_level[node], cell.apply(&self.target_level, &self.strides));
        if !(start > 0.0 && end <= 0.0) {
            return full_step;
        }
        let fraction = start / (start - end);
        let mut exit = [0.0f64; D];
        for k in 0..D {
            exit[k] = x[k] + fraction * (foot[k] - x[k]);
        }
        let exit_value = self.interpolate::<D>(&self.exit_cost, &exit);
        let crossing = (-self.problem.discount * fraction * self.time_step).exp() * exit_value
            + fraction * self.time_step * coefficients.cost;
        crossing.min(full_step)
    }

    /// `E[I V(feet)]` over the Camilli–Falcone feet around `foot` (just `I V(foot)` without noise).
    #[inline(always)]
    fn expectation<const D: usize>(&self, old: &[f64], foot: &[f64; D], coefficients: &Coefficients) -> f64 {
        let mut total = 0.0;
        let mut visit = |point: &[f64; D]| total += self.interpolate::<D>(old, point);
        let feet = self.for_each_foot::<D>(foot, coefficients, &mut visit);
        total / feet as f64
    }

    /// Multilinear interpolation of `field` at `point`.
    #[inline(always)]
    fn interpolate<const D: usize>(&self, field: &[f64], point: &[f64; D]) -> f64 {
        self.locate::<D>(point).apply(field, &self.strides)
    }

    /// Visit the Camilli–Falcone feet around `foot` (just `foot` without noise); returns their
    /// number.
    #[inline(always)]
    fn for_each_foot<const D: usize>(
        &self,
        foot: &[f64; D],
        coefficients: &Coefficients,
        visit: &mut impl FnMut(&[f64; D]),
    ) -> usize {
        if self.noisy.is_empty() {
            visit(foot);
            return 1;
        }
        let spread = (self.noisy.len() as f64 * self.time_step).sqrt();
        if !coefficients.matrix.is_empty() {
            // Correlated noise: feet along the columns of σ (here `noisy` lists columns).
            let columns = coefficients.matrix.len() / D;
            for &c in &self.noisy {
                let mut plus = *foot;
                let mut minus = *foot;
                for i in 0..D {
                    let step = spread * coefficients.matrix[i * columns + c];
                    plus[i] += step;
                    minus[i] -= step;
                }
                visit(&plus);
                visit(&minus);
            }
            return 2 * self.noisy.len();
        }
        for &k in &self.noisy {
            let mut point = *foot;
            point[k] = foot[k] + spread * coefficients.sigma[k];
            visit(&point);
            point[k] = foot[k] - spread * coefficients.sigma[k];
            visit(&point);
        }
        2 * self.noisy.len()
    }

    /// The foot of the characteristic from `x` (Euler or Heun).
    #[inline(always)]
    fn foot<const D: usize>(
        &self,
        x: &[f64; D],
        coefficients: &Coefficients,
        t: f64,
        controls: &[f64],
        scratch: &mut Scratch,
        foot: &mut [f64; D],
    ) {
        for k in 0..D {
            foot[k] = x[k] + self.time_step * coefficients.drift[k];
        }
        if self.heun {
            let predicted = *foot;
            let mut drift = [0.0f64; MAX_DIMENSIONS];
            scratch.drift_at(self.problem, &predicted, controls, t, &mut drift[..D]);
            for k in 0..D {
                foot[k] = x[k] + 0.5 * self.time_step * (coefficients.drift[k] + drift[k]);
            }
        }
    }

    /// Coefficients at control sample `s` (from the tabulation).
    #[inline(always)]
    fn sample_coefficients<'t, const D: usize>(
        &self,
        table: &'t Tabulation,
        node: usize,
        s: usize,
    ) -> Coefficients<'t> {
        let ControlModel::Sampled { count, .. } = self.model else {
            let m = self.problem.controls.len();
            return self.closed_form_coefficients::<D>(table, node, &self.samples[s * m..(s + 1) * m]);
        };
        let row = node * count + s;
        let mut coefficients = Coefficients {
            drift: [0.0; MAX_DIMENSIONS],
            sigma: [0.0; MAX_DIMENSIONS],
            cost: table.sample_cost[row],
            matrix: noise_row(table, row, D),
        };
        coefficients.drift[..D].copy_from_slice(&table.sample_drift[row * D..(row + 1) * D]);
        if !table.sample_diffusion.is_empty() {
            for k in 0..D {
                coefficients.sigma[k] = (2.0 * table.sample_diffusion[row * D + k]).sqrt();
            }
        }
        coefficients
    }

    #[inline(always)]
    fn closed_form_coefficients<'t, const D: usize>(
        &self,
        table: &'t Tabulation,
        node: usize,
        controls: &[f64],
    ) -> Coefficients<'t> {
        let ControlModel::ClosedForm { control_of_state } = self.model else {
            unreachable!("closed-form coefficients of a sampled model")
        };
        let m = controls.len();
        let mut coefficients = Coefficients {
            drift: [0.0; MAX_DIMENSIONS],
            sigma: [0.0; MAX_DIMENSIONS],
            cost: 0.0,
            matrix: noise_row(table, node, D),
        };
        for k in 0..D {
            coefficients.drift[k] = table.drift_base[node * D + k]
                + control_of_state[k].map_or(0.0, |j| table.drift_gain[node * D + k] * controls[j]);
        }
        coefficients.cost = table.cost_base[node];
        for (j, u) in controls.iter().enumerate() {
            coefficients.cost +=
                table.cost_linear[node * m + j] * u + table.cost_quadratic[node * m + j] * u * u;
        }
        if !table.diffusion.is_empty() {
            for k in 0..D {
                coefficients.sigma[k] = (2.0 * table.diffusion[node * D + k]).sqrt();
            }
        }
        coefficients
    }

    /// Coefficients at an arbitrary control.
    /// (Sampled models with a noise matrix never get here: their refinement is off, and the
    /// report uses the tabulated sample coefficients.)
    fn point_coefficients<'t, const D: usize>(
        &self,
        table: &'t Tabulation,
        node: usize,
        x: &[f64; D],
        controls: &[f64],
        t: f64,
        scratch: &mut Scratch,
    ) -> Coefficients<'t> {
        match self.model {
            ControlModel::ClosedForm { .. } => self.closed_form_coefficients::<D>(table, node, controls),
            ControlModel::Sampled { .. } => {
                let mut coefficients = Coefficients {
                    drift: [0.0; MAX_DIMENSIONS],
                    sigma: [0.0; MAX_DIMENSIONS],
                    cost: 0.0,
                    matrix: &[],
                };
                scratch.drift_at(self.problem, x, controls, t, &mut coefficients.drift[..D]);
                coefficients.cost = scratch.evaluate(&self.problem.running_cost);
                if let Some(sigma) = &self.problem.diffusion {
                    for (k, formula) in sigma.iter().enumerate() {
                        coefficients.sigma[k] = scratch.evaluate(formula).abs();
                    }
                }
                coefficients
            }
        }
    }

    /// The interpolation cell of `point` (see [`crate::grid::interpolation`]).
    #[inline(always)]
    fn locate<const D: usize>(&self, point: &[f64; D]) -> Cell<D> {
        let mut position = [0.0f64; D];
        for k in 0..D {
            position[k] = (point[k] - self.lower[k]) * self.inverse_spacing[k];
        }
        Cell::<D>::locate(&position, &self.shape, &self.closures)
    }

    /// The multilinear interpolation stencil at `point` (nodes and weights; the Markov chain's
    /// row for one foot).
    pub fn stencil<const D: usize>(&self, point: &[f64; D]) -> Stencil {
        let cell = self.locate::<D>(point);
        let mut stencil = Stencil {
            nodes: [0; MAX_CORNERS],
            weights: [0.0; MAX_CORNERS],
            count: 1 << D,
            outside: cell.outside,
            extrapolated: cell.extrapolated,
        };
        for corner in 0..(1usize << D) {
            let (flat, weight) = cell.corner(corner, &self.strides);
            stencil.nodes[corner] = flat;
            stencil.weights[corner] = weight;
        }
        stencil
    }

    /// The same stepper with feet beyond an extrapolated box end projected onto the box (the
    /// state-constrained chain the MDP bridge needs: every weight ≥ 0).
    pub fn projecting_feet(mut self) -> Self {
        for closure in &mut self.closures {
            if *closure == AxisRule::Extrapolate {
                *closure = AxisRule::Clamp;
            }
        }
        self
    }

    /// Transition probabilities of node `node` under control sample `s` (the Markov chain of the
    /// scheme): `(target node, weight)` over all feet, summed per target and sorted; and whether
    /// a foot left the box. The weights sum to one.
    pub fn sample_transitions(&self, table: &Tabulation, node: usize, s: usize) -> (Vec<(usize, f64)>, bool) {
        match self.shape.len() {
            1 => self.sample_transitions_in::<1>(table, node, s),
            2 => self.sample_transitions_in::<2>(table, node, s),
            3 => self.sample_transitions_in::<3>(table, node, s),
            4 => self.sample_transitions_in::<4>(table, node, s),
            5 => self.sample_transitions_in::<5>(table, node, s),
            _ => self.sample_transitions_in::<6>(table, node, s),
        }
    }

    fn sample_transitions_in<const D: usize>(
        &self,
        table: &Tabulation,
        node: usize,
        s: usize,
    ) -> (Vec<(usize, f64)>, bool) {
        let mut scratch = Scratch::new(self.problem);
        let mut index = [0usize; D];
        self.problem.grid.unravel_inplace(node, &mut index);
        let mut x = [0.0f64; D];
        for k in 0..D {
            x[k] = self.lower[k] + index[k] as f64 * self.spacing[k];
        }
        let m = self.problem.controls.len();
        let controls = &self.samples[s * m..(s + 1) * m];
        let coefficients = self.sample_coefficients::<D>(table, node, s);
        let mut foot = [0.0f64; D];
        self.foot::<D>(&x, &coefficients, self.problem.tabulation_time(), controls, &mut scratch, &mut foot);
        let mut pairs: Vec<(usize, f64)> = Vec::new();
        let mut outside = false;
        // Regime jumps at the foot (weights Δtλ_jk, stay 1 − Δt Σλ), as in the step.
        let mut regimes = vec![(foot, 1.0)];
        if let Some(switching) = &self.problem.switching {
            let axis = switching.axis;
            for (_, k, rate) in switching.jumps(node) {
                let mut shifted = foot;
                shifted[axis] = self.lower[axis] + k as f64 * self.spacing[axis];
                regimes.push((shifted, self.time_step * rate));
                regimes[0].1 -= self.time_step * rate;
            }
        }
        for (foot, probability) in regimes {
            let start = pairs.len();
            let mut visit = |point: &[f64; D]| {
                let stencil = self.stencil::<D>(point);
                outside |= stencil.outside;
                for c in 0..stencil.count {
                    pairs.push((stencil.nodes[c], stencil.weights[c]));
                }
            };
            let feet = self.for_each_foot::<D>(&foot, &coefficients, &mut visit);
            for pair in &mut pairs[start..] {
                pair.1 *= probability / feet as f64;
            }
        }
        (merge(pairs), outside)
    }
}

/// The noise-matrix row block (n × k) of tabulation row `row`, or empty without a matrix.
#[inline(always)]
fn noise_row(table: &Tabulation, row: usize, n: usize) -> &[f64] {
    let size = n * table.noise_columns;
    if size == 0 {
        &[]
    } else {
        &table.diffusion_matrix[row * size..(row + 1) * size]
    }
}

/// Per-task buffers for scalar formula evaluation.
struct Scratch {
    variables: Vec<f64>,
    stack: Vec<f64>,
}

impl Scratch {
    fn new(problem: &Problem) -> Scratch {
        Scratch { variables: vec![0.0; problem.variable_names().len()], stack: Vec::with_capacity(32) }
    }

    /// Load `(x, u, t)` and evaluate the drift formulas.
    fn drift_at(&mut self, problem: &Problem, x: &[f64], controls: &[f64], t: f64, drift: &mut [f64]) {
        let n = x.len();
        self.variables[..n].copy_from_slice(x);
        self.variables[n..n + controls.len()].copy_from_slice(controls);
        self.variables[n + controls.len()] = t;
        for (value, formula) in drift.iter_mut().zip(&problem.dynamics) {
            *value = formula.evaluate_point(&self.variables, &mut self.stack);
        }
    }

    /// Evaluate a formula at the loaded `(x, u, t)`.
    fn evaluate(&mut self, formula: &crate::problem::PointFunction) -> f64 {
        formula.evaluate_point(&self.variables, &mut self.stack)
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

/// Sort by target and add up duplicate targets.
pub(crate) fn merge(mut pairs: Vec<(usize, f64)>) -> Vec<(usize, f64)> {
    pairs.sort_by_key(|pair| pair.0);
    let mut merged: Vec<(usize, f64)> = Vec::with_capacity(pairs.len());
    for (target, weight) in pairs {
        match merged.last_mut() {
            Some(last) if last.0 == target => last.1 += weight,
            _ => merged.push((target, weight)),
        }
    }
    merged.retain(|pair| pair.1 != 0.0);
    merged
}
