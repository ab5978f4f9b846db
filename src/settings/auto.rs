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
//! | finite horizon, diffusion-bound          | `implicit` (backward Euler)    | [`by_work`]: fewer node updates × their cost than the explicit march |
//!
//! **Finite horizons by estimated work** ([`by_work`], applied by the solver's preparation once
//! the CFL rate is known). The explicit march takes `N_e = ⌈T · rate / cfl⌉` steps, the implicit
//! one `N_i = ⌈T / min_i h_i⌉` (its default step); each step updates every node, at a cost per
//! node update measured on one thread (2-core development machine, `lqr_1d_noisy` and a 2-D and
//! 3-D stochastic LQR with `σ = 0.5`, `|f| ≤ 9.5`):
//!
//! | axes | explicit step, per node | backward-Euler step (policy iteration), per node              |
//! |------|-------------------------|---------------------------------------------------------------|
//! | 1    | 4.1–6.7 ns              | 280–370 ns tridiagonal, 500–550 ns sparse LU (601 … 6001 points) |
//! | 2    | 9–13 ns                 | 10–14 µs, sparse LU (61² … 201²)                              |
//! | 3    | 35–48 ns                | 100–300 µs (21³, 31³), growing with the LU's fill             |
//!
//! The 1-D figures are those of 2026-12-03 (the least of five runs each on a shared machine,
//! `hjb solve problems/lqr_1d_noisy.toml --threads 1 --points N`, `seconds / (steps × N)`): the
//! explicit step after the row kernel, the backward-Euler step with the tridiagonal elimination
//! ([`crate::time::tridiagonal`]) that `linear_solver = "auto"` uses on one non-periodic axis, and
//! with sparse LU (a periodic axis, or `linear_solver = "lu"`,
//! [`ONE_AXIS_LU_NODE_UPDATE_COST`]). The elimination itself costs about 16 ns per node and solve
//! against about 80 ns for the LU's refactorisation and solve; the rest of the step, the same for
//! both (assembling the rows, the policy improvement, the residual), is most of the 300 ns.
//!
//! The implicit step is chosen when `1.5^{d+1} N_i c_i < N_e c_e` with the costs of
//! [`NODE_UPDATE_COST`] on `d` axes: backward Euler at `Δt = h` has the larger time error (1.5×
//! the explicit march's L∞ error on the same grid: 2.7e-3 against 1.75e-3 on `lqr_1d_noisy` at
//! 601 points, 1.6e-2 against 1.0e-2 on the 2-D LQR at 201²), so to match it the implicit march
//! needs a grid 1.5× finer, `1.5^{d+1}` times its work. Since `N_e / N_i ≈ 2a/h + |f|` where
//! diffusion sets the bound, this picks the implicit step on fine 1-D grids with noise
//! (`lqr_1d_noisy` from about 2 900 points, `N_e/N_i > 144`: at 6001, 1.8–2.2 s on one thread with
//! L∞ 2.7e-4 against 7.7 s with 1.8e-4, and the explicit march needs 4001 points and 2.6 s for
//! 2.7e-4; at 2001 the explicit march, 0.28–0.4 s for 5.3e-4, is cheaper than the implicit one at
//! that error) and practically never on two or more axes, where a backward-Euler step costs
//! 10³–10⁴ explicit ones. It needs a step the user did not fix, an explicit upwind choice made by
//! `auto`, and no correlated noise (the implicit rows have no cross stencil).
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
    /// A finite horizon whose explicit march would cost more than the implicit one ([`by_work`]).
    FiniteHorizonByWork,
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
                "stationary and discounted: policy iteration on (ρI − A(u))V = ℓ(u), a few sparse linear \
                 solves instead of O(1/(ρΔt)) value-iteration sweeps"
            }
            AutoRule::ExitTime => {
                "exit time (stationary, ρ = 0): fast sweeping, Gauss–Seidel in alternating orderings, \
                 instead of value iteration at the CFL step"
            }
            AutoRule::FiniteHorizon => {
                "finite horizon: explicit upwind marching at the CFL bound (no linear solves)"
            }
            AutoRule::FiniteHorizonByWork => {
                "finite horizon, diffusion-bound: backward Euler with policy iteration at Δt = min h, \
                 estimated to reach the explicit march's error with less work (steps × measured cost per \
                 node update)"
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
        AutoRule::DiscountedStationary | AutoRule::FiniteHorizonByWork => "implicit",
        AutoRule::ExitTime => "fast_sweeping",
        AutoRule::Game => "lax_friedrichs",
    };
    let named = SolverOptions { scheme: Some(scheme.to_string()), ..options.clone() };
    let mut settings = named.settings()?;
    settings.choice = Choice::Auto(rule);
    Ok(settings)
}

/// Measured cost of one node update on one thread, in nanoseconds, by number of axes (1, 2, 3 and
/// more): `(explicit, implicit)` (module docs). On one axis (measured 2026-12-03) the explicit
/// step costs 4.1–6.7 ns and the implicit one, with the tridiagonal elimination, 280–370 ns (it
/// was 500 ns with sparse LU, which [`ONE_AXIS_LU_NODE_UPDATE_COST`] keeps for 1-D systems that
/// are not tridiagonal).
pub const NODE_UPDATE_COST: [(f64, f64); 3] = [(5.0, 320.0), (10.0, 10_000.0), (35.0, 100_000.0)];

