//! Minimisation of the discrete Hamiltonian over the control box.
//!
//! **Closed form.** When every drift is affine in the controls and involves at most one control,
//! `f_i(x,u,t) = a_i(x,t) + b_i(x,t) u_{c(i)}`, and the running cost is separable and at most
//! quadratic in the controls, `ℓ = ℓ_0(x,t) + Σ_j (c_j u_j + r_j u_j²)` (detected by
//! [`ControlModel::analyse`]: polynomial degree of the formulas in the controls, then an exact
//! check of the mixed differences on the grid), the upwind Hamiltonian separates per control:
//!
//! ```text
//! g_j(u) = β Σ_{i: c(i)=j} φ_i(a_i + b_i u) + c_j u + r_j u²,   φ_i(s) = s⁺ D⁺_i V − s⁻ D⁻_i V,
//! ```
//!
//! a piecewise quadratic in `u` with breakpoints where a drift changes sign. It is minimised
//! exactly over `[lower_j, upper_j]` by checking, on every piece, its end points and its vertex
//! ([`crate::scheme::minimiser::minimise_piecewise`]) — so the scheme is the minimum of monotone operators over the whole
//! box, hence monotone. For Lax–Friedrichs the minimiser of `(β Σ b_i p̄_i + c_j) u + r_j u²` at
//! the central gradient `p̄` is the clamped vertex (or a bound when `r_j = 0`).
//!
//! **Sampled.** Otherwise the minimum is taken over the tensor grid of control samples (the file's
//! `samples` per control, both bounds included), evaluating the full monotone update for each.
//!
//! Formulas are tabulated over the grid once per time level (once in total for
//! time-independent problems), never evaluated per node per step.

use crate::error::{HjbError, Result};
use crate::grid::MAX_DIMENSIONS;
use crate::problem::PointFunction;
use crate::problem::Problem;
use crate::settings::Minimisation;
use rayon::prelude::*;

/// Largest number of control components.
pub const MAX_CONTROLS: usize = 6;
/// Largest control sample set (nodes × samples are tabulated).
pub const MAX_SAMPLES: usize = 200_000;

/// How the minimum over controls is computed for this problem.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlModel {
    /// Exact per-control minimisation (see module docs).
    ClosedForm {
        /// The control each state's drift depends on.
        control_of_state: Vec<Option<usize>>,
    },
    /// A game whose drifts are affine in all inputs jointly, several inputs per state allowed
    /// (Lax–Friedrichs only; see [`crate::scheme::affine`]).
    Affine,
    /// Minimum over `count` samples; `values[s * m + j]` is control `j` of sample `s`. In a game
    /// the disturbances are the last inputs, so their samples vary fastest: the min–max takes
    /// the inner optimum over each run of disturbance samples.
    Sampled {
        /// The control samples: `values[s * m + j]` is control `j` of sample `s`.
        values: Vec<f64>,
        /// The number of samples.
        count: usize,
    },
}

