//! The loops over one segment of a row that the row kernel ([`super::rows`]) runs: the
//! minimiser of each control but the last in a pass of its own, then the last control's
//! minimiser fused with the weights and the expectation,
//!
//! ```text
//! u_j = argmin_{u ∈ [l_j, h_j]} { c_j u + r_j u² + β φ(a_i + b_i u) },   φ(s) = s⁺D⁺_iV − s⁻D⁻_iV
//! V^{n+1} = β [p_0 V + Σ_i (p_i^+ V(x + h_i e_i) + p_i^- V(x − h_i e_i))] + Δt ℓ
//! ```
//!
//! as straight-line loops over slices of one length, with selects instead of branches, so that
//! the compiler vectorises them. Each computes exactly the node rule's operations in the same
//! order ([`crate::scheme::minimiser::minimise_single`], [`crate::scheme::weights`]): no
//! reassociation, no fused multiply–add, so the bits are the node rule's. What a segment knows
//! of a control's cost (none, a constant curvature) selects a specialised minimiser that leaves
//! out arithmetic whose result cannot change (see [`FREE`]).

use super::columns::Column;
use crate::scheme::minimiser::upwind_term;
use crate::scheme::row_hamiltonian::quadratic_select;

/// [`crate::scheme::minimiser::minimise_single`] with selects and the `V`-independent parts
/// precomputed (`root`, `vertex_scale`, `flat`; see [`super::columns::RowColumns`]): both pieces
/// are computed and the better by the true objective is kept.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn single_select<const CURVATURE: u8>(
    base: f64,
    gain: f64,
    forward: f64,
    backward: f64,
    scale: f64,
    linear: f64,
    quadratic: f64,
    (lower, upper): (f64, f64),
    root: f64,
    vertex_scale: f64,
    flat: f64,
) -> f64 {
    let positive_slope = linear + scale * gain * forward;
    let negative_slope = linear + scale * gain * backward;
    let rising = gain > 0.0;
    let (positive_low, positive_high) =
        (if rising { root } else { lower }, if rising { upper } else { root });
    let (negative_low, negative_high) =
        (if rising { lower } else { root }, if rising { root } else { upper });
    let convex = match CURVATURE {
        CONVEX => true,
        NOT_CONVEX | FREE => false,
        _ => quadratic > 0.0,
    };
    let first = if convex {
        (positive_slope * vertex_scale).max(positive_low).min(positive_high)
    } else if CURVATURE == FREE {
        slope_select(positive_slope, positive_low, positive_high)
    } else {
        linear_select(positive_slope, quadratic, positive_low, positive_high)
    };
    let second = if convex {
        (negative_slope * vertex_scale).max(negative_low).min(negative_high)
    } else if CURVATURE == FREE {
        slope_select(negative_slope, negative_low, negative_high)
    } else {
        linear_select(negative_slope, quadratic, negative_low, negative_high)
    };
    // Without a control cost the cost terms are `+0` (see FREE), which changes no comparison.
    let objective = |u: f64| {
        let transport = scale * upwind_term(base + gain * u, forward, backward);
        if CURVATURE == FREE {
            transport
        } else {
            linear * u + quadratic * u * u + transport
        }
    };
    let better = if objective(second) < objective(first) { second } else { first };
    if gain == 0.0 {
        flat
    } else {
        better
    }
}

/// [`single_select`]'s knowledge of the cost's curvature `r_j` over a segment: a constant
/// `r_j > 0` everywhere, a constant `r_j ≤ 0`, or either (decided per node). With a constant the
/// other branch is not computed; the result is the same select.
pub(super) const MIXED: u8 = 0;
pub(super) const CONVEX: u8 = 1;
pub(super) const NOT_CONVEX: u8 = 2;
/// No control cost: `c_j` and `r_j` are `+0` at every node. Then `c_j u + r_j u²` is `+0` for
/// every finite `u` (`0·u + (0·u)·u`, whatever the sign of `u`), so the objectives compare as
/// without it, a piece's minimiser compares `s·l` with `s·h` alone ([`slope_select`]), and the
/// cost grows by exactly `+0`: the node rule's bits with the cost's arithmetic left out.
pub(super) const FREE: u8 = 3;

