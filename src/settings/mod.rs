//! Solver settings, separate from the model: how space is differenced ([`Differencing`]), how
//! time is stepped ([`Stepping`]), how the minimum over controls is taken ([`Minimisation`]),
//! and what the run writes ([`OutputSettings`]).
//!
//! A problem file's `[solver]` table and the command-line overrides fill a [`SolverOptions`] (what
//! the user wrote, every field optional); [`SolverOptions::settings`] turns it into [`Settings`],
//! the one place where combinations that make no sense are refused. The historical scheme names
//! map onto the two axes:
//!
//! | `scheme =`          | differencing     | stepping                      |
//! |---------------------|------------------|-------------------------------|
//! | `"upwind"`          | upwind           | explicit (forward Euler, CFL) |
//! | `"lax_friedrichs"`  | Lax–Friedrichs   | explicit                      |
//! | `"implicit"`        | upwind           | implicit (policy iteration)   |
//! | `"semi_lagrangian"` | — (interpolation)| semi-Lagrangian               |
//! | `"fast_sweeping"`   | upwind           | sweeping (Gauss–Seidel, stationary problems) |
//! | `"auto"` (default)  | chosen per problem by [`choose`] (see [`auto`])  |  |
//!
//! The high-order finite-difference schemes add three choices to explicit stepping
//! ([`Derivatives`], [`Dissipation`], [`Integrator`]) and the presets [`Accuracy`]
//! (`accuracy = "very_high"` is WENO5 with TVD-RK3); see [`high_order`].
//!
//! Policy iteration's linear solver is [`LinearSolver`] (`linear_solver = "auto" | "lu" |
//! "bicgstab" | "tridiagonal"`; see [`linear`]).
//!
//! See `docs/numerics.md` §3–§4 and §10 for the schemes themselves.

pub mod auto;
pub mod high_order;
pub mod linear;

pub use auto::{choose, AutoRule, Choice, ProblemClass};
pub use high_order::{Accuracy, Derivatives, Dissipation, Integrator};
pub use linear::{LinearSolver, LinearSystem};

use std::fmt;
use std::path::PathBuf;

/// CFL number of the explicit schemes when none is given.
pub const DEFAULT_CFL: f64 = 0.9;

/// How one-sided space differences and the numerical Hamiltonian are formed (finite-difference
/// stepping only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Differencing {
    /// Upwind differences per control (Kushner's Markov chain approximation).
    Upwind,
    /// Central differences with local Lax–Friedrichs dissipation `α_i(x) = max_u |f_i(x,u)|`.
    LaxFriedrichs,
}

impl Differencing {
    /// The names accepted in files and on the command line.
    pub const NAMES: &'static str = "upwind, lax_friedrichs (or a derivatives name: eno2, eno3, weno5)";

    /// The name used in files, reports and result files.
    pub fn name(self) -> &'static str {
        match self {
            Differencing::Upwind => "upwind",
            Differencing::LaxFriedrichs => "lax_friedrichs",
        }
    }

    /// Parse a differencing name.
    pub fn parse(name: &str) -> Result<Differencing, SettingsError> {
        match name {
            "upwind" => Ok(Differencing::Upwind),
            "lax_friedrichs" => Ok(Differencing::LaxFriedrichs),
            other => Err(SettingsError::UnknownName {
                what: "differencing",
                name: other.to_string(),
                available: Differencing::NAMES,
            }),
        }
    }
}

/// How the semi-Lagrangian scheme follows a characteristic over one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Characteristic {
    /// `y = x + Δt f(x, u)`.
    Euler,
    /// `y = x + Δt/2 (f(x, u) + f(x + Δt f(x, u), u))` (second order in Δt for the foot).
    Heun,
}

impl Characteristic {
    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Characteristic::Euler => "euler",
            Characteristic::Heun => "heun",
        }
    }
}

/// How the solution advances in time-to-go, with the parameters that belong to each way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stepping {
    /// Explicit steps under the CFL bound: `Δt = cfl · Δt_max`, `cfl` in (0, 1].
    Explicit {
        /// Fraction of the CFL bound used when no fixed time step is given.
        cfl: f64,
        /// Forward Euler or a TVD Runge–Kutta method (the bound holds per stage).
        integrator: Integrator,
    },
    /// Backward Euler with Howard's policy iteration (any Δt); stationary problems solve
    /// `(ρI − A(u))V = ℓ(u)` directly.
    Implicit {
        /// `Δt = courant / max Σ_i |f_i|/h_i` (cells per step); default `Δt = min_i h_i`.
        courant: Option<f64>,
    },
    /// Interpolation at the feet of the characteristics (any Δt).
    SemiLagrangian {
        /// As for [`Stepping::Implicit`].
        courant: Option<f64>,
        /// Euler or Heun feet.
        characteristic: Characteristic,
        /// Refine the best control sample by golden-section search per control.
        refine: bool,
    },
    /// Stationary problems only: Gauss–Seidel sweeps on the stationary upwind equation in
    /// alternating orderings ([`crate::time::sweeping`]).
    Sweeping,
}

