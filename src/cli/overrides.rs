//! The overrides every solving verb accepts, and how they apply to a problem file.

use super::{invalid, limits};
use clap::Args;
use hjb::problem::{Problem, ProblemFile};
use hjb::settings::{OutputSettings, Settings};
use hjb::solver::limits::StepLimit;
use hjb::HjbError;

/// Overrides every solving verb accepts.
#[derive(Debug, Args)]
pub struct Overrides {
    /// Scheme: auto (the default: chosen per problem, see `hjb solve` output), upwind,
    /// lax_friedrichs, implicit, semi_lagrangian or fast_sweeping.
    #[arg(long)]
    pub scheme: Option<String>,
    /// High-order preset (explicit stepping): low, medium (ENO2 + TVD-RK2), high (ENO3 +
    /// TVD-RK3) or very_high (WENO5 + TVD-RK3).
    #[arg(long)]
    pub accuracy: Option<String>,
    /// One-sided derivatives: first_order, eno2, eno3 or weno5.
    #[arg(long)]
    pub derivatives: Option<String>,
    /// Explicit time integrator: euler, tvd_rk2 or tvd_rk3.
    #[arg(long)]
    pub time_integrator: Option<String>,
    /// Lax–Friedrichs dissipation: global, local or local_local.
    #[arg(long)]
    pub dissipation: Option<String>,
    /// Linear solver of policy iteration (implicit scheme): auto (tridiagonal on one non-periodic
    /// axis, LU below 250 000 unknowns, BiCGSTAB above), lu, bicgstab (ILU(0)-preconditioned) or
    /// tridiagonal (one non-periodic axis without regimes).
    #[arg(long, value_name = "NAME")]
    pub linear_solver: Option<String>,
    /// Grid points: one number for every axis, or one per axis (N,N,…).
    #[arg(long)]
    pub points: Option<String>,
    /// Fixed time step (refused above the CFL bound for the explicit schemes).
    #[arg(long)]
    pub time_step: Option<f64>,
    /// Explicit schemes: target CFL number in (0, 1].
    #[arg(long)]
    pub cfl: Option<f64>,
    /// Semi-Lagrangian and implicit: Δt = courant / max Σ_i |f_i|/h_i, the largest displacement
    /// per step in cells (any positive number; default Δt = min h).
    #[arg(long)]
    pub courant: Option<f64>,
    /// Worker threads (default: all cores; capped at the number of cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Refuse runs whose estimated memory is above SIZE (512M, 8G, 1T; default: the memory
    /// available now).
    #[arg(long, value_name = "SIZE")]
    pub max_memory: Option<String>,
    /// Refuse marches of more than N time steps (default 100000000).
    #[arg(long, value_name = "N")]
    pub max_steps: Option<usize>,
    /// Accept a --time-step above the CFL bound (a demonstration of instability: the blow-up
    /// detector stops the run, exit 1, and the last finite state is saved flagged `partial`).
    #[arg(long)]
    pub allow_unstable: bool,
}

