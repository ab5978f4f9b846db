//! User feedback laws for a simulation's inputs (`hjb simulate --disturbance "b=sin(t)"`).
//!
//! By default a simulation plays every input's stored optimal feedback — for a game that makes
//! the disturbance play its worst case (its `/policy/<d>` field). A law `name=formula` replaces
//! the stored feedback of the disturbance `name` by the formula, compiled with the problem's
//! formula language over the states, `t` and the file's `[parameters]`, and clamped to the
//! input's bounds as stored feedbacks are (a ball's members are clamped one by one).

use crate::error::{HjbError, Result};
use crate::problem::formula::Formula;
use crate::problem::Problem;

/// A formula replacing the stored feedback of input `input` (an index into
/// [`Problem::controls`]).
#[derive(Debug, Clone)]
pub struct InputLaw {
    /// Which input.
    pub input: usize,
    /// `law(x, t)`, variables the states then `t`.
    pub law: Formula,
}

impl InputLaw {
    /// The law's value at `x`, `t`, clamped to the input's bounds.
    pub fn value(&self, problem: &Problem, x: &[f64], t: f64) -> f64 {
        let mut variables = x.to_vec();
        variables.push(t);
        let control = &problem.controls[self.input];
        self.law.evaluate(&variables).clamp(control.lower, control.upper)
    }
}

/// Compile `name=formula` laws for disturbances of `problem`; `parameters` are the file's
/// `[parameters]` (read from `problem_toml`, the stored problem text). Unknown inputs, inputs
/// that are not disturbances, a disturbance given twice and formulas that do not compile are
/// refused as bad input (`--disturbance`).
pub fn disturbance_laws(problem: &Problem, problem_toml: &str, laws: &[String]) -> Result<Vec<InputLaw>> {
    let refuse = |message: String| HjbError::InvalidOption { option: "--disturbance".to_string(), message };
    let m = problem.controls.len();
    let disturbances = problem.game.as_ref().map_or(0, |game| game.disturbances);
    let names: Vec<&str> = problem.controls[m - disturbances..].iter().map(|c| c.name.as_str()).collect();
    if disturbances == 0 && !laws.is_empty() {
        return Err(refuse(format!(
            "`{}` has no [[disturbance]]: there is no disturbance to drive",
            problem.name
        )));
    }
    let parameters = file_parameters(problem_toml);
    let constants: Vec<(&str, f64)> =
        parameters.iter().map(|(name, value)| (name.as_str(), *value)).collect();
    let mut variables: Vec<String> = problem.state_names();
    variables.push("t".to_string());
    let variables: Vec<&str> = variables.iter().map(String::as_str).collect();
    let mut compiled: Vec<InputLaw> = Vec::new();
    for text in laws {
        let (name, formula) = text
            .split_once('=')
            .ok_or_else(|| refuse(format!("`{text}` is not name=formula (e.g. b=0 or b=sin(t))")))?;
        let name = name.trim();
        let slot = names.iter().position(|n| *n == name).ok_or_else(|| {
            refuse(format!(
                "`{name}` is not a disturbance of `{}`; its disturbances: {}",
                problem.name,
                names.join(", ")
            ))
        })?;
        let input = m - disturbances + slot;
        if compiled.iter().any(|law| law.input == input) {
            return Err(refuse(format!("`{name}` is given twice; give each disturbance once")));
        }
        let law = Formula::compile(formula.trim(), &variables, &constants).map_err(|error| {
            refuse(format!(
                "`{name}={formula}`: {error} (a law may use the states {}, t and the file's parameters)",
                problem.state_names().join(", ")
            ))
        })?;
        compiled.push(InputLaw { input, law });
    }
    Ok(compiled)
}

/// The numeric entries of the `[parameters]` table of a problem file's text (none when the
/// text is not a TOML table, e.g. the description of a model built in code).
fn file_parameters(problem_toml: &str) -> Vec<(String, f64)> {
    let Ok(table) = problem_toml.parse::<toml::Table>() else {
        return Vec::new();
    };
    let Some(parameters) = table.get("parameters").and_then(|p| p.as_table()) else {
        return Vec::new();
    };
    parameters
        .iter()
        .filter_map(|(name, value)| {
            let number = value.as_float().or_else(|| value.as_integer().map(|i| i as f64))?;
            Some((name.clone(), number))
        })
        .collect()
}
