//! `[solver]` → [`SolverOptions`]: how to discretise, step and minimise.
//!
//! Keys: `scheme` (a named combination) or `differencing` with `stepping`; `cfl` (in (0, 1]),
//! `courant` (> 0, cells per step for the schemes without a CFL limit), `time_step` (> 0),
//! `hamiltonian` (`"auto"` or `"sampled"`), `refine` (bool) and `characteristic` (`"euler"` or
//! `"heun"`); the high-order choices `derivatives` (`"first_order"`, `"eno2"`, `"eno3"`,
//! `"weno5"`), `dissipation` (`"global"`, `"local"`, `"local_local"`), `time_integrator`
//! (`"euler"`, `"tvd_rk2"`, `"tvd_rk3"`) or the preset `accuracy` (`"low"`, `"medium"`, `"high"`,
//! `"very_high"`); `linear_solver` (`"auto"`, `"lu"`, `"bicgstab"`, `"tridiagonal"`: policy iteration's
//! linear solves). The combination is checked once, by [`SolverOptions::settings`].

use super::Context;
use crate::error::Result;
use crate::settings::{
    Accuracy, Characteristic, Derivatives, Dissipation, Integrator, LinearSolver, SettingsError,
    SolverOptions, SCHEME_NAMES,
};
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SolverSpec {
    scheme: Option<Spanned<String>>,
    differencing: Option<Spanned<String>>,
    stepping: Option<Spanned<String>>,
    cfl: Option<Spanned<f64>>,
    time_step: Option<Spanned<f64>>,
    hamiltonian: Option<Spanned<String>>,
    refine: Option<bool>,
    characteristic: Option<Spanned<String>>,
    courant: Option<Spanned<f64>>,
    derivatives: Option<Spanned<String>>,
    dissipation: Option<Spanned<String>>,
    time_integrator: Option<Spanned<String>>,
    accuracy: Option<Spanned<String>>,
    linear_solver: Option<Spanned<String>>,
}

impl SolverSpec {
    /// Where the stepping is named (`scheme`, else `stepping`), if anywhere.
    pub(super) fn stepping_span(&self) -> Option<std::ops::Range<usize>> {
        self.scheme.as_ref().or(self.stepping.as_ref()).map(Spanned::span)
    }
}

impl Context<'_> {
    /// The solver options of `[solver]` (the defaults without it).
    pub(super) fn solver(&self, solver: Option<&SolverSpec>) -> Result<SolverOptions> {
        let mut options = SolverOptions::default();
        let Some(solver) = solver else {
            return Ok(options);
        };
        options.scheme = solver.scheme.as_ref().map(|scheme| scheme.get_ref().clone());
        options.differencing = solver.differencing.as_ref().map(|name| name.get_ref().clone());
        options.stepping = solver.stepping.as_ref().map(|name| name.get_ref().clone());
        options.derivatives = solver.derivatives.as_ref().map(|name| name.get_ref().clone());
        options.dissipation = solver.dissipation.as_ref().map(|name| name.get_ref().clone());
        options.time_integrator = solver.time_integrator.as_ref().map(|name| name.get_ref().clone());
        options.accuracy = solver.accuracy.as_ref().map(|name| name.get_ref().clone());
        options.linear_solver = solver.linear_solver.as_ref().map(|name| name.get_ref().clone());
        if let Some(cfl) = &solver.cfl {
            let value = self.finite(cfl, "solver.cfl")?;
            if !(value > 0.0 && value <= 1.0) {
                return Err(self.invalid(
                    cfl.span(),
                    "solver.cfl",
                    format!(
                        "CFL number {value} is outside (0, 1]; above 1 the explicit schemes are not monotone"
                    ),
                    "write `cfl = 0.9`; for the semi_lagrangian and implicit schemes, which have no CFL \
                     limit, use `courant = 5` (cells of displacement per step) or `time_step`",
                ));
            }
            options.cfl = Some(value);
        }
        if let Some(courant) = &solver.courant {
            let value = self.finite(courant, "solver.courant")?;
            if value <= 0.0 {
                return Err(self.invalid(
                    courant.span(),
                    "solver.courant",
                    format!("Courant number {value} must be positive"),
                    "write `courant = 5` (the largest displacement per step, in cells)",
                ));
            }
            options.courant = Some(value);
        }
        if let Some(kind) = &solver.hamiltonian {
            options.force_sampled = match kind.get_ref().as_str() {
                "auto" => false,
                "sampled" => true,
                other => {
                    return Err(self.invalid(
                        kind.span(),
                        "solver.hamiltonian",
                        format!("unknown Hamiltonian minimisation `{other}`"),
                        "write \"auto\" (closed form where it applies) or \"sampled\"",
                    ))
                }
            };
        }
        options.refine = solver.refine;
        if let Some(kind) = &solver.characteristic {
            options.characteristic = Some(match kind.get_ref().as_str() {
                "euler" => Characteristic::Euler,
                "heun" => Characteristic::Heun,
                other => {
                    return Err(self.invalid(
                        kind.span(),
                        "solver.characteristic",
                        format!("unknown characteristic rule `{other}`"),
                        "write \"euler\" (x + Δt f) or \"heun\" (the trapezoidal foot)",
                    ))
                }
            });
        }
        if let Some(step) = &solver.time_step {
            let value = self.finite(step, "solver.time_step")?;
            if value <= 0.0 {
                return Err(self.invalid(
                    step.span(),
                    "solver.time_step",
                    format!("time step {value} must be positive"),
                    "write a positive step, or remove it to let `cfl` choose",
                ));
            }
            options.time_step = Some(value);
        }
        // The combination, checked in one place; located at the key a name error is about, else
        // at the first naming key.
        if let Err(error) = options.settings() {
            let keys = [
                ("scheme", &solver.scheme),
                ("differencing", &solver.differencing),
                ("stepping", &solver.stepping),
                ("derivatives", &solver.derivatives),
                ("accuracy", &solver.accuracy),
                ("time_integrator", &solver.time_integrator),
                ("dissipation", &solver.dissipation),
                ("linear_solver", &solver.linear_solver),
            ];
            let about = match &error {
                SettingsError::UnknownName { what, .. } => Some(*what),
                _ => None,
            };
            let (key, span) = keys
                .iter()
                .filter(|(key, _)| about.is_none_or(|what| what == *key))
                .find_map(|(key, named)| named.as_ref().map(|named| (*key, named.span())))
                .unwrap_or(("solver", 0..0));
            let hint = match key {
                "derivatives" | "accuracy" | "time_integrator" | "dissipation" => format!(
                    "write `accuracy = \"very_high\"` (WENO5 + TVD-RK3; presets: {}), or `derivatives` ({}) with \
                     `time_integrator` ({}); `dissipation` ({}) goes with differencing = \"lax_friedrichs\"",
                    Accuracy::NAMES,
                    Derivatives::NAMES,
                    Integrator::NAMES,
                    Dissipation::NAMES
                ),
                "linear_solver" => format!(
                    "write `linear_solver = \"bicgstab\"` (available: {}; `auto` picks LU below {} unknowns)",
                    LinearSolver::NAMES,
                    crate::settings::linear::KRYLOV_NODES
                ),
                _ => format!(
                    "write `scheme = \"upwind\"` (available: {SCHEME_NAMES}), or `differencing` \
                     (upwind, lax_friedrichs) with `stepping` (explicit, implicit, semi_lagrangian, sweeping)"
                ),
            };
            let field = if key == "solver" { "solver".to_string() } else { format!("solver.{key}") };
            return Err(self.invalid(span, &field, error.to_string(), &hint));
        }
        Ok(options)
    }
}
