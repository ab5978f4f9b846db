//! The minimum over the controls at one node, in closed form.
//!
//! With affine drift `f_i = a_i + b_i u_j` for the states `i` driven by control `j` and the
//! separable cost `c_j u + r_j u²`, the upwind Hamiltonian of control `j` is
//!
//! ```text
//! g_j(u) = β Σ_i φ_i(a_i + b_i u) + c_j u + r_j u²,   φ_i(s) = s⁺ D⁺_i V − s⁻ D⁻_i V,
//! ```
//!
//! a piecewise quadratic in `u` with breakpoints where a drift changes sign, minimised exactly
//! over the (admissible) box ([`minimise_piecewise`], [`minimise_single`]). Lax–Friedrichs
//! differencing minimises `(β Σ b_i p̄_i + c_j) u + r_j u²` at the central gradient `p̄`.
//! [`closed_form_control`] is the one node rule, used by the explicit step and by the implicit
//! scheme's policy improvement. See `docs/numerics.md` §3.4.

use crate::grid::MAX_DIMENSIONS;
use crate::scheme::constraint::{admissible_interval, Sides};
use crate::scheme::hamiltonian::MAX_CONTROLS;
use crate::settings::Differencing;

/// The states each control drives (closed form), in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Driven {
    states: [[usize; MAX_DIMENSIONS]; MAX_CONTROLS],
    count: [usize; MAX_CONTROLS],
}

impl Driven {
    /// From the control each state's drift depends on.
    pub fn of(control_of_state: &[Option<usize>]) -> Driven {
        let mut driven = Driven { states: [[0; MAX_DIMENSIONS]; MAX_CONTROLS], count: [0; MAX_CONTROLS] };
        for (i, control) in control_of_state.iter().enumerate() {
            if let Some(j) = control {
                driven.states[*j][driven.count[*j]] = i;
                driven.count[*j] += 1;
            }
        }
        driven
    }

    /// The states driven by control `j`.
    #[inline(always)]
    pub fn states(&self, j: usize) -> &[usize] {
        &self.states[j][..self.count[j]]
    }
}

/// The closed-form minimiser of control `j` at one node: restrict `bounds` to the admissible
/// interval on state-constrained `sides`, then minimise `g_j` (module docs) with the one-sided
/// differences `forward_difference`, `backward_difference` (per axis) and weight `scale` (β for a
/// step, 1 for the generator).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn closed_form_control(
    differencing: Differencing,
    base: &[f64],
    gain: &[f64],
    driven: &[usize],
    forward_difference: &[f64],
    backward_difference: &[f64],
    sides: Option<&Sides>,
    bounds: (f64, f64),
    scale: f64,
    linear: f64,
    quadratic: f64,
) -> f64 {
    let (mut lower, mut upper) = bounds;
    if let Some(sides) = sides {
        if let Some(interval) = admissible_interval(base, gain, driven, sides, lower, upper) {
            (lower, upper) = interval;
        }
    }
    match (differencing, driven) {
        (Differencing::Upwind, [i]) => minimise_single(
            base[*i],
            gain[*i],
            forward_difference[*i],
            backward_difference[*i],
            scale,
            linear,
            quadratic,
            lower,
            upper,
        ),
        (Differencing::Upwind, _) => {
            // Several states driven by this control: gather them contiguously.
            let mut b = [0.0f64; MAX_DIMENSIONS];
            let mut g = [0.0f64; MAX_DIMENSIONS];
            let mut fd = [0.0f64; MAX_DIMENSIONS];
            let mut bd = [0.0f64; MAX_DIMENSIONS];
            for (k, i) in driven.iter().enumerate() {
                b[k] = base[*i];
                g[k] = gain[*i];
                fd[k] = forward_difference[*i];
                bd[k] = backward_difference[*i];
            }
            let count = driven.len();
            minimise_piecewise(
                &b[..count],
                &g[..count],
                &fd[..count],
                &bd[..count],
                scale,
                linear,
                quadratic,
                lower,
                upper,
            )
        }
        (Differencing::LaxFriedrichs, _) => {
            let mut slope = linear;
            for i in driven {
                slope += scale * gain[*i] * 0.5 * (forward_difference[*i] + backward_difference[*i]);
            }
            minimise_quadratic(slope, quadratic, lower, upper)
        }
    }
}

