//! `scheme = "auto"`, the default: the one place where the solver is chosen for a problem.
//!
//! [`choose`] keeps whatever the file or the command line named (a scheme other than `auto`, a
//! differencing, a stepping or a high-order choice) and otherwise applies the first rule that
//! fits:
//!
//! | problem                                   | chosen                         | why |
//! |-------------------------------------------|--------------------------------|-----|
//! | stationary, correlated noise              | `upwind` (value iteration)     | the equation solvers have no cross stencil |
//! | stationary, discount ρ > 0                | `implicit` (policy iteration)  | Howard's algorithm: a few sparse solves instead of `O(1/(ρΔt))` explicit sweeps |
//! | stationary, ρ = 0 (exit time)             | `fast_sweeping`                | Gauss–Seidel in `2^d` orderings: the characteristics cross the box in a few sweeps |
//! | a differential game                       | `lax_friedrichs` (explicit)    | monotone for any min–max Hamiltonian; upwind separates only with one input per state |
//! | finite horizon                            | `upwind` (explicit)            | no linear solves, `Δt` at the CFL bound |
//!
//! Finite horizons stay explicit whatever the step count: one backward-Euler step (policy
//! iteration, a sparse solve per sweep) costs about 10³ explicit node updates per node (measured:
//! `lqr_double_integrator` at 121², 20 implicit steps in 3.7 s against 259 explicit steps in
//! 0.03 s, 12.6 µs against 7.9 ns per node-step), while the explicit step count exceeds the
//! implicit one (`Δt = min h`) only by about `2a/h` where diffusion sets the CFL bound: implicit
//! would win only past `2a/h ≈ 10³`, which no shipped problem comes near. Choosing by estimated
//! work needs the CFL rate here, which today comes from the tabulation in
//! [`crate::solver`]'s preparation (not built).
//!
//! The stationary solvers solve the same upwind equation (with inward rows at extrapolated ends,
//! [`crate::time::generator`]) that value iteration reaches in the long-time limit; see
//! `docs/numerics.md` §4.5 for the measured speed-ups. A new rule (games → explicit
//! Lax–Friedrichs, say) is one more [`AutoRule`] and one more arm in [`choose`].

use super::{Settings, SettingsError, SolverOptions};

/// What the rules look at, as the problem layer reports it (`Problem::class`): settings sit
/// below the problem in the layers, so the facts come in rather than the problem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProblemClass {
    /// No final time: `ρV − min_u[...] = 0`.
    pub stationary: bool,
    /// The discount ρ.
    pub discount: f64,
    /// A full noise matrix (correlated noise).
    pub correlated_noise: bool,
    /// A differential game (disturbances, or a maximising control).
    pub game: bool,
}

/// How the scheme of a run was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Named in the problem file or on the command line.
    Named,
    /// Chosen by `scheme = "auto"` with this rule.
    Auto(AutoRule),
}

/// The rules of `scheme = "auto"` (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoRule {
    /// Stationary with correlated noise: explicit upwind value iteration.
    CorrelatedNoise,
    /// Stationary and discounted: policy iteration.
    DiscountedStationary,
    /// Stationary without discount (a target or Dirichlet ends): fast sweeping.
    ExitTime,
    /// A finite horizon: explicit upwind marching.
    FiniteHorizon,
    /// A differential game: explicit Lax–Friedrichs.
    Game,
}

impl AutoRule {
    /// The rule in words: the problem class and why the scheme fits it.
    pub fn reason(self) -> &'static str {
        match self {
            AutoRule::CorrelatedNoise => {
                "stationary with correlated noise: value iteration of explicit upwind (Kushner's cross \
                 stencil; policy iteration and fast sweeping have no cross stencil)"
            }
            AutoRule::DiscountedStationary => {
                "stationary and discounted: policy iteration on (ρI − A(u))V = ℓ(u), a few sparse LU \
                 solves instead of O(1/(ρΔt)) value-iteration sweeps"
            }
            AutoRule::ExitTime => {
                "exit time (stationary, ρ = 0): fast sweeping, Gauss–Seidel in alternating orderings, \
                 instead of value iteration at the CFL step"
            }
            AutoRule::FiniteHorizon => {
                "finite horizon: explicit upwind marching at the CFL bound (no linear solves)"
            }
            AutoRule::Game => {
                "a differential game: explicit Lax–Friedrichs, monotone for any min–max Hamiltonian under \
                 the CFL bound (the upwind min–max separates only with one input per state)"
            }
        }
    }
}

