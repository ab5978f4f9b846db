//! The choices of the high-order finite-difference schemes: how one-sided derivatives are
//! reconstructed ([`Derivatives`]), which Lax–Friedrichs dissipation is used ([`Dissipation`]),
//! how time is integrated ([`Integrator`]), and the presets named like hj_reachability's accuracy
//! levels ([`Accuracy`]). The schemes themselves are in [`crate::scheme::reconstruction`] and
//! [`crate::time::high_order`]; see `docs/numerics.md` §10.

use super::SettingsError;

/// How the one-sided derivatives `D⁻V`, `D⁺V` at a node are reconstructed along each axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derivatives {
    /// `(V_{i+1} − V_i)/h`, `(V_i − V_{i−1})/h`: the monotone first-order differences.
    FirstOrder,
    /// Second-order ENO (Osher–Shu): the smaller second difference corrects the first.
    Eno2,
    /// Third-order ENO: the smoothest of three third-order stencils.
    Eno3,
    /// Fifth-order WENO (Jiang–Peng): the three third-order stencils blended by smoothness.
    Weno5,
}

impl Derivatives {
    /// The names accepted in files and on the command line.
    pub const NAMES: &'static str = "first_order, eno2, eno3, weno5";

    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Derivatives::FirstOrder => "first_order",
            Derivatives::Eno2 => "eno2",
            Derivatives::Eno3 => "eno3",
            Derivatives::Weno5 => "weno5",
        }
    }

    /// Parse a name; `None` when it is not one of [`Derivatives::NAMES`].
    pub fn parse(name: &str) -> Option<Derivatives> {
        match name {
            "first_order" => Some(Derivatives::FirstOrder),
            "eno2" => Some(Derivatives::Eno2),
            "eno3" => Some(Derivatives::Eno3),
            "weno5" => Some(Derivatives::Weno5),
            _ => None,
        }
    }

    /// Nodes read on each side of a node (1 for first order, 2 for ENO2, 3 for ENO3 and WENO5).
    pub fn half_width(self) -> usize {
        match self {
            Derivatives::FirstOrder => 1,
            Derivatives::Eno2 => 2,
            Derivatives::Eno3 | Derivatives::Weno5 => 3,
        }
    }

    /// The fewest nodes an axis needs for the full stencil (`2 · half width + 1`).
    pub fn minimum_points(self) -> usize {
        2 * self.half_width() + 1
    }

    /// The formal order of accuracy on smooth data.
    pub fn order(self) -> usize {
        match self {
            Derivatives::FirstOrder => 1,
            Derivatives::Eno2 => 2,
            Derivatives::Eno3 => 3,
            Derivatives::Weno5 => 5,
        }
    }
}

/// The dissipation `α_i` of the Lax–Friedrichs numerical Hamiltonian
/// `Ĥ = H(x, (p⁺+p⁻)/2) + Σ_i α_i (p⁺_i − p⁻_i)/2` (ToolboxLS's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dissipation {
    /// `α_i = max_{x,u} |f_i(x, u)|`: one number per axis over the whole grid.
    Global,
    /// `α_i(x) = max_u |f_i(x, u)|` per node.
    Local,
    /// `α_i(x) = max |f_i(x, u*(p))|` over the controls that are optimal for some gradient `p`
    /// between `p⁻` and `p⁺` at the node (closed form; the sampled model uses `Local`).
    LocalLocal,
}

impl Dissipation {
    /// The names accepted in files and on the command line.
    pub const NAMES: &'static str = "global, local, local_local";

    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Dissipation::Global => "global",
            Dissipation::Local => "local",
            Dissipation::LocalLocal => "local_local",
        }
    }

    /// Parse a name.
    pub fn parse(name: &str) -> Result<Dissipation, SettingsError> {
        match name {
            "global" => Ok(Dissipation::Global),
            "local" => Ok(Dissipation::Local),
            "local_local" => Ok(Dissipation::LocalLocal),
            other => Err(SettingsError::UnknownName {
                what: "dissipation",
                name: other.to_string(),
                available: Dissipation::NAMES,
            }),
        }
    }
}

/// The explicit time integrator: forward Euler or a strong-stability-preserving (TVD)
/// Runge–Kutta method of Shu and Osher. All three keep the forward-Euler CFL bound per stage
/// (SSP coefficient 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrator {
    /// Forward Euler (`tvd_rk1`).
    Euler,
    /// Heun's method in Shu–Osher form, second order.
    TvdRk2,
    /// Shu–Osher's three-stage third-order method.
    TvdRk3,
}

impl Integrator {
    /// The names accepted in files and on the command line.
    pub const NAMES: &'static str = "euler (or tvd_rk1), tvd_rk2, tvd_rk3";

    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Integrator::Euler => "euler",
            Integrator::TvdRk2 => "tvd_rk2",
            Integrator::TvdRk3 => "tvd_rk3",
        }
    }

    /// Parse a name.
    pub fn parse(name: &str) -> Result<Integrator, SettingsError> {
        match name {
            "euler" | "tvd_rk1" => Ok(Integrator::Euler),
            "tvd_rk2" => Ok(Integrator::TvdRk2),
            "tvd_rk3" => Ok(Integrator::TvdRk3),
            other => Err(SettingsError::UnknownName {
                what: "time_integrator",
                name: other.to_string(),
                available: Integrator::NAMES,
            }),
        }
    }

    /// Stages per step (evaluations of the space operator).
    pub fn stages(self) -> usize {
        match self {
            Integrator::Euler => 1,
            Integrator::TvdRk2 => 2,
            Integrator::TvdRk3 => 3,
        }
    }
}

/// Presets named like hj_reachability's `SolverSettings.with_accuracy` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accuracy {
    /// First-order differences, forward Euler (the monotone scheme).
    Low,
    /// ENO2 with TVD-RK2.
    Medium,
    /// ENO3 with TVD-RK3.
    High,
    /// WENO5 with TVD-RK3.
    VeryHigh,
}

impl Accuracy {
    /// The names accepted in files and on the command line.
    pub const NAMES: &'static str = "low, medium, high, very_high";

    /// Parse a name.
    pub fn parse(name: &str) -> Result<Accuracy, SettingsError> {
        match name {
            "low" => Ok(Accuracy::Low),
            "medium" => Ok(Accuracy::Medium),
            "high" => Ok(Accuracy::High),
            "very_high" => Ok(Accuracy::VeryHigh),
            other => Err(SettingsError::UnknownName {
                what: "accuracy",
                name: other.to_string(),
                available: Accuracy::NAMES,
            }),
        }
    }

    /// The derivative reconstruction and time integrator of the preset.
    pub fn choices(self) -> (Derivatives, Integrator) {
        match self {
            Accuracy::Low => (Derivatives::FirstOrder, Integrator::Euler),
            Accuracy::Medium => (Derivatives::Eno2, Integrator::TvdRk2),
            Accuracy::High => (Derivatives::Eno3, Integrator::TvdRk3),
            Accuracy::VeryHigh => (Derivatives::Weno5, Integrator::TvdRk3),
        }
    }
}
