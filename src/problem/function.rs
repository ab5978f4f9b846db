//! The functions a model is made of — drift `f_i`, noise `σ_i` or `σ_ik`, running cost `ℓ`,
//! terminal cost `g`, a target level, a Dirichlet value, a reference — as functions of the
//! variable vector `(x_1 … x_n, u_1 … u_m, t)` (states in axis order, controls in order, then
//! physical time).
//!
//! A [`PointFunction`] is either a formula compiled from a problem file or Rust code (a closure)
//! given through [`super::ProblemBuilder`]. Both answer the same questions, so every solver
//! treats them alike: the value at a point, the value over whole grid columns, which variables
//! it reads, and its polynomial degree in a set of variables (how the solver decides that the
//! drift is affine and the cost quadratic in the controls, i.e. that the minimum over the
//! controls has a closed form). A formula knows these from its syntax tree; code declares them
//! ([`Code::uses`], [`Code::degree_in_controls`]); code that declares nothing is taken to read
//! every variable with an unknown degree (the sampled minimisation, always correct).

use super::formula::{Column, Degree, Formula, BLOCK};
use std::fmt;
use std::sync::Arc;

/// A function of the variables `(x, u, t)`: a compiled formula or Rust code.
#[derive(Clone)]
pub struct PointFunction {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Formula(Formula),
    Code(Code),
}

/// The closure behind a [`Code`] function.
type Closure = Arc<dyn Fn(&[f64]) -> f64 + Send + Sync>;

/// Rust code as a model function, with what it declares about itself.
#[derive(Clone)]
pub struct Code {
    name: String,
    function: Closure,
    /// Variables read (`None`: all of them).
    uses: Option<Vec<bool>>,
    /// Length of the variable vector (set when resolved).
    variable_count: usize,
    /// Declared degree in the controls, with the mask of the control variables.
    control_degree: Option<(u32, Vec<bool>)>,
    /// Names given to `uses` and `degree_in_controls`, resolved by the builder.
    used_names: Option<Vec<String>>,
    declared_control_degree: Option<u32>,
}

impl Code {
    /// Code computing the function from the variable vector `(x, u, t)`; `name` appears in
    /// messages (e.g. the node where it returned NaN).
    pub fn new(name: &str, function: impl Fn(&[f64]) -> f64 + Send + Sync + 'static) -> Code {
        Code {
            name: name.to_string(),
            function: Arc::new(function),
            uses: None,
            variable_count: 0,
            control_degree: None,
            used_names: None,
            declared_control_degree: None,
        }
    }

    /// `max(self, −other)`: the terminal value `max(l, −o)` of a reach–avoid problem.
    pub(super) fn max_with_negated(self, other: Code) -> Code {
        let (first, second) = (self.function.clone(), other.function.clone());
        let used_names = match (&self.used_names, &other.used_names) {
            (Some(a), Some(b)) => Some(a.iter().chain(b).cloned().collect()),
            _ => None,
        };
        Code {
            name: format!("max({}, -({}))", self.name, other.name),
            function: Arc::new(move |p: &[f64]| first(p).max(-second(p))),
            uses: None,
            variable_count: 0,
            control_degree: None,
            used_names,
            declared_control_degree: None,
        }
    }

    /// Declare the variables (state, control or `t` names) the code reads; the others are taken
    /// as unused (so, say, a drift without `t` makes the problem time-independent).
    pub fn uses(mut self, names: &[&str]) -> Code {
        self.used_names = Some(names.iter().map(|name| name.to_string()).collect());
        self
    }

    /// Declare the polynomial degree in the controls (1: affine drift, 2: quadratic cost), which
    /// lets the solver minimise over the controls in closed form where the rest of the
    /// structure allows it.
    pub fn degree_in_controls(mut self, degree: u32) -> Code {
        self.declared_control_degree = Some(degree);
        self
    }

    /// Resolve the declared names against the variable list (`controls` flags the controls).
    pub(super) fn resolve(
        mut self,
        variables: &[String],
        controls: &[bool],
    ) -> Result<PointFunction, String> {
        self.variable_count = variables.len();
        if let Some(names) = &self.used_names {
            let mut used = vec![false; variables.len()];
            for name in names {
                let index = variables.iter().position(|variable| variable == name).ok_or_else(|| {
                    format!("`{}` uses `{name}`, which is not a state, a control or t", self.name)
                })?;
                used[index] = true;
            }
            self.uses = Some(used);
        }
        self.control_degree = self.declared_control_degree.map(|degree| (degree, controls.to_vec()));
        Ok(PointFunction { kind: Kind::Code(self) })
    }
}

impl From<Formula> for PointFunction {
    fn from(formula: Formula) -> Self {
        PointFunction { kind: Kind::Formula(formula) }
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("Code").field("name", &self.name).field("uses", &self.uses).finish()
    }
}

impl fmt::Debug for PointFunction {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Formula(formula) => write!(formatter, "Formula({:?})", formula.source()),
            Kind::Code(code) => write!(formatter, "Code({:?})", code.name),
        }
    }
}

