//! `[horizon]`, `[cost]` and `[target]`: what is minimised, and over which time.
//!
//! Keys: `[horizon]` `final_time = T` (> 0) or `stationary = true` (infinite horizon, which
//! needs a discount or a target); `[cost]` `running` (ℓ(x, u, t), a formula), `terminal` (g(x),
//! states only; default 0) and `discount` (ρ ≥ 0; default 0); `[target]` `set` (a formula of
//! the states, the target being where it is ≤ 0).

use super::{Context, FileSpec, Symbols};
use crate::error::Result;
use crate::problem::PointFunction;
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CostSpec {
    pub(super) running: Option<Spanned<String>>,
    pub(super) terminal: Option<Spanned<String>>,
    discount: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TargetSpec {
    /// The target is where this formula of the states is ≤ 0.
    set: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HorizonSpec {
    final_time: Option<Spanned<f64>>,
    stationary: Option<Spanned<bool>>,
}

/// The horizon `T` (infinite when stationary), the discount ρ and where `[horizon]` is.
pub(super) struct Horizon {
    pub(super) final_time: f64,
    pub(super) discount: f64,
    pub(super) span: Range<usize>,
}

impl Context<'_> {
    /// `[horizon]` and the discount of `[cost]` (a stationary problem needs ρ > 0 or a target).
    pub(super) fn horizon(&self, spec: &FileSpec) -> Result<Horizon> {
        let Some(horizon) = &spec.horizon else {
            return Err(self.missing(
                "missing section [horizon]\n  hint: add\n    [horizon]\n    final_time = 1.0\n  or, for an infinite horizon with discount > 0,\n    [horizon]\n    stationary = true".to_string(),
            ));
        };
        let horizon_spec = horizon.get_ref();
        let stationary = horizon_spec.stationary.as_ref().is_some_and(|flag| *flag.get_ref());
        let final_time = match (&horizon_spec.final_time, stationary) {
            (Some(time), false) => {
                let final_time = self.finite(time, "horizon.final_time")?;
                if final_time <= 0.0 {
                    return Err(self.invalid(
                        time.span(),
                        "horizon.final_time",
                        format!("final time {final_time} must be positive"),
                        "write `final_time = 1.0` (the horizon T; hjb reports V at t = 0)",
                    ));
                }
                final_time
            }
            (Some(time), true) => {
                return Err(self.invalid(
                    time.span(),
                    "horizon",
                    "both `final_time` and `stationary = true` given".into(),
                    "keep `final_time = T` for a finite horizon, or `stationary = true` alone",
                ))
            }
            (None, true) => f64::INFINITY,
            (None, false) => {
                return Err(self.invalid(
                    horizon.span(),
                    "horizon",
                    "no horizon given".into(),
                    "write `final_time = 1.0` (finite horizon) or `stationary = true` (infinite horizon, discount > 0)",
                ))
            }
        };
        let discount = match spec.cost.as_ref().and_then(|cost| cost.discount.as_ref()) {
            Some(value) => {
                let rho = self.finite(value, "cost.discount")?;
                if rho < 0.0 {
                    return Err(self.invalid(
                        value.span(),
                        "cost.discount",
                        format!("discount {rho} is negative"),
                        "write a rate ρ ≥ 0, e.g. `discount = 0.05`",
                    ));
                }
                rho
            }
            None => 0.0,
        };
        if stationary && !(discount > 0.0) && spec.target.is_none() {
            let span = horizon_spec.stationary.as_ref().map_or(horizon.span(), Spanned::span);
            return Err(self.invalid(
                span,
                "horizon.stationary",
                "a stationary problem needs a discount ρ > 0 or a target set (else the cost grows without bound)".into(),
                "add `discount = 0.05` (any ρ > 0) to [cost], or a [target] with `set = \"formula\"` (reached where ≤ 0)",
            ));
        }
        Ok(Horizon { final_time, discount, span: horizon.span() })
    }

    /// The running and terminal costs of `[cost]` (formula problems; `[lqr]` generates its own).
    pub(super) fn costs(
        &self,
        cost: Option<&CostSpec>,
        symbols: &Symbols,
    ) -> Result<(PointFunction, PointFunction)> {
        let running = match cost.and_then(|c| c.running.as_ref()) {
            Some(source) => self.formula(source, "cost.running", symbols)?,
            None => {
                return Err(self.missing(
                    "missing `running` in [cost]\n  hint: add\n    [cost]\n    running = \"x^2 + u^2\""
                        .to_string(),
                ))
            }
        };
        let terminal = match cost.and_then(|c| c.terminal.as_ref()) {
            Some(source) => {
                let formula = self.formula(source, "cost.terminal", symbols)?;
                let used = formula.uses();
                if used[symbols.dimension()..].iter().any(|u| *u) {
                    return Err(self.invalid(
                        source.span(),
                        "cost.terminal",
                        "the terminal cost may depend on the states only".into(),
                        "remove controls and t from the terminal cost g(x)",
                    ));
                }
                formula
            }
            None => symbols.zero(),
        };
        Ok((running, terminal))
    }

    /// The target set of `[target]` (states only), if any.
    pub(super) fn target(
        &self,
        target: Option<&Spanned<TargetSpec>>,
        symbols: &Symbols,
    ) -> Result<Option<PointFunction>> {
        let Some(target) = target else {
            return Ok(None);
        };
        let formula = self.formula(&target.get_ref().set, "target.set", symbols)?;
        if formula.uses()[symbols.dimension()..].iter().any(|used| *used) {
            return Err(self.invalid(
                target.get_ref().set.span(),
                "target.set",
                "the target set may depend on the states only".into(),
                "write the target as a formula of the states, ≤ 0 inside the target",
            ));
        }
        Ok(Some(formula))
    }
}
