//! The time step of a run and the stability numbers behind it.
//!
//! Explicit stepping: `Δt = cfl · Δt_max` with `Δt_max = 1 / max_{x,u} Σ_i (|f_i|/h_i + 2a_i/h_i²)`
//! (upwind; local Lax–Friedrichs uses `α_i(x)` for `|f_i|`), or a fixed step checked against
//! `Δt_max`. Implicit and semi-Lagrangian stepping have no limit: `Δt = courant / max Σ_i |f_i|/h_i`
//! or by default `Δt = min_i h_i`. Finite horizons round the step down so that `N Δt = T`.
//! See `docs/numerics.md` §4.

use crate::error::{HjbError, Result};
use crate::problem::Problem;
use crate::scheme::DriftBounds;
use crate::settings::{Differencing, Dissipation, Settings, Stepping};

/// The CFL rate `1/Δt_max` of the explicit step of `settings`: `max Σ_i (|f_i|/h_i + 2a_i/h_i²)`
/// for upwind differencing, the same with `α_i` for Lax–Friedrichs (per node for local and
/// local-local dissipation, the grid-wide maxima for global). The high-order steps add the
/// discount `ρ`: each of their Euler stages is `V + Δt(Ĥ − ρV)`, whose weight on `V` is
/// `1 − Δt(rate + ρ)`. (The first-order step discounts by `e^{−ρΔt}` instead, which needs no room.)
pub fn cfl_rate(settings: &Settings, bounds: &DriftBounds, discount: f64) -> f64 {
    let rate = match (settings.differencing, settings.dissipation) {
        (Differencing::Upwind, _) => bounds.largest_rate,
        (Differencing::LaxFriedrichs, Dissipation::Global) => bounds.largest_global_rate,
        (Differencing::LaxFriedrichs, _) => bounds.largest_dissipation_rate,
    };
    if settings.is_high_order() {
        rate + discount
    } else {
        rate
    }
}

/// Time step, number of steps and the stability numbers behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeStepPlan {
    /// The time step `Δt` (for a finite horizon, rounded down so that `N Δt = T`).
    pub time_step: f64,
    /// The number of steps `N` (0 for a stationary problem, whose step count is decided by
    /// convergence).
    pub steps: usize,
    /// CFL bound `Δt_max` (infinite when nothing moves).
    pub time_step_max: f64,
    /// `Δt / Δt_max` (≤ 1 ⇔ all weights nonnegative).
    pub cfl_number: f64,
    /// Node where `Σ_i |f_i|/h_i` peaks.
    pub peak_node: usize,
    /// `max |f_i|` per axis.
    pub largest_drift: Vec<f64>,
    /// Frozen coefficients at the peak: drift and Lax–Friedrichs dissipation.
    pub peak_drift: Vec<f64>,
    /// Local Lax–Friedrichs dissipation `α_i` at the peak.
    pub peak_dissipation: Vec<f64>,
    /// Diagonal diffusion `a_i` at the peak.
    pub peak_diffusion: Vec<f64>,
    /// `Δt · max Σ_i 2a_i/h_i²`.
    pub diffusion_number: f64,
}

impl TimeStepPlan {
    /// Choose or check the time step of `settings` from the drift bounds.
    pub fn new(
        settings: &Settings,
        bounds: &DriftBounds,
        problem: &Problem,
        spacings: &[f64],
    ) -> Result<TimeStepPlan> {
        let final_time = problem.final_time;
        let fixed_time_step = settings.time_step;
        let minimum_spacing = spacings.iter().fold(f64::INFINITY, |a, h| a.min(*h));
        // Cells crossed per unit time at the fastest node (drift only): the Courant reference
        // of the schemes without a CFL limit.
        let drift_rate: f64 = bounds.largest_drift.iter().zip(spacings).map(|(f, h)| f / h).sum();
        let rate = cfl_rate(settings, bounds, problem.discount);
        let unlimited = !settings.stepping.has_cfl_limit();
        let courant = settings.stepping.courant();
        let time_step_max = if rate > 0.0 { 1.0 / rate } else { f64::INFINITY };
        let requested = match fixed_time_step {
            // The implicit and semi-Lagrangian schemes have no step limit; their default
            // Δt = min_i h_i keeps the time error of the same first order as the space error
            // (for semi-Lagrangian it balances Δt against the interpolation term h²/Δt).
            None if unlimited => match courant {
                Some(courant) if drift_rate > 0.0 => courant / drift_rate,
                _ => minimum_spacing,
            },
            Some(step) if unlimited => step,
            Some(step) => {
                if step > time_step_max * (1.0 + 1e-12) && !settings.allow_unstable {
                    return Err(HjbError::CflViolated {
                        scheme: settings.scheme_name().to_string(),
                        time_step: step,
                        time_step_max,
                        cfl: step * rate,
                    });
                }
                step
            }
            None => match settings.stepping {
                Stepping::Explicit { cfl, .. } => cfl * time_step_max,
                _ => unreachable!("the steppers without a CFL limit are handled above"),
            },
        };
        // A stationary problem has no horizon: the step count is decided by convergence.
        let (steps, time_step) = if final_time.is_infinite() {
            (0, requested)
        } else {
            let steps = (final_time / requested.min(final_time)).ceil().max(1.0) as usize;
            (steps, final_time / steps as f64)
        };
        Ok(TimeStepPlan {
            time_step,
            steps,
            time_step_max,
            cfl_number: time_step * rate,
            peak_node: bounds.peak_node,
            largest_drift: bounds.largest_drift.clone(),
            peak_drift: bounds.peak_drift.clone(),
            peak_dissipation: bounds.peak_dissipation.clone(),
            peak_diffusion: bounds.peak_diffusion.clone(),
            diffusion_number: time_step * bounds.largest_diffusion_rate,
        })
    }
}