impl ControlModel {
    /// Decide between closed form and sampling (see module docs).
    pub fn analyse(
        problem: &Problem,
        minimisation: Minimisation,
        coordinates: &[Vec<f64>],
    ) -> Result<ControlModel> {
        let n = problem.grid.dimension();
        let m = problem.controls.len();
        if m > MAX_CONTROLS {
            return Err(HjbError::InvalidProblem {
                field: "control".to_string(),
                message: format!("{m} controls; hjb supports up to {MAX_CONTROLS}"),
            });
        }
        let mut selected = vec![false; n + m + 1];
        for flag in &mut selected[n..n + m] {
            *flag = true;
        }
        let mut control_of_state = Vec::with_capacity(n);
        let mut closed_form = minimisation == Minimisation::Auto
            && matches!(problem.running_cost.degree_in(&selected), Some(0..=2));
        for formula in &problem.dynamics {
            let uses = formula.uses();
            let used: Vec<usize> = (0..m).filter(|j| uses[n + j]).collect();
            if used.len() > 1 || !matches!(formula.degree_in(&selected), Some(0 | 1)) {
                closed_form = false;
            }
            control_of_state.push(used.first().copied());
        }
        // Control-dependent diffusion (e.g. Merton's σπw) changes the weights with u.
        let noise =
            problem.diffusion.iter().flatten().chain(problem.diffusion_matrix.iter().flatten().flatten());
        if noise.clone().any(|formula| formula.uses()[n..n + m].iter().any(|used| *used)) {
            closed_form = false;
        }
        // Separability is a grid-wide check: computed at most once.
        let mut separable = None;
        if closed_form && m >= 2 {
            let answer = is_separable(problem, &problem.running_cost, coordinates);
            separable = Some(answer);
            closed_form = answer;
        }
        if let Some(game) = &problem.game {
            if closed_form && game.balls.is_empty() {
                return Ok(ControlModel::ClosedForm { control_of_state });
            }
            if let Some(model) = super::affine::analyse(problem, game)? {
                let separable = m < 2
                    || separable.unwrap_or_else(|| is_separable(problem, &problem.running_cost, coordinates));
                if minimisation == Minimisation::Auto && separable {
                    return Ok(model);
                }
            }
            if let Some(ball) = game.balls.first() {
                return Err(HjbError::InvalidProblem {
                    field: "group".to_string(),
                    message: format!(
                        "the ball `{}` is optimised in closed form only (affine dynamics, a running cost separable in the inputs, no `hamiltonian = \"sampled\"`)",
                        ball.name
                    ),
                });
            }
        } else if closed_form {
            return Ok(ControlModel::ClosedForm { control_of_state });
        }
        let (values, count) = control_samples(problem)?;
        Ok(ControlModel::Sampled { values, count })
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            ControlModel::ClosedForm { .. } => "closed_form".to_string(),
            ControlModel::Affine => "closed_form_affine".to_string(),
            ControlModel::Sampled { count, .. } => format!("sampled({count})"),
        }
    }
}

/// The tensor grid of control samples (the file's `samples` per control, both bounds included):
/// `values[s * m + j]` is control `j` of sample `s`. Refuses sets above [`MAX_SAMPLES`].
pub fn control_samples(problem: &Problem) -> Result<(Vec<f64>, usize)> {
    let m = problem.controls.len();
    let count: usize = problem.controls.iter().map(|c| c.samples).product();
    if count > MAX_SAMPLES {
        return Err(HjbError::InvalidProblem {
            field: "control.samples".to_string(),
            message: format!(
                "the control sample set has {count} points (product of `samples`), above \
                 {MAX_SAMPLES}; lower `samples`"
            ),
        });
    }
    let mut values = vec![0.0; count * m];
    for s in 0..count {
        let mut rest = s;
        for j in (0..m).rev() {
            let control = &problem.controls[j];
            let k = rest % control.samples;
            rest /= control.samples;
            let fraction = k as f64 / (control.samples - 1) as f64;
            values[s * m + j] = if k + 1 == control.samples {
                control.upper
            } else {
                control.lower + fraction * (control.upper - control.lower)
            };
        }
    }
    Ok((values, count))
}

/// Whether `ℓ` has no control–control cross terms at any node (at t = 0 and T).
fn is_separable(problem: &Problem, cost: &PointFunction, coordinates: &[Vec<f64>]) -> bool {
    let m = problem.controls.len();
    for t in [0.0, problem.tabulation_time()] {
        let at = |controls: &[f64]| problem.tabulate(cost, coordinates, controls, t);
        let base = at(&vec![0.0; m]);
        for j in 0..m {
            for k in j + 1..m {
                let mut unit_j = vec![0.0; m];
                unit_j[j] = 1.0;
                let mut unit_k = vec![0.0; m];
                unit_k[k] = 1.0;
                let mut both = vec![0.0; m];
                both[j] = 1.0;
                both[k] = 1.0;
                let (a, b, c) = (at(&unit_j), at(&unit_k), at(&both));
                let mixed = (0..base.len()).any(|node| {
                    let difference = c[node] - a[node] - b[node] + base[node];
                    difference.abs() > 1e-10 * (1.0 + c[node].abs() + base[node].abs())
                });
                if mixed {
                    return false;
                }
            }
        }
    }
    true
}

