//! `[[control]]`: the control components, each a box, in file order.
//!
//! Keys: `name`, `bounds = [lower, upper]`, `samples` (≥ 2, including both bounds; default
//! 21: used where the Hamiltonian has no closed form) and `units`. With `[lqr]` the sections
//! may be left out: one control per column of B is then derived, its box 25 % wider than the
//! largest optimal control on the grid.

use super::{Context, FileSpec};
use crate::error::Result;
use crate::grid::Grid;
use crate::problem::lqr::Lqr;
use crate::problem::Control;
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ControlSpec {
    name: Spanned<String>,
    bounds: Spanned<Vec<f64>>,
    samples: Option<Spanned<i64>>,
    units: Option<String>,
    /// `norm = 2`: a member of the Euclidean ball `group` (see `game.rs`).
    pub(super) norm: Option<Spanned<i64>>,
    /// The ball this input belongs to.
    pub(super) group: Option<Spanned<String>>,
}

impl ControlSpec {
    /// Where the name is written in the file.
    pub(super) fn name_span(&self) -> std::ops::Range<usize> {
        self.name.span()
    }
}

impl Context<'_> {
    /// The inputs of `[[control]]` or `[[disturbance]]` tables (`section` names which), in order.
    pub(super) fn inputs(&self, specs: Option<&Vec<ControlSpec>>, section: &str) -> Result<Vec<Control>> {
        let mut controls = Vec::new();
        for control in specs.into_iter().flatten() {
            let field = format!("{section}.{}", control.name.get_ref());
            let (lower, upper) = self.bounds(&control.bounds, &format!("{field}.bounds"))?;
            let samples = match &control.samples {
                Some(samples) if *samples.get_ref() < 2 => {
                    return Err(self.invalid(
                        samples.span(),
                        &format!("{field}.samples"),
                        format!("{} samples; the {section} set needs at least 2", samples.get_ref()),
                        "write `samples = 21` (samples include both bounds)",
                    ))
                }
                Some(samples) => *samples.get_ref() as usize,
                None => 21,
            };
            controls.push(Control {
                name: control.name.get_ref().clone(),
                lower,
                upper,
                samples,
                units: control.units.clone().unwrap_or_default(),
            });
        }
        Ok(controls)
    }

    /// The controls of the `[[control]]` tables, or derived from `[lqr]`; at least one.
    pub(super) fn controls(&self, spec: &FileSpec, lqr: Option<&Lqr>, grid: &Grid) -> Result<Vec<Control>> {
        let mut controls = self.inputs(spec.control.as_ref(), "control")?;
        if let Some(lqr) = lqr {
            let m = lqr.control_dimension();
            if controls.is_empty() {
                let lower: Vec<f64> = grid.axes().iter().map(|axis| axis.lower).collect();
                let upper: Vec<f64> = grid.axes().iter().map(|axis| axis.upper).collect();
                let largest = lqr.largest_optimal_controls(&lower, &upper)?;
                for (j, extent) in largest.iter().enumerate() {
                    // 25 % headroom so the box never binds for the optimal feedback on the grid.
                    let bound = (1.25 * extent).max(1e-3);
                    let name = if m == 1 { "u".to_string() } else { format!("u{}", j + 1) };
                    controls.push(Control {
                        name,
                        lower: -bound,
                        upper: bound,
                        samples: 41,
                        units: String::new(),
                    });
                }
            } else if controls.len() != m {
                return Err(self.invalid(
                    spec.lqr.as_ref().map_or(0..0, Spanned::span),
                    "control",
                    format!("{} [[control]] sections for a B with {m} columns", controls.len()),
                    "give one [[control]] per column of B, or none to derive the bounds",
                ));
            }
        }
        if controls.is_empty() {
            return Err(self.missing(
                "missing section [[control]]\n  hint: add\n    [[control]]\n    name = \"u\"\n    bounds = [-1.0, 1.0]"
                    .to_string(),
            ));
        }
        Ok(controls)
    }
}