/// `φ(s) = s⁺ D⁺ − s⁻ D⁻` written as `max(s,0)·forward + min(s,0)·backward` (a select once
/// inlined into a vector loop).
#[inline(always)]
pub(crate) fn upwind_term(drift: f64, forward: f64, backward: f64) -> f64 {
    if drift > 0.0 {
        drift * forward
    } else {
        drift * backward
    }
}

/// `g(u) = scale Σ_k φ(base_k + gain_k u; forward_k, backward_k) + linear u + quadratic u²`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn piecewise_objective(
    u: f64,
    base: &[f64],
    gain: &[f64],
    forward: &[f64],
    backward: &[f64],
    scale: f64,
    linear: f64,
    quadratic: f64,
) -> f64 {
    let mut total = linear * u + quadratic * u * u;
    for k in 0..base.len() {
        total += scale * upwind_term(base[k] + gain[k] * u, forward[k], backward[k]);
    }
    total
}

/// Exact minimiser over `[lower, upper]` of `g` ([`piecewise_objective`]).
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn minimise_piecewise(
    base: &[f64],
    gain: &[f64],
    forward: &[f64],
    backward: &[f64],
    scale: f64,
    linear: f64,
    quadratic: f64,
    lower: f64,
    upper: f64,
) -> f64 {
    let objective = |u: f64| piecewise_objective(u, base, gain, forward, backward, scale, linear, quadratic);
    // Knots: the bounds and the drift sign changes inside them, sorted.
    let mut knots = [0.0f64; MAX_DIMENSIONS + 2];
    let mut count = 0;
    knots[count] = lower;
    count += 1;
    for k in 0..base.len() {
        if gain[k] != 0.0 {
            let root = -base[k] / gain[k];
            if root > lower && root < upper {
                knots[count] = root;
                count += 1;
            }
        }
    }
    knots[count] = upper;
    count += 1;
    knots[..count].sort_unstable_by(f64::total_cmp);
    let mut best_u = knots[0];
    let mut best = objective(best_u);
    for piece in 0..count - 1 {
        let (left, right) = (knots[piece], knots[piece + 1]);
        let right_value = objective(right);
        if right_value < best {
            best = right_value;
            best_u = right;
        }
        if quadratic > 0.0 && right > left {
            let middle = 0.5 * (left + right);
            let mut slope = linear;
            for k in 0..base.len() {
                let drift = base[k] + gain[k] * middle;
                slope += scale * gain[k] * if drift > 0.0 { forward[k] } else { backward[k] };
            }
            let vertex = -slope / (2.0 * quadratic);
            if vertex > left && vertex < right {
                let value = objective(vertex);
                if value < best {
                    best = value;
                    best_u = vertex;
                }
            }
        }
    }
    best_u
}

/// [`minimise_piecewise`] for one driven state: two pieces, split where `a + b u = 0`, each a
/// quadratic minimised in closed form; the better of the two by the true objective.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn minimise_single(
    base: f64,
    gain: f64,
    forward: f64,
    backward: f64,
    scale: f64,
    linear: f64,
    quadratic: f64,
    lower: f64,
    upper: f64,
) -> f64 {
    if gain == 0.0 {
        return minimise_quadratic(linear, quadratic, lower, upper);
    }
    let root = (-base / gain).max(lower).min(upper);
    // On the piece where the drift is positive the slope uses D⁺, on the other D⁻.
    let positive_slope = linear + scale * gain * forward;
    let negative_slope = linear + scale * gain * backward;
    let ((positive_low, positive_high), (negative_low, negative_high)) =
        if gain > 0.0 { ((root, upper), (lower, root)) } else { ((lower, root), (root, upper)) };
    let (first, second) = if quadratic > 0.0 {
        // One division for both pieces: the vertex of slope·u + q·u² is −slope/(2q).
        let vertex_scale = -0.5 / quadratic;
        (
            (positive_slope * vertex_scale).max(positive_low).min(positive_high),
            (negative_slope * vertex_scale).max(negative_low).min(negative_high),
        )
    } else {
        (
            minimise_quadratic(positive_slope, quadratic, positive_low, positive_high),
            minimise_quadratic(negative_slope, quadratic, negative_low, negative_high),
        )
    };
    let objective =
        |u: f64| piecewise_objective(u, &[base], &[gain], &[forward], &[backward], scale, linear, quadratic);
    if objective(second) < objective(first) {
        second
    } else {
        first
    }
}