/// Coefficients tabulated over the grid at one time level.
#[derive(Debug, Clone, Default)]
pub struct Tabulation {
    /// Closed form: `a_i` at `node * n + i`.
    pub drift_base: Vec<f64>,
    /// Closed form: `b_i` at `node * n + i` (0 for states without a control).
    pub drift_gain: Vec<f64>,
    /// Closed form: `ℓ_0` per node.
    pub cost_base: Vec<f64>,
    /// Closed form: `c_j` at `node * m + j`.
    pub cost_linear: Vec<f64>,
    /// Closed form: `r_j` at `node * m + j`.
    pub cost_quadratic: Vec<f64>,
    /// Sampled: drift at `(node * count + s) * n + i`.
    pub sample_drift: Vec<f64>,
    /// Sampled: `ℓ` at `node * count + s`.
    pub sample_cost: Vec<f64>,
    /// Local Lax–Friedrichs dissipation `α_i(x) = max_u |f_i(x,u)|` at `node * n + i`.
    pub dissipation: Vec<f64>,
    /// Closed form: diagonal diffusion `a_i = σ_i²/2` at `node * n + i` (empty: none).
    pub diffusion: Vec<f64>,
    /// Sampled: `a_i` at `(node * count + s) * n + i` (empty: none).
    pub sample_diffusion: Vec<f64>,
    /// Correlated noise (`[diffusion_matrix]`): `σ_ik` at `(row * n + i) * k + c`, row = node
    /// (closed form) or `node * count + s` (sampled); `diffusion`/`sample_diffusion` then hold
    /// its diagonal `a_ii = Σ_c σ_ic²/2`.
    pub diffusion_matrix: Vec<f64>,
    /// Columns `k` of the noise matrix (0: diagonal or no noise).
    pub noise_columns: usize,
    /// Affine game model: `B_ij` at `(node * n + i) * m + j` (all inputs, several per state).
    pub input_gain: Vec<f64>,
    /// The grid-wide `max_x α_i(x)` per axis when the table covers one block of a decomposed
    /// grid (set by the driver from every block's maxima); `None`: the table is the whole grid.
    pub global_dissipation: Option<Vec<f64>>,
}

fn interleave(mut columns: Vec<Vec<f64>>, nodes: usize) -> Vec<f64> {
    let width = columns.len();
    if width == 1 {
        return columns.pop().unwrap_or_default();
    }
    // Blocks of nodes per task: a task per node would cost more than the copy.
    const BLOCK: usize = 4096;
    let mut out = vec![0.0; nodes * width];
    out.par_chunks_mut(BLOCK * width.max(1)).enumerate().for_each(|(block, rows)| {
        for (k, column) in columns.iter().enumerate() {
            let values = &column[block * BLOCK..];
            for (slot, value) in rows[k..].iter_mut().step_by(width).zip(values) {
                *slot = *value;
            }
        }
    });
    out
}

impl Tabulation {
    /// Tabulate the problem's formulas at time `t`.
    pub fn new(problem: &Problem, model: &ControlModel, coordinates: &[Vec<f64>], t: f64) -> Self {
        let mut table = Self::coefficients(problem, model, coordinates, t);
        if let Some(matrix) = &problem.diffusion_matrix {
            table.tabulate_noise_matrix(problem, model, coordinates, t, matrix);
        }
        table.dissipation = table.local_dissipation(problem, model);
        table
    }

