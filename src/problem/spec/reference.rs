//! `[reference]`: an exact solution to measure errors against, and where to measure them.
//!
//! Keys: `kind` (`"lqr"`: the Riccati solution, from `[lqr]` or derived from the formulas;
//! `"formula"`: `value`, V(x, t = 0) as a formula of the states; `"double_integrator_min_time"`:
//! the minimum time to the disc of `radius` ≥ 0, default 0; `"gaussian_mixture"`: the Cole–Hopf
//! solution for `weights`, `means`, `variances`, see `mixture.rs`), `value`, `radius` and `region`
//! (`{ state = [lower, upper], … }` inside the state bounds; default: the central half of each
//! axis). Without `[reference]`, an `[lqr]` problem is compared with its Riccati solution.

use super::{Context, Symbols};
use crate::error::Result;
use crate::problem::lqr::{self as lq, Lqr};
use crate::problem::{ErrorRegion, Problem, Reference, ReferenceSolution};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReferenceSpec {
    kind: Spanned<String>,
    value: Option<Spanned<String>>,
    /// `kind = "double_integrator_min_time"`: radius of the target disc around the origin.
    radius: Option<Spanned<f64>>,
    /// `kind = "gaussian_mixture"`: component weights, means and variances.
    weights: Option<Spanned<Vec<f64>>>,
    means: Option<Spanned<Vec<super::mixture::Coordinates>>>,
    variances: Option<Spanned<Vec<super::mixture::Coordinates>>>,
    region: Option<Spanned<BTreeMap<String, Vec<f64>>>>,
}

impl Context<'_> {
    /// The reference of `[reference]`, or the Riccati solution of `[lqr]`, or none.
    pub(super) fn reference(
        &self,
        reference: Option<&Spanned<ReferenceSpec>>,
        problem: &Problem,
        lqr: Option<Lqr>,
        symbols: &Symbols,
    ) -> Result<Option<Reference>> {
        let region = self.region(problem, reference)?;
        Ok(match (reference, lqr) {
            (None, Some(lqr)) => Some(Reference { solution: ReferenceSolution::Lqr(Box::new(lqr)), region }),
            (None, None) => None,
            (Some(reference), lqr) => {
                let kind = reference.get_ref().kind.get_ref().as_str();
                let solution = match kind {
                    "lqr" => match lqr {
                        Some(lqr) => ReferenceSolution::Lqr(Box::new(lqr)),
                        None => ReferenceSolution::Lqr(Box::new(lq::from_formulas(problem).map_err(
                            |message| {
                                self.invalid(
                                    reference.get_ref().kind.span(),
                                    "reference.kind",
                                    format!("the problem is not linear–quadratic: {message}"),
                                    "use kind = \"formula\" with `value = \"...\"`, or remove [reference]",
                                )
                            },
                        )?)),
                    },
                    "double_integrator_min_time" => {
                        let radius = match &reference.get_ref().radius {
                            Some(radius) => self.finite(radius, "reference.radius")?,
                            None => 0.0,
                        };
                        if problem.grid.dimension() != 2 || radius < 0.0 {
                            return Err(self.invalid(
                                reference.get_ref().kind.span(),
                                "reference.kind",
                                "the double-integrator minimum-time reference needs two states (x, v) and a radius ≥ 0".into(),
                                "write `radius = 0.2` (the target disc x² + v² ≤ r²) for a problem with states x, v",
                            ));
                        }
                        ReferenceSolution::DoubleIntegratorMinTime { radius }
                    }
                    "gaussian_mixture" => {
                        let spec = reference.get_ref();
                        let keys = super::mixture::MixtureKeys {
                            weights: spec.weights.as_ref(),
                            means: spec.means.as_ref(),
                            variances: spec.variances.as_ref(),
                        };
                        let mixture = self.gaussian_mixture(keys, reference.span(), problem)?;
                        ReferenceSolution::GaussianMixture { mixture: Box::new(mixture), horizon: problem.final_time }
                    }
                    "formula" => {
                        let Some(value) = &reference.get_ref().value else {
                            return Err(self.invalid(
                                reference.span(),
                                "reference.value",
                                "kind = \"formula\" needs `value`".into(),
                                "add `value = \"...\"`: V(x, t = 0) as a formula of the states",
                            ));
                        };
                        ReferenceSolution::Formula(self.formula(value, "reference.value", symbols)?)
                    }
                    other => {
                        return Err(self.invalid(
                            reference.get_ref().kind.span(),
                            "reference.kind",
                            format!("unknown reference kind `{other}`"),
                            "write kind = \"lqr\" (Riccati, derived from the problem), kind = \"formula\" or kind = \"gaussian_mixture\"",
                        ))
                    }
                };
                Some(Reference { solution, region })
            }
        })
    }

    /// `region`: where errors are measured.
    fn region(&self, problem: &Problem, reference: Option<&Spanned<ReferenceSpec>>) -> Result<ErrorRegion> {
        // Default: the central half of each axis.
        let mut bounds = ErrorRegion::central_half(&problem.grid).bounds;
        if let Some(region) = reference.and_then(|r| r.get_ref().region.as_ref()) {
            for (key, range) in region.get_ref() {
                let Some(axis) = problem.grid.axes().iter().position(|a| &a.name == key) else {
                    return Err(self.invalid(
                        region.span(),
                        &format!("reference.region.{key}"),
                        format!("`{key}` is not a state"),
                        &format!("the states are: {}", problem.state_names().join(", ")),
                    ));
                };
                let a = &problem.grid.axes()[axis];
                if range.len() != 2 || !(range[0] < range[1]) || range[0] < a.lower || range[1] > a.upper {
                    return Err(self.invalid(
                        region.span(),
                        &format!("reference.region.{key}"),
                        format!("{range:?} is not an interval inside [{}, {}]", a.lower, a.upper),
                        &format!("write `{key} = [lower, upper]` inside the state bounds"),
                    ));
                }
                bounds[axis] = (range[0], range[1]);
            }
        }
        Ok(ErrorRegion { bounds })
    }
}
