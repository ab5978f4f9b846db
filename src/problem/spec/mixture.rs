//! `[reference] kind = "gaussian_mixture"`: the Cole–Hopf solution of sampling by optimal
//! control (see [`crate::problem::mixture`]).
//!
//! Keys: `weights` (≥ 0, summing to one), `means` (one per component: a number in 1-D, or a
//! list of one coordinate per state) and `variances` (one per component: a number — the same
//! variance on every axis — or a list of one variance per state, all > 0). The problem must be
//! the one whose solution this is: states `x` with `dX = u dt + dW` and cost `½|u|²`, horizon
//! `T`, terminal cost `g = log φ_T − log p`; the terminal cost is checked against the mixture at
//! every grid node.

use super::Context;
use crate::error::Result;
use crate::problem::mixture::GaussianMixture;
use crate::problem::Problem;
use serde::Deserialize;
use toml::Spanned;

/// One mean or variance: a number, or one entry per state.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum Coordinates {
    /// A number (1-D mean; variance on every axis).
    Number(f64),
    /// One entry per state.
    List(Vec<f64>),
}

/// The mixture keys of `[reference]`.
#[derive(Debug, Default)]
pub(super) struct MixtureKeys<'a> {
    pub(super) weights: Option<&'a Spanned<Vec<f64>>>,
    pub(super) means: Option<&'a Spanned<Vec<Coordinates>>>,
    pub(super) variances: Option<&'a Spanned<Vec<Coordinates>>>,
}

impl Context<'_> {
    /// The mixture of `[reference] kind = "gaussian_mixture"`, checked against the problem.
    pub(super) fn gaussian_mixture(
        &self,
        keys: MixtureKeys<'_>,
        whole: std::ops::Range<usize>,
        problem: &Problem,
    ) -> Result<GaussianMixture> {
        let n = problem.grid.dimension();
        let missing = |key: &str| {
            self.invalid(
                whole.clone(),
                &format!("reference.{key}"),
                format!("kind = \"gaussian_mixture\" needs `{key}`"),
                "write weights = [0.5, 0.5], means = [[-1.0], [1.0]], variances = [0.25, 0.25]",
            )
        };
        let weights = keys.weights.ok_or_else(|| missing("weights"))?;
        let means = keys.means.ok_or_else(|| missing("means"))?;
        let variances = keys.variances.ok_or_else(|| missing("variances"))?;
        let rows =
            |spanned: &Spanned<Vec<Coordinates>>, field: &str, spread: bool| -> Result<Vec<Vec<f64>>> {
                spanned
                    .get_ref()
                    .iter()
                    .map(|entry| match entry {
                        Coordinates::List(list) => Ok(list.clone()),
                        Coordinates::Number(value) if spread || n == 1 => Ok(vec![*value; n]),
                        Coordinates::Number(_) => Err(self.invalid(
                            spanned.span(),
                            field,
                            format!("a number where {n} coordinates (one per state) are needed"),
                            "write each mean as a list, e.g. means = [[1.0, 0.0], [0.0, 1.0]]",
                        )),
                    })
                    .collect()
            };
        let mean_rows = rows(means, "reference.means", false)?;
        let variance_rows = rows(variances, "reference.variances", true)?;
        let mixture =
            GaussianMixture::new(weights.get_ref().clone(), mean_rows, variance_rows).map_err(|message| {
                let (span, field) = if message.contains("weight") {
                    (weights.span(), "reference.weights")
                } else if message.contains("variance") {
                    (variances.span(), "reference.variances")
                } else {
                    (means.span(), "reference.means")
                };
                self.invalid(
                    span,
                    field,
                    message,
                    "weights ≥ 0 summing to 1, variances > 0, one mean and one variance per component",
                )
            })?;
        if mixture.dimension() != n {
            return Err(self.invalid(
                means.span(),
                "reference.means",
                format!("the means have {} coordinates for {n} states", mixture.dimension()),
                "give one coordinate per state in each mean",
            ));
        }
        self.check_terminal_cost(&mixture, whole, problem)?;
        Ok(mixture)
    }

    /// The terminal cost must be `log φ_T − log p` at every node (to 1e-8 relative).
    fn check_terminal_cost(
        &self,
        mixture: &GaussianMixture,
        whole: std::ops::Range<usize>,
        problem: &Problem,
    ) -> Result<()> {
        if problem.is_stationary() {
            return Err(self.invalid(
                whole,
                "reference.kind",
                "the Gaussian-mixture reference needs a finite horizon".into(),
                "give [horizon] final_time = T",
            ));
        }
        let coordinates = problem.grid.coordinate_columns();
        let zeros = vec![0.0; problem.controls.len()];
        let g = problem.tabulate(&problem.terminal_cost, &coordinates, &zeros, problem.final_time);
        let mut x = vec![0.0; coordinates.len()];
        for (node, value) in g.iter().enumerate() {
            for (xi, column) in x.iter_mut().zip(&coordinates) {
                *xi = column[node];
            }
            let exact = mixture.terminal_cost(&x, problem.final_time);
            if !((value - exact).abs() <= 1e-8 * (1.0 + exact.abs())) {
                return Err(self.invalid(
                    whole,
                    "reference.kind",
                    format!(
                        "the terminal cost is {value} at {x:?} but log φ_T − log p of this mixture is {exact}: \
                         the reference would not be the solution"
                    ),
                    "write [cost] terminal = log φ_T(x) − log p(x) for the same weights, means and variances and T",
                ));
            }
        }
        Ok(())
    }
}
