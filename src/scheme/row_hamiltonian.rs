//! The closed-form numerical Hamiltonian over a row of nodes at once: the same arithmetic as the
//! node rule ([`crate::scheme::minimiser::closed_form_control`] with scale 1, then the upwind or
//! Lax–Friedrichs terms), written as straight-line loops over contiguous arrays with selects
//! instead of branches, so that the compiler vectorises them. It applies when every control
//! drives exactly one state (the common case: double integrators, cars, planes) and no state
//! constraint restricts the controls; the high-order stepper uses the node rule otherwise.
//!
//! ```text
//! u_j = argmin_u { c_j u + r_j u² + φ(a_i + b_i u) }   (upwind: φ(s) = s⁺p⁺_i + s⁻p⁻_i, pieces
//!                                                       split at the root of a_i + b_i u)
//! u_j = argmin_u { (c_j + b_i p̄_i) u + r_j u² }        (Lax–Friedrichs, p̄ = (p⁺ + p⁻)/2)
//! Ĥ = ℓ_0 + Σ_j (c_j u_j + r_j u_j²) + Σ_i φ_i(f_i) + Σ_i a_i D²_i V [+ Σ_i α_i (p⁺_i − p⁻_i)/2]
//! ```

use crate::scheme::minimiser::upwind_term;
use crate::scheme::Tabulation;
use crate::settings::Differencing;

/// The closed-form coefficients of a [`Tabulation`] transposed to one contiguous column per axis
/// or control (`[axis · nodes + node]`), so that a row of nodes reads them as slices.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    nodes: usize,
    base: Vec<f64>,
    gain: Vec<f64>,
    linear: Vec<f64>,
    quadratic: Vec<f64>,
    diffusion: Vec<f64>,
    dissipation: Vec<f64>,
}

/// Interleaved `[node · width + k]` → columns `[k · nodes + node]` (empty stays empty): how the
/// row rules read tabulated coefficients.
pub(crate) fn transpose(interleaved: &[f64], nodes: usize, width: usize) -> Vec<f64> {
    if interleaved.is_empty() || width == 0 {
        return Vec::new();
    }
    let mut columns = vec![0.0; interleaved.len()];
    for (node, row) in interleaved.chunks_exact(width).enumerate() {
        for (k, value) in row.iter().enumerate() {
            columns[k * nodes + node] = *value;
        }
    }
    columns
}

impl Columns {
    /// The columns of `table` (closed form) with `n` axes and `m` controls.
    pub fn of(table: &Tabulation, nodes: usize, n: usize, m: usize) -> Columns {
        let transpose = |interleaved: &[f64], width: usize| transpose(interleaved, nodes, width);
        Columns {
            nodes,
            base: transpose(&table.drift_base, n),
            gain: transpose(&table.drift_gain, n),
            linear: transpose(&table.cost_linear, m),
            quadratic: transpose(&table.cost_quadratic, m),
            diffusion: transpose(&table.diffusion, n),
            dissipation: transpose(&table.dissipation, n),
        }
    }

    /// Column `k` of `data` for the nodes `first .. first + length`.
    #[inline(always)]
    fn slice<'c>(&self, data: &'c [f64], k: usize, first: usize, length: usize) -> &'c [f64] {
        &data[k * self.nodes + first..][..length]
    }
}

/// Scratch for one row: the drift per axis, gains, cost coefficients, controls and `Ĥ`.
#[derive(Debug, Clone)]
pub struct RowHamiltonian {
    length: usize,
    drift: Vec<f64>,
    /// `u_j` at `j · length + r`.
    pub controls: Vec<f64>,
    /// `Ĥ` at each node of the row.
    pub hamiltonian: Vec<f64>,
}

