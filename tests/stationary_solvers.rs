//! The stationary solvers `scheme = "auto"` picks: policy iteration for discounted problems (with
//! inward M-matrix rows at extrapolated ends) and fast sweeping for exit-time problems, each
//! checked against the analytic reference and against value iteration of the explicit scheme,
//! whose fixed point they compute.

mod common;

use hjb::settings::{AutoRule, Choice, Stepping};
use hjb::{solve, Silent};

fn largest_difference(a: &hjb::Solution, b: &hjb::Solution) -> f64 {
    a.values.iter().zip(&b.values).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

fn largest(solution: &hjb::Solution) -> f64 {
    solution.values.iter().fold(0.0f64, |a, v| a.max(v.abs()))
}

#[test]
fn policy_iteration_solves_the_discounted_lqr_with_extrapolated_ends() {
    // Issue 14's case: 801 nodes on [-4, 4], default (extrapolated) ends, ρ = 0.1. Value
    // iteration of explicit upwind (610 000+ sweeps) gives L∞ 2.351e-2 on [-1, 1]; the same
    // first-order scheme solved by policy iteration must give the same error.
    let (problem, settings) = common::shipped("lqr_stochastic_discounted");
    assert_eq!(settings.choice, Choice::Auto(AutoRule::DiscountedStationary));
    assert_eq!(settings.stepping, Stepping::Implicit { courant: None });
    let solution = solve(&problem, &settings, &mut Silent).unwrap();
    let error = solution.error.as_ref().unwrap().linf;
    let report = solution.diagnostics.implicit.unwrap();
    eprintln!(
        "PI: L∞ {error:.4e}, {} sweeps, margin {:.3e}, {} s",
        report.most_iterations, report.margin, solution.diagnostics.seconds
    );
    assert!((error - 2.351e-2).abs() < 2e-4, "L∞ {error}");
    // Every row an M-matrix row, strictly dominant by ρ.
    assert_eq!(report.positive_off_diagonal_rows, 0);
    assert!((report.margin - problem.discount).abs() < 1e-9, "margin {}", report.margin);
    assert!(solution.diagnostics.monotone);
    assert!(report.most_iterations <= 20, "{} sweeps", report.most_iterations);
    // The report and the JSON summary say what was chosen and why.
    let text = hjb::io::report::solve_report(&problem, &solution, &[]);
    assert!(text.contains("chosen      auto: stationary and discounted: policy iteration"), "{text}");
    let summary = hjb::io::summary::solve_summary(&problem, &solution, None, &[]);
    assert_eq!(summary["choice"], "auto");
    assert!(summary["choice_reason"].as_str().unwrap().contains("policy iteration"));
}

#[test]
fn policy_iteration_agrees_with_explicit_value_iteration() {
    // Both solve the upwind equation; the explicit fixed point discounts by β = e^{−ρΔt} per step,
    // i.e. solves ((1 − β)/Δt) V = β A V + ℓ, which differs from ρV = AV + ℓ by O(ρΔt)·|V| — and
    // the end rows agree because the optimal drift points inward there.
    let file = common::shipped_file("lqr_stochastic_discounted");
    let problem = file.problem.with_points(&[201]).unwrap();
    let policy_iteration = solve(&problem, &file.settings().unwrap(), &mut Silent).unwrap();
    let explicit = common::settings(&common::with_scheme(&file.solver, "upwind"));
    let value_iteration = solve(&problem, &explicit, &mut Silent).unwrap();
    let difference = largest_difference(&policy_iteration, &value_iteration);
    let dt = value_iteration.diagnostics.time_step;
    let bound = problem.discount * dt * largest(&value_iteration);
    eprintln!("max |V_PI − V_VI| = {difference:.3e}, ρΔt‖V‖∞ = {bound:.3e}");
    assert!(difference <= bound, "{difference:.3e} > {bound:.3e}");
}

#[test]
fn fast_sweeping_and_policy_iteration_solve_the_same_discounted_equation() {
    let file = common::shipped_file("lqr_stochastic_discounted");
    let problem = file.problem.with_points(&[81]).unwrap();
    let policy_iteration = solve(&problem, &file.settings().unwrap(), &mut Silent).unwrap();
    let sweeping_settings = common::settings(&common::with_scheme(&file.solver, "fast_sweeping"));
    let sweeping = solve(&problem, &sweeping_settings, &mut Silent).unwrap();
    let difference = largest_difference(&policy_iteration, &sweeping);
    eprintln!("max |V_PI − V_sweep| = {difference:.3e} after {} sweeps", sweeping.diagnostics.steps);
    // Both stop at a 1e-9 relative bound on their distance to the fixed point.
    assert!(difference <= 2e-9 * (1.0 + largest(&sweeping)), "{difference:.3e}");
}

#[test]
fn fast_sweeping_reaches_the_value_iteration_fixed_point_of_exit_time_problems() {
    for (name, points) in [("min_time_ball", 81), ("double_integrator_min_time", 61)] {
        let file = common::shipped_file(name);
        let problem = file.problem.with_points(&[points, points]).unwrap();
        let settings = file.settings().unwrap();
        assert_eq!(settings.choice, Choice::Auto(AutoRule::ExitTime));
        let sweeping = solve(&problem, &settings, &mut Silent).unwrap();
        let explicit = common::settings(&common::with_scheme(&file.solver, "upwind"));
        let value_iteration = solve(&problem, &explicit, &mut Silent).unwrap();
        let difference = largest_difference(&sweeping, &value_iteration);
        let report = sweeping.diagnostics.sweeping.unwrap();
        eprintln!(
            "{name} {points}²: max |V_sweep − V_VI| = {difference:.3e}; {} sweeps ({} node updates) vs {} \
             value-iteration sweeps",
            report.sweeps, report.updates, value_iteration.diagnostics.steps
        );
        // Value iteration stops at a 1e-12 relative change per step: what is left of its
        // distance to the fixed point is a few thousand such steps at most.
        assert!(difference <= 1e-8 * (1.0 + largest(&value_iteration)), "{name}: {difference:.3e}");
        // The characteristics cross the box in a few rounds of the 4 orderings instead of the
        // CFL steps of value iteration (81²: 8 sweeps vs 112; 61² double integrator: 28 vs 829).
        assert!(report.sweeps * 10 <= value_iteration.diagnostics.steps, "{name}: {} sweeps", report.sweeps);
        let (a, b) = (sweeping.error.as_ref().unwrap(), value_iteration.error.as_ref().unwrap());
        assert!((a.linf - b.linf).abs() <= 1e-8 && (a.l1 - b.l1).abs() <= 1e-8, "{name}");
        // Sequential sweeps: the same bits on one thread as on two.
        let one =
            hjb::solver::with_threads(Some(1), || solve(&problem, &settings, &mut Silent)).unwrap().unwrap();
        assert!(one.values.iter().zip(&sweeping.values).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}

#[test]
fn fast_sweeping_names_a_node_that_cannot_reach_the_target() {
    // Drift to the right only: the nodes right of the target never reach it.
    let text = r#"
[[state]]
name = "x"
bounds = [-1.0, 1.0]
points = 41
[[control]]
name = "u"
bounds = [0.0, 1.0]
[dynamics]
x = "u"
[cost]
running = "1"
[target]
set = "x^2 - 0.01"
[horizon]
stationary = true
"#;
    let (problem, settings) = common::parse(text, std::path::Path::new("one_way.toml"));
    assert_eq!(settings.stepping, Stepping::Sweeping);
    let error = solve(&problem, &settings, &mut Silent).unwrap_err();
    assert_eq!(error.kind(), hjb::error::ErrorKind::Numerical, "{error}");
    assert!(error.to_string().contains("no control leads from"), "{error}");
}
