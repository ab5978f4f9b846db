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

mod node_rule;

use crate::error::Result;
use crate::grid::MAX_DIMENSIONS;
use crate::problem::game::Sense;
use crate::problem::Problem;
use crate::scheme::affine::AffineInputs;
use crate::scheme::affine_row::{AffineColumns, AffineRow};
use crate::scheme::closure::Closure;
use crate::scheme::constraint::StateConstraints;
use crate::scheme::minimiser::Driven;
use crate::scheme::reconstruction::one_sided_row;
use crate::scheme::row_hamiltonian::{Columns, RowHamiltonian, RowInputs};
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
    /// The state each control drives, when the row rule applies ([`RowHamiltonian`]).
    single_driven: Option<Vec<usize>>,
    /// The row rule's columns of a time-independent table (built at the first step).
    columns: Option<Columns>,
    /// The players of a game (`None` for a control problem: every input minimises).
    game: Option<GameInputs>,
    /// Whether the affine game rule runs over rows ([`AffineColumns`]; no balls, no regimes).
    affine_rows: bool,
    /// Its columns of a time-independent table (built at the first step).
    affine_columns: Option<AffineColumns>,
}

/// What the node rule needs to know of a game's players.
#[derive(Debug)]
struct GameInputs {
    /// How each input is optimised.
    senses: Vec<Sense>,
    /// The affine model's inputs (`ControlModel::Affine`).
    affine: Option<AffineInputs>,
    /// Sampled model: disturbance samples per control sample (they vary fastest).
    disturbance_samples: usize,
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
            ControlModel::Sampled { .. } | ControlModel::Affine => Driven::of(&[]),
        };
        let nodes = grid.node_count();
        let buffers = [
            if integrator.stages() > 1 { vec![0.0; nodes] } else { Vec::new() },
            if integrator.stages() > 2 { vec![0.0; nodes] } else { Vec::new() },
        ];
        let constraints = StateConstraints::new(problem);
        let single_driven = match model {
            ControlModel::ClosedForm { .. }
                if !constraints.any()
                    && problem.game.is_none()
                    && problem.switching.is_none()
                    && !(settings.differencing == Differencing::LaxFriedrichs
                        && settings.dissipation == Dissipation::LocalLocal)
                    && (0..problem.controls.len()).all(|j| driven.states(j).len() == 1) =>
            {
                Some((0..problem.controls.len()).map(|j| driven.states(j)[0]).collect())
            }
            _ => None,
        };
        let m = problem.controls.len();
        let game = problem.game.as_ref().map(|game| GameInputs {
            senses: (0..m).map(|j| problem.sense_of(j)).collect(),
            affine: (*model == ControlModel::Affine).then(|| AffineInputs::of(problem)),
            disturbance_samples: problem.controls[m - game.disturbances..]
                .iter()
                .map(|d| d.samples)
                .product(),
        });
        let affine_rows =
            game.as_ref().and_then(|game| game.affine.as_ref()).is_some_and(|affine| !affine.has_balls())
                && problem.switching.is_none();
        HighOrderStepper {
            affine_rows,
            affine_columns: None,
            game,
            single_driven,
            columns: None,
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
            constraints,
            regime_axis: problem.switching.as_ref().map(|s| s.axis),
            coordinates: problem.is_time_dependent().then(|| grid.coordinate_columns()),
            buffers,
        }
    }

    /// The dissipation used with this control model (local-local needs the closed form).
    fn effective_dissipation(&self) -> Dissipation {
        match (self.dissipation, self.model) {
            (Dissipation::LocalLocal, ControlModel::Sampled { .. } | ControlModel::Affine) => {
                Dissipation::Local
            }
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
        let global = (self.effective_dissipation() == Dissipation::Global
            && self.differencing == Differencing::LaxFriedrichs)
            .then(|| global_dissipation(table, D));
        // Tasks are whole rows of the last (contiguous) axis, at least CHUNK nodes together.
        let row = self.shape[D - 1];
        let rows_per_task = CHUNK.div_ceil(row).max(1);
        // The row rule reads the coefficients as columns: the cached ones of a time-independent
        // table, or this stage's own.
        let nodes = current.len();
        let stage_columns;
        let columns = match (&self.single_driven, &self.columns) {
            (None, _) => None,
            (Some(_), Some(cached)) if self.coordinates.is_none() => Some(cached),
            (Some(_), _) => {
                stage_columns = Columns::of(table, nodes, D, m);
                Some(&stage_columns)
            }
        };
        let stage_affine;
        let affine = match (self.affine_rows, &self.affine_columns) {
            (false, _) => None,
            (true, Some(cached)) if self.coordinates.is_none() => Some(cached),
            (true, _) => {
                stage_affine = AffineColumns::of(table, nodes, D, m);
                Some(&stage_affine)
            }
        };
        let task = Task { table, columns, affine, base, current, fixed, stage, global: global.as_deref() };
        out.par_chunks_mut(rows_per_task * row)
            .zip(policy.par_chunks_mut(rows_per_task * row * m.max(1)))
            .enumerate()
            .map(|(chunk, (values, controls))| {
                let start = chunk * rows_per_task * row;
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F (checked just above).
                    return unsafe { self.rows_avx512::<D>(&task, start, values, controls) };
                }
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2 (checked just above).
                    return unsafe { self.rows_avx2::<D>(&task, start, values, controls) };
                }
                self.rows::<D>(&task, start, values, controls)
            })
            .reduce(StepOutcome::empty, StepOutcome::combine)
    }

    /// [`HighOrderStepper::rows`] compiled for AVX2: the same operations four lanes wide (Rust
    /// never fuses multiply–adds on its own, so the bits equal the portable path's).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn rows_avx2<const D: usize>(
        &self,
        task: &Task<'_>,
        start: usize,
        values: &mut [f64],
        controls: &mut [f64],
    ) -> StepOutcome {
        self.rows::<D>(task, start, values, controls)
    }

    /// [`HighOrderStepper::rows`] compiled for AVX-512 (eight lanes; same bits again).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn rows_avx512<const D: usize>(
        &self,
        task: &Task<'_>,
        start: usize,
        values: &mut [f64],
        controls: &mut [f64],
    ) -> StepOutcome {
        self.rows::<D>(task, start, values, controls)
    }

    /// One task: the whole rows starting at node `start` (`values.len()` nodes).
    #[inline(always)]
    fn rows<const D: usize>(
        &self,
        task: &Task<'_>,
        start: usize,
        values: &mut [f64],
        controls: &mut [f64],
    ) -> StepOutcome {
        let m = self.problem.controls.len();
        let row = self.shape[D - 1];
        let mut work = RowWork::new(D, row);
        let mut row_rule =
            (self.single_driven.is_some() || task.affine.is_some()).then(|| RowHamiltonian::new(row, D, m));
        let affine = self.game.as_ref().and_then(|game| game.affine.as_ref());
        let mut first_bad: Option<(usize, f64)> = None;
        let mut largest = (0.0f64, start);
        let mut index = [0usize; D];
        for (row_number, row_values) in values.chunks_mut(row).enumerate() {
            let row_start = start + row_number * row;
            self.problem.grid.unravel_inplace(row_start, &mut index);
            self.row_derivatives::<D>(task.current, row_start, &index, &mut work);
            let row_controls = &mut controls[row_number * row * m..(row_number + 1) * row * m];
            if let (Some(rule), Some(columns), Some(affine)) = (row_rule.as_mut(), task.affine, affine) {
                let inputs = AffineRow {
                    minus: &work.minus,
                    plus: &work.plus,
                    second: &work.second,
                    global: task.global,
                };
                affine.evaluate_row::<D>(
                    columns,
                    row_start,
                    &inputs,
                    &mut rule.hamiltonian[..row],
                    &mut rule.controls,
                );
                self.finish_row(task, rule, row_start, row_values, row_controls);
            } else {
                match (row_rule.as_mut(), self.single_driven.as_deref(), task.columns) {
                    (Some(rule), Some(driven), Some(columns)) => {
                        let inputs = RowInputs {
                            minus: &work.minus,
                            plus: &work.plus,
                            second: &work.second,
                            driven,
                            bounds: &self.control_bounds,
                            differencing: self.differencing,
                            global: task.global,
                        };
                        rule.evaluate(task.table, columns, row_start, &inputs);
                        self.finish_row(task, rule, row_start, row_values, row_controls);
                    }
                    _ => self.nodes_of_row::<D>(task, &work, row_start, &mut index, row_values, row_controls),
                }
            }
            // What the driver watches: the first non-finite value and the largest |V|, lowest
            // node first (two passes that vectorise, same answer as a node-by-node scan).
            if first_bad.is_none() && !row_values.iter().fold(true, |finite, v| finite & v.is_finite()) {
                let r = row_values.iter().position(|v| !v.is_finite()).expect("a non-finite value");
                first_bad = Some((row_start + r, row_values[r]));
            }
            let row_largest = row_values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            if row_largest > largest.0 {
                let r = row_values.iter().position(|v| v.abs() == row_largest).expect("the largest value");
                largest = (row_largest, row_start + r);
            }
        }
        StepOutcome { first_non_finite: first_bad, largest }
    }

    /// The stage combination for a row whose `Ĥ` the row rule computed: `a·base + b·(V + Δt(Ĥ −
    /// ρV))`, the controls, and the fixed nodes (straight-line loops over the row).
    #[inline(always)]
    fn finish_row(
        &self,
        task: &Task<'_>,
        rule: &RowHamiltonian,
        row_start: usize,
        out: &mut [f64],
        controls: &mut [f64],
    ) {
        let row = out.len();
        let m = self.problem.controls.len();
        let current = &task.current[row_start..][..row];
        let base = &task.base[row_start..][..row];
        let hamiltonian = &rule.hamiltonian[..row];
        let (time_step, discount) = (self.time_step, self.problem.discount);
        let Stage { base_weight, stage_weight } = task.stage;
        if base_weight == 0.0 {
            for r in 0..row {
                out[r] = current[r] + time_step * (hamiltonian[r] - discount * current[r]);
            }
        } else {
            for r in 0..row {
                let euler = current[r] + time_step * (hamiltonian[r] - discount * current[r]);
                out[r] = base_weight * base[r] + stage_weight * euler;
            }
        }
        if m == 1 {
            controls.copy_from_slice(&rule.controls[..row]);
        } else {
            for j in 0..m {
                let control = &rule.controls[j * row..][..row];
                for (r, value) in control.iter().enumerate() {
                    controls[r * m + j] = *value;
                }
            }
        }
        if let Some(fixed) = task.fixed {
            let fixed = &fixed[row_start..][..row];
            for r in 0..row {
                if !fixed[r].is_nan() {
                    out[r] = fixed[r];
                    controls[r * m..(r + 1) * m].fill(0.0);
                }
            }
        }
    }

    /// The node-by-node rule for a row (state constraints, samples, several states per control,
    /// local-local dissipation, regimes).
    #[inline(always)]
    fn nodes_of_row<const D: usize>(
        &self,
        task: &Task<'_>,
        work: &RowWork,
        row_start: usize,
        index: &mut [usize; D],
        out: &mut [f64],
        controls: &mut [f64],
    ) {
        let row = out.len();
        let m = self.problem.controls.len();
        for (r, slot) in out.iter_mut().enumerate() {
            let node = row_start + r;
            index[D - 1] = r;
            let node_controls = &mut controls[r * m..(r + 1) * m];
            let held = task.fixed.map_or(f64::NAN, |fixed| fixed[node]);
            if !held.is_nan() {
                node_controls.fill(0.0);
                *slot = held;
                continue;
            }
            let mut minus = [0.0f64; MAX_DIMENSIONS];
            let mut plus = [0.0f64; MAX_DIMENSIONS];
            let mut second = [0.0f64; MAX_DIMENSIONS];
            for k in 0..D {
                minus[k] = work.minus[k * row + r];
                plus[k] = work.plus[k * row + r];
                second[k] = work.second[k * row + r];
            }
            let derivatives = NodeDerivatives { minus: &minus, plus: &plus, second: &second };
            let hamiltonian =
                self.hamiltonian::<D>(task.table, node, index, &derivatives, node_controls, task.global);
            let mut rate = hamiltonian - self.problem.discount * task.current[node];
            if let Some(switching) = &self.problem.switching {
                rate += switching.jump(task.current, node, index[switching.axis]);
            }
            let euler = task.current[node] + self.time_step * rate;
            *slot = if task.stage.base_weight == 0.0 {
                euler
            } else {
                task.stage.base_weight * task.base[node] + task.stage.stage_weight * euler
            };
        }
    }

    /// `p⁻`, `p⁺` and `D²V` along every axis for the row of nodes starting at `row_start`
    /// (multi-index `index`, last entry 0), into `work`.
    #[inline(always)]
    fn row_derivatives<const D: usize>(
        &self,
        values: &[f64],
        row_start: usize,
        index: &[usize; D],
        work: &mut RowWork,
    ) {
        let row = self.shape[D - 1];
        let half = self.derivatives.half_width();
        for k in 0..D {
            let (minus, plus, second) = (
                &mut work.minus[k * row..(k + 1) * row],
                &mut work.plus[k * row..(k + 1) * row],
                &mut work.second[k * row..(k + 1) * row],
            );
            if self.regime_axis == Some(k) {
                minus.fill(0.0);
                plus.fill(0.0);
                second.fill(0.0);
                continue;
            }
            let (size, stride, closure) = (self.shape[k], self.strides[k], self.closures[k]);
            if k == D - 1 {
                // Along the row: pad it with three ghosts on each side.
                let padded = &mut work.padded[..row + 6];
                padded[3..row + 3].copy_from_slice(&values[row_start..row_start + row]);
                // Only the ghosts the stencil reads (the others are never read, whatever they hold).
                for j in 3 - half..3 {
                    padded[j] = closure.line_value(values, row_start, size, stride, j as isize - 3);
                }
                for j in 0..half {
                    padded[row + 3 + j] =
                        closure.line_value(values, row_start, size, stride, (row + j) as isize);
                }
                let padded = &work.padded[..row + 6];
                let shifted: [&[f64]; 7] = std::array::from_fn(|j| &padded[j..j + row]);
                one_sided_row(self.derivatives, shifted, self.inverse_spacing[k], minus, plus, second);
            } else {
                // Across rows: the neighbouring rows, or ghost rows beyond the ends.
                let i = index[k];
                for j in 3 - half..=3 + half {
                    let target = i as isize + j as isize - 3;
                    if !(0..size as isize).contains(&target) {
                        let line_start = row_start - i * stride;
                        for r in 0..row {
                            work.ghosts[j * row + r] =
                                closure.line_value(values, line_start + r, size, stride, target);
                        }
                    }
                }
                let ghosts = &work.ghosts;
                let shifted: [&[f64]; 7] = std::array::from_fn(|j| {
                    let target = i as isize + j as isize - 3;
                    if (0..size as isize).contains(&target) {
                        let first = (row_start as isize + (j as isize - 3) * stride as isize) as usize;
                        &values[first..first + row]
                    } else {
                        &ghosts[j * row..(j + 1) * row]
                    }
                });
                one_sided_row(self.derivatives, shifted, self.inverse_spacing[k], minus, plus, second);
            }
        }
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

/// What every node of a stage reads.
struct Task<'t> {
    table: &'t Tabulation,
    columns: Option<&'t Columns>,
    affine: Option<&'t AffineColumns>,
    base: &'t [f64],
    current: &'t [f64],
    fixed: Option<&'t [f64]>,
    stage: Stage,
    global: Option<&'t [f64]>,
}