    /// Tabulate a full noise matrix and its diagonal `a_ii`.
    fn tabulate_noise_matrix(
        &mut self,
        problem: &Problem,
        model: &ControlModel,
        coordinates: &[Vec<f64>],
        t: f64,
        matrix: &[Vec<PointFunction>],
    ) {
        let nodes = problem.grid.node_count();
        let n = problem.grid.dimension();
        let m = problem.controls.len();
        let k = matrix[0].len();
        let (rows, samples): (usize, Vec<Vec<f64>>) = match model {
            ControlModel::ClosedForm { .. } | ControlModel::Affine => (nodes, vec![vec![0.0; m]]),
            ControlModel::Sampled { values, count } => {
                (nodes * count, (0..*count).map(|s| values[s * m..(s + 1) * m].to_vec()).collect())
            }
        };
        let count = samples.len();
        let mut sigma = vec![0.0; rows * n * k];
        let mut diagonal = vec![0.0; rows * n];
        for (s, controls) in samples.iter().enumerate() {
            for (i, row) in matrix.iter().enumerate() {
                for (c, formula) in row.iter().enumerate() {
                    let column = problem.tabulate(formula, coordinates, controls, t);
                    for (node, value) in column.iter().enumerate() {
                        let r = node * count + s;
                        sigma[(r * n + i) * k + c] = *value;
                        diagonal[r * n + i] += 0.5 * value * value;
                    }
                }
            }
        }
        self.diffusion_matrix = sigma;
        self.noise_columns = k;
        match model {
            ControlModel::ClosedForm { .. } | ControlModel::Affine => self.diffusion = diagonal,
            ControlModel::Sampled { .. } => self.sample_diffusion = diagonal,
        }
    }

    fn local_dissipation(&self, problem: &Problem, model: &ControlModel) -> Vec<f64> {
        let n = problem.grid.dimension();
        let mut dissipation = vec![0.0; problem.grid.node_count() * n];
        if *model == ControlModel::Affine {
            return self.affine_dissipation(problem);
        }
        const BLOCK: usize = 4096;
        let per_node = |node: usize, alpha: &mut [f64]| match model {
            ControlModel::Affine => {}
            ControlModel::ClosedForm { control_of_state } => {
                for i in 0..n {
                    let (a, b) = (self.drift_base[node * n + i], self.drift_gain[node * n + i]);
                    alpha[i] = match control_of_state[i] {
                        Some(j) => {
                            let control = &problem.controls[j];
                            (a + b * control.lower).abs().max((a + b * control.upper).abs())
                        }
                        None => a.abs(),
                    };
                }
            }
            ControlModel::Sampled { count, .. } => {
                for s in 0..*count {
                    let drift = &self.sample_drift[(node * count + s) * n..(node * count + s + 1) * n];
                    for i in 0..n {
                        alpha[i] = alpha[i].max(drift[i].abs());
                    }
                }
            }
        };
        dissipation.par_chunks_mut(BLOCK * n).enumerate().for_each(|(block, alphas)| {
            for (r, alpha) in alphas.chunks_mut(n).enumerate() {
                per_node(block * BLOCK + r, alpha);
            }
        });
        dissipation
    }

