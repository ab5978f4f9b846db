//! `[lqr]`: a linear–quadratic problem given by matrices instead of formulas,
//! `f = Ax + Bu`, `ℓ = xᵀQx + uᵀRu`, `g = xᵀSx`, with optional noise `σ = Sigma`.
//!
//! Keys: `A` (n × n), `B` (n × m), `Q` (n × n), `R` (m × m, positive definite), `S` (n × n;
//! default 0) and `Sigma` (n rows). Each matrix is written as rows. With `[lqr]`, `[dynamics]`
//! and the `running`/`terminal` costs must be absent: they are generated here as formula text.

use super::cost::Horizon;
use super::{compile, Context, FileSpec, Symbols};
use crate::error::{HjbError, Result};
use crate::problem::PointFunction;
use crate::problem::lqr::{matrix_from_rows, Lqr};
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LqrSpec {
    #[serde(rename = "A")]
    a: Spanned<Vec<Vec<f64>>>,
    #[serde(rename = "B")]
    b: Spanned<Vec<Vec<f64>>>,
    #[serde(rename = "Q")]
    q: Spanned<Vec<Vec<f64>>>,
    #[serde(rename = "R")]
    r: Spanned<Vec<Vec<f64>>>,
    #[serde(rename = "S")]
    s: Option<Spanned<Vec<Vec<f64>>>>,
    #[serde(rename = "Sigma")]
    sigma: Option<Spanned<Vec<Vec<f64>>>>,
}

/// `(A, B, Q, R, S, Sigma)` as read, before the horizon and discount are known.
type LqrMatrices =
    (faer::Mat<f64>, faer::Mat<f64>, faer::Mat<f64>, faer::Mat<f64>, faer::Mat<f64>, Option<faer::Mat<f64>>);

impl Context<'_> {
    /// The matrices of `[lqr]`, each checked for its shape against `n` states.
    pub(super) fn lqr_matrices(&self, lqr: &Spanned<LqrSpec>, n: usize) -> Result<LqrMatrices> {
        let spec = lqr.get_ref();
        let check = |value: &Spanned<Vec<Vec<f64>>>, name: &str, rows: usize, columns: Option<usize>| {
            let matrix = value.get_ref();
            let width = matrix.first().map_or(0, Vec::len);
            let ok = matrix.len() == rows
                && width > 0
                && matrix.iter().all(|row| row.len() == width && row.iter().all(|x| x.is_finite()))
                && columns.is_none_or(|c| c == width);
            if ok {
                Ok(matrix_from_rows(matrix))
            } else {
                Err(self.invalid(
                    value.span(),
                    &format!("lqr.{name}"),
                    format!(
                        "expected {rows} rows of {} finite numbers (one row per line of the matrix)",
                        columns.map_or("equal-length".to_string(), |c| c.to_string())
                    ),
                    "write the matrix as rows, e.g. A = [[0, 1], [0, 0]]",
                ))
            }
        };
        let a = check(&spec.a, "A", n, Some(n))?;
        let b = check(&spec.b, "B", n, None)?;
        let m = b.ncols();
        let q = check(&spec.q, "Q", n, Some(n))?;
        let r = check(&spec.r, "R", m, Some(m))?;
        let s = match &spec.s {
            Some(s) => check(s, "S", n, Some(n))?,
            None => faer::Mat::zeros(n, n),
        };
        let sigma = match &spec.sigma {
            None => None,
            Some(value) => Some(check(value, "Sigma", n, None)?),
        };
        Ok((a, b, q, r, s, sigma))
    }

    /// The LQ problem of the matrices with the file's horizon and discount, validated.
    pub(super) fn lqr(
        &self,
        spec: Option<&Spanned<LqrSpec>>,
        matrices: Option<LqrMatrices>,
        horizon: &Horizon,
    ) -> Result<Option<Lqr>> {
        let (discount, final_time) = (horizon.discount, horizon.final_time);
        let lqr = matrices.map(|(a, b, q, r, s, sigma)| Lqr { a, b, q, r, s, sigma, discount, final_time });
        if let Some(lqr) = &lqr {
            lqr.validate().map_err(|error| {
                let span = spec.map_or(0..0, Spanned::span);
                self.invalid(
                    span,
                    "lqr",
                    error.to_string(),
                    "check the matrix shapes and that R is positive definite",
                )
            })?;
        }
        Ok(lqr)
    }

    /// Dynamics, running and terminal cost generated from the matrices (the file may not give
    /// them as formulas as well).
    pub(super) fn lqr_dynamics_and_costs(
        &self,
        spec: &FileSpec,
        lqr: &Lqr,
        symbols: &Symbols,
    ) -> Result<(Vec<PointFunction>, PointFunction, PointFunction)> {
        if spec.dynamics.is_some()
            || spec.cost.as_ref().is_some_and(|c| c.running.is_some() || c.terminal.is_some())
        {
            return Err(self.invalid(
                spec.lqr.as_ref().map_or(0..0, Spanned::span),
                "lqr",
                "[lqr] matrices and [dynamics]/cost formulas both given".into(),
                "keep either the [lqr] section or the formulas",
            ));
        }
        let text = lqr_formulas(lqr, symbols.states, symbols.controls);
        let compile = |source: &str| {
            compile(source, &symbols.variables, &symbols.constants)
                .map_err(|error| HjbError::Numerical(format!("generated LQR formula failed: {error}")))
        };
        let dynamics = text.0.iter().map(|f| compile(f)).collect::<Result<Vec<_>>>()?;
        Ok((dynamics, compile(&text.1)?, compile(&text.2)?))
    }
}

/// Formulas of an LQ problem given by matrices: `f = Ax + Bu`, `ℓ = xᵀQx + uᵀRu`, `g = xᵀSx`.
fn lqr_formulas(lqr: &Lqr, states: &[String], controls: &[String]) -> (Vec<String>, String, String) {
    let n = states.len();
    let m = controls.len();
    let linear = |row: usize| {
        let mut terms = Vec::new();
        for k in 0..n {
            if lqr.a[(row, k)] != 0.0 {
                terms.push(format!("({:e})*{}", lqr.a[(row, k)], states[k]));
            }
        }
        for j in 0..m {
            if lqr.b[(row, j)] != 0.0 {
                terms.push(format!("({:e})*{}", lqr.b[(row, j)], controls[j]));
            }
        }
        if terms.is_empty() {
            "0".to_string()
        } else {
            terms.join(" + ")
        }
    };
    let quadratic = |matrix: &faer::Mat<f64>, names: &[String]| {
        let mut terms = Vec::new();
        for i in 0..names.len() {
            for j in 0..names.len() {
                if matrix[(i, j)] != 0.0 {
                    terms.push(format!("({:e})*{}*{}", matrix[(i, j)], names[i], names[j]));
                }
            }
        }
        terms
    };
    let dynamics = (0..n).map(linear).collect();
    let mut running = quadratic(&lqr.q, states);
    running.extend(quadratic(&lqr.r, controls));
    let join = |terms: Vec<String>| if terms.is_empty() { "0".to_string() } else { terms.join(" + ") };
    (dynamics, join(running), join(quadratic(&lqr.s, states)))
}
