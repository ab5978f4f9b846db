//! `[regimes]`: a discrete state switching at Poisson rates (e.g. income in a consumption–saving
//! problem). It becomes the last grid axis, `name`, with one node per value.
//!
//! Keys: `name` (the regime variable, usable in formulas), `values` (at least 2, increasing and
//! evenly spaced: the variable's value in each regime) and `rates` (the square table λ_jk ≥ 0
//! of switching from regime j to k, zeros on the diagonal).

use super::states::StateAxes;
use super::Context;
use crate::error::Result;
use crate::grid::Axis;
use crate::problem::{Boundary, Switching};
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegimeSpec {
    name: Spanned<String>,
    values: Spanned<Vec<f64>>,
    rates: Spanned<Vec<Vec<f64>>>,
}

impl RegimeSpec {
    /// Where the name is written in the file.
    pub(super) fn name_span(&self) -> std::ops::Range<usize> {
        self.name.span()
    }
}

impl Context<'_> {
    /// Append the regime axis (extrapolated at its ends) to `states`; its switching rates.
    pub(super) fn regimes(
        &self,
        regimes: Option<&Spanned<RegimeSpec>>,
        states: &mut StateAxes,
    ) -> Result<Option<Switching>> {
        let Some(regimes) = regimes else {
            return Ok(None);
        };
        let (axis, switching) = self.regime_axis(regimes, states.axes.len())?;
        states.axes.push(axis);
        states.boundaries.push(Boundary::Extrapolate);
        Ok(Some(switching))
    }

    /// The regime axis and its switching rates from `[regimes]`.
    fn regime_axis(&self, regimes: &Spanned<RegimeSpec>, axis: usize) -> Result<(Axis, Switching)> {
        let spec = regimes.get_ref();
        let values = spec.values.get_ref();
        let count = values.len();
        let evenly = count >= 2
            && values.iter().all(|v| v.is_finite())
            && values.windows(2).all(|w| w[1] > w[0])
            && values
                .windows(2)
                .all(|w| ((w[1] - w[0]) - (values[1] - values[0])).abs() <= 1e-12 * (1.0 + values[1].abs()));
        if !evenly {
            return Err(self.invalid(
                spec.values.span(),
                "regimes.values",
                format!("{values:?}: the regime values must be at least 2, increasing and evenly spaced"),
                "write e.g. `values = [0.1, 0.2]` (the value of the regime variable in each regime)",
            ));
        }
        let rates = spec.rates.get_ref();
        let square = rates.len() == count && rates.iter().all(|row| row.len() == count);
        let valid = square
            && rates.iter().enumerate().all(|(j, row)| {
                row.iter()
                    .enumerate()
                    .all(|(k, rate)| rate.is_finite() && *rate >= 0.0 && (j != k || *rate == 0.0))
            });
        if !valid {
            return Err(self.invalid(
                spec.rates.span(),
                "regimes.rates",
                format!(
                    "the switching rates must be a {count}×{count} table of finite λ ≥ 0 with zeros on the diagonal"
                ),
                "write e.g. `rates = [[0.0, 0.5], [0.8, 0.0]]` (row j: rates of leaving regime j for each k)",
            ));
        }
        let axis_spec = Axis {
            name: spec.name.get_ref().clone(),
            lower: values[0],
            upper: values[count - 1],
            points: count,
            periodic: false,
            units: String::new(),
        };
        Ok((axis_spec, Switching { axis, rates: rates.clone() }))
    }
}