    fn coefficients(problem: &Problem, model: &ControlModel, coordinates: &[Vec<f64>], t: f64) -> Self {
        let nodes = problem.grid.node_count();
        let n = problem.grid.dimension();
        let m = problem.controls.len();
        match model {
            ControlModel::Affine => Self::affine(problem, coordinates, t),
            ControlModel::ClosedForm { control_of_state } => {
                let zero = vec![0.0; m];
                let unit = |j: usize, value: f64| {
                    let mut controls = vec![0.0; m];
                    controls[j] = value;
                    controls
                };
                let mut base_columns = Vec::with_capacity(n);
                let mut gain_columns = Vec::with_capacity(n);
                for (i, formula) in problem.dynamics.iter().enumerate() {
                    let base = problem.tabulate(formula, coordinates, &zero, t);
                    let gain = match control_of_state[i] {
                        Some(j) => {
                            let moved = problem.tabulate(formula, coordinates, &unit(j, 1.0), t);
                            moved.iter().zip(&base).map(|(a, b)| a - b).collect()
                        }
                        None => vec![0.0; nodes],
                    };
                    base_columns.push(base);
                    gain_columns.push(gain);
                }
                let cost_base = problem.tabulate(&problem.running_cost, coordinates, &zero, t);
                let mut linear_columns = Vec::with_capacity(m);
                let mut quadratic_columns = Vec::with_capacity(m);
                for j in 0..m {
                    let plus = problem.tabulate(&problem.running_cost, coordinates, &unit(j, 1.0), t);
                    let minus = problem.tabulate(&problem.running_cost, coordinates, &unit(j, -1.0), t);
                    linear_columns.push(plus.iter().zip(&minus).map(|(p, q)| 0.5 * (p - q)).collect());
                    quadratic_columns.push(
                        plus.iter()
                            .zip(&minus)
                            .zip(&cost_base)
                            .map(|((p, q), b)| 0.5 * (p + q) - b)
                            .collect(),
                    );
                }
                let diffusion = match &problem.diffusion {
                    None => Vec::new(),
                    Some(sigma) => {
                        let columns: Vec<Vec<f64>> = sigma
                            .iter()
                            .map(|formula| {
                                problem
                                    .tabulate(formula, coordinates, &zero, t)
                                    .iter()
                                    .map(|s| 0.5 * s * s)
                                    .collect()
                            })
                            .collect();
                        interleave(columns, nodes)
                    }
                };
                Tabulation {
                    diffusion,
                    drift_base: interleave(base_columns, nodes),
                    drift_gain: interleave(gain_columns, nodes),
                    cost_base,
                    cost_linear: interleave(linear_columns, nodes),
                    cost_quadratic: interleave(quadratic_columns, nodes),
                    ..Tabulation::default()
                }
            }
            ControlModel::Sampled { values, count } => {
                let mut sample_drift = vec![0.0; nodes * count * n];
                let mut sample_cost = vec![0.0; nodes * count];
                let mut sample_diffusion =
                    if problem.diffusion.is_some() { vec![0.0; nodes * count * n] } else { Vec::new() };
                for s in 0..*count {
                    let controls = &values[s * m..(s + 1) * m];
                    for (i, formula) in problem.diffusion.iter().flatten().enumerate() {
                        let column = problem.tabulate(formula, coordinates, controls, t);
                        for (node, sigma) in column.iter().enumerate() {
                            sample_diffusion[(node * count + s) * n + i] = 0.5 * sigma * sigma;
                        }
                    }
                    for (i, formula) in problem.dynamics.iter().enumerate() {
                        let column = problem.tabulate(formula, coordinates, controls, t);
                        for (node, value) in column.iter().enumerate() {
                            sample_drift[(node * count + s) * n + i] = *value;
                        }
                    }
                    let cost = problem.tabulate(&problem.running_cost, coordinates, controls, t);
                    for (node, value) in cost.iter().enumerate() {
                        sample_cost[node * count + s] = *value;
                    }
                }
                Tabulation { sample_drift, sample_cost, sample_diffusion, ..Tabulation::default() }
            }
        }
    }

    /// `max_{x,u} |ℓ(x,u)|` over the nodes and the admissible controls (box vertices and the
    /// unconstrained vertex in closed form; the samples otherwise).
    pub fn largest_cost(&self, problem: &Problem, model: &ControlModel) -> f64 {
        match model {
            ControlModel::ClosedForm { .. } | ControlModel::Affine => {
                let m = problem.controls.len();
                (0..problem.grid.node_count())
                    .into_par_iter()
                    .map(|node| {
                        // |ℓ| ≤ |ℓ₀| + Σ_j max_u |c_j u + r_j u²|; the inner max is attained at a
                        // bound or at the vertex.
                        let mut bound = self.cost_base[node].abs();
                        for (j, control) in problem.controls.iter().enumerate() {
                            let (c, r) = (self.cost_linear[node * m + j], self.cost_quadratic[node * m + j]);
                            let term = |u: f64| (c * u + r * u * u).abs();
                            let mut extreme = term(control.lower).max(term(control.upper));
                            if r != 0.0 {
                                extreme =
                                    extreme.max(term((-c / (2.0 * r)).clamp(control.lower, control.upper)));
                            }
                            bound += extreme;
                        }
                        bound
                    })
                    .reduce(|| 0.0, f64::max)
            }
            ControlModel::Sampled { .. } => {
                self.sample_cost.par_iter().map(|c| c.abs()).reduce(|| 0.0, f64::max)
            }
        }
    }