/// What a segment knows of a control's cost columns: [`FREE`] when `c_j` and `r_j` are `+0`
/// everywhere, [`CONVEX`] or [`NOT_CONVEX`] when `r_j` is one constant, [`MIXED`] otherwise.
pub(super) fn curvature(linear: &Column, quadratic: &Column) -> u8 {
    let positive_zero =
        |column: &Column| column.constant && column.data.first().is_some_and(|c| c.to_bits() == 0);
    if positive_zero(linear) && positive_zero(quadratic) {
        return FREE;
    }
    match (quadratic.constant, quadratic.data.first().is_some_and(|r| *r > 0.0)) {
        (true, true) => CONVEX,
        (true, false) => NOT_CONVEX,
        (false, _) => MIXED,
    }
}

/// [`linear_select`] with `quadratic = +0` (`FREE`): the same comparisons, since
/// `s·l + (0·l)·l` compares with `s·h + (0·h)·h` as `s·l` with `s·h`.
#[inline(always)]
fn slope_select(slope: f64, lower: f64, upper: f64) -> f64 {
    let at_lower = slope * lower;
    let at_upper = slope * upper;
    if at_upper < at_lower {
        upper
    } else if at_lower < at_upper {
        lower
    } else {
        0.0f64.max(lower).min(upper)
    }
}

/// [`crate::scheme::minimiser::minimise_quadratic`] for `quadratic ≤ 0` (the better bound; 0
/// clamped on a tie), as selects.
#[inline(always)]
fn linear_select(linear: f64, quadratic: f64, lower: f64, upper: f64) -> f64 {
    let at_lower = linear * lower + quadratic * lower * lower;
    let at_upper = linear * upper + quadratic * upper * upper;
    if at_upper < at_lower {
        upper
    } else if at_lower < at_upper {
        lower
    } else {
        0.0f64.max(lower).min(upper)
    }
}

/// What the control pass of one control reads over a segment: `V` at the nodes and both
/// neighbours along the driven axis, and that axis's and that control's coefficients.
pub(super) struct ControlPass<'s> {
    pub(super) centre: &'s [f64],
    pub(super) forward: &'s [f64],
    pub(super) backward: &'s [f64],
    pub(super) base: &'s [f64],
    pub(super) gain: &'s [f64],
    pub(super) linear: &'s [f64],
    pub(super) quadratic: &'s [f64],
}

/// The upwind minimiser of one control over a segment ([`single_select`]): `chosen` receives
/// `u`, `cost` accumulates `c u + r u²`, `drift` receives `a + b u`. `precomputed` holds the root,
/// vertex factor and flat minimiser columns. Written over arguments re-sliced to one length so
/// that the loop has no bounds checks and vectorises.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn upwind_controls<const CURVATURE: u8>(
    pass: &ControlPass<'_>,
    inverse_spacing: f64,
    beta: f64,
    bounds: (f64, f64),
    precomputed: [&[f64]; 3],
    chosen: &mut [f64],
    cost: &mut [f64],
    drift: &mut [f64],
) {
    let length = chosen.len();
    let (centre, forward, backward) =
        (&pass.centre[..length], &pass.forward[..length], &pass.backward[..length]);
    let (base, gain) = (&pass.base[..length], &pass.gain[..length]);
    let (linear, quadratic) = (&pass.linear[..length], &pass.quadratic[..length]);
    let [root, vertex_scale, flat] = precomputed.map(|s| &s[..length]);
    let (cost, drift) = (&mut cost[..length], &mut drift[..length]);
    for r in 0..length {
        let forward_difference = (forward[r] - centre[r]) * inverse_spacing;
        let backward_difference = (centre[r] - backward[r]) * inverse_spacing;
        let u = single_select::<CURVATURE>(
            base[r],
            gain[r],
            forward_difference,
            backward_difference,
            beta,
            linear[r],
            quadratic[r],
            bounds,
            root[r],
            vertex_scale[r],
            flat[r],
        );
        chosen[r] = u;
        cost[r] += if CURVATURE == FREE { 0.0 } else { linear[r] * u + quadratic[r] * u * u };
        drift[r] = base[r] + gain[r] * u;
    }
}