/// One node's one-sided derivatives and second differences per axis.
#[derive(Clone, Copy)]
struct NodeDerivatives<'d> {
    minus: &'d [f64; MAX_DIMENSIONS],
    plus: &'d [f64; MAX_DIMENSIONS],
    second: &'d [f64; MAX_DIMENSIONS],
}

/// Per-task scratch: derivatives of one row along every axis, a padded row, ghost rows.
struct RowWork {
    minus: Vec<f64>,
    plus: Vec<f64>,
    second: Vec<f64>,
    padded: Vec<f64>,
    ghosts: Vec<f64>,
}

impl RowWork {
    fn new(dimension: usize, row: usize) -> RowWork {
        RowWork {
            minus: vec![0.0; dimension * row],
            plus: vec![0.0; dimension * row],
            second: vec![0.0; dimension * row],
            padded: vec![0.0; row + 6],
            ghosts: vec![0.0; 7 * row],
        }
    }
}

/// `max_x α_i(x)` per axis: the global Lax–Friedrichs dissipation.
fn global_dissipation(table: &Tabulation, n: usize) -> Vec<f64> {
    if let Some(alpha) = &table.global_dissipation {
        return alpha.clone();
    }
    let mut alpha = vec![0.0f64; n];
    for row in table.dissipation.chunks_exact(n) {
        for (a, value) in alpha.iter_mut().zip(row) {
            *a = a.max(*value);
        }
    }
    alpha
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
        if self.single_driven.is_some() && self.coordinates.is_none() && self.columns.is_none() {
            let (nodes, n, m) = (old.len(), self.shape.len(), self.problem.controls.len());
            self.columns = Some(Columns::of(context.table, nodes, n, m));
        }
        if self.affine_rows && self.coordinates.is_none() && self.affine_columns.is_none() {
            let (nodes, n, m) = (old.len(), self.shape.len(), self.problem.controls.len());
            self.affine_columns = Some(AffineColumns::of(context.table, nodes, n, m));
        }
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

    fn reports_non_finite(&self) -> bool {
        // Every row is scanned after it is computed.
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
