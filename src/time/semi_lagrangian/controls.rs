//! The per-node minimisation of the semi-Lagrangian step (`docs/numerics.md` §4.4):
//!
//! ```text
//! V^{n+1}(x) = min_u { β E[I V^n(feet of x under u)] + Δt ℓ(x, u, t_n) },   β = e^{−ρΔt},
//! ```
//!
//! first over the control samples (at state-constrained ends only those of the best
//! admissibility level), then, with `refine = true`, by a golden-section search per control in
//! `[u*_j − δ_j, u*_j + δ_j]`, kept only where it lowers the value. With regimes the expectation
//! mixes the regimes at the foot, `(1 − Δt Σ_k λ_jk) E[V_j(feet)] + Σ_k Δtλ_jk E[V_k(feet)]`. On
//! target sets (deterministic, no regimes) a step whose foot `y` crosses `{φ ≤ 0}` stops at the
//! fraction `θ = φ(x)/(φ(x) − φ(y))` and pays `θΔt ℓ + e^{−ρθΔt} g(x + θ(y − x))` when that is
//! lower.

use super::feet::{Coefficients, Scratch};
use super::{FootStatistics, SemiLagrangianStepper};
use crate::scheme::constraint::{admissibility, required_level};
use crate::scheme::hamiltonian::MAX_CONTROLS;
use crate::scheme::Tabulation;

/// Golden-section iterations per control (the bracket shrinks by 0.618²⁴ ≈ 1e-5).
const GOLDEN_ITERATIONS: usize = 24;

impl SemiLagrangianStepper<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn update_node<const D: usize>(
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
        let x = self.node_point::<D>(index);
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
    pub(super) fn candidate<const D: usize>(
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
}