/// Minimiser over `[lower, upper]` of `linear·u + quadratic·u²`.
#[inline]
pub fn minimise_quadratic(linear: f64, quadratic: f64, lower: f64, upper: f64) -> f64 {
    if quadratic > 0.0 {
        (-linear / (2.0 * quadratic)).clamp(lower, upper)
    } else {
        let at_lower = linear * lower + quadratic * lower * lower;
        let at_upper = linear * upper + quadratic * upper * upper;
        if at_upper < at_lower {
            upper
        } else if at_lower < at_upper {
            lower
        } else {
            0.0f64.clamp(lower, upper)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over a fine sample of the interval.
    #[allow(clippy::too_many_arguments)]
    fn brute_force(
        base: &[f64],
        gain: &[f64],
        forward: &[f64],
        backward: &[f64],
        linear: f64,
        quadratic: f64,
        lower: f64,
        upper: f64,
    ) -> f64 {
        let objective =
            |u: f64| piecewise_objective(u, base, gain, forward, backward, 1.0, linear, quadratic);
        (0..=200_000)
            .map(|k| lower + (upper - lower) * k as f64 / 200_000.0)
            .map(objective)
            .fold(f64::INFINITY, f64::min)
    }

    #[test]
    fn piecewise_minimiser_matches_brute_force() {
        // A small deterministic pseudo-random sweep (xorshift), covering convex and concave
        // upwind terms, quadratic and linear costs.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        };
        for case in 0..300 {
            let states = 1 + case % 3;
            let base: Vec<f64> = (0..states).map(|_| next()).collect();
            let gain: Vec<f64> = (0..states).map(|_| 2.0 * next()).collect();
            let forward: Vec<f64> = (0..states).map(|_| 3.0 * next()).collect();
            let backward: Vec<f64> = (0..states).map(|_| 3.0 * next()).collect();
            let linear = next();
            let quadratic = if case % 4 == 0 { 0.0 } else { next().abs() + 0.05 };
            let u = minimise_piecewise(&base, &gain, &forward, &backward, 1.0, linear, quadratic, -1.5, 2.0);
            if states == 1 {
                let single = minimise_single(
                    base[0],
                    gain[0],
                    forward[0],
                    backward[0],
                    1.0,
                    linear,
                    quadratic,
                    -1.5,
                    2.0,
                );
                let objective = |u: f64| {
                    piecewise_objective(u, &base, &gain, &forward, &backward, 1.0, linear, quadratic)
                };
                assert!(
                    (objective(single) - objective(u)).abs() <= 1e-12,
                    "case {case}: single-state path differs"
                );
            }
            let objective =
                |u: f64| piecewise_objective(u, &base, &gain, &forward, &backward, 1.0, linear, quadratic);
            let best = brute_force(&base, &gain, &forward, &backward, linear, quadratic, -1.5, 2.0);
            assert!(objective(u) <= best + 1e-9, "case {case}: {} > {best}", objective(u));
        }
    }

    #[test]
    fn quadratic_minimiser() {
        assert_eq!(minimise_quadratic(2.0, 1.0, -5.0, 5.0), -1.0);
        assert_eq!(minimise_quadratic(2.0, 1.0, 0.0, 5.0), 0.0);
        assert_eq!(minimise_quadratic(2.0, 0.0, -1.0, 1.0), -1.0);
        assert_eq!(minimise_quadratic(-2.0, 0.0, -1.0, 1.0), 1.0);
    }
}
