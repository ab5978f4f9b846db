//! The node rule of the high-order step: `Ĥ` at one node from its one-sided derivatives, for
//! what the row rule ([`crate::scheme::row_hamiltonian`]) does not cover — state constraints,
//! sampled controls, several states driven by one control, local-local dissipation, regimes.

use super::{HighOrderStepper, NodeDerivatives};
use crate::grid::MAX_DIMENSIONS;
use crate::scheme::constraint::{admissibility, required_level};
use crate::scheme::minimiser::{closed_form_control, minimise_quadratic};
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
            ControlModel::ClosedForm { control_of_state } => {
                let base = &table.drift_base[node * n..(node + 1) * n];
                let gain = &table.drift_gain[node * n..(node + 1) * n];
                let m = controls.len();
                let linear = &table.cost_linear[node * m..(node + 1) * m];
                let quadratic = &table.cost_quadratic[node * m..(node + 1) * m];
                let mut drift = [0.0f64; MAX_DIMENSIONS];
                drift[..n].copy_from_slice(base);
                let mut hamiltonian = table.cost_base[node];
                for j in 0..m {
                    let driven = self.driven.states(j);
                    let u = closed_form_control(
                        self.differencing,
                        base,
                        gain,
                        driven,
                        &plus[..n],
                        &minus[..n],
                        sides.as_ref(),
                        self.control_bounds[j],
                        1.0,
                        linear[j],
                        quadratic[j],
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
                let mut best = f64::INFINITY;
                let mut best_sample = 0;
                for s in 0..*count {
                    if required.as_ref().is_some_and(|(sides, required)| level(s, sides) < *required) {
                        continue;
                    }
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
                    if candidate < best {
                        best = candidate;
                        best_sample = s;
                    }
                }
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
            let u_low = minimise_quadratic(low, quadratic[j], bounds.0, bounds.1);
            let u_high = minimise_quadratic(high, quadratic[j], bounds.0, bounds.1);
            for i in self.driven.states(j) {
                alpha[*i] = (base[*i] + gain[*i] * u_low).abs().max((base[*i] + gain[*i] * u_high).abs());
            }
        }
        alpha
    }
}
