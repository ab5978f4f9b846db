//! `[parameters]`: named constants, `name = number`, folded into every formula; and the rules
//! for names across sections (states, controls, parameters, `t`, `pi` and the functions).

use super::Context;
use crate::error::{HjbError, Result};
use crate::problem::formula::FUNCTION_NAMES;
use std::collections::BTreeMap;
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
    /// formulas (identifiers that are not function names).
    pub(super) fn check_names(
        &self,
        state_names: &[String],
        control_names: &[String],
        constants: &[(String, f64)],
    ) -> Result<()> {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        let reserved = [("t", "time"), ("pi", "constant")];
        for (name, kind) in state_names
            .iter()
            .map(|n| (n.as_str(), "state"))
            .chain(control_names.iter().map(|n| (n.as_str(), "control")))
            .chain(constants.iter().map(|(n, _)| (n.as_str(), "parameter")))
            .chain(reserved)
        {
            let valid = name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_alphanumeric() || c == '_');
            let clashes = kind != "time"
                && kind != "constant"
                && (name == "t" || name == "pi" || FUNCTION_NAMES.split(' ').any(|f| f == name));
            if !valid || clashes {
                return Err(HjbError::ProblemFile {
                    location: self.location(0),
                    message: format!(
                        "{kind} name `{name}` cannot be used in formulas\n  hint: use letters, digits and _, starting with a letter"
                    ),
                });
            }
            if let Some(previous) = seen.insert(name, kind) {
                return Err(HjbError::ProblemFile {
                    location: self.location(0),
                    message: format!(
                        "the name `{name}` is used by a {previous} and a {kind}\n  hint: rename one of them"
                    ),
                });
            }
        }
        Ok(())
    }
}
