//! High-order explicit steps: ENO/WENO one-sided derivatives, an upwind or Lax–Friedrichs
//! numerical Hamiltonian, and TVD (SSP) Runge–Kutta in time (Shu–Osher 1988; Osher–Fedkiw §3.5).
//!
//! In time-to-go the semi-discrete equation at a node is `dV/dτ = L(V)` with
//!
//! ```text
//! L(V) = Ĥ(x, p⁻, p⁺, D²V) − ρV + Σ_k λ_jk (V_k − V_j),
//! upwind          Ĥ = min_u { ℓ(x,u) + Σ_i [f_i⁺ p⁺_i + f_i⁻ p⁻_i] + Σ_i a_i D²_i V }
//! Lax–Friedrichs  Ĥ = min_u { ℓ(x,u) + Σ_i f_i p̄_i + Σ_i a_i D²_i V } + Σ_i α_i (p⁺_i − p⁻_i)/2
//! ```
//!
//! where `p^±` are the one-sided derivatives of [`crate::scheme::reconstruction`] (first order,
//! ENO2, ENO3 or WENO5), `p̄ = (p⁺ + p⁻)/2`, `D²_i V = (V_{i+1} − 2V + V_{i−1})/h_i²` (second
//! order, central) and `α_i` the dissipation of [`Dissipation`]. The minimum over `u` is the closed
//! form of [`crate::scheme::minimiser`] (called with `p^±` for the first-order differences) or the
//! minimum over the control samples. Time integration, with `E(W) = W + Δt L(W)` one Euler stage:
//!
//! ```text
//! euler    V^{n+1} = E(V^n)
//! tvd_rk2  V¹ = E(V^n);  V^{n+1} = ½V^n + ½E(V¹)
//! tvd_rk3  V¹ = E(V^n);  V² = ¾V^n + ¼E(V¹);  V^{n+1} = ⅓V^n + ⅔E(V²)
//! ```
//!
//! Each is a convex combination of Euler stages, so it is stable whenever the Euler stage is
//! (SSP coefficient 1): the CFL condition `Δt (rate + ρ) ≤ 1` of [`crate::time::plan::cfl_rate`]
//! holds per stage. With first-order differences every stage is monotone; with ENO/WENO none is,
//! and the report says so (the blow-up detector stays on). Coefficients that depend on time are
//! tabulated at each stage's time (`t_n`, `t_n − Δt`, `t_n − Δt/2` in physical time). Fixed nodes
//! (Dirichlet ends, targets) take the new level's values after every stage.
//!
//! Ghost values beyond the ends come from the boundary rule ([`Closure::line_value`]); at
//! state-constrained ends only controls with inward drift compete, as in the monotone schemes.
//! Correlated noise (a cross stencil) is refused by [`crate::solver`] for these schemes. Every
//! node reads only the previous stage, so results are bit-identical for any thread count.

use crate::error::Result;
use crate::grid::MAX_DIMENSIONS;
use crate::problem::Problem;
use crate::scheme::closure::Closure;
use crate::scheme::constraint::{admissibility, required_level, StateConstraints};
use crate::scheme::minimiser::{closed_form_control, minimise_quadratic, Driven};
use crate::scheme::reconstruction::one_sided;
use crate::scheme::{ControlModel, Tabulation};
use crate::settings::{Derivatives, Differencing, Dissipation, Integrator, Settings, Stepping};
use crate::time::explicit::CHUNK;
use crate::time::{StepContext, StepOutcome, Stepper, StepperReport};
use rayon::prelude::*;

/// What the high-order scheme was, for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct HighOrderReport {
    /// The derivative reconstruction.
    pub derivatives: Derivatives,
    /// The time integrator.
    pub integrator: Integrator,
    /// The numerical Hamiltonian.
    pub differencing: Differencing,
    /// The Lax–Friedrichs dissipation actually used (`None` for upwind); local-local falls
    /// back to local for sampled controls.
    pub dissipation: Option<Dissipation>,
    /// Evaluations of the space operator per step.
    pub stages: usize,
}

/// One stage `out = a·base + b·(W + Δt L(W))` (`a = 0`: no base).
#[derive(Clone, Copy)]
struct Stage {
    base_weight: f64,
    stage_weight: f64,
}