/// What the row rule reads besides the table: the row's one-sided derivatives and second
/// differences (`[axis · length + r]`), the driven state of each control, the control bounds and
/// the Lax–Friedrichs dissipation (`None` for upwind; `Some(None)` local, `Some(Some(α))` global).
#[derive(Debug, Clone, Copy)]
pub struct RowInputs<'a> {
    /// `p⁻` per axis and node.
    pub minus: &'a [f64],
    /// `p⁺` per axis and node.
    pub plus: &'a [f64],
    /// `D²V` per axis and node.
    pub second: &'a [f64],
    /// The state driven by each control.
    pub driven: &'a [usize],
    /// `[lower, upper]` of each control.
    pub bounds: &'a [(f64, f64)],
    /// Upwind or Lax–Friedrichs.
    pub differencing: Differencing,
    /// Lax–Friedrichs only: the grid-wide `α_i` (global), or `None` for the table's local `α_i(x)`.
    pub global: Option<&'a [f64]>,
}

impl RowHamiltonian {
    /// Scratch for rows of `length` nodes, `dimension` axes and `controls` controls.
    pub fn new(length: usize, dimension: usize, controls: usize) -> RowHamiltonian {
        RowHamiltonian {
            length,
            drift: vec![0.0; dimension * length],
            controls: vec![0.0; controls * length],
            hamiltonian: vec![0.0; length],
        }
    }

    /// `Ĥ` and the minimising controls for the row of nodes `first .. first + length`.
    #[inline(always)]
    pub fn evaluate(&mut self, table: &Tabulation, columns: &Columns, first: usize, inputs: &RowInputs<'_>) {
        let length = self.length;
        let n = self.drift.len() / length;
        let lax_friedrichs = inputs.differencing == Differencing::LaxFriedrichs;
        self.hamiltonian.copy_from_slice(&table.cost_base[first..first + length]);
        for i in 0..n {
            self.drift[i * length..][..length].copy_from_slice(columns.slice(
                &columns.base,
                i,
                first,
                length,
            ));
        }
        for (j, (&i, &(lower, upper))) in inputs.driven.iter().zip(inputs.bounds).enumerate() {
            // Slices of exactly `length`, so the loop below has no bounds checks and vectorises.
            let drift = &mut self.drift[i * length..][..length];
            let gain = columns.slice(&columns.gain, i, first, length);
            let plus = &inputs.plus[i * length..][..length];
            let minus = &inputs.minus[i * length..][..length];
            let linear = columns.slice(&columns.linear, j, first, length);
            let quadratic = columns.slice(&columns.quadratic, j, first, length);
            let controls = &mut self.controls[j * length..][..length];
            let hamiltonian = &mut self.hamiltonian[..length];
            for r in 0..length {
                let (a, b, c, q) = (drift[r], gain[r], linear[r], quadratic[r]);
                let u = if lax_friedrichs {
                    quadratic_select(c + b * 0.5 * (plus[r] + minus[r]), q, lower, upper)
                } else {
                    single_select(a, b, plus[r], minus[r], c, q, lower, upper)
                };
                controls[r] = u;
                hamiltonian[r] += c * u + q * u * u;
                drift[r] = a + b * u;
            }
        }
        for i in 0..n {
            let drift = &self.drift[i * length..][..length];
            let plus = &inputs.plus[i * length..][..length];
            let minus = &inputs.minus[i * length..][..length];
            let hamiltonian = &mut self.hamiltonian[..length];
            for r in 0..length {
                let f = drift[r];
                hamiltonian[r] += if lax_friedrichs {
                    f * 0.5 * (plus[r] + minus[r])
                } else {
                    upwind_term(f, plus[r], minus[r])
                };
            }
        }
        if !columns.diffusion.is_empty() {
            for i in 0..n {
                let second = &inputs.second[i * length..][..length];
                let diffusion = columns.slice(&columns.diffusion, i, first, length);
                let hamiltonian = &mut self.hamiltonian[..length];
                for r in 0..length {
                    hamiltonian[r] += diffusion[r] * second[r];
                }
            }
        }
        if lax_friedrichs {
            for i in 0..n {
                let plus = &inputs.plus[i * length..][..length];
                let minus = &inputs.minus[i * length..][..length];
                let hamiltonian = &mut self.hamiltonian[..length];
                match inputs.global {
                    Some(global) => {
                        for r in 0..length {
                            hamiltonian[r] += global[i] * 0.5 * (plus[r] - minus[r]);
                        }
                    }
                    None => {
                        let alpha = columns.slice(&columns.dissipation, i, first, length);
                        for r in 0..length {
                            hamiltonian[r] += alpha[r] * 0.5 * (plus[r] - minus[r]);
                        }
                    }
                }
            }
        }
    }
}