impl Stepping {
    /// The names accepted in files.
    pub const NAMES: &'static str = "explicit, implicit, semi_lagrangian, sweeping";

    /// The name used in files and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Stepping::Explicit { .. } => "explicit",
            Stepping::Implicit { .. } => "implicit",
            Stepping::SemiLagrangian { .. } => "semi_lagrangian",
            Stepping::Sweeping => "sweeping",
        }
    }

    /// Whether the step size is limited by a CFL condition.
    pub fn has_cfl_limit(&self) -> bool {
        matches!(self, Stepping::Explicit { .. })
    }

    /// The Courant number of the steppers without a CFL limit.
    pub fn courant(&self) -> Option<f64> {
        match self {
            Stepping::Explicit { .. } | Stepping::Sweeping => None,
            Stepping::Implicit { courant } | Stepping::SemiLagrangian { courant, .. } => *courant,
        }
    }
}

/// How the minimum over the controls is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Minimisation {
    /// The closed form where the structure allows it, the control samples otherwise.
    Auto,
    /// Always the control samples (for cross-checks and non-convex experiments).
    Sampled,
}

/// The solver settings of one run, chosen once and checked (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// The numerical Hamiltonian: upwind or Lax–Friedrichs (ignored by the semi-Lagrangian
    /// stepping, which interpolates).
    pub differencing: Differencing,
    /// How one-sided derivatives are reconstructed (first order except for explicit stepping).
    pub derivatives: Derivatives,
    /// The Lax–Friedrichs dissipation (Lax–Friedrichs differencing only).
    pub dissipation: Dissipation,
    /// Time stepping and its parameters.
    pub stepping: Stepping,
    /// A fixed time step (the explicit stepping refuses it above the CFL bound).
    pub time_step: Option<f64>,
    /// Closed form or samples.
    pub minimisation: Minimisation,
    /// Run a fixed time step above the CFL bound (a demonstration; the blow-up detector stops it).
    pub allow_unstable: bool,
    /// Number of stored time levels (0: none) of V and the policy, evenly spaced in steps from
    /// t = 0 to T ([`crate::solver::Snapshots`]); the file's `[output] snapshots`.
    pub snapshots: usize,
    /// Whether the scheme was named or chosen by `auto`, and by which rule ([`choose`]).
    pub choice: Choice,
    /// The linear solver of policy iteration (implicit stepping; ignored by the others).
    pub linear_solver: LinearSolver,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            differencing: Differencing::Upwind,
            derivatives: Derivatives::FirstOrder,
            dissipation: Dissipation::Local,
            stepping: Stepping::Explicit { cfl: DEFAULT_CFL, integrator: Integrator::Euler },
            time_step: None,
            minimisation: Minimisation::Auto,
            allow_unstable: false,
            snapshots: 0,
            choice: Choice::Named,
            linear_solver: LinearSolver::Auto,
        }
    }
}

impl Settings {
    /// Explicit upwind with the default CFL number.
    pub fn upwind() -> Settings {
        Settings::default()
    }

    /// The settings of a historical scheme name with every other choice at its default.
    pub fn of_scheme(name: &str) -> Result<Settings, SettingsError> {
        SolverOptions { scheme: Some(name.to_string()), ..SolverOptions::default() }.settings()
    }

    /// The scheme name of these settings: what result files and JSON summaries call `scheme`.
    /// The monotone schemes keep their historical names (`upwind`, `lax_friedrichs`, `implicit`,
    /// `semi_lagrangian`); a high-order scheme is named by its parts, e.g.
    /// `weno5_tvd_rk3_upwind` or `eno2_tvd_rk2_lax_friedrichs_global`.
    pub fn scheme_name(&self) -> String {
        match (self.stepping, self.differencing) {
            (Stepping::Explicit { .. }, differencing) if !self.is_high_order() => differencing.name().into(),
            (Stepping::Explicit { integrator, .. }, Differencing::Upwind) => {
                format!("{}_{}_upwind", self.derivatives.name(), integrator.name())
            }
            (Stepping::Explicit { integrator, .. }, Differencing::LaxFriedrichs) => format!(
                "{}_{}_lax_friedrichs_{}",
                self.derivatives.name(),
                integrator.name(),
                self.dissipation.name()
            ),
            (Stepping::Implicit { .. }, _) => "implicit".into(),
            (Stepping::SemiLagrangian { .. }, _) => "semi_lagrangian".into(),
            (Stepping::Sweeping, _) => "fast_sweeping".into(),
        }
    }