/// The Lax–Friedrichs minimiser of one control over a segment (the clamped vertex at the
/// central difference, [`quadratic_select`]); outputs as in [`upwind_controls`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn lax_friedrichs_controls(
    pass: &ControlPass<'_>,
    inverse_spacing: f64,
    beta: f64,
    (lower, upper): (f64, f64),
    chosen: &mut [f64],
    cost: &mut [f64],
    drift: &mut [f64],
) {
    let length = chosen.len();
    let (centre, forward, backward) =
        (&pass.centre[..length], &pass.forward[..length], &pass.backward[..length]);
    let (base, gain) = (&pass.base[..length], &pass.gain[..length]);
    let (linear, quadratic) = (&pass.linear[..length], &pass.quadratic[..length]);
    let (cost, drift) = (&mut cost[..length], &mut drift[..length]);
    for r in 0..length {
        let forward_difference = (forward[r] - centre[r]) * inverse_spacing;
        let backward_difference = (centre[r] - backward[r]) * inverse_spacing;
        let slope = linear[r] + beta * gain[r] * 0.5 * (forward_difference + backward_difference);
        let u = quadratic_select(slope, quadratic[r], lower, upper);
        chosen[r] = u;
        cost[r] += linear[r] * u + quadratic[r] * u * u;
        drift[r] = base[r] + gain[r] * u;
    }
}

