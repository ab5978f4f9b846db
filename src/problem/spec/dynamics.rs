//! `[dynamics]`, `[diffusion]` and `[diffusion_matrix]`: the state equation
//! `dX = f(x, u, t) dt + σ(x, u, t) dW`.
//!
//! Keys: `[dynamics]` one formula `f_i` per state, keyed by the state's name (none for the
//! regime variable); `[diffusion]` optional formulas `σ_i` per state (independent noise,
//! default 0); `[diffusion_matrix]` `sigma`, the full n × k matrix of formulas (row i: state i,
//! column k: Brownian motion k), instead of `[diffusion]` or an `[lqr]` `Sigma`. A
//! non-diagonal `[lqr]` `Sigma` becomes the full matrix here, a diagonal one the per-state noise.

use super::{compile, Context, FileSpec, FormulaTable, Symbols};
use crate::error::Result;
use crate::problem::lqr::Lqr;
use crate::problem::PointFunction;
use crate::problem::Switching;
use serde::Deserialize;
use toml::Spanned;

/// `[diffusion_matrix] sigma = [[…], …]`: the full n × k noise matrix σ(x, u, t) of
/// `dX = f dt + σ dW` (k independent Brownian motions), as formulas.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DiffusionMatrixSpec {
    sigma: Spanned<Vec<Vec<String>>>,
}

