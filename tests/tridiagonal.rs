//! `linear_solver = "tridiagonal"`: on one non-periodic axis policy iteration's systems are
//! tridiagonal, and Gaussian elimination with partial pivoting gives sparse LU's values to
//! rounding with the same policy-iteration sweeps — on backward-Euler steps with extrapolated
//! ghost rows (not diagonally dominant where the drift points out) and on stationary problems.
//! `auto` picks it there, the reports name it, and it is refused on a system that is not
//! tridiagonal.

mod common;

use hjb::settings::LinearSolver;
use std::process::Command;

/// The shipped problem `name` under `scheme` (refined to `points` when given) solved with `solver`.
fn solve(name: &str, points: Option<usize>, scheme: &str, solver: LinearSolver) -> hjb::Solution {
    let file = common::shipped_file(name);
    let mut settings = common::settings(&common::with_scheme(&file.solver, scheme));
    settings.linear_solver = solver;
    let problem = match points {
        Some(points) => file.problem.with_points(&[points]).unwrap(),
        None => file.problem,
    };
    hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap()
}

fn largest(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |m, v| m.max(v.abs()))
}

/// LU and the tridiagonal elimination on one problem: values within 1e-12 (1 + ‖V‖∞), the same
/// sweeps and solves, residuals at rounding, and `auto` running the tridiagonal solver bit for bit.
fn tridiagonal_equals_lu(name: &str, points: Option<usize>, scheme: &str) {
    let lu = solve(name, points, scheme, LinearSolver::Lu);
    let tridiagonal = solve(name, points, scheme, LinearSolver::Tridiagonal);
    let (a, b) = (lu.diagnostics.implicit.unwrap(), tridiagonal.diagnostics.implicit.unwrap());
    assert_eq!(a.linear_solver, LinearSolver::Lu);
    assert_eq!(b.linear_solver, LinearSolver::Tridiagonal);
    assert_eq!(lu.diagnostics.steps, tridiagonal.diagnostics.steps);
    assert_eq!(a.most_iterations, b.most_iterations, "{name}: most sweeps in a step");
    assert_eq!(a.mean_iterations, b.mean_iterations, "{name}: mean sweeps per step");
    assert_eq!(a.linear_solves, b.linear_solves, "{name}: solves");
    assert_eq!(b.linear_iterations, 0);
    assert!(a.linear_residual < 1e-12 && b.linear_residual < 1e-12, "{a:?} {b:?}");
    let size = largest(lu.values.iter().copied());
    let difference = largest(lu.values.iter().zip(&tridiagonal.values).map(|(x, y)| x - y));
    eprintln!(
        "{name} ({scheme}): max |V_lu − V_tridiagonal| = {difference:.2e}, ‖V‖∞ = {size:.3e}, {} steps, \
         {} solves, residual {:.1e} (LU {:.1e})",
        lu.diagnostics.steps, b.linear_solves, b.linear_residual, a.linear_residual
    );
    assert!(difference <= 1e-12 * (1.0 + size), "{name}: {difference:.3e}");
    let auto = solve(name, points, scheme, LinearSolver::Auto);
    assert_eq!(auto.diagnostics.implicit.unwrap().linear_solver, LinearSolver::Tridiagonal);
    assert!(auto.values.iter().zip(&tridiagonal.values).all(|(x, y)| x.to_bits() == y.to_bits()));
}

#[test]
fn tridiagonal_equals_lu_on_finite_horizon_backward_euler() {
    // lqr_1d_noisy: extrapolated ends, whose ghost rows have a positive off-diagonal entry where
    // the drift points out; Δt = h.
    tridiagonal_equals_lu("lqr_1d_noisy", None, "implicit");
    tridiagonal_equals_lu("lqr_1d_noisy", Some(2001), "implicit");
    // The deterministic LQR at the same step: larger outward drift per step at the ends.
    tridiagonal_equals_lu("lqr_1d", None, "implicit");
}

