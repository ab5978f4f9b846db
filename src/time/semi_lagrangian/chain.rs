//! The semi-Lagrangian step read as a Markov chain on the nodes, for the MDP bridge
//! (`docs/numerics.md` §4.4 and §6).
//!
//! Under the control sample `u`, node `x` moves to the corners of the interpolation cells of its
//! feet with the multilinear weights:
//!
//! ```text
//! P(x → z | u) = Σ_{regimes r} p_r · 1/F Σ_{feet y'} w_z(y'),   I V(y') = Σ_z w_z(y') V(z),
//! ```
//!
//! `F` the number of Camilli–Falcone feet (1 without noise), `p_r` the stay weight
//! `1 − Δt Σλ` and the jump weights `Δtλ_jk` with regimes. The weights are nonnegative and sum
//! to one once feet beyond an extrapolated end are projected onto the box
//! ([`SemiLagrangianStepper::projecting_feet`]). The chain has no exit-at-target rule.

use super::feet::Scratch;
use super::{SemiLagrangianStepper, MAX_CORNERS};
use crate::grid::interpolation::AxisRule;
use crate::scheme::Tabulation;

/// The interpolation stencil of one point: `value = Σ weight · V[node]`.
#[derive(Debug, Clone, Copy)]
pub struct Stencil {
    /// The corner nodes (the first `count` are used).
    pub nodes: [usize; MAX_CORNERS],
    /// Their multilinear weights (sum one; negative only at extrapolated ends).
    pub weights: [f64; MAX_CORNERS],
    /// Number of corners, `2^D`.
    pub count: usize,
    /// The point lies outside the box on a bounded axis.
    pub outside: bool,
    /// Some weight is negative (linear extrapolation).
    pub extrapolated: bool,
}

impl SemiLagrangianStepper<'_> {
    /// The multilinear interpolation stencil at `point` (nodes and weights; the Markov chain's
    /// row for one foot).
    pub fn stencil<const D: usize>(&self, point: &[f64; D]) -> Stencil {
        let cell = self.locate::<D>(point);
        let mut stencil = Stencil {
            nodes: [0; MAX_CORNERS],
            weights: [0.0; MAX_CORNERS],
            count: 1 << D,
            outside: cell.outside,
            extrapolated: cell.extrapolated,
        };
        for corner in 0..(1usize << D) {
            let (flat, weight) = cell.corner(corner, &self.strides);
            stencil.nodes[corner] = flat;
            stencil.weights[corner] = weight;
        }
        stencil
    }

    /// The same stepper with feet beyond an extrapolated box end projected onto the box (the
    /// state-constrained chain the MDP bridge needs: every weight ≥ 0).
    pub fn projecting_feet(mut self) -> Self {
        for closure in &mut self.closures {
            if *closure == AxisRule::Extrapolate {
                *closure = AxisRule::Clamp;
            }
        }
        self
    }

    /// Transition probabilities of node `node` under control sample `s` (the Markov chain of the
    /// scheme): `(target node, weight)` over all feet, summed per target and sorted; and whether
    /// a foot left the box. The weights sum to one.
    pub fn sample_transitions(&self, table: &Tabulation, node: usize, s: usize) -> (Vec<(usize, f64)>, bool) {
        match self.shape.len() {
            1 => self.sample_transitions_in::<1>(table, node, s),
            2 => self.sample_transitions_in::<2>(table, node, s),
            3 => self.sample_transitions_in::<3>(table, node, s),
            4 => self.sample_transitions_in::<4>(table, node, s),
            5 => self.sample_transitions_in::<5>(table, node, s),
            _ => self.sample_transitions_in::<6>(table, node, s),
        }
    }

    fn sample_transitions_in<const D: usize>(
        &self,
        table: &Tabulation,
        node: usize,
        s: usize,
    ) -> (Vec<(usize, f64)>, bool) {
        let mut scratch = Scratch::new(self.problem);
        let mut index = [0usize; D];
        self.problem.grid.unravel_inplace(node, &mut index);
        let x = self.node_point::<D>(&index);
        let m = self.problem.controls.len();
        let controls = &self.samples[s * m..(s + 1) * m];
        let coefficients = self.sample_coefficients::<D>(table, node, s);
        let mut foot = [0.0f64; D];
        self.foot::<D>(&x, &coefficients, self.problem.tabulation_time(), controls, &mut scratch, &mut foot);
        let mut pairs: Vec<(usize, f64)> = Vec::new();
        let mut outside = false;
        // Regime jumps at the foot (weights Δtλ_jk, stay 1 − Δt Σλ), as in the step.
        let mut regimes = vec![(foot, 1.0)];
        if let Some(switching) = &self.problem.switching {
            let axis = switching.axis;
            for (_, k, rate) in switching.jumps(node) {
                let mut shifted = foot;
                shifted[axis] = self.lower[axis] + k as f64 * self.spacing[axis];
                regimes.push((shifted, self.time_step * rate));
                regimes[0].1 -= self.time_step * rate;
            }
        }
        for (foot, probability) in regimes {
            let start = pairs.len();
            let mut visit = |point: &[f64; D]| {
                let stencil = self.stencil::<D>(point);
                outside |= stencil.outside;
                for c in 0..stencil.count {
                    pairs.push((stencil.nodes[c], stencil.weights[c]));
                }
            };
            let feet = self.for_each_foot::<D>(&foot, &coefficients, &mut visit);
            for pair in &mut pairs[start..] {
                pair.1 *= probability / feet as f64;
            }
        }
        (merge(pairs), outside)
    }
}

/// Sort by target and add up duplicate targets.
pub(crate) fn merge(mut pairs: Vec<(usize, f64)>) -> Vec<(usize, f64)> {
    pairs.sort_by_key(|pair| pair.0);
    let mut merged: Vec<(usize, f64)> = Vec::with_capacity(pairs.len());
    for (target, weight) in pairs {
        match merged.last_mut() {
            Some(last) if last.0 == target => last.1 += weight,
            _ => merged.push((target, weight)),
        }
    }
    merged.retain(|pair| pair.1 != 0.0);
    merged
}