    /// Bytes held by this tabulation.
    pub fn bytes(&self) -> usize {
        8 * (self.drift_base.len()
            + self.drift_gain.len()
            + self.cost_base.len()
            + self.cost_linear.len()
            + self.cost_quadratic.len()
            + self.sample_drift.len()
            + self.sample_cost.len()
            + self.dissipation.len()
            + self.diffusion.len()
            + self.sample_diffusion.len()
            + self.input_gain.len())
    }

    /// Largest `|f_i|` over nodes and admissible controls, per axis, and the largest
    /// `Σ_i |f_i|/h_i` with the node where it peaks.
    pub fn drift_bounds(
        &self,
        problem: &Problem,
        model: &ControlModel,
        inverse_spacing: &[f64],
    ) -> DriftBounds {
        let n = problem.grid.dimension();
        let nodes = problem.grid.node_count();
        // Σ_i 2a_i/h_i² at a node (for one sample in the sampled model).
        let spread = |diffusion: &[f64]| -> f64 {
            diffusion.iter().zip(inverse_spacing).map(|(a, inverse)| 2.0 * a * inverse * inverse).sum()
        };
        let diffusion_rate = |node: usize| -> f64 {
            match model {
                ControlModel::ClosedForm { .. } | ControlModel::Affine if !self.diffusion.is_empty() => {
                    spread(&self.diffusion[node * n..(node + 1) * n])
                }
                ControlModel::Sampled { count, .. } if !self.sample_diffusion.is_empty() => (0..*count)
                    .map(|s| {
                        spread(&self.sample_diffusion[(node * count + s) * n..(node * count + s + 1) * n])
                    })
                    .fold(0.0, f64::max),
                _ => 0.0,
            }
        };
        // Closed form: the axes no control drives, and those each control drives (in axis order,
        // so the sums below add in the same order as a scan over the axes would).
        let (free_axes, driven_axes): (Vec<usize>, Vec<Vec<usize>>) = match model {
            ControlModel::ClosedForm { control_of_state } => (
                (0..n).filter(|i| control_of_state[*i].is_none()).collect(),
                (0..problem.controls.len())
                    .map(|j| (0..n).filter(|i| control_of_state[*i] == Some(j)).collect())
                    .collect(),
            ),
            _ => (Vec::new(), Vec::new()),
        };
        // The rate of one node given its diffusion rate, its |f_i| per axis written into `largest`
        // (zero on entry); one closure per model, so the model is matched once per block, not per
        // node.
        let affine = |node: usize, diffusion: f64, largest: &mut [f64; MAX_DIMENSIONS]| -> f64 {
            let alpha = &self.dissipation[node * n..(node + 1) * n];
            largest[..n].copy_from_slice(alpha);
            alpha.iter().zip(inverse_spacing).map(|(a, inverse)| a * inverse).sum::<f64>() + diffusion
        };
        let closed_form = |node: usize, diffusion: f64, largest: &mut [f64; MAX_DIMENSIONS]| -> f64 {
            let base = &self.drift_base[node * n..(node + 1) * n];
            let gain = &self.drift_gain[node * n..(node + 1) * n];
            let mut rate = 0.0;
            for &i in &free_axes {
                largest[i] = base[i].abs();
                rate += largest[i] * inverse_spacing[i];
            }
            for (control, axes) in problem.controls.iter().zip(&driven_axes) {
                let mut best = 0.0f64;
                for u in [control.lower, control.upper] {
                    let mut sum = 0.0;
                    for &i in axes {
                        let f = (base[i] + gain[i] * u).abs();
                        largest[i] = largest[i].max(f);
                        sum += f * inverse_spacing[i];
                    }
                    best = best.max(sum);
                }
                rate += best;
            }
            rate + diffusion
        };
        // (The sampled model adds each sample's own diffusion instead.)
        let sampled = |node: usize, _: f64, largest: &mut [f64; MAX_DIMENSIONS]| -> f64 {
            let ControlModel::Sampled { count, .. } = model else { return 0.0 };
            let mut best = 0.0f64;
            for s in 0..*count {
                let drift = &self.sample_drift[(node * count + s) * n..(node * count + s + 1) * n];
                let mut sum = if self.sample_diffusion.is_empty() {
                    0.0
                } else {
                    spread(&self.sample_diffusion[(node * count + s) * n..(node * count + s + 1) * n])
                };
                for i in 0..n {
                    largest[i] = largest[i].max(drift[i].abs());
                    sum += drift[i].abs() * inverse_spacing[i];
                }
                best = best.max(sum);
            }
            best
        };
        // Maxima and the lowest node of the largest rate do not depend on the order they are
        // taken in: blocks of nodes are folded one by one, then the blocks combined.
        type Peak = ([f64; MAX_DIMENSIONS], f64, usize, f64, f64);
        let combine = |a: Peak, b: Peak| -> Peak {
            let mut largest = a.0;
            for i in 0..MAX_DIMENSIONS {
                largest[i] = largest[i].max(b.0[i]);
            }
            // Ties go to the lower node index, so the report is thread-independent.
            let (rate, peak) = if b.1 > a.1 || (b.1 == a.1 && b.2 < a.2) { (b.1, b.2) } else { (a.1, a.2) };
            (largest, rate, peak, a.3.max(b.3), a.4.max(b.4))
        };
        let identity = || -> Peak { ([0.0; MAX_DIMENSIONS], 0.0, 0, 0.0, 0.0) };
        // `combine` of the nodes of `range` in increasing order, kept in place; generic over the
        // model's rate so that each is compiled into its own loop.
        fn fold<R: Fn(usize, f64, &mut [f64; MAX_DIMENSIONS]) -> f64, D: Fn(usize) -> f64>(
            range: std::ops::Range<usize>,
            dissipation: &[f64],
            inverse_spacing: &[f64],
            node_rate: &R,
            diffusion_rate: &D,
        ) -> Peak {
            let n = inverse_spacing.len();
            let (mut largest, mut rate, mut peak) = ([0.0f64; MAX_DIMENSIONS], 0.0f64, 0usize);
            let (mut dissipation_rate, mut diffusion_rate_peak) = (0.0f64, 0.0f64);
            for node in range {
                let mut node_largest = [0.0f64; MAX_DIMENSIONS];
                let diffusion = diffusion_rate(node);
                let node_rate = node_rate(node, diffusion, &mut node_largest);
                let dissipation =
                    (0..n).map(|i| dissipation[node * n + i] * inverse_spacing[i]).sum::<f64>() + diffusion;
                for i in 0..n {
                    largest[i] = largest[i].max(node_largest[i]);
                }
                if node_rate > rate || (node_rate == rate && node < peak) {
                    (rate, peak) = (node_rate, node);
                }
                dissipation_rate = dissipation_rate.max(dissipation);
                diffusion_rate_peak = diffusion_rate_peak.max(diffusion);
            }
            (largest, rate, peak, dissipation_rate, diffusion_rate_peak)
        }
        const BOUNDS_BLOCK: usize = 4096;
        let (largest, rate, peak, dissipation_rate, largest_diffusion_rate) = (0..nodes
            .div_ceil(BOUNDS_BLOCK))
            .into_par_iter()
            .map(|block| {
                let range = block * BOUNDS_BLOCK..((block + 1) * BOUNDS_BLOCK).min(nodes);
                let (dissipation, rates) = (&self.dissipation, inverse_spacing);
                match model {
                    ControlModel::Affine => fold(range, dissipation, rates, &affine, &diffusion_rate),
                    ControlModel::ClosedForm { .. } => {
                        fold(range, dissipation, rates, &closed_form, &diffusion_rate)
                    }
                    ControlModel::Sampled { .. } => {
                        fold(range, dissipation, rates, &sampled, &diffusion_rate)
                    }
                }
            })
            .reduce(identity, combine);
        let largest_global_rate =
            (0..n).map(|i| largest[i] * inverse_spacing[i]).sum::<f64>() + largest_diffusion_rate;
        DriftBounds {
            largest_drift: largest[..n].to_vec(),
            largest_rate: rate,
            largest_global_rate,
            largest_dissipation_rate: dissipation_rate,
            largest_diffusion_rate,
            peak_node: peak,
            peak_drift: self.worst_drift(problem, model, inverse_spacing, peak),
            peak_dissipation: self.dissipation[peak * n..(peak + 1) * n].to_vec(),
            peak_diffusion: match model {
                ControlModel::ClosedForm { .. } | ControlModel::Affine if !self.diffusion.is_empty() => {
                    self.diffusion[peak * n..(peak + 1) * n].to_vec()
                }
                ControlModel::Sampled { count, .. } if !self.sample_diffusion.is_empty() => (0..n)
                    .map(|i| {
                        (0..*count)
                            .map(|s| self.sample_diffusion[(peak * count + s) * n + i])
                            .fold(0.0, f64::max)
                    })
                    .collect(),
                _ => vec![0.0; n],
            },
        }
    }
}

