//! Stability numbers a user can read (`docs/numerics.md` §5).
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
    /// The time step `Δt` of the run.
    pub time_step: f64,
    /// The CFL bound `Δt_max` (infinite when nothing moves).
    pub time_step_max: f64,
    /// `Δt / Δt_max`.
    pub cfl_number: f64,
    /// Coordinates where the CFL rate peaks.
    pub cfl_peak: Vec<f64>,
    /// Smallest stay weight `1 − CFL number` (negative ⇔ not monotone).
    pub minimum_weight: f64,
    /// Diffusion number `Δt · max Σ_i 2a_ii/h_i²` (0 for deterministic problems).
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
            diffusion_number: plan.diffusion_number,
            monotone: plan.cfl_number <= 1.0 + 1e-12,
            outflow_nodes: outflow_nodes(problem, model, table, &|_| true),
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
        // |f_i| ≤ α_i over both players' sets (the exact bound of the affine model).
        ControlModel::Affine => (-table.dissipation[node * n + i], table.dissipation[node * n + i]),
        ControlModel::Sampled { count, .. } => (0..*count)
            .map(|s| table.sample_drift[(node * count + s) * n + i])
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), f| (low.min(f), high.max(f))),
    }
}

/// Per axis: the nodes among `counted` on an extrapolated end where an admissible control
/// points out of the box.
pub(crate) fn outflow_nodes(
    problem: &Problem,
    model: &ControlModel,
    table: &Tabulation,
    counted: &dyn Fn(usize) -> bool,
) -> Vec<usize> {
    let grid = &problem.grid;
    let mut counts = vec![0usize; grid.dimension()];
    // Only the nodes on the two faces of each extrapolated axis: a face of axis i is
    // `outer · points · stride + index · stride + inner` with `index` fixed.
    let nodes = grid.node_count();
    for (i, boundary) in problem.boundaries.iter().enumerate() {
        if !matches!(boundary, Boundary::Extrapolate) {
            continue;
        }
        let (points, stride) = (grid.axes()[i].points, grid.strides()[i]);
        let faces: &[usize] = if points == 1 { &[0] } else { &[0, points - 1] };
        for &index in faces {
            let (at_lower, at_upper) = (index == 0, index + 1 == points);
            for outer in (0..nodes).step_by(points * stride) {
                for node in outer + index * stride..outer + (index + 1) * stride {
                    if !counted(node) {
                        continue;
                    }
                    let (low, high) = drift_range(problem, model, table, node, i);
                    if (at_lower && low < 0.0) || (at_upper && high > 0.0) {
                        counts[i] += 1;
                    }
                }
            }
        }
    }
    counts
}

/// Differencing of the transport term `f·∇V` in a von Neumann analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Differencing {
    /// One-sided in the direction of `f_i` (the monotone upwind scheme).
    Upwind,
    /// Central differences plus dissipation `α_i (D⁺ − D⁻)/2` (the monotone Lax–Friedrichs scheme).
    LaxFriedrichs,
    /// Central differences alone: consistent, not monotone, unconditionally unstable.
    Central,
}

impl Differencing {
    pub(crate) const ALL: [Differencing; 3] =
        [Differencing::Upwind, Differencing::LaxFriedrichs, Differencing::Central];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Differencing::Upwind => "upwind",
            Differencing::LaxFriedrichs => "lax_friedrichs",
            Differencing::Central => "central",
        }
    }
}

/// Amplification factor `g(θ) = (re, im)` of one explicit step of `V_τ = f·∇V` with frozen
/// coefficients on the Fourier mode `V_j = e^{i j·θ}`.
///
/// With Courant numbers `c_i = Δt f_i/h_i` and dissipation numbers `a_i = Δt α_i/h_i`:
/// upwind adds `c_i(e^{iθ_i} − 1)` for `c_i > 0` and `c_i(1 − e^{−iθ_i})` otherwise;
/// Lax–Friedrichs adds `i c_i sin θ_i + a_i(cos θ_i − 1)`; central adds `i c_i sin θ_i`; the
/// diffusion numbers `d_i = Δt a_i/h_i²` add `2 d_i (cos θ_i − 1)` to each.
pub fn amplification(
    differencing: Differencing,
    courant: &[f64],
    dissipation: &[f64],
    diffusion: &[f64],
    theta: &[f64],
) -> (f64, f64) {
    let (mut re, mut im) = (1.0, 0.0);
    for i in 0..courant.len() {
        let (c, (sin, cos)) = (courant[i], theta[i].sin_cos());
        // Diffusion `d_i = Δt a_i/h_i²`, the same central stencil in every variant.
        re += 2.0 * diffusion.get(i).copied().unwrap_or(0.0) * (cos - 1.0);
        match differencing {
            Differencing::Upwind => {
                // c>0: c(cos − 1 + i sin); c<0: c(1 − cos + i sin).
                re += if c > 0.0 { c * (cos - 1.0) } else { c * (1.0 - cos) };
                im += c * sin;
            }
            Differencing::LaxFriedrichs => {
                re += dissipation[i] * (cos - 1.0);
                im += c * sin;
            }
            Differencing::Central => im += c * sin,
        }
    }
    (re, im)
}

/// The von Neumann analysis of a run: `max_θ |g(θ)|` for each differencing at the frozen
/// coefficients where the CFL rate peaks, with the run's time step.
#[derive(Debug, Clone, PartialEq)]
pub struct VonNeumann {
    /// `Δt f_i/h_i` at the peak.
    pub courant: Vec<f64>,
    /// `Δt α_i/h_i` at the peak.
    pub dissipation: Vec<f64>,
    /// `Δt a_i/h_i²` at the peak.
    pub diffusion: Vec<f64>,
    /// `(differencing, max |g|)` for upwind, Lax–Friedrichs and central.
    pub maxima: Vec<(Differencing, f64)>,
    /// `|g|` along the diagonal `θ_i = θ`, θ from −π to π: `(θ, |g| per differencing)`.
    pub diagonal: Vec<(f64, [f64; 3])>,
}