impl Context<'_> {
    /// The drift of `[dynamics]`, one formula per state (0 for the regime variable).
    pub(super) fn dynamics(
        &self,
        table: Option<&FormulaTable>,
        switching: Option<&Switching>,
        symbols: &Symbols,
    ) -> Result<Vec<PointFunction>> {
        let state_names = symbols.states;
        let Some(dynamics_table) = table else {
            return Err(self.missing(format!(
                "missing section [dynamics]\n  hint: add one formula per state, e.g.\n    [dynamics]\n    {} = \"...\"",
                state_names[0]
            )));
        };
        for (key, value) in dynamics_table.get_ref() {
            if !state_names.contains(key) {
                return Err(self.invalid(
                    value.span(),
                    &format!("dynamics.{key}"),
                    format!("`{key}` is not a state"),
                    &format!("the states are: {}", state_names.join(", ")),
                ));
            }
        }
        let mut dynamics = Vec::new();
        for state in state_names {
            if let Some(switching) = switching {
                if *state == state_names[switching.axis] {
                    if let Some(source) = dynamics_table.get_ref().get(state) {
                        return Err(self.invalid(
                            source.span(),
                            &format!("dynamics.{state}"),
                            format!("`{state}` is the regime variable: it jumps at the [regimes] rates and has no dynamics"),
                            "remove this line",
                        ));
                    }
                    dynamics.push(symbols.zero());
                    continue;
                }
            }
            let Some(source) = dynamics_table.get_ref().get(state) else {
                return Err(self.invalid(
                    dynamics_table.span(),
                    "dynamics",
                    format!("no formula for state `{state}`"),
                    &format!("add `{state} = \"...\"` (dx/dt as a formula)"),
                ));
            };
            dynamics.push(self.formula(source, &format!("dynamics.{state}"), symbols)?);
        }
        Ok(dynamics)
    }

    /// Correlated noise: a full σ matrix (from `[diffusion_matrix]` or a non-diagonal `[lqr]`
    /// `Sigma`).
    pub(super) fn diffusion_matrix(
        &self,
        spec: &FileSpec,
        lqr: Option<&Lqr>,
        switching: Option<&Switching>,
        symbols: &Symbols,
    ) -> Result<Option<Vec<Vec<PointFunction>>>> {
        let dimension = symbols.dimension();
        let lqr_full_sigma = lqr.and_then(|lqr| lqr.sigma.as_ref()).filter(|sigma| {
            sigma.ncols() != dimension
                || (0..sigma.nrows()).any(|i| (0..sigma.ncols()).any(|j| i != j && sigma[(i, j)] != 0.0))
        });
        Ok(match (&spec.diffusion_matrix, lqr_full_sigma) {
            (Some(matrix), _) if spec.diffusion.is_some() || lqr.is_some_and(|l| l.sigma.is_some()) => {
                return Err(self.invalid(
                    matrix.span(),
                    "diffusion_matrix",
                    "the noise is given twice ([diffusion_matrix] and [diffusion] or [lqr] Sigma)".into(),
                    "keep one: [diffusion] for independent noise per state, [diffusion_matrix] for a full σ",
                ))
            }
            (Some(matrix), _) => {
                let rows = matrix.get_ref().sigma.get_ref();
                let columns = rows.first().map_or(0, Vec::len);
                if rows.len() != dimension || columns == 0 || rows.iter().any(|row| row.len() != columns) {
                    return Err(self.invalid(
                        matrix.get_ref().sigma.span(),
                        "diffusion_matrix.sigma",
                        format!(
                            "σ must have one row per state ({dimension}) and the same number (≥ 1) of columns in every row"
                        ),
                        "write e.g. `sigma = [[\"0.3\", \"0\"], [\"0.1\", \"0.2\"]]` (row i: state i, column k: Brownian motion k)",
                    ));
                }
                if let Some(switching) = switching {
                    if rows[switching.axis].iter().any(|source| source.trim().parse::<f64>() != Ok(0.0)) {
                        return Err(self.invalid(
                            matrix.get_ref().sigma.span(),
                            "diffusion_matrix.sigma",
                            format!(
                                "row {} belongs to the regime variable `{}`, which jumps at the [regimes] rates and has no noise",
                                switching.axis, symbols.states[switching.axis]
                            ),
                            "write \"0\" in every entry of that row",
                        ));
                    }
                }
                let mut formulas = Vec::new();
                for (i, row) in rows.iter().enumerate() {
                    let mut compiled = Vec::new();
                    for (k, source) in row.iter().enumerate() {
                        compiled.push(compile(source, &symbols.variables, &symbols.constants).map_err(
                            |error| {
                                self.invalid(
                                    matrix.get_ref().sigma.span(),
                                    &format!("diffusion_matrix.sigma[{i}][{k}]"),
                                    format!("`{source}`: {error}"),
                                    "write σ_ik as a formula of the states, controls, parameters and t",
                                )
                            },
                        )?);
                    }
                    formulas.push(compiled);
                }
                Some(formulas)
            }
            (None, Some(sigma)) => Some(
                (0..sigma.nrows())
                    .map(|i| (0..sigma.ncols()).map(|k| number(sigma[(i, k)], symbols)).collect())
                    .collect(),
            ),
            (None, None) => None,
        })
    }

    /// Independent noise per state: `[diffusion]`, or the diagonal of an `[lqr]` `Sigma` (none
    /// when `has_matrix`: the full matrix holds it).
    pub(super) fn diffusion(
        &self,
        spec: &FileSpec,
        lqr: Option<&Lqr>,
        has_matrix: bool,
        switching: Option<&Switching>,
        symbols: &Symbols,
    ) -> Result<Option<Vec<PointFunction>>> {
        let state_names = symbols.states;
        Ok(match (lqr, &spec.diffusion) {
            (Some(_), None) if has_matrix => None,
            (Some(lqr), None) => lqr
                .sigma
                .as_ref()
                .map(|sigma| (0..symbols.dimension()).map(|i| number(sigma[(i, i)], symbols)).collect()),
            (Some(_), Some(table)) => {
                return Err(self.invalid(
                    table.span(),
                    "diffusion",
                    "[lqr] with a Sigma matrix and a [diffusion] table both given".into(),
                    "give the noise as `Sigma` in [lqr], or drop [lqr] and write formulas",
                ))
            }
            (None, None) => None,
            (None, Some(table)) => {
                for (key, value) in table.get_ref() {
                    if switching.is_some_and(|s| state_names[s.axis] == *key) {
                        return Err(self.invalid(
                            value.span(),
                            &format!("diffusion.{key}"),
                            format!("`{key}` is the regime variable: it jumps at the [regimes] rates and has no noise"),
                            "remove this line",
                        ));
                    }
                    if !state_names.contains(key) {
                        return Err(self.invalid(
                            value.span(),
                            &format!("diffusion.{key}"),
                            format!("`{key}` is not a state"),
                            &format!("give σ per state; the states are: {}", state_names.join(", ")),
                        ));
                    }
                }
                let mut formulas = Vec::new();
                for state in state_names {
                    formulas.push(match table.get_ref().get(state) {
                        Some(source) => self.formula(source, &format!("diffusion.{state}"), symbols)?,
                        None => symbols.zero(),
                    });
                }
                Some(formulas)
            }
        })
    }
}

/// A matrix entry as a constant formula (as the `[lqr]` path writes it: `{:e}`).
fn number(value: f64, symbols: &Symbols) -> PointFunction {
    compile(&format!("{value:e}"), &symbols.variables, &[]).expect("a number compiles")
}