/// [`crate::scheme::minimiser::minimise_quadratic`] with selects.
#[inline(always)]
pub(crate) fn quadratic_select(linear: f64, quadratic: f64, lower: f64, upper: f64) -> f64 {
    let vertex = (-linear / (2.0 * quadratic)).max(lower).min(upper);
    let at_lower = linear * lower + quadratic * lower * lower;
    let at_upper = linear * upper + quadratic * upper * upper;
    let linear_case = if at_upper < at_lower {
        upper
    } else if at_lower < at_upper {
        lower
    } else {
        0.0f64.max(lower).min(upper)
    };
    if quadratic > 0.0 {
        vertex
    } else {
        linear_case
    }
}

/// [`crate::scheme::minimiser::minimise_single`] (scale 1) with selects: both pieces are
/// computed and the better one by the true objective is kept.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn single_select(
    base: f64,
    gain: f64,
    forward: f64,
    backward: f64,
    linear: f64,
    quadratic: f64,
    lower: f64,
    upper: f64,
) -> f64 {
    let root = (-base / gain).max(lower).min(upper);
    let positive_slope = linear + gain * forward;
    let negative_slope = linear + gain * backward;
    let rising = gain > 0.0;
    let (positive_low, positive_high) =
        (if rising { root } else { lower }, if rising { upper } else { root });
    let (negative_low, negative_high) =
        (if rising { lower } else { root }, if rising { root } else { upper });
    // As in the node rule: one division for both vertices when the cost is strictly convex.
    let vertex_scale = -0.5 / quadratic;
    let first = if quadratic > 0.0 {
        (positive_slope * vertex_scale).max(positive_low).min(positive_high)
    } else {
        quadratic_select(positive_slope, quadratic, positive_low, positive_high)
    };
    let second = if quadratic > 0.0 {
        (negative_slope * vertex_scale).max(negative_low).min(negative_high)
    } else {
        quadratic_select(negative_slope, quadratic, negative_low, negative_high)
    };
    let objective = |u: f64| linear * u + quadratic * u * u + upwind_term(base + gain * u, forward, backward);
    let better = if objective(second) < objective(first) { second } else { first };
    if gain == 0.0 {
        quadratic_select(linear, quadratic, lower, upper)
    } else {
        better
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::minimiser::{minimise_quadratic, minimise_single};

    #[test]
    fn the_select_forms_equal_the_node_rules() {
        // A grid of cases through every branch: signs of the gain and the drift, bang-bang
        // (q = 0) and interior (q > 0) minima, roots inside and outside the box.
        let values = [-2.0, -0.7, 0.0, 0.3, 1.5];
        for base in values {
            for gain in values {
                for forward in values {
                    for backward in values {
                        for (linear, quadratic) in [(0.0, 0.0), (0.4, 0.0), (-0.3, 0.5), (1.0, 2.0)] {
                            let expected = minimise_single(
                                base, gain, forward, backward, 1.0, linear, quadratic, -1.0, 1.0,
                            );
                            let got =
                                single_select(base, gain, forward, backward, linear, quadratic, -1.0, 1.0);
                            assert_eq!(
                                expected.to_bits(),
                                got.to_bits(),
                                "{base} {gain} {forward} {backward}"
                            );
                            let expected = minimise_quadratic(linear + forward, quadratic, -1.0, 1.0);
                            let got = quadratic_select(linear + forward, quadratic, -1.0, 1.0);
                            assert_eq!(expected.to_bits(), got.to_bits());
                        }
                    }
                }
            }
        }
    }
}
