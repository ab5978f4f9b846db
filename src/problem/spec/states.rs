//! `[[state]]`: the continuous states, one grid axis each, in file order.
//!
//! Keys: `name`, `bounds = [lower, upper]`, `points` (≥ 2), `periodic` (bool), `units`,
//! `boundary` (`"extrapolate"` (default), `"periodic"`, `"state_constraint"` or `"dirichlet"`)
//! and `dirichlet` (the boundary value, a formula of the states and `t`, with
//! `boundary = "dirichlet"`). The Dirichlet formulas are compiled later, once the controls and
//! parameters are known ([`Context::dirichlet`]).

use super::{Context, Symbols};
use crate::error::Result;
use crate::grid::Axis;
use crate::problem::Boundary;
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StateSpec {
    name: Spanned<String>,
    bounds: Spanned<Vec<f64>>,
    points: Spanned<i64>,
    #[serde(default)]
    periodic: bool,
    boundary: Option<Spanned<String>>,
    /// Boundary value formula for `boundary = "dirichlet"`.
    dirichlet: Option<Spanned<String>>,
    /// Units for labels.
    units: Option<String>,
}

/// The axes read from `[[state]]` (and `[regimes]`), with their boundary handling.
pub(super) struct StateAxes<'s> {
    pub(super) axes: Vec<Axis>,
    /// One per axis; a Dirichlet axis holds `Extrapolate` until its formula is compiled.
    pub(super) boundaries: Vec<Boundary>,
    /// The Dirichlet value formulas, by axis.
    pub(super) dirichlet: Vec<(usize, &'s Spanned<String>)>,
}

impl StateSpec {
    /// Where the name is written in the file.
    pub(super) fn name_span(&self) -> std::ops::Range<usize> {
        self.name.span()
    }
}

impl Context<'_> {
    /// The axes of the `[[state]]` tables, in order.
    pub(super) fn states<'s>(&self, states: Option<&'s [StateSpec]>) -> Result<StateAxes<'s>> {
        let Some(states) = states.filter(|states| !states.is_empty()) else {
            return Err(self.missing(
                "missing section [[state]]: every problem needs at least one state".to_string()
                    + "\n  hint: add\n    [[state]]\n    name = \"x\"\n    bounds = [-1.0, 1.0]\n    points = 101",
            ));
        };
        let mut axes = Vec::new();
        let mut boundaries = Vec::new();
        let mut dirichlet_sources = Vec::new();
        for state in states {
            let field = format!("state.{}", state.name.get_ref());
            let (lower, upper) = self.bounds(&state.bounds, &format!("{field}.bounds"))?;
            let points = *state.points.get_ref();
            if points < 2 {
                return Err(self.invalid(
                    state.points.span(),
                    &format!("{field}.points"),
                    format!("{points} grid points; an axis needs at least 2"),
                    "write `points = 101` (or any count ≥ 2; accuracy grows with the count)",
                ));
            }
            let mut periodic = state.periodic;
            let boundary = match &state.boundary {
                None => None,
                Some(spanned) => match spanned.get_ref().as_str() {
                    "extrapolate" => Some(Boundary::Extrapolate),
                    "state_constraint" => Some(Boundary::StateConstraint),
                    "periodic" => {
                        periodic = true;
                        Some(Boundary::Periodic)
                    }
                    "dirichlet" => {
                        let Some(formula) = &state.dirichlet else {
                            return Err(self.invalid(
                                spanned.span(),
                                &format!("{field}.dirichlet"),
                                "boundary = \"dirichlet\" needs the boundary value".into(),
                                "add `dirichlet = \"...\"`: V on the boundary as a formula of the states and t",
                            ));
                        };
                        dirichlet_sources.push((axes.len(), formula));
                        None
                    }
                    other => {
                        return Err(self.invalid(
                            spanned.span(),
                            &format!("{field}.boundary"),
                            format!("unknown boundary handling `{other}`"),
                            "write \"extrapolate\" (default), \"periodic\", \"state_constraint\" or \"dirichlet\" (with `dirichlet = \"formula\"`)",
                        ))
                    }
                },
            };
            if let (Some(formula), false) =
                (&state.dirichlet, dirichlet_sources.iter().any(|(axis, _)| *axis == axes.len()))
            {
                return Err(self.invalid(
                    formula.span(),
                    &format!("{field}.dirichlet"),
                    "a Dirichlet value is given but the boundary is not \"dirichlet\"".into(),
                    "add `boundary = \"dirichlet\"` or remove `dirichlet`",
                ));
            }
            if let (true, Some(spanned)) = (state.periodic, &state.boundary) {
                if spanned.get_ref() != "periodic" {
                    return Err(self.invalid(
                        spanned.span(),
                        &format!("{field}.boundary"),
                        format!(
                            "`periodic = true` and `boundary = \"{}\"` contradict each other",
                            spanned.get_ref()
                        ),
                        "a periodic axis has no ends: remove `periodic = true`, or the `boundary` line",
                    ));
                }
            }
            if periodic && !dirichlet_sources.iter().all(|(axis, _)| *axis != axes.len()) {
                return Err(self.invalid(
                    state.name.span(),
                    &field,
                    "an axis cannot be both periodic and Dirichlet".into(),
                    "remove `periodic = true` or the `boundary` line",
                ));
            }
            boundaries.push(if periodic {
                Boundary::Periodic
            } else {
                boundary.unwrap_or(Boundary::Extrapolate)
            });
            axes.push(Axis {
                name: state.name.get_ref().clone(),
                lower,
                upper,
                points: points as usize,
                periodic,
                units: state.units.clone().unwrap_or_default(),
            });
        }
        Ok(StateAxes { axes, boundaries, dirichlet: dirichlet_sources })
    }

    /// Compile the `dirichlet` formulas into `boundaries` (states, parameters and `t` only).
    pub(super) fn dirichlet(
        &self,
        sources: &[(usize, &Spanned<String>)],
        boundaries: &mut [Boundary],
        symbols: &Symbols,
    ) -> Result<()> {
        let dimension = symbols.dimension();
        for &(axis, source) in sources {
            let formula =
                self.formula(source, &format!("state.{}.dirichlet", symbols.states[axis]), symbols)?;
            if formula.uses()[dimension..dimension + symbols.controls.len()].iter().any(|u| *u) {
                return Err(self.invalid(
                    source.span(),
                    "boundary.dirichlet",
                    "a boundary value may depend on the states and t only".into(),
                    "remove the controls from the formula",
                ));
            }
            boundaries[axis] = Boundary::Dirichlet(formula);
        }
        Ok(())
    }
}
