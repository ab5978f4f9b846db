//! The feet of the semi-Lagrangian step and the coefficients they are built from
//! (`docs/numerics.md` §4.4).
//!
//! The foot of the characteristic from the node `x` under the control `u`,
//!
//! ```text
//! y = x + Δt f(x, u, t_n)                                            (Euler), or
//! y = x + Δt/2 · ( f(x, u, t_n) + f(x + Δt f(x, u, t_n), u, t_n) )   (Heun),
//! ```
//!
//! and, with noise on the `q` axes (or columns of σ) `K`, the `2q` Camilli–Falcone feet
//! `y ± √(qΔt) σ_k` (mean `y`, covariance `Δt σσᵀ`), over which the step averages the
//! multilinear interpolant: `E[I V(feet)] = 1/(2q) Σ_k [I V(y + √(qΔt) σ_k) + I V(y − √(qΔt) σ_k)]`.
//!
//! The per-node coefficients `f, σ, ℓ` ([`Coefficients`]) come from the tabulation at the control
//! samples ([`SemiLagrangianStepper::sample_coefficients`]), from the closed form (affine drift,
//! quadratic cost) at any control, or, for general formulas off the samples, from a scalar
//! evaluation of the compiled formulas in a per-task [`Scratch`].

use super::SemiLagrangianStepper;
use crate::grid::interpolation::Cell;
use crate::grid::MAX_DIMENSIONS;
use crate::problem::Problem;
use crate::scheme::{ControlModel, Tabulation};

/// Coefficients of one (node, control) pair.
#[derive(Debug, Clone, Copy)]
pub(super) struct Coefficients<'t> {
    pub(super) drift: [f64; MAX_DIMENSIONS],
    /// `σ_k = √(2a_kk)` per axis (0 without noise): the diagonal, for constraints and reports.
    pub(super) sigma: [f64; MAX_DIMENSIONS],
    pub(super) cost: f64,
    /// Correlated noise: the full `σ` (n × k, row-major) from the tabulation; empty otherwise.
    pub(super) matrix: &'t [f64],
}

