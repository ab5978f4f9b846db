//! NaN discipline before the first step: the model's formulas must be finite wherever the solver
//! evaluates them, or the run stops with an error that names the formula, the node, the
//! controls and the time.
//!
//! Without this check a NaN is absorbed silently: a sampled minimum skips NaN samples, a NaN
//! Dirichlet value reads as "not fixed", and a NaN reference turns the error norms into NaN. The
//! tabulated coefficients (at every time level [`super::prepare`] tabulates) are scanned for a
//! non-finite entry, and the first one found is traced back to its formula by evaluating each
//! formula at that node; the terminal cost, the Dirichlet values (at the first and last time
//! level) and a formula reference (on its error region) are checked directly.

use crate::error::{HjbError, Result, UndefinedFormula};
use crate::problem::{Boundary, PointFunction, Problem, ReferenceSolution};
use crate::scheme::{ControlModel, Tabulation};

/// The formulas the coefficients come from, with their role and problem-file field.
fn coefficient_formulas(problem: &Problem) -> Vec<(String, &PointFunction)> {
    let names = problem.state_names();
    let mut formulas = vec![("the running cost (cost.running)".to_string(), &problem.running_cost)];
    for (name, formula) in names.iter().zip(&problem.dynamics) {
        formulas.push((format!("the drift (dynamics.{name})"), formula));
    }
    for (name, formula) in names.iter().zip(problem.diffusion.iter().flatten()) {
        formulas.push((format!("the noise (diffusion.{name})"), formula));
    }
    for (name, row) in names.iter().zip(problem.diffusion_matrix.iter().flatten()) {
        for (column, formula) in row.iter().enumerate() {
            formulas.push((format!("the noise (diffusion_matrix.{name}, column {})", column + 1), formula));
        }
    }
    formulas
}

/// The control values the tabulation evaluates at: every sample, or 0 and ±1 in each control for
/// the closed form.
fn control_values(problem: &Problem, model: &ControlModel) -> Vec<Vec<f64>> {
    let m = problem.controls.len();
    match model {
        ControlModel::Sampled { values, count } => {
            (0..*count).map(|s| values[s * m..(s + 1) * m].to_vec()).collect()
        }
        ControlModel::ClosedForm { .. } | ControlModel::Affine => {
            let mut list = vec![vec![0.0; m]];
            for j in 0..m {
                for sign in [1.0, -1.0] {
                    let mut controls = vec![0.0; m];
                    controls[j] = sign;
                    list.push(controls);
                }
            }
            list
        }
    }
}

/// The error for `formula` giving `value` at `node` with `controls` at time `t`.
fn non_finite(
    problem: &Problem,
    role: &str,
    formula: &PointFunction,
    node: usize,
    controls: &[f64],
    t: f64,
    value: f64,
) -> HjbError {
    let control_text = match controls {
        [] => String::new(),
        values => {
            let pairs: Vec<String> =
                problem.control_names().iter().zip(values).map(|(name, u)| format!("{name} = {u}")).collect();
            format!(" with {}", pairs.join(", "))
        }
    };
    HjbError::FormulaNonFinite(Box::new(UndefinedFormula {
        role: role.to_string(),
        formula: formula.source().to_string(),
        value,
        index: problem.grid.unravel(node),
        point: problem.grid.point(node),
        controls: control_text,
        time: t,
    }))
}

/// Evaluate every coefficient formula at `node` for every control value: the first non-finite one.
fn locate(problem: &Problem, model: &ControlModel, node: usize, t: f64) -> Result<()> {
    let point = problem.grid.point(node);
    for controls in control_values(problem, model) {
        let mut variables = point.clone();
        variables.extend(&controls);
        variables.push(t);
        for (role, formula) in coefficient_formulas(problem) {
            let value = formula.evaluate(&variables);
            if !value.is_finite() {
                return Err(non_finite(problem, &role, formula, node, &controls, t, value));
            }
        }
    }
    Ok(())
}

/// Refuse a tabulation at time `t` that holds a non-finite coefficient, naming the formula.
pub(crate) fn check_table(problem: &Problem, model: &ControlModel, table: &Tabulation, t: f64) -> Result<()> {
    let nodes = problem.grid.node_count().max(1);
    let fields = [
        &table.drift_base,
        &table.drift_gain,
        &table.cost_base,
        &table.cost_linear,
        &table.cost_quadratic,
        &table.sample_drift,
        &table.sample_cost,
        &table.diffusion,
        &table.sample_diffusion,
        &table.diffusion_matrix,
    ];
    for field in fields {
        if let Some(position) = field.iter().position(|value| !value.is_finite()) {
            let per_node = (field.len() / nodes).max(1);
            locate(problem, model, position / per_node, t)?;
        }
    }
    Ok(())
}

/// The first node of `values` (among those `relevant` keeps) that is not finite.
fn first_non_finite(values: &[f64], relevant: impl Fn(usize) -> bool) -> Option<usize> {
    values.iter().enumerate().position(|(node, value)| relevant(node) && !value.is_finite())
}

/// Refuse a terminal cost, Dirichlet value or formula reference that is not finite where it is
/// used (the terminal cost at every node, a Dirichlet value at its axis's ends at the first and
/// last time level, a reference on its error region).
pub(crate) fn check_fixed_formulas(problem: &Problem, coordinates: &[Vec<f64>]) -> Result<Vec<f64>> {
    let no_controls = vec![0.0; problem.controls.len()];
    let t = problem.tabulation_time();
    let terminal = problem.tabulate(&problem.terminal_cost, coordinates, &no_controls, t);
    if let Some(node) = first_non_finite(&terminal, |_| true) {
        let role = if problem.target.is_some() {
            "the exit cost (cost.terminal)"
        } else {
            "the terminal cost (cost.terminal)"
        };
        return Err(non_finite(problem, role, &problem.terminal_cost, node, &[], t, terminal[node]));
    }
    let times = if problem.is_stationary() { vec![0.0] } else { vec![problem.final_time, 0.0] };
    for (axis, boundary) in problem.boundaries.iter().enumerate() {
        let Boundary::Dirichlet(formula) = boundary else { continue };
        let (points, stride) = (problem.grid.axes()[axis].points, problem.grid.strides()[axis]);
        let on_boundary = |node: usize| {
            let index = (node / stride) % points;
            index == 0 || index + 1 == points
        };
        for &time in &times {
            let values = problem.tabulate(formula, coordinates, &no_controls, time);
            if let Some(node) = first_non_finite(&values, on_boundary) {
                let role = format!("the boundary value (state.{}.dirichlet)", problem.grid.axes()[axis].name);
                return Err(non_finite(problem, &role, formula, node, &[], time, values[node]));
            }
        }
    }
    if let Some(reference) = &problem.reference {
        if let ReferenceSolution::Formula(formula) = &reference.solution {
            let values = problem.tabulate(formula, coordinates, &no_controls, 0.0);
            let inside = |node: usize| reference.region.contains(&problem.grid.point(node));
            if let Some(node) = first_non_finite(&values, inside) {
                let role = "the reference (reference.value)";
                return Err(non_finite(problem, role, formula, node, &[], 0.0, values[node]));
            }
        }
    }
    Ok(terminal)
}