#[test]
fn tridiagonal_equals_lu_on_stationary_policy_iteration() {
    // Discounted LQR (extrapolated ends closed inward) and Merton (state constraints,
    // control-dependent noise): Howard's algorithm on (ρI − A(u))V = ℓ(u).
    tridiagonal_equals_lu("lqr_1d_discounted", None, "implicit");
    tridiagonal_equals_lu("merton", None, "implicit");
}

#[test]
fn the_elimination_gives_the_same_bits_on_one_and_two_threads() {
    let file = common::shipped_file("lqr_1d_noisy");
    let mut settings = common::settings(&common::with_scheme(&file.solver, "implicit"));
    settings.linear_solver = LinearSolver::Tridiagonal;
    let run = |threads| {
        hjb::solver::with_threads(Some(threads), || hjb::solve(&file.problem, &settings, &mut hjb::Silent))
            .unwrap()
            .unwrap()
    };
    let (one, two) = (run(1), run(2));
    assert!(one.values.iter().zip(&two.values).all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn auto_keeps_lu_where_the_system_is_not_tridiagonal_and_a_named_tridiagonal_is_refused() {
    // A periodic axis of 601 points couples the first and the last node.
    let shipped = std::fs::read_to_string(common::repository_path("problems/lqr_1d_noisy.toml")).unwrap();
    let periodic = shipped.replace("points = 601", "points = 601\nboundary = \"periodic\"");
    assert_ne!(periodic, shipped);
    let (problem, _) = common::parse(&periodic, std::path::Path::new("periodic.toml"));
    let settings = hjb::Settings::of_scheme("implicit").unwrap();
    let prepared = hjb::solver::prepare(&problem, &settings).unwrap();
    assert_eq!(prepared.linear_solver, Some(LinearSolver::Lu));
    let named = hjb::Settings { linear_solver: LinearSolver::Tridiagonal, ..settings };
    let error = hjb::solver::prepare(&problem, &named).unwrap_err().to_string();
    assert!(error.contains("needs a tridiagonal system") && error.contains("a periodic axis"), "{error}");
    // On the shipped 1-D problem `auto` takes the tridiagonal solver in the preparation as well.
    let (problem, _) = common::shipped("lqr_1d_noisy");
    let implicit = hjb::Settings::of_scheme("implicit").unwrap();
    assert_eq!(
        hjb::solver::prepare(&problem, &implicit).unwrap().linear_solver,
        Some(LinearSolver::Tridiagonal)
    );
}

#[test]
fn the_command_line_names_the_solver_and_refuses_it_on_two_axes() {
    let directory = common::scratch_directory("tridiagonal_cli");
    let run = |problem: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hjb"))
            .args(["solve", "--no-plots", "--json", "--scheme", "implicit", "--out"])
            .arg(directory.join("out.h5"))
            .arg(common::repository_path(problem))
            .args(extra)
            .output()
            .unwrap()
    };
    let output = run("problems/lqr_1d_noisy.toml", &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let linear = &summary["linear_solver"];
    assert_eq!(linear["name"], "tridiagonal");
    assert_eq!(linear["iterations"], 0);
    assert!(linear["solves"].as_u64().unwrap() >= summary["steps"].as_u64().unwrap());
    assert!(linear["residual"].as_f64().unwrap() < 1e-12);
    // The HDF5 /diagnostics attributes say the same.
    let file = rust_hdf5::H5File::open(directory.join("out.h5")).unwrap();
    let diagnostics = file.root_group().group("diagnostics").unwrap();
    assert_eq!(diagnostics.attr_string("linear_solver").unwrap(), "tridiagonal");
    let output =
        run("problems/lqr_stochastic_2d.toml", &["--points", "11", "--linear-solver", "tridiagonal"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("needs a tridiagonal system") && stderr.contains("2 grid axes"), "{stderr}");
    // The check report's `linear` line says what `auto` resolves to.
    let output = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["check", "--scheme", "implicit"])
        .arg(common::repository_path("problems/lqr_1d_noisy.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("linear       tridiagonal"), "{stdout}");
}