/// The high-order explicit stepper of one problem on one grid.
#[derive(Debug)]
pub struct HighOrderStepper<'a> {
    problem: &'a Problem,
    model: &'a ControlModel,
    differencing: Differencing,
    derivatives: Derivatives,
    dissipation: Dissipation,
    integrator: Integrator,
    shape: Vec<usize>,
    strides: Vec<usize>,
    inverse_spacing: Vec<f64>,
    closures: Vec<Closure>,
    driven: Driven,
    control_bounds: Vec<(f64, f64)>,
    time_step: f64,
    constraints: StateConstraints,
    /// The regime axis takes no derivatives (its coupling is the jump term).
    regime_axis: Option<usize>,
    /// Node coordinates, kept for re-tabulating time-dependent coefficients at stage times.
    coordinates: Option<Vec<Vec<f64>>>,
    /// Intermediate stages `V¹`, `V²`.
    buffers: [Vec<f64>; 2],
}

impl<'a> HighOrderStepper<'a> {
    /// The stepper for `settings` (explicit stepping) with steps of `time_step`.
    pub fn new(problem: &'a Problem, settings: &Settings, model: &'a ControlModel, time_step: f64) -> Self {
        let grid = &problem.grid;
        let integrator = match settings.stepping {
            Stepping::Explicit { integrator, .. } => integrator,
            _ => Integrator::Euler,
        };
        let driven = match model {
            ControlModel::ClosedForm { control_of_state } => Driven::of(control_of_state),
            ControlModel::Sampled { .. } => Driven::of(&[]),
        };
        let nodes = grid.node_count();
        let buffers = [
            if integrator.stages() > 1 { vec![0.0; nodes] } else { Vec::new() },
            if integrator.stages() > 2 { vec![0.0; nodes] } else { Vec::new() },
        ];
        HighOrderStepper {
            problem,
            model,
            differencing: settings.differencing,
            derivatives: settings.derivatives,
            dissipation: settings.dissipation,
            integrator,
            shape: grid.shape(),
            strides: grid.strides().to_vec(),
            inverse_spacing: grid.spacings().iter().map(|h| 1.0 / h).collect(),
            closures: problem.boundaries.iter().map(Closure::of).collect(),
            driven,
            control_bounds: problem.controls.iter().map(|c| (c.lower, c.upper)).collect(),
            time_step,
            constraints: StateConstraints::new(problem),
            regime_axis: problem.switching.as_ref().map(|s| s.axis),
            coordinates: problem.is_time_dependent().then(|| grid.coordinate_columns()),
            buffers,
        }
    }

    /// The dissipation used with this control model (local-local needs the closed form).
    fn effective_dissipation(&self) -> Dissipation {
        match (self.dissipation, self.model) {
            (Dissipation::LocalLocal, ControlModel::Sampled { .. }) => Dissipation::Local,
            (dissipation, _) => dissipation,
        }
    }