impl Tabulation {
    /// The drift vector at `node` of an admissible control maximising `Σ_i |f_i|/h_i`.
    pub fn worst_drift(
        &self,
        problem: &Problem,
        model: &ControlModel,
        inverse_spacing: &[f64],
        node: usize,
    ) -> Vec<f64> {
        let n = problem.grid.dimension();
        match model {
            ControlModel::Affine => self.affine_peak_drift(problem, node),
            ControlModel::ClosedForm { control_of_state } => {
                let base = &self.drift_base[node * n..(node + 1) * n];
                let gain = &self.drift_gain[node * n..(node + 1) * n];
                let mut drift = base.to_vec();
                for (j, control) in problem.controls.iter().enumerate() {
                    let rate = |u: f64| {
                        (0..n)
                            .filter(|i| control_of_state[*i] == Some(j))
                            .map(|i| (base[i] + gain[i] * u).abs() * inverse_spacing[i])
                            .sum::<f64>()
                    };
                    let u =
                        if rate(control.upper) > rate(control.lower) { control.upper } else { control.lower };
                    for i in 0..n {
                        if control_of_state[i] == Some(j) {
                            drift[i] = base[i] + gain[i] * u;
                        }
                    }
                }
                drift
            }
            ControlModel::Sampled { count, .. } => {
                let rate = |s: usize| {
                    (0..n)
                        .map(|i| self.sample_drift[(node * count + s) * n + i].abs() * inverse_spacing[i])
                        .sum::<f64>()
                };
                let best = (0..*count).fold(0, |best, s| if rate(s) > rate(best) { s } else { best });
                self.sample_drift[(node * count + best) * n..(node * count + best + 1) * n].to_vec()
            }
        }
    }
}