    /// Whether these settings leave the monotone first-order explicit scheme: a reconstruction
    /// beyond first order, a Runge–Kutta integrator, or a dissipation other than local.
    pub fn is_high_order(&self) -> bool {
        let integrator = match self.stepping {
            Stepping::Explicit { integrator, .. } => integrator,
            _ => Integrator::Euler,
        };
        self.derivatives != Derivatives::FirstOrder
            || integrator != Integrator::Euler
            || (self.differencing == Differencing::LaxFriedrichs && self.dissipation != Dissipation::Local)
    }

    /// The same settings with a fixed time step.
    pub fn with_time_step(mut self, time_step: f64) -> Settings {
        self.time_step = Some(time_step);
        self
    }
}

/// The scheme names accepted by `scheme =` and `--scheme`.
pub const SCHEME_NAMES: &str = "upwind, lax_friedrichs, implicit, semi_lagrangian, fast_sweeping, auto";

/// What the user asked for, from the file's `[solver]` table and the command line; every field
/// optional. [`SolverOptions::settings`] checks the combination.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SolverOptions {
    /// A scheme name (sets differencing and stepping together); `None` or `"auto"` leaves the
    /// choice to [`choose`].
    pub scheme: Option<String>,
    /// `differencing = "upwind" | "lax_friedrichs"`.
    pub differencing: Option<String>,
    /// `stepping = "explicit" | "implicit" | "semi_lagrangian"`.
    pub stepping: Option<String>,
    /// Explicit stepping: fraction of the CFL bound.
    pub cfl: Option<f64>,
    /// Implicit and semi-Lagrangian stepping: cells of displacement per step.
    pub courant: Option<f64>,
    /// A fixed time step.
    pub time_step: Option<f64>,
    /// Always sample the controls.
    pub force_sampled: bool,
    /// Accept a fixed time step above the CFL bound.
    pub allow_unstable: bool,
    /// Semi-Lagrangian: golden-section refinement (default true).
    pub refine: Option<bool>,
    /// Semi-Lagrangian: the foot rule (default Euler).
    pub characteristic: Option<Characteristic>,
    /// Stored time levels (`[output] snapshots`).
    pub snapshots: usize,
    /// `derivatives = "first_order" | "eno2" | "eno3" | "weno5"` (also accepted as a
    /// `differencing` name, which then keeps the upwind Hamiltonian).
    pub derivatives: Option<String>,
    /// `dissipation = "global" | "local" | "local_local"` (Lax–Friedrichs only).
    pub dissipation: Option<String>,
    /// `time_integrator = "euler" | "tvd_rk1" | "tvd_rk2" | "tvd_rk3"` (explicit stepping).
    pub time_integrator: Option<String>,
    /// `accuracy = "low" | "medium" | "high" | "very_high"`: derivatives and integrator together.
    pub accuracy: Option<String>,
    /// `linear_solver = "auto" | "lu" | "bicgstab" | "tridiagonal"` (policy iteration's linear solves).
    pub linear_solver: Option<String>,
}

impl SolverOptions {
    /// Whether these options name the scheme (a scheme other than `auto`, a differencing, a
    /// stepping or a high-order choice); otherwise [`choose`] picks it for the problem.
    pub fn names_scheme(&self) -> bool {
        self.scheme.as_deref().is_some_and(|name| name != "auto")
            || self.differencing.is_some()
            || self.stepping.is_some()
            || self.derivatives.is_some()
            || self.dissipation.is_some()
            || self.time_integrator.is_some()
            || self.accuracy.is_some()
    }

