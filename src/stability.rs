//! Stability numbers a user can read (DESIGN §3, "Stability analysis").
//!
//! For the explicit schemes the step `V^{n+1} = β Σ_y p(y|x,u) V^n(y) + Δt ℓ` is monotone when
//! every weight is nonnegative. The neighbour weights are nonnegative by construction (upwind:
//! `Δt f_i^±/h_i`; local Lax–Friedrichs: `Δt(α_i ± f_i)/(2h_i)` with `α_i ≥ |f_i|`), so the one
//! condition is the stay weight, `p(x) = 1 − Δt Σ_i r_i(x,u) ≥ 0`: the CFL number
//! `Δt · max_{x,u} Σ_i r_i` must be ≤ 1 (`r_i = |f_i|/h_i` upwind, `α_i/h_i` Lax–Friedrichs).
//!
//! At the ends of an axis closed by linear extrapolation the ghost value `V_{−1} = 2V_0 − V_1`
//! turns an outward transition `p` into `+2p` on the node and `−p` on its inner neighbour, so the
//! step is not monotone at boundary nodes where some admissible control points out of the box.
//! The report counts those nodes per axis; they are where the truncated domain, not the scheme,
//! decides the answer, which is why errors are measured on an interior region.

use crate::problem::{Boundary, Problem};
use crate::scheme::{ControlModel, Tabulation};
use crate::time::TimeStepPlan;

/// The stability numbers of one explicit run.
#[derive(Debug, Clone, PartialEq)]
pub struct StabilityReport {
    pub time_step: f64,
    pub time_step_max: f64,
    /// `Δt / Δt_max`.
    pub cfl_number: f64,
    /// Coordinates where the CFL rate peaks.
    pub cfl_peak: Vec<f64>,
    /// Smallest stay weight `1 − CFL number` (negative ⇔ not monotone).
    pub minimum_weight: f64,
    /// Diffusion number `Δt · max Σ_i 2a_ii/h_i²` (0: this build has no diffusion term).
    pub diffusion_number: f64,
    /// All interior weights nonnegative.
    pub monotone: bool,
    /// Per axis: boundary nodes on an extrapolated end where an admissible control points out.
    pub outflow_nodes: Vec<usize>,
}

impl StabilityReport {
    /// Build the report from the planned step and the tabulated coefficients (at `t = T`).
    pub fn new(problem: &Problem, model: &ControlModel, table: &Tabulation, plan: &TimeStepPlan) -> Self {
        StabilityReport {
            time_step: plan.time_step,
            time_step_max: plan.time_step_max,
            cfl_number: plan.cfl_number,
            cfl_peak: problem.grid.point(plan.peak_node),
            minimum_weight: 1.0 - plan.cfl_number,
            diffusion_number: 0.0,
            monotone: plan.cfl_number <= 1.0 + 1e-12,
            outflow_nodes: outflow_nodes(problem, model, table),
        }
    }
}

/// Range `[min_u f_i, max_u f_i]` of the drift of axis `i` at `node`.
fn drift_range(
    problem: &Problem,
    model: &ControlModel,
    table: &Tabulation,
    node: usize,
    i: usize,
) -> (f64, f64) {
    let n = problem.grid.dimension();
    match model {
        ControlModel::ClosedForm { control_of_state } => {
            let (a, b) = (table.drift_base[node * n + i], table.drift_gain[node * n + i]);
            match control_of_state[i] {
                Some(j) => {
                    let control = &problem.controls[j];
                    let (p, q) = (a + b * control.lower, a + b * control.upper);
                    (p.min(q), p.max(q))
                }
                None => (a, a),
            }
        }
        ControlModel::Sampled { count, .. } => (0..*count)
            .map(|s| table.sample_drift[(node * count + s) * n + i])
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), f| (low.min(f), high.max(f))),
    }
}

fn outflow_nodes(problem: &Problem, model: &ControlModel, table: &Tabulation) -> Vec<usize> {
    let grid = &problem.grid;
    let mut counts = vec![0usize; grid.dimension()];
    let mut index = vec![0usize; grid.dimension()];
    for node in 0..grid.node_count() {
        grid.unravel_inplace(node, &mut index);
        for (i, boundary) in problem.boundaries.iter().enumerate() {
            if !matches!(boundary, Boundary::Extrapolate) {
                continue;
            }
            let at_lower = index[i] == 0;
            let at_upper = index[i] + 1 == grid.axes()[i].points;
            if !(at_lower || at_upper) {
                continue;
            }
            let (low, high) = drift_range(problem, model, table, node, i);
            if (at_lower && low < 0.0) || (at_upper && high > 0.0) {
                counts[i] += 1;
            }
        }
    }
    counts
}