/// Measured cost of one backward-Euler node update on one axis when its systems are solved by
/// sparse LU (a periodic axis, or `linear_solver = "lu"`): 500–550 ns on 2026-12-03, 430–500 ns
/// before (module docs).
pub const ONE_AXIS_LU_NODE_UPDATE_COST: f64 = 500.0;

/// How much larger the implicit march's error is than the explicit one's on the same grid
/// (measured, module docs).
pub const ACCURACY_RATIO: f64 = 1.5;

/// The step counts of the two finite-horizon marches on one grid ([`by_work`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarchWork {
    /// Steps of the explicit march at its CFL bound.
    pub explicit_steps: f64,
    /// Steps of the backward-Euler march at its default `Δt = min h`.
    pub implicit_steps: f64,
    /// Number of axes.
    pub dimension: usize,
    /// Whether the problem has correlated noise (no implicit rows for it).
    pub correlated_noise: bool,
    /// Whether the backward-Euler systems would be solved by the tridiagonal elimination (one
    /// non-periodic axis, `linear_solver` `auto` or `tridiagonal`); a 1-D march solved by sparse
    /// LU costs [`ONE_AXIS_LU_NODE_UPDATE_COST`] per node update instead.
    pub tridiagonal: bool,
}

impl MarchWork {
    /// Estimated seconds per node of each march on one thread: `(explicit, implicit)`.
    pub fn seconds_per_node(&self) -> (f64, f64) {
        let (explicit, mut implicit) = NODE_UPDATE_COST[self.dimension.clamp(1, 3) - 1];
        if self.dimension <= 1 && !self.tridiagonal {
            implicit = ONE_AXIS_LU_NODE_UPDATE_COST;
        }
        (self.explicit_steps * explicit * 1e-9, self.implicit_steps * implicit * 1e-9)
    }

    /// The implicit march's work at the explicit one's accuracy: `1.5^{d+1}` times its work on
    /// the same grid (module docs).
    pub fn implicit_at_equal_error(&self) -> f64 {
        self.seconds_per_node().1 * ACCURACY_RATIO.powi(self.dimension as i32 + 1)
    }
}

/// The finite-horizon rule by estimated work (module docs): the backward-Euler settings when
/// `settings` are `auto`'s explicit upwind for a finite horizon without a fixed step and the
/// implicit march is estimated to reach the explicit one's error with less work; `None` (keep
/// `settings`) otherwise.
pub fn by_work(settings: &Settings, work: &MarchWork) -> Option<Settings> {
    let eligible = settings.choice == Choice::Auto(AutoRule::FiniteHorizon)
        && settings.time_step.is_none()
        && !work.correlated_noise;
    (eligible && work.implicit_at_equal_error() < work.seconds_per_node().0).then_some(Settings {
        stepping: super::Stepping::Implicit { courant: None },
        differencing: super::Differencing::Upwind,
        choice: Choice::Auto(AutoRule::FiniteHorizonByWork),
        ..*settings
    })
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

    #[test]
    fn a_finite_horizon_goes_implicit_only_when_its_estimated_work_is_smaller_at_equal_error() {
        let finite = choose(
            &ProblemClass { stationary: false, discount: 0.0, correlated_noise: false, game: false },
            &SolverOptions::default(),
        )
        .unwrap();
        // lqr_1d_noisy: 3612 explicit steps against 100 implicit ones at 601 points (explicit:
        // 18 µs of work per node against 72 µs at equal error), 286 112 against 1000 at 6001
        // points (1.4 ms against 0.72 ms).
        let coarse = MarchWork {
            explicit_steps: 3612.0,
            implicit_steps: 100.0,
            dimension: 1,
            correlated_noise: false,
            tridiagonal: true,
        };
        assert_eq!(by_work(&finite, &coarse), None);
        let fine = MarchWork { explicit_steps: 286_112.0, implicit_steps: 1000.0, ..coarse };
        let chosen = by_work(&finite, &fine).expect("the implicit march");
        assert_eq!(chosen.stepping, Stepping::Implicit { courant: None });
        assert_eq!(chosen.choice, Choice::Auto(AutoRule::FiniteHorizonByWork));
        assert_eq!(chosen.snapshots, finite.snapshots);
        // 2001 points (33 642 against 334 steps): explicit, 0.17 ms against 0.24 ms per node.
        let middle = MarchWork { explicit_steps: 33_642.0, implicit_steps: 334.0, ..coarse };
        assert_eq!(by_work(&finite, &middle), None);
        // 4001 points (129 013 against 667 steps): implicit with the tridiagonal elimination (0.65
        // ms against 0.48 ms), explicit where the 1-D systems need sparse LU (0.75 ms).
        let finer = MarchWork { explicit_steps: 129_013.0, implicit_steps: 667.0, ..coarse };
        assert!(by_work(&finite, &finer).is_some());
        assert_eq!(by_work(&finite, &MarchWork { tridiagonal: false, ..finer }), None);
        // The same ratio on two axes stays explicit (a backward-Euler step costs 10⁴ ns a node).
        assert_eq!(by_work(&finite, &MarchWork { dimension: 2, ..fine }), None);
        // A fixed step, correlated noise or a named scheme keep the settings.
        assert_eq!(by_work(&Settings { time_step: Some(1e-3), ..finite }, &fine), None);
        assert_eq!(by_work(&finite, &MarchWork { correlated_noise: true, ..fine }), None);
        assert_eq!(by_work(&Settings::upwind(), &fine), None);
    }
}