    /// The checked settings as named: the one place where combinations are refused. Parameters
    /// that belong to another stepping (a `cfl` with implicit stepping, say) are ignored, so one
    /// problem file serves every scheme. Nothing named means explicit upwind here; [`choose`]
    /// is what applies `auto` to a problem.
    pub fn settings(&self) -> Result<Settings, SettingsError> {
        let (mut differencing, mut stepping_name) = match self.scheme.as_deref() {
            None | Some("auto") => (None, None),
            Some("upwind") => (Some(Differencing::Upwind), Some("explicit")),
            Some("lax_friedrichs") => (Some(Differencing::LaxFriedrichs), Some("explicit")),
            Some("implicit") => (Some(Differencing::Upwind), Some("implicit")),
            Some("semi_lagrangian") => (None, Some("semi_lagrangian")),
            Some("fast_sweeping") => (Some(Differencing::Upwind), Some("sweeping")),
            Some(other) => {
                return Err(SettingsError::UnknownName {
                    what: "scheme",
                    name: other.to_string(),
                    available: SCHEME_NAMES,
                })
            }
        };
        let mut derivatives_named = None;
        if let Some(name) = &self.derivatives {
            derivatives_named = Some(Derivatives::parse(name).ok_or_else(|| SettingsError::UnknownName {
                what: "derivatives",
                name: name.clone(),
                available: Derivatives::NAMES,
            })?);
        }
        let differencing_name = match self.differencing.as_deref().and_then(Derivatives::parse) {
            // `differencing = "weno5"`: the reconstruction, with the default (upwind) Hamiltonian.
            Some(chosen) => {
                if derivatives_named.is_some_and(|named| named != chosen) {
                    return Err(SettingsError::Conflict {
                        reason: format!(
                            "differencing = `{}` and derivatives = `{}` disagree; give one of them",
                            chosen.name(),
                            derivatives_named.map_or("", Derivatives::name)
                        ),
                    });
                }
                derivatives_named = Some(chosen);
                None
            }
            None => self.differencing.as_ref(),
        };
        if let Some(name) = differencing_name {
            let chosen = Differencing::parse(name)?;
            if differencing.is_some_and(|implied| implied != chosen) {
                return Err(SettingsError::Conflict {
                    reason: format!(
                        "scheme `{}` implies {} differencing, but differencing = `{name}`; give one of them",
                        self.scheme.as_deref().unwrap_or_default(),
                        differencing.map_or("no", Differencing::name)
                    ),
                });
            }
            differencing = Some(chosen);
        }
        if let Some(name) = &self.stepping {
            let known = ["explicit", "implicit", "semi_lagrangian", "sweeping"];
            let Some(chosen) = known.iter().find(|k| **k == name.as_str()) else {
                return Err(SettingsError::UnknownName {
                    what: "stepping",
                    name: name.clone(),
                    available: Stepping::NAMES,
                });
            };
            if stepping_name.is_some_and(|implied| implied != *chosen) {
                return Err(SettingsError::Conflict {
                    reason: format!(
                        "scheme `{}` implies {} stepping, but stepping = `{name}`; give one of them",
                        self.scheme.as_deref().unwrap_or_default(),
                        stepping_name.unwrap_or_default()
                    ),
                });
            }
            stepping_name = Some(chosen);
        }
        let mut integrator_named = self.time_integrator.as_deref().map(Integrator::parse).transpose()?;
        if let Some(name) = &self.accuracy {
            let (preset_derivatives, preset_integrator) = Accuracy::parse(name)?.choices();
            if derivatives_named.is_some_and(|named| named != preset_derivatives)
                || integrator_named.is_some_and(|named| named != preset_integrator)
            {
                return Err(SettingsError::Conflict {
                    reason: format!(
                        "accuracy = `{name}` means {} derivatives with {}; drop `accuracy` or the \
                         derivatives/time_integrator that contradict it",
                        preset_derivatives.name(),
                        preset_integrator.name()
                    ),
                });
            }
            derivatives_named = Some(preset_derivatives);
            integrator_named = Some(preset_integrator);
        }
        let dissipation = self.dissipation.as_deref().map(Dissipation::parse).transpose()?;
        let linear_solver = self.linear_solver.as_deref().map(LinearSolver::parse).transpose()?;
        if dissipation.is_some() && differencing != Some(Differencing::LaxFriedrichs) {
            return Err(SettingsError::Conflict {
                reason: "`dissipation` is the Lax–Friedrichs dissipation; add differencing = \
                         \"lax_friedrichs\" or drop `dissipation` (upwind differencing needs none)"
                    .to_string(),
            });
        }
        let derivatives = derivatives_named.unwrap_or(Derivatives::FirstOrder);
        let integrator = integrator_named.unwrap_or(Integrator::Euler);
        let high_order = derivatives != Derivatives::FirstOrder
            || integrator != Integrator::Euler
            || dissipation.is_some_and(|d| d != Dissipation::Local);
        if high_order && stepping_name.is_some_and(|name| name != "explicit") {
            return Err(SettingsError::Conflict {
                reason: format!(
                    "{} derivatives with {} time integration are explicit schemes under a CFL bound; \
                     {} stepping takes first-order (monotone) differences only — use stepping = \
                     \"explicit\", or drop derivatives/time_integrator/accuracy",
                    derivatives.name(),
                    integrator.name(),
                    stepping_name.unwrap_or_default()
                ),
            });
        }
        let stepping = match stepping_name.unwrap_or("explicit") {
            "explicit" => Stepping::Explicit { cfl: self.cfl.unwrap_or(DEFAULT_CFL), integrator },
            "implicit" => Stepping::Implicit { courant: self.courant },
            "sweeping" => Stepping::Sweeping,
            _ => Stepping::SemiLagrangian {
                courant: self.courant,
                characteristic: self.characteristic.unwrap_or(Characteristic::Euler),
                refine: self.refine.unwrap_or(true),
            },
        };
        match (&stepping, differencing) {
            (Stepping::Implicit { .. }, Some(Differencing::LaxFriedrichs)) => {
                return Err(SettingsError::Conflict {
                    reason: "implicit stepping uses the upwind generator (its matrix is an M-matrix only \
                             with upwind rates); Lax–Friedrichs differencing has no implicit form here — use \
                             explicit stepping for lax_friedrichs"
                        .to_string(),
                })
            }
            (Stepping::Sweeping, Some(Differencing::LaxFriedrichs)) => {
                return Err(SettingsError::Conflict {
                    reason: "fast sweeping solves the upwind equation (M-matrix rows); Lax–Friedrichs \
                             differencing has no sweeping form here — use explicit stepping for lax_friedrichs"
                        .to_string(),
                })
            }
            (Stepping::SemiLagrangian { .. }, Some(Differencing::LaxFriedrichs)) => {
                return Err(SettingsError::Conflict {
                    reason: "semi-Lagrangian stepping interpolates at the feet of the characteristics and \
                             takes no space differences; drop `differencing`"
                        .to_string(),
                })
            }
            _ => {}
        }
        if let Some(cfl) = self.cfl {
            if !(cfl > 0.0 && cfl <= 1.0) {
                return Err(SettingsError::OutOfRange {
                    setting: "cfl",
                    value: cfl,
                    reason: "a CFL number must lie in (0, 1]; above 1 the explicit schemes are not monotone \
                             (and the TVD Runge–Kutta steps lose their stability bound: SSP coefficient 1)",
                });
            }
        }
        if let Some(courant) = self.courant {
            if !(courant > 0.0 && courant.is_finite()) {
                return Err(SettingsError::OutOfRange {
                    setting: "courant",
                    value: courant,
                    reason: "a Courant number (cells of displacement per step) must be positive and finite",
                });
            }
        }
        if let Some(step) = self.time_step {
            if !(step > 0.0 && step.is_finite()) {
                return Err(SettingsError::OutOfRange {
                    setting: "time_step",
                    value: step,
                    reason: "a time step must be positive and finite",
                });
            }
        }
        Ok(Settings {
            differencing: differencing.unwrap_or(Differencing::Upwind),
            derivatives,
            dissipation: dissipation.unwrap_or(Dissipation::Local),
            stepping,
            time_step: self.time_step,
            minimisation: if self.force_sampled { Minimisation::Sampled } else { Minimisation::Auto },
            allow_unstable: self.allow_unstable,
            snapshots: self.snapshots,
            choice: Choice::Named,
            linear_solver: linear_solver.unwrap_or_default(),
        })
    }
}

