//! Explicit (forward Euler in time-to-go) monotone steppers: upwind and Lax–Friedrichs.
//!
//! One step from `τ_n` to `τ_{n+1} = τ_n + Δt` (physical time `t_n = T − τ_n`) is, at every node,
//!
//! ```text
//! V^{n+1}(x) = min_u { β Σ_y p(y | x, u) V^n(y) + Δt ℓ(x, u, t_n) },   β = e^{−ρΔt},
//! ```
//!
//! with the weights of [`crate::scheme::weights`] and the minimisation of
//! [`crate::scheme::hamiltonian`]. The step is monotone and stable (`‖V^{n+1}‖∞ ≤ ‖V^n‖∞ + Δt‖ℓ‖∞`)
//! when `Δt ≤ Δt_max = 1 / max_{x,u} Σ_i |f_i|/h_i` (upwind) or `1 / max_x Σ_i α_i(x)/h_i`
//! (local Lax–Friedrichs, `α_i(x) = max_u |f_i(x,u)|` per node); [`TimeStepPlan`] chooses `Δt = cfl · Δt_max` or checks a
//! fixed step against that bound. Boundary handling per axis: periodic wrap, linear extrapolation
//! of the ghost value (`V_{−1} = 2V_0 − V_1`), or Dirichlet nodes held at the boundary formula.
//!
//! Correlated noise (a full σ) adds Kushner's cross stencil of [`crate::scheme::weights`],
//! control-independent and outside the minimisation; `prepare` checks diagonal dominance.
//!
//! With regimes (`[regimes]`) the step adds `βΔt Σ_k λ_jk (V^n(x, k) − V^n(x, j))` (the jump
//! weights `Δtλ_jk`, control-independent) and the CFL rate grows by `max_j Σ_k λ_jk`.
//!
//! Nodes are updated in parallel tasks of about [`CHUNK`] nodes; each node reads only the old
//! array, so the result is bit-identical whatever the number of threads. When every control
//! drives one state and nothing couples nodes beyond the stencil (no constraints, regimes or
//! correlated noise), whole rows run through the vectorised row kernel of [`rows`] (same
//! operations, same bits); the node rule below handles the other cases.

mod columns;
mod passes;
mod rows;

use rows::RowWorkspace;

use crate::grid::MAX_DIMENSIONS;
use crate::problem::Problem;
use crate::scheme::closure::Closure;
use crate::scheme::constraint::{admissibility, required_level, StateConstraints};
use crate::scheme::minimiser::{closed_form_control, Driven};
use crate::scheme::{cross_diffusion, lax_friedrichs_weights, upwind_weights, ControlModel, Tabulation};
use crate::settings::Differencing;
use crate::time::{StepContext, StepOutcome, Stepper};
use columns::RowColumns;
use rayon::prelude::*;
use std::sync::OnceLock;

/// Nodes per parallel task.
pub const CHUNK: usize = 2048;

/// The explicit stepper of one problem on one grid.
#[derive(Debug)]
pub struct ExplicitStepper<'a> {
    problem: &'a Problem,
    differencing: Differencing,
    model: &'a ControlModel,
    shape: Vec<usize>,
    strides: Vec<usize>,
    inverse_spacing: Vec<f64>,
    closures: Vec<Closure>,
    /// Closed form: the states driven by each control.
    driven: Driven,
    control_bounds: Vec<(f64, f64)>,
    time_step: f64,
    discount_factor: f64,
    constraints: StateConstraints,
    /// The state driven by each control, when the row kernel applies (module docs).
    single_driven: Option<Vec<usize>>,
    /// The row kernel's columns of a time-independent table (built at the first step).
    columns: OnceLock<RowColumns>,
}