impl VonNeumann {
    /// Analyse with Courant and dissipation numbers (per axis). The maximum is taken over a tensor
    /// sample of θ ∈ [−π, π]^d (65 points per axis up to 3-D, fewer above).
    pub fn new(courant: Vec<f64>, dissipation: Vec<f64>, diffusion: Vec<f64>) -> VonNeumann {
        let d = courant.len();
        let per_axis: usize = match d {
            1 => 2049,
            2 => 257,
            3 => 65,
            4 => 17,
            _ => 9,
        };
        let angle =
            |k: usize| -std::f64::consts::PI + 2.0 * std::f64::consts::PI * k as f64 / (per_axis - 1) as f64;
        let total = per_axis.pow(d as u32);
        let mut maxima = Vec::new();
        for differencing in Differencing::ALL {
            let mut largest = 0.0f64;
            let mut theta = vec![0.0; d];
            for flat in 0..total {
                let mut rest = flat;
                for value in theta.iter_mut() {
                    *value = angle(rest % per_axis);
                    rest /= per_axis;
                }
                let (re, im) = amplification(differencing, &courant, &dissipation, &diffusion, &theta);
                largest = largest.max(re.hypot(im));
            }
            maxima.push((differencing, largest));
        }
        let diagonal = (0..361)
            .map(|k| {
                let t = -std::f64::consts::PI + 2.0 * std::f64::consts::PI * k as f64 / 360.0;
                let theta = vec![t; d];
                let mut values = [0.0; 3];
                for (slot, differencing) in values.iter_mut().zip(Differencing::ALL) {
                    let (re, im) = amplification(differencing, &courant, &dissipation, &diffusion, &theta);
                    *slot = re.hypot(im);
                }
                (t, values)
            })
            .collect();
        VonNeumann { courant, dissipation, diffusion, maxima, diagonal }
    }

    /// From the planned run: frozen coefficients at the peak of the CFL rate.
    pub fn for_plan(problem: &Problem, plan: &TimeStepPlan) -> VonNeumann {
        let spacings = problem.grid.spacings();
        let courant = plan.peak_drift.iter().zip(&spacings).map(|(f, h)| plan.time_step * f / h).collect();
        let dissipation =
            plan.peak_dissipation.iter().zip(&spacings).map(|(a, h)| plan.time_step * a / h).collect();
        let diffusion =
            plan.peak_diffusion.iter().zip(&spacings).map(|(a, h)| plan.time_step * a / (h * h)).collect();
        VonNeumann::new(courant, dissipation, diffusion)
    }

    pub(crate) fn maximum(&self, differencing: Differencing) -> f64 {
        self.maxima.iter().find(|(d, _)| *d == differencing).map_or(f64::NAN, |(_, g)| *g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upwind_under_the_cfl_bound_does_not_amplify_and_central_does() {
        // Courant numbers with Σ|c_i| ≤ 1 in 1-, 2- and 3-D, both signs.
        for courant in [vec![0.9], vec![-0.5, 0.45], vec![0.3, -0.3, 0.35], vec![1.0]] {
            let dissipation: Vec<f64> = courant.iter().map(|c: &f64| c.abs()).collect();
            let analysis = VonNeumann::new(courant.clone(), dissipation, vec![]);
            assert!(analysis.maximum(Differencing::Upwind) <= 1.0 + 1e-12, "{courant:?}");
            // Adding diffusion within the bound Σ(|c| + 2d) ≤ 1 keeps it stable.
            let slack = 1.0 - courant.iter().map(|c| c.abs()).sum::<f64>();
            let diffusion = vec![slack / (2.0 * courant.len() as f64); courant.len()];
            let damped =
                VonNeumann::new(courant.clone(), courant.iter().map(|c| c.abs()).collect(), diffusion);
            assert!(damped.maximum(Differencing::Upwind) <= 1.0 + 1e-12, "{courant:?} with diffusion");
            assert!(analysis.maximum(Differencing::LaxFriedrichs) <= 1.0 + 1e-12, "{courant:?}");
            // |g|² = 1 + (Σ c_i sin θ_i)² for central differencing: > 1 for any c ≠ 0.
            let central = analysis.maximum(Differencing::Central);
            let expected = (1.0 + courant.iter().map(|c| c.abs()).sum::<f64>().powi(2)).sqrt();
            assert!(
                central > 1.0 && (central - expected).abs() < 1e-3,
                "{courant:?}: {central} vs {expected}"
            );
        }
    }

    #[test]
    fn upwind_above_the_cfl_bound_amplifies() {
        // 1-D upwind with c = 1.5: g(π) = 1 − 2c = −2.
        let analysis = VonNeumann::new(vec![1.5], vec![1.5], vec![]);
        assert!((analysis.maximum(Differencing::Upwind) - 2.0).abs() < 1e-12);
        let analysis = VonNeumann::new(vec![0.7, 0.6], vec![0.7, 0.6], vec![]);
        assert!(analysis.maximum(Differencing::Upwind) > 1.0 + 1e-3);
        // Diffusion counts towards the bound: c = 0.5 with d = 0.3 gives Σ(|c| + 2d) = 1.1 > 1.
        let analysis = VonNeumann::new(vec![0.5], vec![0.5], vec![0.3]);
        assert!(analysis.maximum(Differencing::Upwind) > 1.0 + 1e-3);
    }
}
