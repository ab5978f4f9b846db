//! Transition weights of the explicit schemes: the one place they are computed.
//!
//! For a node `x`, a control `u` with drift `f = f(x,u,t)`, spacings `h_i` and step `Δt`, one
//! explicit step is
//!
//! ```text
//! V^{n+1}(x) = β · [ p(x) V^n(x) + Σ_i ( p(x+h_i e_i) V^n(x+h_i e_i) + p(x−h_i e_i) V^n(x−h_i e_i) ) ] + Δt ℓ(x,u),
//! ```
//!
//! `β = e^{−ρΔt}`, and `a_i = σ_i²/2` the diagonal diffusion (zero for deterministic problems).
//! Upwind (Kushner): `p(x±h_i e_i) = Δt (f_i^±/h_i + a_i/h_i²)`; Lax–Friedrichs with dissipation
//! `α_i`: `p(x±h_i e_i) = Δt ((α_i ± f_i)/(2h_i) + a_i/h_i²)`. In both, `p(x) = 1 − Σ(others)`, and
//! the scheme is monotone exactly when every weight is ≥ 0 — for upwind
//! `Δt Σ_i (|f_i|/h_i + 2a_i/h_i²) ≤ 1`, for Lax–Friedrichs `α_i ≥ |f_i|` and
//! `Δt Σ_i (α_i/h_i + 2a_i/h_i²) ≤ 1` (the CFL conditions of `docs/numerics.md` §4.1).
//! The weights sum to one: they are the transition probabilities of a controlled Markov chain,
//! which the MDP solvers reuse (`docs/numerics.md` §6).

use crate::grid::MAX_DIMENSIONS;

/// Weights of one node under one control.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// `p(x + h_i e_i)` per axis.
    pub forward: [f64; MAX_DIMENSIONS],
    /// `p(x − h_i e_i)` per axis.
    pub backward: [f64; MAX_DIMENSIONS],
    /// `p(x)`.
    pub stay: f64,
}

impl Weights {
    /// `Σ_y p(y) V(y)` for the node value `center` and neighbour values per axis.
    #[inline(always)]
    pub fn expectation(&self, center: f64, forward: &[f64], backward: &[f64]) -> f64 {
        let mut total = self.stay * center;
        for i in 0..forward.len() {
            total += self.forward[i] * forward[i] + self.backward[i] * backward[i];
        }
        total
    }

    /// Smallest weight (negative ⇒ the step is not monotone at this node).
    pub fn minimum(&self, dimension: usize) -> f64 {
        self.forward[..dimension]
            .iter()
            .chain(&self.backward[..dimension])
            .fold(self.stay, |smallest, w| smallest.min(*w))
    }
}

/// Upwind weights for drift `drift` and diagonal diffusion `diffusion` (`a_i = σ_i²/2`, one entry
/// per axis; an empty slice means no diffusion).
#[inline(always)]
pub fn upwind_weights(drift: &[f64], diffusion: &[f64], inverse_spacing: &[f64], time_step: f64) -> Weights {
    let mut weights = Weights { forward: [0.0; MAX_DIMENSIONS], backward: [0.0; MAX_DIMENSIONS], stay: 1.0 };
    for i in 0..drift.len() {
        let rate = drift[i] * inverse_spacing[i] * time_step;
        let spread =
            diffusion.get(i).map_or(0.0, |a| a * inverse_spacing[i] * inverse_spacing[i] * time_step);
        if rate > 0.0 {
            weights.forward[i] = rate + spread;
            weights.backward[i] = spread;
            weights.stay -= rate + 2.0 * spread;
        } else {
            weights.backward[i] = spread - rate;
            weights.forward[i] = spread;
            weights.stay += rate - 2.0 * spread;
        }
    }
    weights
}

/// Lax–Friedrichs weights for drift `drift`, dissipation `alpha` and diagonal diffusion
/// `diffusion` (per axis; an empty slice means no diffusion).
#[inline(always)]
pub fn lax_friedrichs_weights(
    drift: &[f64],
    alpha: &[f64],
    diffusion: &[f64],
    inverse_spacing: &[f64],
    time_step: f64,
) -> Weights {
    let mut weights = Weights { forward: [0.0; MAX_DIMENSIONS], backward: [0.0; MAX_DIMENSIONS], stay: 1.0 };
    for i in 0..drift.len() {
        let scale = 0.5 * time_step * inverse_spacing[i];
        let spread =
            diffusion.get(i).map_or(0.0, |a| a * inverse_spacing[i] * inverse_spacing[i] * time_step);
        weights.forward[i] = scale * (alpha[i] + drift[i]) + spread;
        weights.backward[i] = scale * (alpha[i] - drift[i]) + spread;
        weights.stay -= 2.0 * scale * alpha[i] + 2.0 * spread;
    }
    weights
}