impl Choice {
    /// `named` or `auto`.
    pub fn name(self) -> &'static str {
        match self {
            Choice::Named => "named",
            Choice::Auto(_) => "auto",
        }
    }

    /// Why the run uses its scheme, in words.
    pub fn reason(self) -> &'static str {
        match self {
            Choice::Named => "named in the problem file or on the command line",
            Choice::Auto(rule) => rule.reason(),
        }
    }
}

/// The settings for a problem of class `problem`: `options` as named when they name a scheme, otherwise the scheme
/// of the first rule of the module docs that fits, with the rule in [`Settings::choice`]. The
/// other options (cfl, courant, time step, snapshots, …) carry over; those of another stepping
/// are ignored as usual.
pub fn choose(problem: &ProblemClass, options: &SolverOptions) -> Result<Settings, SettingsError> {
    if options.names_scheme() {
        return options.settings();
    }
    let rule = if problem.game {
        AutoRule::Game
    } else if !problem.stationary {
        AutoRule::FiniteHorizon
    } else if problem.correlated_noise {
        AutoRule::CorrelatedNoise
    } else if problem.discount > 0.0 {
        AutoRule::DiscountedStationary
    } else {
        AutoRule::ExitTime
    };
    let scheme = match rule {
        AutoRule::CorrelatedNoise | AutoRule::FiniteHorizon => "upwind",
        AutoRule::DiscountedStationary => "implicit",
        AutoRule::ExitTime => "fast_sweeping",
        AutoRule::Game => "lax_friedrichs",
    };
    let named = SolverOptions { scheme: Some(scheme.to_string()), ..options.clone() };
    let mut settings = named.settings()?;
    settings.choice = Choice::Auto(rule);
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Stepping;

    #[test]
    fn each_problem_class_gets_its_rule_and_a_named_scheme_wins() {
        let none = SolverOptions::default();
        let class = |stationary, discount| ProblemClass {
            stationary,
            discount,
            correlated_noise: false,
            game: false,
        };
        let discounted = class(true, 0.5);
        let settings = choose(&discounted, &none).unwrap();
        assert_eq!(settings.stepping, Stepping::Implicit { courant: None });
        assert_eq!(settings.choice, Choice::Auto(AutoRule::DiscountedStationary));
        assert_eq!(choose(&class(true, 0.0), &none).unwrap().stepping, Stepping::Sweeping);
        let correlated = ProblemClass { correlated_noise: true, ..discounted };
        assert_eq!(choose(&correlated, &none).unwrap().choice, Choice::Auto(AutoRule::CorrelatedNoise));
        let finite = class(false, 0.0);
        let settings = choose(&finite, &none).unwrap();
        assert_eq!(settings.scheme_name(), "upwind");
        assert_eq!(settings.choice, Choice::Auto(AutoRule::FiniteHorizon));
        // `auto` written out is the same as nothing; anything named is kept as named.
        let auto = SolverOptions { scheme: Some("auto".into()), ..Default::default() };
        assert_eq!(choose(&discounted, &auto).unwrap(), choose(&discounted, &none).unwrap());
        let upwind = SolverOptions { scheme: Some("upwind".into()), cfl: Some(0.5), ..Default::default() };
        let settings = choose(&discounted, &upwind).unwrap();
        assert_eq!(settings.stepping.name(), "explicit");
        assert_eq!(settings.choice, Choice::Named);
        let weno = SolverOptions { accuracy: Some("very_high".into()), ..Default::default() };
        assert_eq!(choose(&finite, &weno).unwrap().choice, Choice::Named);
        assert!(Choice::Auto(AutoRule::ExitTime).reason().contains("fast sweeping"));
    }
}
