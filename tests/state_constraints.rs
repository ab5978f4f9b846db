//! State constraints at the box ends (`boundary = "state_constraint"`) and stationary policy
//! iteration: a problem whose constrained value differs from the unconstrained one by O(1), the
//! implicit stationary solution against long-time explicit marching, Merton's control-dependent
//! noise.

mod common;

use hjb::{parse_problem, solve, Silent};
use std::path::Path;

/// dx = u, |u| ≤ 1, ℓ = x, ρ = 1 on [0, 1], wealth-like floor at 0: run left at full speed, then
/// stay. V(x) = x − 1 + e^{−x}. Without the constraint the path would go on below 0 and
/// V = x − 1 (off by up to 1).
fn walk_to_the_floor(points: usize, scheme: &str) -> (hjb::Problem, hjb::Settings) {
    let text = format!(
        r#"[[state]]
name = "x"
bounds = [0.0, 1.0]
points = {points}
boundary = "state_constraint"

[[control]]
name = "u"
bounds = [-1.0, 1.0]
samples = 3

[dynamics]
x = "u"

[cost]
running = "x"
discount = 1.0

[horizon]
stationary = true

[solver]
scheme = "{scheme}"

[reference]
kind = "formula"
value = "x - 1 + exp(-x)"
region = {{ x = [0.0, 1.0] }}
"#
    );
    common::split(parse_problem(&text, Path::new("walk.toml")).unwrap())
}

#[test]
fn every_scheme_respects_the_floor_at_first_order() {
    for scheme in ["upwind", "implicit", "semi_lagrangian"] {
        let levels: Vec<Vec<usize>> = [51, 101, 201, 401].iter().map(|n| vec![*n]).collect();
        let (problem, settings) = walk_to_the_floor(51, scheme);
        let study = hjb::validate::convergence_study(&problem, &settings, &levels).unwrap();
        for level in &study {
            eprintln!("{scheme}: {:?} L∞ {:.4e} order {:?}", level.points, level.linf, level.order_linf);
        }
        // Errors on the whole box, the constrained end included.
        for level in &study[1..] {
            let order = level.order_linf.unwrap();
            assert!((0.8..=1.5).contains(&order), "{scheme}: order {order}");
        }
        assert!(study[3].linf < 5e-3, "{scheme}: {}", study[3].linf);
    }
}

#[test]
fn implicit_stationary_policy_iteration_agrees_with_long_time_explicit_marching() {
    // The shipped stationary stochastic LQR with state-constrained ends, 151 points.
    let path = common::repository_path("problems/lqr_stochastic.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("points = 601", "points = 151\nboundary = \"state_constraint\"");
    let file = parse_problem(&text, &path).unwrap();
    let problem = &file.problem;
    let implicit =
        solve(problem, &common::settings(&common::with_scheme(&file.solver, "implicit")), &mut Silent)
            .unwrap();
    let explicit =
        solve(problem, &common::settings(&common::with_scheme(&file.solver, "upwind")), &mut Silent).unwrap();
    // Explicit marching converges to the fixed point of V = e^{−ρΔt}(V + ΔtAV) + Δtℓ, which
    // differs from (ρ − A)V = ℓ by O(ρΔt‖V‖∞); value iteration stops at a 1e-9 relative bound.
    let size = implicit.values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let difference =
        implicit.values.iter().zip(&explicit.values).fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
    let bound = problem.discount * explicit.diagnostics.time_step * size + 1e-8 * size;
    let report = implicit.diagnostics.implicit.unwrap();
    eprintln!(
        "implicit PI: {} sweeps, margin {:.3e}; explicit: {} sweeps of Δt = {:.3e}; |ΔV| {difference:.3e} ≤ {bound:.3e}",
        report.most_iterations, report.margin, explicit.diagnostics.steps, explicit.diagnostics.time_step
    );
    assert!(difference <= bound, "{difference:e} > {bound:e}");
    assert!(report.most_iterations < 30);
    assert!((report.margin - problem.discount).abs() < 1e-12, "M-matrix margin = ρ: {}", report.margin);
    assert_eq!(report.positive_off_diagonal_rows, 0);
    // Against the algebraic Riccati solution with the noise constant: the first-order level of
    // the upwind study at this h = 0.04 (1.05e-1 with extrapolated ends).
    let error = implicit.error.unwrap().linf;
    eprintln!("implicit PI vs Riccati at 151 points: {error:.4e}");
    assert!(error < 0.12, "{error}");
}

#[test]
fn stationary_policy_iteration_closes_extrapolated_ends_inward() {
    // Extrapolated ends (once refused): inward rows keep every row an M-matrix row, and the
    // error is the first-order level of the upwind study at h = 0.04 (1.05e-1).
    let file = common::shipped_file("lqr_stochastic");
    let settings = common::settings(&common::with_scheme(&file.solver, "implicit"));
    let problem = file.problem.with_points(&[151]).unwrap();
    let solution = solve(&problem, &settings, &mut Silent).unwrap();
    let report = solution.diagnostics.implicit.unwrap();
    assert_eq!(report.positive_off_diagonal_rows, 0);
    assert!(solution.diagnostics.monotone);
    let error = solution.error.unwrap().linf;
    eprintln!("implicit PI, extrapolated ends, 151 points: {error:.4e}");
    assert!(error < 0.12, "{error}");
}

#[test]
fn merton_matches_the_closed_form_within_half_a_percent() {
    let (problem, settings) = common::shipped("merton");
    let solution = solve(&problem, &settings, &mut Silent).unwrap();
    let grid = &problem.grid;
    let nu = 0.0428125;
    let mut worst = 0.0f64;
    for node in 0..grid.node_count() {
        let w = grid.point(node)[0];
        if (1.0..=5.0).contains(&w) {
            let exact = 1.0 / (nu * nu * w);
            worst = worst.max((solution.values[[node]] - exact).abs() / exact);
            // The policy: π* = 0.625 lies between the samples 0.6 and 0.65, k* = ν within 0.001.
            let (k, share) = (solution.policy[0][[node]], solution.policy[1][[node]]);
            assert!((k - nu).abs() <= 0.0021, "k = {k} at w = {w}");
            assert!((share - 0.625).abs() <= 0.051, "π = {share} at w = {w}");
        }
    }
    eprintln!("Merton: largest relative error on [1, 5] {worst:.3e}");
    assert!(worst < 5e-3, "{worst}");
}