impl SemiLagrangianStepper<'_> {
    /// `E[I V(feet)]` over the Camilli–Falcone feet around `foot` (just `I V(foot)` without noise).
    #[inline(always)]
    pub(super) fn expectation<const D: usize>(
        &self,
        old: &[f64],
        foot: &[f64; D],
        coefficients: &Coefficients,
    ) -> f64 {
        let mut total = 0.0;
        let mut visit = |point: &[f64; D]| total += self.interpolate::<D>(old, point);
        let feet = self.for_each_foot::<D>(foot, coefficients, &mut visit);
        total / feet as f64
    }

    /// Multilinear interpolation of `field` at `point`.
    #[inline(always)]
    pub(super) fn interpolate<const D: usize>(&self, field: &[f64], point: &[f64; D]) -> f64 {
        self.locate::<D>(point).apply(field, &self.strides)
    }

    /// Visit the Camilli–Falcone feet around `foot` (just `foot` without noise); returns their
    /// number.
    #[inline(always)]
    pub(super) fn for_each_foot<const D: usize>(
        &self,
        foot: &[f64; D],
        coefficients: &Coefficients,
        visit: &mut impl FnMut(&[f64; D]),
    ) -> usize {
        if self.noisy.is_empty() {
            visit(foot);
            return 1;
        }
        let spread = (self.noisy.len() as f64 * self.time_step).sqrt();
        if !coefficients.matrix.is_empty() {
            // Correlated noise: feet along the columns of σ (here `noisy` lists columns).
            let columns = coefficients.matrix.len() / D;
            for &c in &self.noisy {
                let mut plus = *foot;
                let mut minus = *foot;
                for i in 0..D {
                    let step = spread * coefficients.matrix[i * columns + c];
                    plus[i] += step;
                    minus[i] -= step;
                }
                visit(&plus);
                visit(&minus);
            }
            return 2 * self.noisy.len();
        }
        for &k in &self.noisy {
            let mut point = *foot;
            point[k] = foot[k] + spread * coefficients.sigma[k];
            visit(&point);
            point[k] = foot[k] - spread * coefficients.sigma[k];
            visit(&point);
        }
        2 * self.noisy.len()
    }

    /// The foot of the characteristic from `x` (Euler or Heun).
    #[inline(always)]
    pub(super) fn foot<const D: usize>(
        &self,
        x: &[f64; D],
        coefficients: &Coefficients,
        t: f64,
        controls: &[f64],
        scratch: &mut Scratch,
        foot: &mut [f64; D],
    ) {
        for k in 0..D {
            foot[k] = x[k] + self.time_step * coefficients.drift[k];
        }
        if self.heun {
            let predicted = *foot;
            let mut drift = [0.0f64; MAX_DIMENSIONS];
            scratch.drift_at(self.problem, &predicted, controls, t, &mut drift[..D]);
            for k in 0..D {
                foot[k] = x[k] + 0.5 * self.time_step * (coefficients.drift[k] + drift[k]);
            }
        }
    }

    /// Coefficients at control sample `s` (from the tabulation).
    #[inline(always)]
    pub(super) fn sample_coefficients<'t, const D: usize>(
        &self,
        table: &'t Tabulation,
        node: usize,
        s: usize,
    ) -> Coefficients<'t> {
        let ControlModel::Sampled { count, .. } = self.model else {
            let m = self.problem.controls.len();
            return self.closed_form_coefficients::<D>(table, node, &self.samples[s * m..(s + 1) * m]);
        };
        let row = node * count + s;
        let mut coefficients = Coefficients {
            drift: [0.0; MAX_DIMENSIONS],
            sigma: [0.0; MAX_DIMENSIONS],
            cost: table.sample_cost[row],
            matrix: noise_row(table, row, D),
        };
        coefficients.drift[..D].copy_from_slice(&table.sample_drift[row * D..(row + 1) * D]);
        if !table.sample_diffusion.is_empty() {
            for k in 0..D {
                coefficients.sigma[k] = (2.0 * table.sample_diffusion[row * D + k]).sqrt();
            }
        }
        coefficients
    }

    #[inline(always)]
    pub(super) fn closed_form_coefficients<'t, const D: usize>(
        &self,
        table: &'t Tabulation,
        node: usize,
        controls: &[f64],
    ) -> Coefficients<'t> {
        let ControlModel::ClosedForm { control_of_state } = self.model else {
            unreachable!("closed-form coefficients of a sampled model")
        };
        let m = controls.len();
        let mut coefficients = Coefficients {
            drift: [0.0; MAX_DIMENSIONS],
            sigma: [0.0; MAX_DIMENSIONS],
            cost: 0.0,
            matrix: noise_row(table, node, D),
        };
        for k in 0..D {
            coefficients.drift[k] = table.drift_base[node * D + k]
                + control_of_state[k].map_or(0.0, |j| table.drift_gain[node * D + k] * controls[j]);
        }
        coefficients.cost = table.cost_base[node];
        for (j, u) in controls.iter().enumerate() {
            coefficients.cost +=
                table.cost_linear[node * m + j] * u + table.cost_quadratic[node * m + j] * u * u;
        }
        if !table.diffusion.is_empty() {
            for k in 0..D {
                coefficients.sigma[k] = (2.0 * table.diffusion[node * D + k]).sqrt();
            }
        }
        coefficients
    }

    /// Coefficients at an arbitrary control.
    /// (Sampled models with a noise matrix never get here: their refinement is off, and the
    /// report uses the tabulated sample coefficients.)
    pub(super) fn point_coefficients<'t, const D: usize>(
        &self,
        table: &'t Tabulation,
        node: usize,
        x: &[f64; D],
        controls: &[f64],
        t: f64,
        scratch: &mut Scratch,
    ) -> Coefficients<'t> {
        match self.model {
            ControlModel::ClosedForm { .. } => self.closed_form_coefficients::<D>(table, node, controls),
            ControlModel::Affine => {
                unreachable!("the affine game model runs on the high-order stepper (time::stepper)")
            }
            ControlModel::Sampled { .. } => {
                let mut coefficients = Coefficients {
                    drift: [0.0; MAX_DIMENSIONS],
                    sigma: [0.0; MAX_DIMENSIONS],
                    cost: 0.0,
                    matrix: &[],
                };
                scratch.drift_at(self.problem, x, controls, t, &mut coefficients.drift[..D]);
                coefficients.cost = scratch.evaluate(&self.problem.running_cost);
                if let Some(sigma) = &self.problem.diffusion {
                    for (k, formula) in sigma.iter().enumerate() {
                        coefficients.sigma[k] = scratch.evaluate(formula).abs();
                    }
                }
                coefficients
            }
        }
    }

    /// The coordinates of the node with (local) multi-index `index`: `lower + i·h` with `i` the
    /// whole grid's index, as one process computes them.
    #[inline(always)]
    pub(super) fn node_point<const D: usize>(&self, index: &[usize; D]) -> [f64; D] {
        let mut x = [0.0f64; D];
        for k in 0..D {
            x[k] =
                self.lower[k] + ((self.start[k] + index[k]) % self.whole_shape[k]) as f64 * self.spacing[k];
        }
        x
    }

    /// The interpolation cell of `point` (see [`crate::grid::interpolation`]), located on the
    /// whole grid. On a block its corners are then moved to the block's indices: a corner the
    /// block does not hold (only feet of halo nodes reach that far when the halo covers the
    /// feet) is clamped to the block's last node, a halo value that the exchange overwrites.
    #[inline(always)]
    pub(super) fn locate<const D: usize>(&self, point: &[f64; D]) -> Cell<D> {
        let mut position = [0.0f64; D];
        for k in 0..D {
            position[k] = (point[k] - self.lower[k]) * self.inverse_spacing[k];
        }
        let mut cell = Cell::<D>::locate(&position, &self.whole_shape, &self.closures);
        if self.windowed {
            for k in 0..D {
                let (n, start, last) = (self.whole_shape[k], self.start[k], self.shape[k] - 1);
                cell.base[k] = ((cell.base[k] + n - start) % n).min(last);
                cell.upper[k] = ((cell.upper[k] + n - start) % n).min(last);
            }
        }
        cell
    }
}