/// Why a set of solver options was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsError {
    /// A name that is not one of the choices.
    UnknownName {
        /// Which setting (`scheme`, `differencing`, `stepping`).
        what: &'static str,
        /// The name given.
        name: String,
        /// The names that exist.
        available: &'static str,
    },
    /// Two choices that do not go together.
    Conflict {
        /// Why, in words.
        reason: String,
    },
    /// A number outside its range.
    OutOfRange {
        /// Which setting.
        setting: &'static str,
        /// The value given.
        value: f64,
        /// The range, in words.
        reason: &'static str,
    },
}

impl fmt::Display for SettingsError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsError::UnknownName { what, name, available } => {
                write!(formatter, "unknown {what} `{name}`; available: {available}")
            }
            SettingsError::Conflict { reason } => write!(formatter, "{reason}"),
            SettingsError::OutOfRange { setting, value, reason } => {
                write!(formatter, "{setting} = {value}: {reason}")
            }
        }
    }
}

impl std::error::Error for SettingsError {}

/// What a run writes (the file's `[output]` table).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSettings {
    /// Folder of the result files.
    pub directory: PathBuf,
    /// Write PNG plots.
    pub plots: bool,
    /// Store `/gradient/<state>` (central differences of V, one-sided at bounded ends).
    pub gradients: bool,
    /// Contour levels drawn on 2-D value heatmaps (0: none).
    pub contours: usize,
    /// Draw the zero level set of V on 2-D value heatmaps.
    pub zero_level_set: bool,
}

