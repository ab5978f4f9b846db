//! The node rule of the high-order step: `Ĥ` at one node from its one-sided derivatives, for
//! what the row rule ([`crate::scheme::row_hamiltonian`]) does not cover — state constraints,
//! sampled controls, several states driven by one control, local-local dissipation, regimes,
//! and games: each input optimised in its player's sense (a maximiser's closed form is the
//! minimiser of the negated objective), the affine model of [`crate::scheme::affine`], and the
//! sampled min–max (outer optimum over the control samples, inner over the disturbance samples).

use super::{HighOrderStepper, NodeDerivatives};
use crate::grid::MAX_DIMENSIONS;
use crate::problem::game::Sense;
use crate::scheme::affine::optimise_quadratic;
use crate::scheme::constraint::{admissibility, required_level};
use crate::scheme::minimiser::closed_form_control;
use crate::scheme::{ControlModel, Tabulation};
use crate::settings::{Differencing, Dissipation};

impl HighOrderStepper<'_> {
    /// The numerical Hamiltonian `Ĥ` at `node` (module docs) from its one-sided derivatives; the
    /// minimising control goes to `controls`.
    #[inline(always)]
    pub(super) fn hamiltonian<const D: usize>(
        &self,
        table: &Tabulation,
        node: usize,
        index: &[usize; D],
        derivatives: &NodeDerivatives<'_>,
        controls: &mut [f64],
        global: Option<&[f64]>,
    ) -> f64 {
        let n = D;
        let NodeDerivatives { minus, plus, second } = *derivatives;
        let sides = if self.constraints.any() { self.constraints.sides(index) } else { None };
        let lax_friedrichs = self.differencing == Differencing::LaxFriedrichs;
        match self.model {
            ControlModel::Affine => {
                let affine =
                    self.game.as_ref().and_then(|game| game.affine.as_ref()).expect("an affine game");
                let mut central = [0.0f64; D];
                for k in 0..D {
                    central[k] = 0.5 * (plus[k] + minus[k]);
                }
                let mut hamiltonian = affine.hamiltonian::<D>(table, node, &central, controls);
                if !table.diffusion.is_empty() {
                    for (k, a) in table.diffusion[node * n..(node + 1) * n].iter().enumerate() {
                        hamiltonian += a * second[k];
                    }
                }
                for k in 0..n {
                    let alpha = match global {
                        Some(global) => global[k],
                        None => table.dissipation[node * n + k],
                    };
                    hamiltonian += alpha * 0.5 * (plus[k] - minus[k]);
                }
                hamiltonian
            }
            ControlModel::ClosedForm { control_of_state } => {
                let base = &table.drift_base[node * n..(node + 1) * n];
                let gain = &table.drift_gain[node * n..(node + 1) * n];
                let m = controls.len();
                let linear = &table.cost_linear[node * m..(node + 1) * m];
                let quadratic = &table.cost_quadratic[node * m..(node + 1) * m];
                let mut drift = [0.0f64; MAX_DIMENSIONS];
                drift[..n].copy_from_slice(base);
                let mut hamiltonian = table.cost_base[node];
                // A maximiser's argmax is the argmin of the negated objective: negated differences
                // and cost coefficients.
                let mut negated_plus = [0.0f64; MAX_DIMENSIONS];
                let mut negated_minus = [0.0f64; MAX_DIMENSIONS];
                if self.game.is_some() {
                    for k in 0..n {
                        negated_plus[k] = -plus[k];
                        negated_minus[k] = -minus[k];
                    }
                }
                for j in 0..m {
                    let driven = self.driven.states(j);
                    let maximise = self.sense(j) == Sense::Maximise;
                    let (forward, backward, sign) = if maximise {
                        (&negated_plus[..n], &negated_minus[..n], -1.0)
                    } else {
                        (&plus[..n], &minus[..n], 1.0)
                    };
                    let u = closed_form_control(
                        self.differencing,
                        base,
                        gain,
                        driven,
                        forward,
                        backward,
                        sides.as_ref(),
                        self.control_bounds[j],
                        1.0,
                        sign * linear[j],
                        sign * quadratic[j],
                    );
                    controls[j] = u;
                    hamiltonian += linear[j] * u + quadratic[j] * u * u;
                    for i in driven {
                        drift[*i] += gain[*i] * u;
                    }
                }
                for k in 0..n {
                    hamiltonian += if lax_friedrichs {
                        drift[k] * 0.5 * (plus[k] + minus[k])
                    } else if drift[k] > 0.0 {
                        drift[k] * plus[k]
                    } else {
                        drift[k] * minus[k]
                    };
                }
                if !table.diffusion.is_empty() {
                    for (k, a) in table.diffusion[node * n..(node + 1) * n].iter().enumerate() {
                        hamiltonian += a * second[k];
                    }
                }
                if lax_friedrichs {
                    let alpha = match (self.dissipation, global) {
                        (_, Some(global)) => {
                            let mut alpha = [0.0f64; MAX_DIMENSIONS];
                            alpha[..n].copy_from_slice(global);
                            alpha
                        }
                        (Dissipation::LocalLocal, None) => self.local_local_dissipation::<D>(
                            base,
                            gain,
                            linear,
                            quadratic,
                            control_of_state,
                            minus,
                            plus,
                        ),
                        _ => {
                            let mut alpha = [0.0f64; MAX_DIMENSIONS];
                            alpha[..n].copy_from_slice(&table.dissipation[node * n..(node + 1) * n]);
                            alpha
                        }
                    };
                    for k in 0..n {
                        hamiltonian += alpha[k] * 0.5 * (plus[k] - minus[k]);
                    }
                }
                hamiltonian
            }
            ControlModel::Sampled { values: samples, count } => {
                let m = controls.len();
                let diffusion_of = |s: usize| -> &[f64] {
                    if table.sample_diffusion.is_empty() {
                        &[]
                    } else {
                        &table.sample_diffusion[(node * count + s) * n..(node * count + s + 1) * n]
                    }
                };
                let drift_of =
                    |s: usize| &table.sample_drift[(node * count + s) * n..(node * count + s + 1) * n];
                let level = |s: usize, sides: &crate::scheme::constraint::Sides| {
                    admissibility(drift_of(s), diffusion_of(s), sides)
                };
                let required = sides.map(|sides| (sides, required_level(*count, |s| level(s, &sides))));
                let candidate_of = |s: usize| -> f64 {
                    let drift = drift_of(s);
                    let mut candidate = table.sample_cost[node * count + s];
                    for k in 0..n {
                        candidate += if lax_friedrichs {
                            drift[k] * 0.5 * (plus[k] + minus[k])
                        } else if drift[k] > 0.0 {
                            drift[k] * plus[k]
                        } else {
                            drift[k] * minus[k]
                        };
                    }
                    for (k, a) in diffusion_of(s).iter().enumerate() {
                        candidate += a * second[k];
                    }
                    candidate
                };
                let (mut best, best_sample) = match &self.game {
                    Some(game) => {
                        sampled_min_max(*count, game.disturbance_samples, self.sense(0), candidate_of)
                    }
                    None => {
                        let mut best = f64::INFINITY;
                        let mut best_sample = 0;
                        for s in 0..*count {
                            if required.as_ref().is_some_and(|(sides, required)| level(s, sides) < *required)
                            {
                                continue;
                            }
                            let candidate = candidate_of(s);
                            if candidate < best {
                                best = candidate;
                                best_sample = s;
                            }
                        }
                        (best, best_sample)
                    }
                };
                controls.copy_from_slice(&samples[best_sample * m..(best_sample + 1) * m]);
                if lax_friedrichs {
                    for k in 0..n {
                        let alpha = match global {
                            Some(global) => global[k],
                            None => table.dissipation[node * n + k],
                        };
                        best += alpha * 0.5 * (plus[k] - minus[k]);
                    }
                }
                best
            }
        }
    }

    /// How input `j` is optimised (every input minimises outside games).
    #[inline(always)]
    fn sense(&self, j: usize) -> Sense {
        self.game.as_ref().map_or(Sense::Minimise, |game| game.senses[j])
    }

    /// Local-local dissipation (closed form): `α_i = max |f_i(x, u*(p))|` over the gradients
    /// `p` in the box spanned by `p⁻` and `p⁺`. Each `u*_j` minimises `(c_j + Σ_i b_i p_i) u +
    /// r_j u²` and is monotone in that slope, so its range is spanned by the slope's extremes.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn local_local_dissipation<const D: usize>(
        &self,
        base: &[f64],
        gain: &[f64],
        linear: &[f64],
        quadratic: &[f64],
        control_of_state: &[Option<usize>],
        minus: &[f64; MAX_DIMENSIONS],
        plus: &[f64; MAX_DIMENSIONS],
    ) -> [f64; MAX_DIMENSIONS] {
        let mut alpha = [0.0f64; MAX_DIMENSIONS];
        for k in 0..D {
            if control_of_state[k].is_none() {
                alpha[k] = base[k].abs();
            }
        }
        for (j, bounds) in self.control_bounds.iter().enumerate() {
            let (mut low, mut high) = (linear[j], linear[j]);
            for i in self.driven.states(j) {
                let (a, b) = (gain[*i] * minus[*i], gain[*i] * plus[*i]);
                low += a.min(b);
                high += a.max(b);
            }
            let sense = self.sense(j);
            let u_low = optimise_quadratic(sense, low, quadratic[j], bounds.0, bounds.1);
            let u_high = optimise_quadratic(sense, high, quadratic[j], bounds.0, bounds.1);
            for i in self.driven.states(j) {
                alpha[*i] = (base[*i] + gain[*i] * u_low).abs().max((base[*i] + gain[*i] * u_high).abs());
            }
        }
        alpha
    }
}

/// The sampled min–max: `opt_u opt'_d candidate(u, d)` over `count` samples in which each control
/// sample's `inner` disturbance samples are consecutive; `outer` is the control's sense. Returns
/// the value and the sample (control and its disturbance answer) that attains it. Ties keep the
/// first sample, so the choice is deterministic.
#[inline(always)]
fn sampled_min_max(
    count: usize,
    inner: usize,
    outer: Sense,
    candidate: impl Fn(usize) -> f64,
) -> (f64, usize) {
    let inner = inner.max(1);
    let better = |sense: Sense, a: f64, b: f64| match sense {
        Sense::Minimise => a < b,
        Sense::Maximise => a > b,
    };
    let worst = |sense: Sense| match sense {
        Sense::Minimise => f64::INFINITY,
        Sense::Maximise => f64::NEG_INFINITY,
    };
    let inner_sense = outer.opposite();
    let mut best = (worst(outer), 0);
    for first in (0..count).step_by(inner) {
        let mut answer = (worst(inner_sense), first);
        for s in first..(first + inner).min(count) {
            let value = candidate(s);
            if better(inner_sense, value, answer.0) {
                answer = (value, s);
            }
        }
        if better(outer, answer.0, best.0) {
            best = answer;
        }
    }
    best
}