impl<'a> ExplicitStepper<'a> {
    /// The stepper for explicit steps of `time_step` with the given differencing (upwind or local
    /// Lax–Friedrichs) and control model.
    pub fn new(
        problem: &'a Problem,
        differencing: Differencing,
        model: &'a ControlModel,
        time_step: f64,
    ) -> Self {
        let grid = &problem.grid;
        let closures = problem.boundaries.iter().map(Closure::of).collect();
        let driven = match model {
            ControlModel::ClosedForm { control_of_state } => Driven::of(control_of_state),
            ControlModel::Sampled { .. } | ControlModel::Affine => Driven::of(&[]),
        };
        let constraints = StateConstraints::new(problem);
        let single_driven = match model {
            ControlModel::ClosedForm { .. }
                if !constraints.any()
                    && problem.switching.is_none()
                    && problem.diffusion_matrix.is_none()
                    && grid.shape().iter().all(|points| *points >= 2)
                    && (0..problem.controls.len()).all(|j| driven.states(j).len() == 1) =>
            {
                Some((0..problem.controls.len()).map(|j| driven.states(j)[0]).collect())
            }
            _ => None,
        };
        ExplicitStepper {
            single_driven,
            columns: OnceLock::new(),
            problem,
            differencing,
            model,
            shape: grid.shape(),
            strides: grid.strides().to_vec(),
            inverse_spacing: grid.spacings().iter().map(|h| 1.0 / h).collect(),
            closures,
            driven,
            control_bounds: problem.controls.iter().map(|c| (c.lower, c.upper)).collect(),
            time_step,
            discount_factor: (-problem.discount * time_step).exp(),
            constraints,
        }
    }

    /// One step: `new = S(old)` with coefficients `table`; `policy[node * m + j]` receives the
    /// minimising control. Nodes where `boundary_values` (indexed by node) is not NaN are fixed to
    /// it (Dirichlet ends and target sets).
    pub fn step(
        &self,
        table: &Tabulation,
        old: &[f64],
        new: &mut [f64],
        policy: &mut [f64],
        boundary_values: Option<&[f64]>,
    ) -> StepOutcome {
        // Monomorphised per dimension so the per-axis loops unroll and the small arrays fit
        // registers.
        match self.shape.len() {
            1 => self.step_in::<1>(table, old, new, policy, boundary_values),
            2 => self.step_in::<2>(table, old, new, policy, boundary_values),
            3 => self.step_in::<3>(table, old, new, policy, boundary_values),
            4 => self.step_in::<4>(table, old, new, policy, boundary_values),
            5 => self.step_in::<5>(table, old, new, policy, boundary_values),
            _ => self.step_in::<6>(table, old, new, policy, boundary_values),
        }
    }