/// The fields of one interior segment of a row: `V` at the nodes and both neighbours per axis,
/// the drift per axis after the controls, and the constants of the step.
pub(super) struct Segment<'s, const D: usize> {
    pub(super) centre: &'s [f64],
    pub(super) forward: [&'s [f64]; D],
    pub(super) backward: [&'s [f64]; D],
    pub(super) drift: [&'s [f64]; D],
    pub(super) diffusion: [&'s [f64]; D],
    pub(super) dissipation: [&'s [f64]; D],
    pub(super) cost: &'s [f64],
    pub(super) inverse_spacing: [f64; D],
    pub(super) discount_factor: f64,
    pub(super) time_step: f64,
}

/// `V^{n+1} = β (p_0 V + Σ_i p_i^± V(x ± h_i e_i)) + Δt ℓ` over a segment: upwind
/// ([`crate::scheme::weights::upwind_weights`]) or Lax–Friedrichs
/// ([`crate::scheme::weights::lax_friedrichs_weights`]) weights, with or without diffusion.
#[inline(always)]
pub(super) fn expectation_pass<const D: usize, const LAX_FRIEDRICHS: bool, const DIFFUSION: bool>(
    segment: &Segment<'_, D>,
    out: &mut [f64],
) {
    let length = out.len();
    let centre = &segment.centre[..length];
    let cost = &segment.cost[..length];
    let forward = segment.forward.map(|s| &s[..length]);
    let backward = segment.backward.map(|s| &s[..length]);
    let drift = segment.drift.map(|s| &s[..length]);
    let diffusion = segment.diffusion.map(|s| if DIFFUSION { &s[..length] } else { s });
    let dissipation = segment.dissipation.map(|s| if LAX_FRIEDRICHS { &s[..length] } else { s });
    let inverse_spacing = segment.inverse_spacing;
    let (beta, dt) = (segment.discount_factor, segment.time_step);
    for r in 0..length {
        let mut stay = 1.0f64;
        let mut ahead = [0.0f64; D];
        let mut behind = [0.0f64; D];
        for i in 0..D {
            let spread =
                if DIFFUSION { diffusion[i][r] * inverse_spacing[i] * inverse_spacing[i] * dt } else { 0.0 };
            if LAX_FRIEDRICHS {
                let scale = 0.5 * dt * inverse_spacing[i];
                let (alpha, f) = (dissipation[i][r], drift[i][r]);
                ahead[i] = scale * (alpha + f) + spread;
                behind[i] = scale * (alpha - f) + spread;
                stay -= 2.0 * scale * alpha + 2.0 * spread;
            } else {
                let rate = drift[i][r] * inverse_spacing[i] * dt;
                let positive = rate > 0.0;
                ahead[i] = if positive { rate + spread } else { spread };
                behind[i] = if positive { spread } else { spread - rate };
                stay = if positive { stay - (rate + 2.0 * spread) } else { stay + (rate - 2.0 * spread) };
            }
        }
        let mut total = stay * centre[r];
        for i in 0..D {
            total += ahead[i] * forward[i][r] + behind[i] * backward[i][r];
        }
        out[r] = beta * total + dt * cost[r];
    }
}

/// What the last control's minimiser reads in the fused pass: its driven axis, that axis's
/// and that control's coefficients over the segment, its bounds and (upwind) the precomputed
/// root, vertex factor and flat minimiser.
pub(super) struct LastControl<'s> {
    pub(super) axis: usize,
    pub(super) base: &'s [f64],
    pub(super) gain: &'s [f64],
    pub(super) linear: &'s [f64],
    pub(super) quadratic: &'s [f64],
    pub(super) bounds: (f64, f64),
    pub(super) precomputed: [&'s [f64]; 3],
}

/// The last control's minimiser ([`upwind_controls`] or [`lax_friedrichs_controls`]) and
/// [`expectation_pass`] in one loop over the segment: per node the same operations in the same
/// order, so the same bits, without storing the control's drift and cost to scratch and reading
/// them back, and with the loads of the neighbour rows spread over the minimiser's arithmetic.
/// `segment.drift[last.axis]` is not read; `segment.cost` is the cost before this control.
#[inline(always)]
pub(super) fn fused_pass<
    const D: usize,
    const LAX_FRIEDRICHS: bool,
    const DIFFUSION: bool,
    const CURVATURE: u8,
>(
    segment: &Segment<'_, D>,
    last: &LastControl<'_>,
    chosen: &mut [f64],
    out: &mut [f64],
) {
    let length = out.len();
    let chosen = &mut chosen[..length];
    let centre = &segment.centre[..length];
    let cost = &segment.cost[..length];
    let forward = segment.forward.map(|s| &s[..length]);
    let backward = segment.backward.map(|s| &s[..length]);
    let drift = segment.drift.map(|s| &s[..length]);
    let diffusion = segment.diffusion.map(|s| if DIFFUSION { &s[..length] } else { s });
    let dissipation = segment.dissipation.map(|s| if LAX_FRIEDRICHS { &s[..length] } else { s });
    let inverse_spacing = segment.inverse_spacing;
    let (beta, dt) = (segment.discount_factor, segment.time_step);
    let axis = last.axis;
    let (last_forward, last_backward) = (&segment.forward[axis][..length], &segment.backward[axis][..length]);
    let last_spacing = inverse_spacing[axis];
    let (base, gain) = (&last.base[..length], &last.gain[..length]);
    let (linear, quadratic) = (&last.linear[..length], &last.quadratic[..length]);
    let [root, vertex_scale, flat] = last.precomputed.map(|s| if LAX_FRIEDRICHS { s } else { &s[..length] });
    let (lower, upper) = last.bounds;
    for r in 0..length {
        let forward_difference = (last_forward[r] - centre[r]) * last_spacing;
        let backward_difference = (centre[r] - last_backward[r]) * last_spacing;
        let u = if LAX_FRIEDRICHS {
            let slope = linear[r] + beta * gain[r] * 0.5 * (forward_difference + backward_difference);
            quadratic_select(slope, quadratic[r], lower, upper)
        } else {
            single_select::<CURVATURE>(
                base[r],
                gain[r],
                forward_difference,
                backward_difference,
                beta,
                linear[r],
                quadratic[r],
                last.bounds,
                root[r],
                vertex_scale[r],
                flat[r],
            )
        };
        chosen[r] = u;
        let cost = cost[r] + if CURVATURE == FREE { 0.0 } else { linear[r] * u + quadratic[r] * u * u };
        let driven = base[r] + gain[r] * u;
        let mut stay = 1.0f64;
        let mut ahead = [0.0f64; D];
        let mut behind = [0.0f64; D];
        for i in 0..D {
            // Loaded whatever the axis (a select, not a branch, so the loop vectorises).
            let stored = drift[i][r];
            let f = if i == axis { driven } else { stored };
            let spread =
                if DIFFUSION { diffusion[i][r] * inverse_spacing[i] * inverse_spacing[i] * dt } else { 0.0 };
            if LAX_FRIEDRICHS {
                let scale = 0.5 * dt * inverse_spacing[i];
                let alpha = dissipation[i][r];
                ahead[i] = scale * (alpha + f) + spread;
                behind[i] = scale * (alpha - f) + spread;
                stay -= 2.0 * scale * alpha + 2.0 * spread;
            } else {
                let rate = f * inverse_spacing[i] * dt;
                let positive = rate > 0.0;
                ahead[i] = if positive { rate + spread } else { spread };
                behind[i] = if positive { spread } else { spread - rate };
                stay = if positive { stay - (rate + 2.0 * spread) } else { stay + (rate - 2.0 * spread) };
            }
        }
        let mut total = stay * centre[r];
        for i in 0..D {
            total += ahead[i] * forward[i][r] + behind[i] * backward[i][r];
        }
        out[r] = beta * total + dt * cost;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::minimiser::{minimise_quadratic, minimise_single};

    #[test]
    fn the_select_form_equals_the_node_rule() {
        // Every branch of the node rule: signs of the gain and the drift, bang-bang (r = 0) and
        // interior (r > 0) minima, roots inside and outside the box, a discount factor β < 1.
        let values = [-2.0, -0.7, 0.0, 0.3, 1.5];
        let (lower, upper) = (-1.0, 1.0);
        for base in values {
            for gain in values {
                for forward in values {
                    for backward in values {
                        for (linear, quadratic) in [(0.0, 0.0), (0.4, 0.0), (-0.3, 0.5), (1.0, 2.0)] {
                            for scale in [1.0, 0.97] {
                                let expected = minimise_single(
                                    base, gain, forward, backward, scale, linear, quadratic, lower, upper,
                                );
                                type Select =
                                    fn(f64, f64, f64, f64, f64, f64, f64, (f64, f64), f64, f64, f64) -> f64;
                                let select = |form: Select| {
                                    form(
                                        base,
                                        gain,
                                        forward,
                                        backward,
                                        scale,
                                        linear,
                                        quadratic,
                                        (lower, upper),
                                        (-base / gain).max(lower).min(upper),
                                        -0.5 / quadratic,
                                        minimise_quadratic(linear, quadratic, lower, upper),
                                    )
                                };
                                let got = select(single_select::<MIXED>);
                                assert_eq!(
                                    expected.to_bits(),
                                    got.to_bits(),
                                    "{base} {gain} {forward} {backward}"
                                );
                                // With the curvature known for the segment: the same select.
                                let again = select(if quadratic > 0.0 {
                                    single_select::<CONVEX>
                                } else {
                                    single_select::<NOT_CONVEX>
                                });
                                assert_eq!(expected.to_bits(), again.to_bits(), "known curvature");
                                if linear == 0.0 && quadratic == 0.0 {
                                    let free = select(single_select::<FREE>);
                                    assert_eq!(expected.to_bits(), free.to_bits(), "no control cost");
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