/// The noise-matrix row block (n × k) of tabulation row `row`, or empty without a matrix.
#[inline(always)]
fn noise_row(table: &Tabulation, row: usize, n: usize) -> &[f64] {
    let size = n * table.noise_columns;
    if size == 0 {
        &[]
    } else {
        &table.diffusion_matrix[row * size..(row + 1) * size]
    }
}

/// Per-task buffers for scalar formula evaluation.
pub(super) struct Scratch {
    variables: Vec<f64>,
    stack: Vec<f64>,
}

impl Scratch {
    pub(super) fn new(problem: &Problem) -> Scratch {
        Scratch { variables: vec![0.0; problem.variable_names().len()], stack: Vec::with_capacity(32) }
    }

    /// Load `(x, u, t)` and evaluate the drift formulas.
    pub(super) fn drift_at(
        &mut self,
        problem: &Problem,
        x: &[f64],
        controls: &[f64],
        t: f64,
        drift: &mut [f64],
    ) {
        let n = x.len();
        self.variables[..n].copy_from_slice(x);
        self.variables[n..n + controls.len()].copy_from_slice(controls);
        self.variables[n + controls.len()] = t;
        for (value, formula) in drift.iter_mut().zip(&problem.dynamics) {
            *value = formula.evaluate_point(&self.variables, &mut self.stack);
        }
    }

    /// Evaluate a formula at the loaded `(x, u, t)`.
    pub(super) fn evaluate(&mut self, formula: &crate::problem::PointFunction) -> f64 {
        formula.evaluate_point(&self.variables, &mut self.stack)
    }
}
