//! `[lqr]`: a linear–quadratic problem given by matrices instead of formulas,
//! `f = Ax + Bu`, `ℓ = xᵀQx + uᵀRu`, `g = xᵀSx`, with optional noise `σ = Sigma`.
//!
//! Keys: `A` (n × n), `B` (n × m), `Q` (n × n), `R` (m × m, positive definite), `S` (n × n;
//! default 0) and `Sigma` (n rows). Each matrix is written as rows. With `[lqr]`, `[dynamics]`
//! and the `running`/`terminal` costs must be absent: they are generated here from the matrices
//! as polynomials in Rust code (no formula text).

use super::cost::Horizon;
use super::{Context, FileSpec, Symbols};
use crate::error::{HjbError, Result};
use crate::problem::lqr::{matrix_from_rows, Lqr};
use crate::problem::{Code, PointFunction};
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
        // The quadratic forms xᵀQx, uᵀRu, xᵀSx see only the symmetric part, but the Riccati
        // reference assumes the matrix is that part: refuse anything else rather than guess.
        self.symmetric(&spec.q, &q, "Q")?;
        self.symmetric(&spec.r, &r, "R")?;
        if let Some(value) = &spec.s {
            self.symmetric(value, &s, "S")?;
        }
        let sigma = match &spec.sigma {
            None => None,
            Some(value) => Some(check(value, "Sigma", n, None)?),
        };
        Ok((a, b, q, r, s, sigma))
    }

    /// Refuse a matrix that is not symmetric, naming the first pair of entries that differ and the
    /// symmetric part to write instead.
    fn symmetric(&self, value: &Spanned<Vec<Vec<f64>>>, matrix: &faer::Mat<f64>, name: &str) -> Result<()> {
        let size = matrix.nrows();
        for i in 0..size {
            for j in i + 1..size {
                let (upper, lower) = (matrix[(i, j)], matrix[(j, i)]);
                if (upper - lower).abs() > 1e-12 * (1.0 + upper.abs().max(lower.abs())) {
                    let rows: Vec<String> = (0..size)
                        .map(|a| {
                            let row: Vec<String> = (0..size)
                                .map(|b| format!("{}", 0.5 * (matrix[(a, b)] + matrix[(b, a)])))
                                .collect();
                            format!("[{}]", row.join(", "))
                        })
                        .collect();
                    return Err(self.invalid(
                        value.span(),
                        &format!("lqr.{name}"),
                        format!(
                            "{name} is not symmetric: {name}[{i}][{j}] = {upper} but {name}[{j}][{i}] = {lower}; \
                             the cost only sees its symmetric part and the Riccati reference needs {name} = {name}ᵀ"
                        ),
                        &format!("write its symmetric part ({name} + {name}ᵀ)/2: {name} = [{}]", rows.join(", ")),
                    ));
                }
            }
        }
        Ok(())
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
        let variables: Vec<String> = symbols.variables.iter().map(|name| name.to_string()).collect();
        let n = symbols.states.len();
        let m = symbols.controls.len();
        let mut controls = vec![false; variables.len()];
        controls[n..n + m].iter_mut().for_each(|flag| *flag = true);
        let function = |polynomial: Polynomial, degree: u32| {
            polynomial.code(&variables, degree).resolve(&variables, &controls).map_err(HjbError::Numerical)
        };
        let dynamics =
            (0..n).map(|row| function(Polynomial::linear(lqr, row, n, m), 1)).collect::<Result<Vec<_>>>()?;
        let running = Polynomial::quadratic(&[(&lqr.q, 0), (&lqr.r, n)]);
        let terminal = Polynomial::quadratic(&[(&lqr.s, 0)]);
        Ok((dynamics, function(running, 2)?, function(terminal, 2)?))
    }
}

/// A polynomial of degree ≤ 2 in the variables: `Σ c·v_i` or `Σ c·v_i·v_j`, terms in order. As
/// Rust code it evaluates `((c·v_i)·v_j)` term by term and adds from the left — the same
/// operations as the formula text `(c)*x*y + …`, so the numbers are those a file with the
/// written-out formulas gives.
#[derive(Debug, Clone)]
struct Polynomial {
    /// `(coefficient, i, Some(j))` for `c·v_i·v_j`, `(c, i, None)` for `c·v_i`.
    terms: Vec<(f64, usize, Option<usize>)>,
}

impl Polynomial {
    /// Row `row` of `f = Ax + Bu` (states at 0…n−1, controls at n…n+m−1).
    fn linear(lqr: &Lqr, row: usize, n: usize, m: usize) -> Polynomial {
        let mut terms = Vec::new();
        for k in 0..n {
            if lqr.a[(row, k)] != 0.0 {
                terms.push((lqr.a[(row, k)], k, None));
            }
        }
        for j in 0..m {
            if lqr.b[(row, j)] != 0.0 {
                terms.push((lqr.b[(row, j)], n + j, None));
            }
        }
        Polynomial { terms }
    }

    /// `Σ_blocks vᵀ M v` over the variables of each block, starting at the given offsets.
    fn quadratic(blocks: &[(&faer::Mat<f64>, usize)]) -> Polynomial {
        let mut terms = Vec::new();
        for (matrix, offset) in blocks {
            for i in 0..matrix.nrows() {
                for j in 0..matrix.ncols() {
                    if matrix[(i, j)] != 0.0 {
                        terms.push((matrix[(i, j)], offset + i, Some(offset + j)));
                    }
                }
            }
        }
        Polynomial { terms }
    }

    /// The polynomial as declared code over `variables`.
    fn code(self, variables: &[String], degree_in_controls: u32) -> Code {
        let mut used: Vec<&str> = Vec::new();
        for (_, i, j) in &self.terms {
            for k in std::iter::once(*i).chain(*j) {
                if !used.contains(&variables[k].as_str()) {
                    used.push(&variables[k]);
                }
            }
        }
        let name = if self.terms.is_empty() { "0".to_string() } else { "LQR polynomial".to_string() };
        let terms = self.terms;
        Code::new(&name, move |p: &[f64]| {
            let term = |(c, i, j): &(f64, usize, Option<usize>)| match j {
                Some(j) => c * p[*i] * p[*j],
                None => c * p[*i],
            };
            match terms.split_first() {
                None => 0.0,
                Some((first, rest)) => rest.iter().fold(term(first), |total, t| total + term(t)),
            }
        })
        .uses(&used)
        .degree_in_controls(degree_in_controls)
    }
}