/// Correlated noise in the finite-difference schemes (Kushner's cross stencil): for the pair
/// `i < j` with `a_ij = (σσᵀ)_ij/2`, the generator term `2a_ij ∂²V/∂x_i∂x_j` is
///
/// ```text
/// |a_ij|/(h_i h_j) · [V(x + h_i e_i + s h_j e_j) + V(x − h_i e_i − s h_j e_j)
///                     − V(x ± h_i e_i) − V(x ± h_j e_j) + 2V(x)],   s = sign(a_ij),
/// ```
///
/// i.e. weights `Δt|a_ij|/(h_ih_j)` on the two diagonal neighbours along the correlation, the same
/// amount taken from the four axis neighbours and `2Δt|a_ij|/(h_ih_j)` added to the node. The
/// axis weights stay ≥ 0 for every drift exactly when the diffusion is diagonally dominant in the
/// scaled sense `a_ii/h_i² ≥ Σ_{j≠i} |a_ij|/(h_ih_j)`; [`dominance_margin`] measures it.
///
/// `a_ij` for `i < j` from a row-major `n × k` noise matrix `sigma`.
#[inline]
pub fn cross_diffusion(sigma: &[f64], n: usize, i: usize, j: usize) -> f64 {
    let k = sigma.len() / n;
    0.5 * (0..k).map(|c| sigma[i * k + c] * sigma[j * k + c]).sum::<f64>()
}

/// `min_i [a_ii/h_i² − Σ_{j≠i} |a_ij|/(h_i h_j)] · h_min²` for the noise matrix `sigma` (n × k,
/// row-major): ≥ 0 ⇔ the cross stencil keeps every weight nonnegative (scaled to be comparable
/// with `a`).
pub fn dominance_margin(sigma: &[f64], n: usize, inverse_spacing: &[f64]) -> f64 {
    let smallest_spacing = inverse_spacing.iter().fold(0.0f64, |a, v| a.max(*v)).recip();
    (0..n)
        .map(|i| {
            let diagonal = cross_diffusion(sigma, n, i, i) * inverse_spacing[i] * inverse_spacing[i];
            let off: f64 = (0..n)
                .filter(|j| *j != i)
                .map(|j| cross_diffusion(sigma, n, i, j).abs() * inverse_spacing[i] * inverse_spacing[j])
                .sum();
            (diagonal - off) * smallest_spacing * smallest_spacing
        })
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_reproduce_the_upwind_difference() {
        let drift = [0.7, -1.3];
        let inverse_spacing = [10.0, 4.0];
        let time_step = 0.01;
        let weights = upwind_weights(&drift, &[], &inverse_spacing, time_step);
        let total: f64 =
            weights.stay + weights.forward.iter().sum::<f64>() + weights.backward.iter().sum::<f64>();
        assert!((total - 1.0).abs() < 1e-15);
        // Σ p V − V = Δt (f⁺ D⁺V + f⁻ D⁻V) for V linear: = Δt f·∇V.
        let gradient = [2.0, -3.0];
        let value = |offset: [f64; 2]| 1.0 + gradient[0] * offset[0] + gradient[1] * offset[1];
        let h = [0.1, 0.25];
        let expectation = weights.expectation(
            value([0.0, 0.0]),
            &[value([h[0], 0.0]), value([0.0, h[1]])],
            &[value([-h[0], 0.0]), value([0.0, -h[1]])],
        );
        let exact = value([0.0, 0.0]) + time_step * (drift[0] * gradient[0] + drift[1] * gradient[1]);
        assert!((expectation - exact).abs() < 1e-14);
        assert!(weights.minimum(2) >= 0.0);
    }

    #[test]
    fn diffusion_weights_reproduce_the_second_difference() {
        // For V = x², Σ p V − V = Δt (f V' + a V'') exactly (the upwind error of x² is h·f).
        let (h, f, a, dt) = (0.1, 0.0, 0.3, 0.01);
        let weights = upwind_weights(&[f], &[a], &[1.0 / h], dt);
        let x: f64 = 0.7;
        let expectation = weights.expectation(x * x, &[(x + h) * (x + h)], &[(x - h) * (x - h)]);
        assert!((expectation - (x * x + dt * 2.0 * a)).abs() < 1e-14);
        let total = weights.stay + weights.forward[0] + weights.backward[0];
        assert!((total - 1.0).abs() < 1e-15);
        // Monotone iff Δt(|f|/h + 2a/h²) ≤ 1: here 0.01·60 = 0.6.
        assert!(weights.minimum(1) >= 0.0);
        assert!(upwind_weights(&[f], &[a], &[1.0 / h], 0.02).minimum(1) < 0.0);
    }

    #[test]
    fn lax_friedrichs_is_monotone_iff_alpha_dominates() {
        let weights = lax_friedrichs_weights(&[1.0], &[1.5], &[], &[10.0], 0.05);
        assert!(weights.minimum(1) >= 0.0);
        let weights = lax_friedrichs_weights(&[2.0], &[1.5], &[], &[10.0], 0.05);
        assert!(weights.minimum(1) < 0.0);
    }

    #[test]
    fn dominance_margin_is_the_scaled_diagonal_excess() {
        // σ = [[0.3, 0], [0.2, 0.3]]: a = [[0.045, 0.03], [0.03, 0.065]]; h = (0.1, 0.1).
        let sigma = [0.3, 0.0, 0.2, 0.3];
        assert!((cross_diffusion(&sigma, 2, 0, 1) - 0.03).abs() < 1e-15);
        assert!((dominance_margin(&sigma, 2, &[10.0, 10.0]) - 0.015).abs() < 1e-12);
        // Halving h_2 doubles the cross term of the first row: 0.045/h² − 0.03/(h·h/2) < 0.
        let margin = dominance_margin(&sigma, 2, &[10.0, 20.0]);
        assert!((margin - 0.25 * (0.045 - 0.06)).abs() < 1e-12, "{margin}");
    }
}