impl PointFunction {
    /// The formula text, or the code's name.
    pub fn source(&self) -> &str {
        match &self.kind {
            Kind::Formula(formula) => formula.source(),
            Kind::Code(code) => &code.name,
        }
    }

    /// The compiled formula, when this is one.
    pub fn formula(&self) -> Option<&Formula> {
        match &self.kind {
            Kind::Formula(formula) => Some(formula),
            Kind::Code(_) => None,
        }
    }

    /// The constant value, when the function provably reads no variable.
    pub fn constant_value(&self) -> Option<f64> {
        match &self.kind {
            Kind::Formula(formula) => formula.constant_value(),
            Kind::Code(code) => match &code.uses {
                Some(used) if !used.iter().any(|u| *u) => Some((code.function)(&vec![0.0; used.len()])),
                _ => None,
            },
        }
    }

    /// Which of the `count` variables the function reads (code without a declaration: all).
    pub fn uses(&self) -> Vec<bool> {
        match &self.kind {
            Kind::Formula(formula) => formula.uses(),
            Kind::Code(code) => code.uses.clone().unwrap_or_else(|| vec![true; code.variable_count]),
        }
    }

    /// Polynomial degree in the flagged variables (`None`: not polynomial in them, or unknown).
    pub fn degree_in(&self, selected: &[bool]) -> Degree {
        match &self.kind {
            Kind::Formula(formula) => formula.degree_in(selected),
            Kind::Code(code) => {
                let reads_selected = match &code.uses {
                    Some(used) => used.iter().zip(selected).any(|(u, s)| *u && *s),
                    None => selected.iter().any(|s| *s),
                };
                if !reads_selected {
                    return Some(0);
                }
                match &code.control_degree {
                    Some((degree, controls)) if controls.as_slice() == selected => Some(*degree),
                    _ => None,
                }
            }
        }
    }

    /// Evaluate at one point (`values[k]` = variable k).
    pub fn evaluate(&self, values: &[f64]) -> f64 {
        match &self.kind {
            Kind::Formula(formula) => formula.evaluate(values),
            Kind::Code(code) => (code.function)(values),
        }
    }

    /// Evaluate at one point with a caller-owned stack (formulas; code ignores it).
    #[inline]
    pub fn evaluate_point(&self, values: &[f64], stack: &mut Vec<f64>) -> f64 {
        match &self.kind {
            Kind::Formula(formula) => formula.evaluate_point(values, stack),
            Kind::Code(code) => (code.function)(values),
        }
    }

    /// Evaluate over columns (one [`Column`] per variable), writing `out[p]` for each point `p`.
    pub fn evaluate_columns(&self, columns: &[Column], out: &mut [f64]) {
        match &self.kind {
            Kind::Formula(formula) => formula.evaluate_columns(columns, out),
            Kind::Code(code) => {
                use rayon::prelude::*;
                out.par_chunks_mut(BLOCK).enumerate().for_each(|(block, values)| {
                    let mut point = vec![0.0; columns.len()];
                    for (offset, value) in values.iter_mut().enumerate() {
                        let p = block * BLOCK + offset;
                        for (slot, column) in point.iter_mut().zip(columns) {
                            *slot = match column {
                                Column::Scalar(value) => *value,
                                Column::Values(values) => values[p],
                            };
                        }
                        *value = (code.function)(&point);
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_and_formula_answer_alike() {
        let variables: Vec<String> = ["x", "v", "u", "t"].iter().map(|s| s.to_string()).collect();
        let controls = [false, false, true, false];
        let formula: PointFunction = Formula::compile("v + 2*u", &["x", "v", "u", "t"], &[]).unwrap().into();
        let code: PointFunction = Code::new("drift of v", |p| p[1] + 2.0 * p[2])
            .uses(&["v", "u"])
            .degree_in_controls(1)
            .resolve(&variables, &controls)
            .unwrap();
        assert_eq!(formula.uses(), code.uses());
        assert_eq!(formula.degree_in(&controls), code.degree_in(&controls));
        assert_eq!(code.degree_in(&[true, false, false, false]), Some(0));
        let xs: Vec<f64> = (0..700).map(|k| k as f64 * 0.01).collect();
        let columns = [Column::Values(&xs), Column::Values(&xs), Column::Scalar(0.5), Column::Scalar(0.0)];
        let (mut a, mut b) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
        formula.evaluate_columns(&columns, &mut a);
        code.evaluate_columns(&columns, &mut b);
        assert_eq!(a, b);
        // Undeclared code reads everything and has no known degree.
        let opaque = Code::new("opaque", |p| p[0]).resolve(&variables, &controls).unwrap();
        assert_eq!(opaque.uses(), vec![true; 4]);
        assert_eq!(opaque.degree_in(&controls), None);
        let bad = Code::new("bad", |p| p[0]).uses(&["y"]).resolve(&variables, &controls);
        assert!(bad.unwrap_err().contains("`y`"));
    }
}