impl Overrides {
    /// The file's problem with the overrides applied, its checked settings and output settings.
    pub fn apply(&self, file: ProblemFile) -> Result<(Problem, Settings, OutputSettings), HjbError> {
        let ProblemFile { mut problem, solver: mut options, output } = file;
        if let Some(name) = &self.scheme {
            // The command-line scheme replaces whatever the file chose on both axes.
            (options.scheme, options.differencing, options.stepping) = (Some(name.clone()), None, None);
            (options.derivatives, options.time_integrator, options.accuracy, options.dissipation) =
                (None, None, None, None);
        }
        if self.accuracy.is_some() || self.derivatives.is_some() || self.time_integrator.is_some() {
            // High-order choices on the command line replace the file's (and its preset).
            (options.derivatives, options.time_integrator, options.accuracy) =
                (self.derivatives.clone(), self.time_integrator.clone(), self.accuracy.clone());
        }
        if self.dissipation.is_some() {
            options.dissipation = self.dissipation.clone();
        }
        if let Some(name) = &self.linear_solver {
            hjb::settings::LinearSolver::parse(name)
                .map_err(|error| invalid("--linear-solver", error.to_string()))?;
            options.linear_solver = Some(name.clone());
        }
        if let Some(cfl) = self.cfl {
            if !(cfl > 0.0 && cfl <= 1.0) {
                return Err(invalid("--cfl", format!("{cfl} is outside (0, 1]; above 1 the explicit schemes are not monotone (semi_lagrangian and implicit take --courant, any positive number; --time-step forces a step, which is checked)")));
            }
            options.cfl = Some(cfl);
            options.time_step = None;
        }
        if let Some(courant) = self.courant {
            if !(courant.is_finite() && courant > 0.0) {
                return Err(invalid("--courant", format!("{courant} must be a positive number")));
            }
            options.courant = Some(courant);
            options.time_step = None;
        }
        if let Some(step) = self.time_step {
            if !(step.is_finite() && step > 0.0) {
                return Err(invalid("--time-step", format!("{step} must be a positive number")));
            }
            options.time_step = Some(step);
        }
        if let Some(points) = &self.points {
            let counts: Vec<usize> = points
                .split(',')
                .map(|part| part.trim().parse::<usize>())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    invalid("--points", format!("`{points}` is not N or N,N,… with whole numbers"))
                })?;
            if counts.iter().any(|c| *c < 2) {
                return Err(invalid("--points", "every axis needs at least 2 points"));
            }
            // A single N refines the continuous axes; a regime axis keeps one node per regime.
            let counts = if counts.len() == 1 {
                (0..problem.grid.dimension())
                    .map(|axis| match &problem.switching {
                        Some(switching) if switching.axis == axis => switching.rates.len(),
                        _ => counts[0],
                    })
                    .collect()
            } else {
                counts
            };
            // The library states what is wrong with the counts; the flag is ours to name.
            problem = problem.with_points(&counts).map_err(|error| match error {
                HjbError::InvalidGrid { message } if problem.switching.is_some() => invalid(
                    "--points",
                    format!("{message} (a single --points N applies to the continuous axes only)"),
                ),
                HjbError::InvalidGrid { message } => invalid("--points", message),
                other => other,
            })?;
        }
        if self.allow_unstable {
            if self.time_step.is_none() {
                return Err(invalid("--allow-unstable", "only meaningful with --time-step X"));
            }
            options.allow_unstable = true;
        }
        if self.threads == Some(0) {
            return Err(invalid("--threads", "use at least 1 thread"));
        }
        if let Some(threads) = limits::cap_threads(self.threads, true) {
            // The sparse LU of the implicit scheme runs on faer's own (process-wide) setting.
            faer::set_global_parallelism(faer::Par::rayon(threads));
        }
        let flag = if self.scheme.is_some() {
            "--scheme"
        } else if self.accuracy.is_some() {
            "--accuracy"
        } else if self.derivatives.is_some() {
            "--derivatives"
        } else if self.time_integrator.is_some() {
            "--time-integrator"
        } else if self.dissipation.is_some() {
            "--dissipation"
        } else {
            "--scheme"
        };
        let settings = hjb::settings::choose(&problem.class(), &options)
            .map_err(|error| invalid(flag, error.to_string()))?;
        limits::memory_limit(self.max_memory.as_deref())?;
        Ok((problem, settings, output))
    }

    /// `--threads`, capped at the number of cores.
    pub fn threads(&self) -> Option<usize> {
        limits::cap_threads(self.threads, false)
    }

    /// Refuse a run of `problem` whose estimated memory (plus `extra` bytes) is above the limit.
    pub fn check_memory(&self, problem: &Problem, settings: &Settings, extra: f64) -> Result<(), HjbError> {
        limits::check_run_memory(problem, settings, extra, self.max_memory.as_deref())
    }

    /// The step limit of `--max-steps`.
    pub fn step_limit(&self) -> Result<StepLimit, HjbError> {
        limits::step_limit(self.max_steps)
    }
}