    fn step_in<const D: usize>(
        &self,
        table: &Tabulation,
        old: &[f64],
        new: &mut [f64],
        policy: &mut [f64],
        boundary_values: Option<&[f64]>,
    ) -> StepOutcome {
        if let Some(driven) = &self.single_driven {
            if table.noise_columns == 0 {
                return self.step_rows::<D>(driven, table, old, new, policy, boundary_values);
            }
        }
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
                for offset in 0..values.len() {
                    let node = start + offset;
                    let mut value = self.update_node::<D>(
                        table,
                        old,
                        node,
                        &index,
                        &mut controls[offset * m..(offset + 1) * m],
                        boundary_values,
                    );
                    if let Some(switching) = &self.problem.switching {
                        // Regime jumps: control-independent, added outside the minimisation.
                        if boundary_values.is_none_or(|fixed| fixed[node].is_nan()) {
                            value += self.discount_factor
                                * self.time_step
                                * switching.jump(old, node, index[switching.axis]);
                        }
                    }
                    if table.noise_columns > 0 && boundary_values.is_none_or(|fixed| fixed[node].is_nan()) {
                        // Correlated noise: control-independent cross stencil, added outside
                        // the minimisation (see `crate::scheme::weights`).
                        value += self.discount_factor
                            * self.time_step
                            * self.cross_term::<D>(table, old, node, &index);
                    }
                    if !value.is_finite() && first_bad.is_none() {
                        first_bad = Some((node, value));
                    }
                    if value.abs() > largest.0 {
                        largest = (value.abs(), node);
                    }
                    values[offset] = value;
                    self.advance(&mut index);
                }
                StepOutcome { first_non_finite: first_bad, largest }
            })
            .reduce(StepOutcome::empty, StepOutcome::combine)
    }

    /// [`ExplicitStepper::step_in`] through the row kernel: tasks of whole rows (or of parts of a
    /// long row), the columns
    /// cached for a time-independent table and built for this step otherwise.
    fn step_rows<const D: usize>(
        &self,
        driven: &[usize],
        table: &Tabulation,
        old: &[f64],
        new: &mut [f64],
        policy: &mut [f64],
        fixed: Option<&[f64]>,
    ) -> StepOutcome {
        let m = driven.len();
        let step_columns;
        let columns = if self.problem.is_time_dependent() {
            step_columns = RowColumns::of(self, table, driven);
            &step_columns
        } else {
            self.columns.get_or_init(|| RowColumns::of(self, table, driven))
        };
        // Tasks of whole rows, or of CHUNK nodes of a row longer than that (a 1-D grid).
        let row = self.shape[D - 1];
        let task_nodes = if row >= CHUNK { CHUNK } else { CHUNK.div_ceil(row) * row };
        new.par_chunks_mut(task_nodes)
            .zip(policy.par_chunks_mut(task_nodes * m.max(1)))
            .enumerate()
            .map_init(
                || RowWorkspace::new(row, D, m),
                |workspace, (task, (values, controls))| {
                    let start = task * task_nodes;
                    #[cfg(target_arch = "x86_64")]
                    if std::arch::is_x86_feature_detected!("avx512f") {
                        // SAFETY: the CPU has AVX-512F (checked just above).
                        return unsafe {
                            self.rows_avx512::<D>(columns, old, fixed, start, values, controls, workspace)
                        };
                    }
                    #[cfg(target_arch = "x86_64")]
                    if std::arch::is_x86_feature_detected!("avx2") {
                        // SAFETY: the CPU has AVX2 (checked just above).
                        return unsafe {
                            self.rows_avx2::<D>(columns, old, fixed, start, values, controls, workspace)
                        };
                    }
                    self.rows::<D>(columns, old, fixed, start, values, controls, workspace)
                },
            )
            .reduce(StepOutcome::empty, StepOutcome::combine)
    }

    /// Bytes an interior node of the row kernel moves at least per step (`V^n` and the varying
    /// coefficient columns read, `V^{n+1}` and the controls written; 8 bytes each), once a step
    /// of a time-independent problem has built its columns; `None` otherwise.
    pub fn streamed_bytes_per_node(&self) -> Option<usize> {
        self.columns.get().map(RowColumns::bytes_per_node)
    }

    /// Whether the rows run through the vectorised row kernel (module docs).
    pub fn uses_row_kernel(&self) -> bool {
        self.single_driven.is_some()
    }

    /// The same stepper with the node rule at every node (the row kernel off): the reference
    /// the row kernel is tested and benchmarked against.
    pub fn node_rule_only(mut self) -> Self {
        self.single_driven = None;
        self
    }

    /// `Σ_{i<j} |a_ij|/(h_ih_j) [V(x + e_i + s e_j) + V(x − e_i − s e_j) − V(x ± e_i) − V(x ± e_j) + 2V]`
    /// (the cross stencil of [`crate::scheme::weights::cross_diffusion`], `s = sign a_ij`).
    fn cross_term<const D: usize>(
        &self,
        table: &Tabulation,
        old: &[f64],
        node: usize,
        index: &[usize; D],
    ) -> f64 {
        let k = table.noise_columns;
        let row = match self.model {
            ControlModel::ClosedForm { .. } => node,
            ControlModel::Affine => {
                unreachable!("the affine game model runs on the high-order stepper (time::stepper)")
            }
            // σ does not depend on the control here (checked in `prepare`): any sample will do.
            ControlModel::Sampled { count, .. } => node * count,
        };
        let sigma = &table.diffusion_matrix[row * D * k..(row + 1) * D * k];
        let center = old[node];
        let mut total = 0.0;
        for i in 0..D {
            for j in i + 1..D {
                let a = cross_diffusion(sigma, D, i, j);
                if a == 0.0 {
                    continue;
                }
                let s = if a > 0.0 { 1 } else { -1 };
                let weight = a.abs() * self.inverse_spacing[i] * self.inverse_spacing[j];
                let along = self.value_at::<D>(old, index, [(i, 1), (j, s)])
                    + self.value_at::<D>(old, index, [(i, -1), (j, -s)]);
                let axes = self.value_at::<D>(old, index, [(i, 1), (j, 0)])
                    + self.value_at::<D>(old, index, [(i, -1), (j, 0)])
                    + self.value_at::<D>(old, index, [(i, 0), (j, 1)])
                    + self.value_at::<D>(old, index, [(i, 0), (j, -1)]);
                total += weight * (along - axes + 2.0 * center);
            }
        }
        total
    }

    /// `V` at the node shifted by `offsets` (two axes, steps of −1, 0, +1), through the boundary
    /// closure of each axis it leaves the box on: periodic wraps, a reflecting (state-constraint
    /// or Dirichlet) end takes the value on the end, an extrapolated end the linear ghost.
    fn value_at<const D: usize>(&self, old: &[f64], index: &[usize; D], offsets: [(usize, i64); 2]) -> f64 {
        for (position, &(axis, step)) in offsets.iter().enumerate() {
            let target = index[axis] as i64 + step;
            let size = self.shape[axis] as i64;
            if (0..size).contains(&target) || self.closures[axis] == Closure::Periodic {
                continue;
            }
            let mut inward = offsets;
            inward[position].1 = 0;
            let on_end = self.value_at::<D>(old, index, inward);
            return if self.closures[axis].extrapolates() {
                inward[position].1 = -step;
                2.0 * on_end - self.value_at::<D>(old, index, inward)
            } else {
                on_end
            };
        }
        let mut flat = 0;
        for (k, i) in index.iter().enumerate() {
            let mut i = *i as i64;
            for &(axis, step) in &offsets {
                if axis == k {
                    i = (i + step).rem_euclid(self.shape[k] as i64);
                }
            }
            flat += i as usize * self.strides[k];
        }
        old[flat]
    }

    #[inline(always)]
    fn advance<const D: usize>(&self, index: &mut [usize; D]) {
        for k in (0..D).rev() {
            index[k] += 1;
            if index[k] < self.shape[k] {
                return;
            }
            index[k] = 0;
        }
    }

    #[inline(always)]
    fn update_node<const D: usize>(
        &self,
        table: &Tabulation,
        old: &[f64],
        node: usize,
        index: &[usize; D],
        controls: &mut [f64],
        boundary_values: Option<&[f64]>,
    ) -> f64 {
        let n = D;
        // Fixed nodes (Dirichlet ends, target set) hold their prescribed value.
        if let Some(values) = boundary_values {
            if !values[node].is_nan() {
                controls.fill(0.0);
                return values[node];
            }
        }
        let center = old[node];
        let mut forward = [0.0f64; MAX_DIMENSIONS];
        let mut backward = [0.0f64; MAX_DIMENSIONS];
        for k in 0..n {
            let (i, size, stride) = (index[k], self.shape[k], self.strides[k]);
            // Interior nodes read their neighbours directly; the ends go through the closure.
            forward[k] = if i + 1 < size {
                old[node + stride]
            } else {
                self.closures[k].forward(node, i, size, stride).value(old, center)
            };
            backward[k] = if i > 0 {
                old[node - stride]
            } else {
                self.closures[k].backward(node, i, size, stride).value(old, center)
            };
        }
        let beta = self.discount_factor;
        let dt = self.time_step;
        let sides = if self.constraints.any() { self.constraints.sides(index) } else { None };
        match self.model {
            ControlModel::Affine => {
                unreachable!("the affine game model runs on the high-order stepper (time::stepper)")
            }
            ControlModel::ClosedForm { .. } => {
                let base = &table.drift_base[node * n..(node + 1) * n];
                let gain = &table.drift_gain[node * n..(node + 1) * n];
                let m = controls.len();
                let linear = &table.cost_linear[node * m..(node + 1) * m];
                let quadratic = &table.cost_quadratic[node * m..(node + 1) * m];
                let mut forward_difference = [0.0f64; MAX_DIMENSIONS];
                let mut backward_difference = [0.0f64; MAX_DIMENSIONS];
                for k in 0..n {
                    forward_difference[k] = (forward[k] - center) * self.inverse_spacing[k];
                    backward_difference[k] = (center - backward[k]) * self.inverse_spacing[k];
                }
                let mut drift = [0.0f64; MAX_DIMENSIONS];
                drift[..n].copy_from_slice(base);
                let mut cost = table.cost_base[node];
                for j in 0..m {
                    let driven = self.driven.states(j);
                    let u = closed_form_control(
                        self.differencing,
                        base,
                        gain,
                        driven,
                        &forward_difference[..n],
                        &backward_difference[..n],
                        sides.as_ref(),
                        self.control_bounds[j],
                        beta,
                        linear[j],
                        quadratic[j],
                    );
                    controls[j] = u;
                    cost += linear[j] * u + quadratic[j] * u * u;
                    for i in driven {
                        drift[*i] += gain[*i] * u;
                    }
                }
                let diffusion = if table.diffusion.is_empty() {
                    &[][..]
                } else {
                    &table.diffusion[node * n..(node + 1) * n]
                };
                let weights = self.weights(&drift[..n], diffusion, table, node);
                beta * weights.expectation(center, &forward[..n], &backward[..n]) + dt * cost
            }
            ControlModel::Sampled { values, count } => {
                let m = controls.len();
                let mut best = f64::INFINITY;
                let mut best_sample = 0;
                let mut average = [0.0f64; MAX_DIMENSIONS];
                let mut second = [0.0f64; MAX_DIMENSIONS];
                for k in 0..n {
                    average[k] = 0.5 * (forward[k] - backward[k]) * self.inverse_spacing[k];
                    second[k] = (forward[k] - 2.0 * center + backward[k])
                        * self.inverse_spacing[k]
                        * self.inverse_spacing[k];
                }
                let diffusion_of = |s: usize| -> &[f64] {
                    if table.sample_diffusion.is_empty() {
                        &[]
                    } else {
                        &table.sample_diffusion[(node * count + s) * n..(node * count + s + 1) * n]
                    }
                };
                let mut lax_friedrichs_best = f64::INFINITY;
                // At state-constrained ends only samples with inward drift compete (all of them
                // when none is admissible).
                let level = |s: usize, sides: &crate::scheme::constraint::Sides| {
                    admissibility(
                        &table.sample_drift[(node * count + s) * n..(node * count + s + 1) * n],
                        diffusion_of(s),
                        sides,
                    )
                };
                let required = sides.map(|sides| (sides, required_level(*count, |s| level(s, &sides))));
                for s in 0..*count {
                    let drift = &table.sample_drift[(node * count + s) * n..(node * count + s + 1) * n];
                    if required.as_ref().is_some_and(|(sides, required)| level(s, sides) < *required) {
                        continue;
                    }
                    let cost = table.sample_cost[node * count + s];
                    match self.differencing {
                        Differencing::Upwind => {
                            let weights = upwind_weights(drift, diffusion_of(s), &self.inverse_spacing, dt);
                            let candidate =
                                beta * weights.expectation(center, &forward[..n], &backward[..n]) + dt * cost;
                            if candidate < best {
                                best = candidate;
                                best_sample = s;
                            }
                        }
                        Differencing::LaxFriedrichs => {
                            let mut hamiltonian = cost;
                            for k in 0..n {
                                hamiltonian += beta * drift[k] * average[k];
                            }
                            for (k, a) in diffusion_of(s).iter().enumerate() {
                                hamiltonian += beta * a * second[k];
                            }
                            if hamiltonian < lax_friedrichs_best {
                                lax_friedrichs_best = hamiltonian;
                                best_sample = s;
                            }
                        }
                    }
                }
                controls.copy_from_slice(&values[best_sample * m..(best_sample + 1) * m]);
                if self.differencing == Differencing::LaxFriedrichs {
                    let s = best_sample;
                    let drift = &table.sample_drift[(node * count + s) * n..(node * count + s + 1) * n];
                    let weights = self.weights(drift, diffusion_of(s), table, node);
                    best = beta * weights.expectation(center, &forward[..n], &backward[..n])
                        + dt * table.sample_cost[node * count + s];
                }
                best
            }
        }
    }

    #[inline(always)]
    fn weights(
        &self,
        drift: &[f64],
        diffusion: &[f64],
        table: &Tabulation,
        node: usize,
    ) -> crate::scheme::Weights {
        match self.differencing {
            Differencing::Upwind => upwind_weights(drift, diffusion, &self.inverse_spacing, self.time_step),
            Differencing::LaxFriedrichs => {
                let n = drift.len();
                let alpha = &table.dissipation[node * n..(node + 1) * n];
                lax_friedrichs_weights(drift, alpha, diffusion, &self.inverse_spacing, self.time_step)
            }
        }
    }
}

impl Stepper for ExplicitStepper<'_> {
    fn step(
        &mut self,
        context: &StepContext<'_>,
        old: &[f64],
        new: &mut [f64],
        policy: &mut [f64],
    ) -> crate::error::Result<StepOutcome> {
        Ok(ExplicitStepper::step(self, context.table, old, new, policy, context.fixed))
    }

    fn has_cfl_limit(&self) -> bool {
        true
    }

    fn reports_non_finite(&self) -> bool {
        true
    }
}
