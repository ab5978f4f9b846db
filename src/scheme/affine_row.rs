//! The affine game Hamiltonian of [`crate::scheme::affine`] over a row of nodes, in loops over
//! the row that the compiler vectorises: the coefficients are read as columns (one contiguous
//! array per coefficient, [`AffineColumns`]) and each input's optimum is a select, not a branch.
//!
//! Per node the operations, and their order, are exactly those of
//! [`AffineInputs::hamiltonian`](crate::scheme::affine) followed by the diffusion and dissipation
//! terms of the node rule, summed left to right, so both paths give the same bits (tested):
//!
//! ```text
//! Ĥ = ℓ_0 + Σ_i a_i p̄_i + Σ_j (s_j w_j + r_j w_j²) + Σ_i a_ii D²_i V + Σ_i α_i (p⁺_i − p⁻_i)/2.
//! ```
//!
//! Balls are left to the node rule.

use super::affine::AffineInputs;
use super::row_hamiltonian::transpose;
use super::Tabulation;

/// The affine model's coefficients as columns: `base[i·N + node]`, `gain[(i·m + j)·N + node]`,
/// `linear[j·N + node]`, `quadratic[j·N + node]`, `diffusion[i·N + node]` (empty: none),
/// `dissipation[i·N + node]`, `cost_base[node]`.
#[derive(Debug, Clone)]
pub struct AffineColumns {
    nodes: usize,
    base: Vec<f64>,
    gain: Vec<f64>,
    linear: Vec<f64>,
    quadratic: Vec<f64>,
    diffusion: Vec<f64>,
    dissipation: Vec<f64>,
    cost_base: Vec<f64>,
}

impl AffineColumns {
    /// The columns of an affine `table` with `n` axes and `m` inputs.
    pub fn of(table: &Tabulation, nodes: usize, n: usize, m: usize) -> AffineColumns {
        AffineColumns {
            nodes,
            base: transpose(&table.drift_base, nodes, n),
            gain: transpose(&table.input_gain, nodes, n * m),
            linear: transpose(&table.cost_linear, nodes, m),
            quadratic: transpose(&table.cost_quadratic, nodes, m),
            diffusion: transpose(&table.diffusion, nodes, n),
            dissipation: transpose(&table.dissipation, nodes, n),
            cost_base: table.cost_base.clone(),
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        8 * (self.base.len()
            + self.gain.len()
            + self.linear.len()
            + self.quadratic.len()
            + self.diffusion.len()
            + self.dissipation.len()
            + self.cost_base.len())
    }
}

/// The row's one-sided derivatives and second differences, `[axis · length + r]`, and the global
/// dissipation (`None`: the local one of the columns).
#[derive(Debug, Clone, Copy)]
pub struct AffineRow<'a> {
    /// `p⁻`.
    pub minus: &'a [f64],
    /// `p⁺`.
    pub plus: &'a [f64],
    /// `D²V`.
    pub second: &'a [f64],
    /// Global Lax–Friedrichs α per axis.
    pub global: Option<&'a [f64]>,
}

impl AffineInputs {
    /// `Ĥ` into `hamiltonian[r]` and the optimal inputs into `inputs[j · length + r]` for the
    /// nodes `first .. first + length` (module docs). The inputs are boxes (no balls).
    #[inline(always)]
    pub(crate) fn evaluate_row<const D: usize>(
        &self,
        columns: &AffineColumns,
        first: usize,
        row: &AffineRow<'_>,
        hamiltonian: &mut [f64],
        inputs: &mut [f64],
    ) {
        let length = hamiltonian.len();
        let nodes = columns.nodes;
        let m = columns.linear.len() / nodes.max(1);
        let mut plus: [&[f64]; D] = [&[]; D];
        let mut minus: [&[f64]; D] = [&[]; D];
        for i in 0..D {
            plus[i] = &row.plus[i * length..][..length];
            minus[i] = &row.minus[i * length..][..length];
        }
        let central = |i: usize, r: usize| 0.5 * (plus[i][r] + minus[i][r]);
        hamiltonian.copy_from_slice(&columns.cost_base[first..first + length]);
        for i in 0..D {
            let base = &columns.base[i * nodes + first..][..length];
            for r in 0..length {
                hamiltonian[r] += base[r] * central(i, r);
            }
        }
        for j in 0..m {
            let linear = &columns.linear[j * nodes + first..][..length];
            let quadratic = &columns.quadratic[j * nodes + first..][..length];
            let mut gain: [&[f64]; D] = [&[]; D];
            for (i, column) in gain.iter_mut().enumerate() {
                *column = &columns.gain[(i * m + j) * nodes + first..][..length];
            }
            let (sign, lower, upper) = self.input_box(j);
            let flat = 0.0f64.clamp(lower, upper);
            let out = &mut inputs[j * length..][..length];
            for r in 0..length {
                let mut s = linear[r];
                for i in 0..D {
                    s += gain[i][r] * central(i, r);
                }
                let q = quadratic[r];
                // r = 0: the bound against the sense-adjusted slope (as the node rule).
                let signed = sign * s;
                let linear_choice = if signed > 0.0 {
                    lower
                } else if signed < 0.0 {
                    upper
                } else {
                    flat
                };
                let w =
                    if q == 0.0 { linear_choice } else { quadratic_choice(sign * s, sign * q, lower, upper) };
                out[r] = w;
                hamiltonian[r] += s * w + q * w * w;
            }
        }
        if !columns.diffusion.is_empty() {
            for i in 0..D {
                let diffusion = &columns.diffusion[i * nodes + first..][..length];
                let second = &row.second[i * length..][..length];
                for r in 0..length {
                    hamiltonian[r] += diffusion[r] * second[r];
                }
            }
        }
        for i in 0..D {
            let (plus, minus) = (&row.plus[i * length..][..length], &row.minus[i * length..][..length]);
            match row.global {
                Some(global) => {
                    for r in 0..length {
                        hamiltonian[r] += global[i] * 0.5 * (plus[r] - minus[r]);
                    }
                }
                None => {
                    let alpha = &columns.dissipation[i * nodes + first..][..length];
                    for r in 0..length {
                        hamiltonian[r] += alpha[r] * 0.5 * (plus[r] - minus[r]);
                    }
                }
            }
        }
    }
}

/// [`crate::scheme::minimiser::minimise_quadratic`] for `quadratic ≠ 0`, written with selects
/// (the same arithmetic, hence the same bits).
#[inline(always)]
fn quadratic_choice(linear: f64, quadratic: f64, lower: f64, upper: f64) -> f64 {
    let vertex = (-linear / (2.0 * quadratic)).clamp(lower, upper);
    let at_lower = linear * lower + quadratic * lower * lower;
    let at_upper = linear * upper + quadratic * upper * upper;
    let end = if at_upper < at_lower {
        upper
    } else if at_lower < at_upper {
        lower
    } else {
        0.0f64.clamp(lower, upper)
    };
    if quadratic > 0.0 {
        vertex
    } else {
        end
    }
}