    /// One Euler stage of the space operator over the grid, combined as `stage` says.
    #[allow(clippy::too_many_arguments)]
    fn stage(
        &self,
        table: &Tabulation,
        base: &[f64],
        current: &[f64],
        out: &mut [f64],
        policy: &mut [f64],
        fixed: Option<&[f64]>,
        stage: Stage,
    ) -> StepOutcome {
        match self.shape.len() {
            1 => self.stage_in::<1>(table, base, current, out, policy, fixed, stage),
            2 => self.stage_in::<2>(table, base, current, out, policy, fixed, stage),
            3 => self.stage_in::<3>(table, base, current, out, policy, fixed, stage),
            4 => self.stage_in::<4>(table, base, current, out, policy, fixed, stage),
            5 => self.stage_in::<5>(table, base, current, out, policy, fixed, stage),
            _ => self.stage_in::<6>(table, base, current, out, policy, fixed, stage),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn stage_in<const D: usize>(
        &self,
        table: &Tabulation,
        base: &[f64],
        current: &[f64],
        out: &mut [f64],
        policy: &mut [f64],
        fixed: Option<&[f64]>,
        stage: Stage,
    ) -> StepOutcome {
        let m = self.problem.controls.len();
        let n = D;
        let global = (self.effective_dissipation() == Dissipation::Global
            && self.differencing == Differencing::LaxFriedrichs)
            .then(|| global_dissipation(table, n));
        let dt = self.time_step;
        let discount = self.problem.discount;
        out.par_chunks_mut(CHUNK)
            .zip(policy.par_chunks_mut(CHUNK * m.max(1)))
            .enumerate()
            .map(|(chunk, (values, controls))| {
                let start = chunk * CHUNK;
                let mut index = [0usize; D];
                self.problem.grid.unravel_inplace(start, &mut index);
                let mut first_bad = None;
                let mut largest = (0.0f64, start);
                for offset in 0..values.len() {
                    let node = start + offset;
                    let controls = &mut controls[offset * m..(offset + 1) * m];
                    let held = fixed.map_or(f64::NAN, |fixed| fixed[node]);
                    let value = if !held.is_nan() {
                        controls.fill(0.0);
                        held
                    } else {
                        let mut rate =
                            self.hamiltonian::<D>(table, current, node, &index, controls, global.as_deref())
                                - discount * current[node];
                        if let Some(switching) = &self.problem.switching {
                            rate += switching.jump(current, node, index[switching.axis]);
                        }
                        let euler = current[node] + dt * rate;
                        if stage.base_weight == 0.0 {
                            euler
                        } else {
                            stage.base_weight * base[node] + stage.stage_weight * euler
                        }
                    };
                    if !value.is_finite() && first_bad.is_none() {
                        first_bad = Some((node, value));
                    }
                    if value.abs() > largest.0 {
                        largest = (value.abs(), node);
                    }
                    values[offset] = value;
                    advance(&self.shape, &mut index);
                }
                StepOutcome { first_non_finite: first_bad, largest }
            })
            .reduce(StepOutcome::empty, StepOutcome::combine)
    }

    /// The numerical Hamiltonian `Ĥ` at `node` (module docs); the minimising control goes to
    /// `controls`.
    #[inline(always)]
    fn hamiltonian<const D: usize>(
        &self,
        table: &Tabulation,
        values: &[f64],
        node: usize,
        index: &[usize; D],
        controls: &mut [f64],
        global: Option<&[f64]>,
    ) -> f64 {
        let n = D;
        let center = values[node];
        let mut minus = [0.0f64; MAX_DIMENSIONS];
        let mut plus = [0.0f64; MAX_DIMENSIONS];
        let mut second = [0.0f64; MAX_DIMENSIONS];
        for k in 0..n {
            if self.regime_axis == Some(k) {
                continue;
            }
            let (i, size, stride) = (index[k], self.shape[k], self.strides[k]);
            let stencil: [f64; 7] = if i >= 3 && i + 3 < size {
                let first = node - 3 * stride;
                std::array::from_fn(|j| values[first + j * stride])
            } else {
                let start = node - i * stride;
                std::array::from_fn(|j| {
                    self.closures[k].line_value(values, start, size, stride, i as isize + j as isize - 3)
                })
            };
            (minus[k], plus[k]) = one_sided(self.derivatives, &stencil, self.inverse_spacing[k]);
            second[k] =
                (stencil[4] - 2.0 * center + stencil[2]) * self.inverse_spacing[k] * self.inverse_spacing[k];
        }
        let sides = if self.constraints.any() { self.constraints.sides(index) } else { None };
        let lax_friedrichs = self.differencing == Differencing::LaxFriedrichs;
        match self.model {
            ControlModel::ClosedForm { control_of_state } => {
                let base = &table.drift_base[node * n..(node + 1) * n];
                let gain = &table.drift_gain[node * n..(node + 1) * n];
                let m = controls.len();
                let linear = &table.cost_linear[node * m..(node + 1) * m];
                let quadratic = &table.cost_quadratic[node * m..(node + 1) * m];
                let mut drift = [0.0f64; MAX_DIMENSIONS];
                drift[..n].copy_from_slice(base);
                let mut hamiltonian = table.cost_base[node];
                for j in 0..m {
                    let driven = self.driven.states(j);
                    let u = closed_form_control(
                        self.differencing,
                        base,
                        gain,
                        driven,
                        &plus[..n],
                        &minus[..n],
                        sides.as_ref(),
                        self.control_bounds[j],
                        1.0,
                        linear[j],
                        quadratic[j],
                    );
                    controls[j] = u;
                    hamiltonian += linear[j] * u + quadratic[j] * u * u;
                    for i in driven {
                        drift[*i] += gain[*i] * u;
                    }
                }
                for k in 0..n {
                    hamiltonian += if lax_friedrichs {
                        drift[k] * 0.5 * (plus[k] + minus[k])
                    } else if drift[k] > 0.0 {
                        drift[k] * plus[k]
                    } else {
                        drift[k] * minus[k]
                    };
                }
                if !table.diffusion.is_empty() {
                    for (k, a) in table.diffusion[node * n..(node + 1) * n].iter().enumerate() {
                        hamiltonian += a * second[k];
                    }
                }
                if lax_friedrichs {
                    let alpha = match (self.dissipation, global) {
                        (_, Some(global)) => {
                            let mut alpha = [0.0f64; MAX_DIMENSIONS];
                            alpha[..n].copy_from_slice(global);
                            alpha
                        }
                        (Dissipation::LocalLocal, None) => self.local_local_dissipation::<D>(
                            base,
                            gain,
                            linear,
                            quadratic,
                            control_of_state,
                            &minus,
                            &plus,
                        ),
                        _ => {
                            let mut alpha = [0.0f64; MAX_DIMENSIONS];
                            alpha[..n].copy_from_slice(&table.dissipation[node * n..(node + 1) * n]);
                            alpha
                        }
                    };
                    for k in 0..n {
                        hamiltonian += alpha[k] * 0.5 * (plus[k] - minus[k]);
                    }
                }
                hamiltonian
            }
            ControlModel::Sampled { values: samples, count } => {
                let m = controls.len();
                let diffusion_of = |s: usize| -> &[f64] {
                    if table.sample_diffusion.is_empty() {
                        &[]
                    } else {
                        &table.sample_diffusion[(node * count + s) * n..(node * count + s + 1) * n]
                    }
                };
                let drift_of =
                    |s: usize| &table.sample_drift[(node * count + s) * n..(node * count + s + 1) * n];
                let level = |s: usize, sides: &crate::scheme::constraint::Sides| {
                    admissibility(drift_of(s), diffusion_of(s), sides)
                };
                let required = sides.map(|sides| (sides, required_level(*count, |s| level(s, &sides))));
                let mut best = f64::INFINITY;
                let mut best_sample = 0;
                for s in 0..*count {
                    if required.as_ref().is_some_and(|(sides, required)| level(s, sides) < *required) {
                        continue;
                    }
                    let drift = drift_of(s);
                    let mut candidate = table.sample_cost[node * count + s];
                    for k in 0..n {
                        candidate += if lax_friedrichs {
                            drift[k] * 0.5 * (plus[k] + minus[k])
                        } else if drift[k] > 0.0 {
                            drift[k] * plus[k]
                        } else {
                            drift[k] * minus[k]
                        };
                    }
                    for (k, a) in diffusion_of(s).iter().enumerate() {
                        candidate += a * second[k];
                    }
                    if candidate < best {
                        best = candidate;
                        best_sample = s;
                    }
                }
                controls.copy_from_slice(&samples[best_sample * m..(best_sample + 1) * m]);
                if lax_friedrichs {
                    for k in 0..n {
                        let alpha = match global {
                            Some(global) => global[k],
                            None => table.dissipation[node * n + k],
                        };
                        best += alpha * 0.5 * (plus[k] - minus[k]);
                    }
                }
                best
            }
        }
    }

    /// Local-local dissipation (closed form): `α_i = max |f_i(x, u*(p))|` over the gradients
    /// `p` in the box spanned by `p⁻` and `p⁺`. Each `u*_j` minimises `(c_j + Σ_i b_i p_i) u +
    /// r_j u²` and is monotone in that slope, so its range is spanned by the slope's extremes.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn local_local_dissipation<const D: usize>(
        &self,
        base: &[f64],
        gain: &[f64],
        linear: &[f64],
        quadratic: &[f64],
        control_of_state: &[Option<usize>],
        minus: &[f64; MAX_DIMENSIONS],
        plus: &[f64; MAX_DIMENSIONS],
    ) -> [f64; MAX_DIMENSIONS] {
        let mut alpha = [0.0f64; MAX_DIMENSIONS];
        for k in 0..D {
            if control_of_state[k].is_none() {
                alpha[k] = base[k].abs();
            }
        }
        for (j, bounds) in self.control_bounds.iter().enumerate() {
            let (mut low, mut high) = (linear[j], linear[j]);
            for i in self.driven.states(j) {
                let (a, b) = (gain[*i] * minus[*i], gain[*i] * plus[*i]);
                low += a.min(b);
                high += a.max(b);
            }
            let u_low = minimise_quadratic(low, quadratic[j], bounds.0, bounds.1);
            let u_high = minimise_quadratic(high, quadratic[j], bounds.0, bounds.1);
            for i in self.driven.states(j) {
                alpha[*i] = (base[*i] + gain[*i] * u_low).abs().max((base[*i] + gain[*i] * u_high).abs());
            }
        }
        alpha
    }

    /// The coefficients at physical time `t` (the step's own table when nothing depends on t).
    fn table_at<'t>(&self, context: &'t StepContext<'_>, t: f64) -> std::borrow::Cow<'t, Tabulation> {
        match &self.coordinates {
            Some(coordinates) if t != context.time => {
                std::borrow::Cow::Owned(Tabulation::new(self.problem, self.model, coordinates, t))
            }
            _ => std::borrow::Cow::Borrowed(context.table),
        }
    }
}

/// `max_x α_i(x)` per axis: the global Lax–Friedrichs dissipation.
fn global_dissipation(table: &Tabulation, n: usize) -> Vec<f64> {
    let mut alpha = vec![0.0f64; n];
    for row in table.dissipation.chunks_exact(n) {
        for (a, value) in alpha.iter_mut().zip(row) {
            *a = a.max(*value);
        }
    }
    alpha
}

#[inline(always)]
fn advance<const D: usize>(shape: &[usize], index: &mut [usize; D]) {
    for k in (0..D).rev() {
        index[k] += 1;
        if index[k] < shape[k] {
            return;
        }
        index[k] = 0;
    }
}

impl Stepper for HighOrderStepper<'_> {
    fn step(
        &mut self,
        context: &StepContext<'_>,
        old: &[f64],
        new: &mut [f64],
        policy: &mut [f64],
    ) -> Result<StepOutcome> {
        let fixed = context.fixed;
        let euler = Stage { base_weight: 0.0, stage_weight: 1.0 };
        let t = context.time;
        let dt = self.time_step;
        let [mut first, mut second] = std::mem::take(&mut self.buffers);
        let outcome = match self.integrator {
            Integrator::Euler => self.stage(context.table, old, old, new, policy, fixed, euler),
            Integrator::TvdRk2 => {
                self.stage(context.table, old, old, &mut first, policy, fixed, euler);
                let table = self.table_at(context, t - dt);
                let last = Stage { base_weight: 0.5, stage_weight: 0.5 };
                self.stage(&table, old, &first, new, policy, fixed, last)
            }
            Integrator::TvdRk3 => {
                self.stage(context.table, old, old, &mut first, policy, fixed, euler);
                let table = self.table_at(context, t - dt);
                let middle = Stage { base_weight: 0.75, stage_weight: 0.25 };
                self.stage(&table, old, &first, &mut second, policy, fixed, middle);
                let table = self.table_at(context, t - 0.5 * dt);
                let last = Stage { base_weight: 1.0 / 3.0, stage_weight: 2.0 / 3.0 };
                self.stage(&table, old, &second, new, policy, fixed, last)
            }
        };
        self.buffers = [first, second];
        Ok(outcome)
    }

    fn has_cfl_limit(&self) -> bool {
        true
    }

    fn monotone(&self, worst_cfl: f64) -> bool {
        // Euler stages of first-order differences are monotone under the CFL bound, and the TVD
        // combinations are convex; ENO/WENO stencils are not monotone at all.
        self.derivatives == Derivatives::FirstOrder && worst_cfl <= 1.0 + 1e-12
    }

    fn report(&self) -> StepperReport {
        StepperReport::HighOrder(HighOrderReport {
            derivatives: self.derivatives,
            integrator: self.integrator,
            differencing: self.differencing,
            dissipation: (self.differencing == Differencing::LaxFriedrichs)
                .then(|| self.effective_dissipation()),
            stages: self.integrator.stages(),
        })
    }
}
