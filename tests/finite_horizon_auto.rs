//! `scheme = "auto"` on a finite horizon chooses between the explicit and the implicit march by
//! estimated work (`hjb::settings::auto::by_work`, the 1-D costs measured 2026-12-03 with the
//! tridiagonal elimination): the shipped 1-D stochastic LQR stays explicit on its own grid and at
//! 2001 points, where the explicit march is the cheaper one at equal error, and goes implicit at
//! 4001, where the implicit march solves the very equation the named implicit scheme solves; a
//! convergence study runs one method on every level.

mod common;

use hjb::settings::{AutoRule, Choice};
use hjb::{solve, Silent, Stepping};

/// `lqr_1d_noisy` on `points` nodes with `scheme = "auto"` (its file names upwind).
fn auto_lqr(points: usize) -> (hjb::Problem, hjb::Settings) {
    let file = common::shipped_file("lqr_1d_noisy");
    let mut options = file.solver.clone();
    options.scheme = None;
    let settings = hjb::settings::choose(&file.problem.class(), &options).unwrap();
    assert_eq!(settings.choice, Choice::Auto(AutoRule::FiniteHorizon));
    (file.problem.with_points(&[points]).unwrap(), settings)
}

#[test]
fn the_noisy_lqr_stays_explicit_on_its_grid_and_goes_implicit_on_a_fine_one() {
    // 601 nodes: 3612 explicit steps against 100 implicit ones; the explicit march is cheaper.
    let (problem, settings) = auto_lqr(601);
    let preparation = hjb::solver::prepare(&problem, &settings).unwrap();
    assert_eq!(preparation.settings.choice, Choice::Auto(AutoRule::FiniteHorizon));
    let solution = solve(&problem, &settings, &mut Silent).unwrap();
    assert_eq!(solution.diagnostics.settings.scheme_name(), "upwind");
    let error = solution.error.unwrap().linf;
    // The README's validation table: upwind at 601 points, L∞ 1.752e-3.
    assert!((error - 1.752e-3).abs() < 1e-6, "L∞ {error}");

    // 2001 nodes: 33 642 explicit steps against 334 implicit ones (ratio 101, below the 144 at
    // which 1.5² × 334 × 320 ns < 33 642 × 5 ns): explicit, 0.28–0.4 s on one thread for L∞
    // 5.3e-4, where the implicit march would need about 3000 nodes and 0.5 s for that error.
    let (problem, settings) = auto_lqr(2001);
    let preparation = hjb::solver::prepare(&problem, &settings).unwrap();
    assert_eq!(preparation.settings.choice, Choice::Auto(AutoRule::FiniteHorizon));
    assert_eq!(preparation.settings.scheme_name(), "upwind");

    // 4001 nodes: 129 013 explicit steps against 667 (ratio 193); the implicit march at Δt = h
    // with the tridiagonal elimination, which is what `scheme = "implicit"` runs, bit for bit,
    // with its first-order error against Riccati.
    let (problem, settings) = auto_lqr(4001);
    let chosen = solve(&problem, &settings, &mut Silent).unwrap();
    let diagnostics = &chosen.diagnostics;
    assert_eq!(diagnostics.settings.choice, Choice::Auto(AutoRule::FiniteHorizonByWork));
    assert_eq!(diagnostics.settings.stepping, Stepping::Implicit { courant: None });
    assert_eq!(diagnostics.steps, 667);
    assert!(diagnostics.settings.choice.reason().contains("backward Euler"));
    assert_eq!(diagnostics.implicit.unwrap().linear_solver, hjb::settings::LinearSolver::Tridiagonal);
    let named = hjb::Settings::of_scheme("implicit").unwrap();
    let implicit = solve(&problem, &named, &mut Silent).unwrap();
    assert_eq!(chosen.values, implicit.values);
    let error = chosen.error.unwrap().linf;
    // First order in h: the validation study's 2.711e-3 at 601 points scaled by 600/4000.
    assert!(error < 2.711e-3 * 600.0 / 4000.0 * 1.1, "L∞ {error}");
    assert!(error > 2.711e-3 * 600.0 / 4000.0 * 0.9, "L∞ {error}");
}

#[test]
fn a_convergence_study_under_auto_runs_one_method_on_every_level() {
    // The finest level decides (implicit at 4001 nodes); the coarser ones, which alone would
    // stay explicit, run the implicit march too: Δt ≈ h on every level, order 1.
    let (problem, settings) = auto_lqr(601);
    let levels = [vec![1001], vec![2001], vec![4001]];
    let results = hjb::validate::convergence_study(&problem, &settings, &levels).unwrap();
    for level in &results {
        // Δt = T / ⌈T/h⌉ (the explicit step would be about h²/σ², 100× smaller here).
        assert!(
            (level.time_step - level.h).abs() < 0.01 * level.h,
            "Δt {} against h {}",
            level.time_step,
            level.h
        );
    }
    for level in &results[1..] {
        let order = level.order_linf.unwrap();
        assert!((order - 1.0).abs() < 0.1, "order {order}");
    }
}