impl Default for OutputSettings {
    fn default() -> Self {
        OutputSettings {
            directory: PathBuf::from("output"),
            plots: true,
            gradients: false,
            contours: 8,
            zero_level_set: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn historical_names_map_onto_the_two_axes_and_back() {
        for name in ["upwind", "lax_friedrichs", "implicit", "semi_lagrangian", "fast_sweeping"] {
            assert_eq!(Settings::of_scheme(name).unwrap().scheme_name(), name);
        }
        let explicit = SolverOptions { stepping: Some("explicit".into()), ..Default::default() };
        assert_eq!(explicit.settings().unwrap(), Settings::default());
    }

    #[test]
    fn nonsense_combinations_are_refused_with_a_reason() {
        let implicit_lf = SolverOptions {
            stepping: Some("implicit".into()),
            differencing: Some("lax_friedrichs".into()),
            ..Default::default()
        };
        assert!(matches!(implicit_lf.settings(), Err(SettingsError::Conflict { .. })));
        let contradictory = SolverOptions {
            scheme: Some("upwind".into()),
            stepping: Some("implicit".into()),
            ..Default::default()
        };
        assert!(contradictory.settings().unwrap_err().to_string().contains("implies explicit stepping"));
        let bad_cfl = SolverOptions { cfl: Some(1.5), ..Default::default() };
        assert!(matches!(bad_cfl.settings(), Err(SettingsError::OutOfRange { setting: "cfl", .. })));
        assert!(matches!(Settings::of_scheme("weno"), Err(SettingsError::UnknownName { .. })));
    }

    #[test]
    fn parameters_of_another_stepping_are_ignored() {
        let options = SolverOptions { scheme: Some("implicit".into()), cfl: Some(0.5), ..Default::default() };
        assert_eq!(options.settings().unwrap().stepping, Stepping::Implicit { courant: None });
    }

    #[test]
    fn presets_and_high_order_names() {
        let very_high = SolverOptions { accuracy: Some("very_high".into()), ..Default::default() };
        let settings = very_high.settings().unwrap();
        assert_eq!(settings.derivatives, Derivatives::Weno5);
        assert_eq!(settings.scheme_name(), "weno5_tvd_rk3_upwind");
        let low = SolverOptions { accuracy: Some("low".into()), ..Default::default() };
        assert_eq!(low.settings().unwrap(), Settings::default());
        let shorthand = SolverOptions { differencing: Some("eno2".into()), ..Default::default() };
        assert_eq!(shorthand.settings().unwrap().derivatives, Derivatives::Eno2);
        let global = SolverOptions {
            differencing: Some("lax_friedrichs".into()),
            dissipation: Some("global".into()),
            ..Default::default()
        };
        assert_eq!(global.settings().unwrap().scheme_name(), "first_order_euler_lax_friedrichs_global");
        let implicit_weno = SolverOptions {
            stepping: Some("implicit".into()),
            derivatives: Some("weno5".into()),
            ..Default::default()
        };
        assert!(implicit_weno.settings().unwrap_err().to_string().contains("stepping = \"explicit\""));
        let contradiction = SolverOptions {
            accuracy: Some("medium".into()),
            derivatives: Some("weno5".into()),
            ..Default::default()
        };
        assert!(matches!(contradiction.settings(), Err(SettingsError::Conflict { .. })));
        let upwind_dissipation = SolverOptions { dissipation: Some("global".into()), ..Default::default() };
        assert!(matches!(upwind_dissipation.settings(), Err(SettingsError::Conflict { .. })));
        let unknown = SolverOptions { derivatives: Some("weno7".into()), ..Default::default() };
        assert!(unknown.settings().unwrap_err().to_string().contains("first_order, eno2, eno3, weno5"));
    }
}
