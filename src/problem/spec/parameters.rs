//! `[parameters]`: named constants, `name = number`, folded into every formula; and the rules
//! for names across sections (states, controls, parameters, `t`, `pi` and the functions).

use super::Context;
use crate::error::{HjbError, Result};
use crate::problem::formula::FUNCTION_NAMES;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

impl Context<'_> {
    /// The parameters in key order, each a finite number.
    pub(super) fn parameters(
        &self,
        parameters: &BTreeMap<String, Spanned<f64>>,
    ) -> Result<Vec<(String, f64)>> {
        let mut constants: Vec<(String, f64)> = Vec::new();
        for (key, value) in parameters {
            let number = self.finite(value, &format!("parameters.{key}"))?;
            constants.push((key.clone(), number));
        }
        Ok(constants)
    }

    /// Names must be unique across states, controls, parameters, t and pi, and usable in
    /// formulas (identifiers that are not function names). `spans` gives where each state,
    /// control and parameter name is written, in that order (none for generated names); errors
    /// point there.
    pub(super) fn check_names(
        &self,
        state_names: &[String],
        control_names: &[String],
        disturbances: usize,
        constants: &[(String, f64)],
        spans: &[Option<Range<usize>>],
    ) -> Result<()> {
        let controls = control_names.len() - disturbances;
        let location = |position: usize| {
            self.location(spans.get(position).cloned().flatten().map_or(0, |span| span.start))
        };
        let mut seen: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
        let reserved = [("t", "time"), ("pi", "constant")];
        for (position, (name, kind)) in state_names
            .iter()
            .map(|n| (n.as_str(), "state"))
            .chain(
                control_names
                    .iter()
                    .enumerate()
                    .map(|(j, n)| (n.as_str(), if j < controls { "control" } else { "disturbance" })),
            )
            .chain(constants.iter().map(|(n, _)| (n.as_str(), "parameter")))
            .chain(reserved)
            .enumerate()
        {
            let valid = name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_alphanumeric() || c == '_');
            let clashes = kind != "time"
                && kind != "constant"
                && (name == "t" || name == "pi" || FUNCTION_NAMES.split(' ').any(|f| f == name));
            if !valid || clashes {
                return Err(HjbError::ProblemFile {
                    location: location(position),
                    message: format!(
                        "{kind} name `{name}` cannot be used in formulas\n  hint: use letters, digits and _, starting with a letter"
                    ),
                });
            }
            if let Some((previous, first)) = seen.insert(name, (kind, position)) {
                let other = match (previous == kind, spans.get(first).cloned().flatten()) {
                    (true, Some(span)) => format!("another {kind} (line {})", self.location(span.start).line),
                    (true, None) => format!("another {kind}"),
                    (false, Some(span)) => format!("a {previous} (line {})", self.location(span.start).line),
                    (false, None) => format!("a {previous}"),
                };
                return Err(HjbError::ProblemFile {
                    location: location(position),
                    message: format!(
                        "the {kind} name `{name}` is already used by {other}\n  hint: rename one of them"
                    ),
                });
            }
        }
        Ok(())
    }
}