/// Bounds on the drift used for the CFL condition and the Lax–Friedrichs dissipation.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftBounds {
    /// `max_{x,u} |f_i|` per axis.
    pub largest_drift: Vec<f64>,
    /// `max_{x,u} Σ_i (|f_i|/h_i + 2a_i/h_i²)` (the upwind CFL rate).
    pub largest_rate: f64,
    /// `max_x Σ_i (α_i(x)/h_i + 2a_i(x)/h_i²)` (the local Lax–Friedrichs CFL rate).
    pub largest_dissipation_rate: f64,
    /// `Σ_i max_{x,u} |f_i|/h_i + max_x Σ_i 2a_i/h_i²` (the global Lax–Friedrichs CFL rate).
    pub largest_global_rate: f64,
    /// `max_{x,u} Σ_i 2a_i/h_i²` (the diffusion part alone; × Δt = the diffusion number).
    pub largest_diffusion_rate: f64,
    /// Node where the rate peaks.
    pub peak_node: usize,
    /// The drift there under the control that maximises the rate (frozen coefficients for the
    /// von Neumann analysis).
    pub peak_drift: Vec<f64>,
    /// The local Lax–Friedrichs dissipation there.
    pub peak_dissipation: Vec<f64>,
    /// The diagonal diffusion there (largest over the samples).
    pub peak_diffusion: Vec<f64>,
}
