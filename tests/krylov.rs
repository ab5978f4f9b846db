//! `linear_solver = "bicgstab"`: policy iteration with BiCGSTAB (relaxed ILU(0), warm-started,
//! inexact sweeps) gives LU's values to the tolerance it reports, keeps the 2-D LQR error against
//! the Riccati solution, says in the report which solver ran, and bad names are refused.

mod common;

use hjb::settings::LinearSolver;
use std::process::Command;

/// The shipped problem `name` (refined to `points` per axis when given) solved with `solver`.
fn solve(name: &str, points: Option<&[usize]>, scheme: Option<&str>, solver: LinearSolver) -> hjb::Solution {
    let file = common::shipped_file(name);
    let options = match scheme {
        Some(scheme) => common::with_scheme(&file.solver, scheme),
        None => file.solver.clone(),
    };
    let mut settings = common::settings(&options);
    settings.linear_solver = solver;
    let problem = match points {
        Some(points) => file.problem.with_points(points).unwrap(),
        None => file.problem,
    };
    hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap()
}

fn largest(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |m, v| m.max(v.abs()))
}

/// LU and BiCGSTAB on one problem: the Krylov run reports itself, its solves reach the relative
/// error they were asked for, and the two value fields differ by at most what that allows.
fn lu_and_krylov_agree(name: &str, points: Option<&[usize]>, scheme: Option<&str>, steps_allowance: f64) {
    let lu = solve(name, points, scheme, LinearSolver::Lu);
    let krylov = solve(name, points, scheme, LinearSolver::Bicgstab);
    let (a, b) = (lu.diagnostics.implicit.unwrap(), krylov.diagnostics.implicit.unwrap());
    assert_eq!(a.linear_solver, LinearSolver::Lu);
    assert_eq!(b.linear_solver, LinearSolver::Bicgstab);
    assert_eq!(a.linear_iterations, 0);
    assert!(b.linear_iterations > 0 && b.linear_solves >= b.most_iterations, "{b:?}");
    // The final residuals bound each solve's relative error; LU's is rounding.
    assert!(a.linear_residual < 1e-10, "LU residual {:.2e}", a.linear_residual);
    assert!(
        b.linear_residual <= b.linear_tolerance,
        "{:.2e} > {:.2e}",
        b.linear_residual,
        b.linear_tolerance
    );
    // Policy iteration stops at a change of 10ε (BiCGSTAB) or 1e-12 (LU); each step's value is
    // then within about 10ε (1 + ‖V‖∞) of the exact fixed point, errors adding over the steps.
    let size = largest(lu.values.iter().copied());
    let difference = largest(lu.values.iter().zip(&krylov.values).map(|(a, b)| a - b));
    let allowed = steps_allowance * 20.0 * b.linear_tolerance.max(1e-12) * (1.0 + size);
    eprintln!(
        "{name}: max |V_lu − V_bicgstab| = {difference:.2e} (allowed {allowed:.2e}); {} BiCGSTAB iterations in {} solves, ε = {:.1e}",
        b.linear_iterations, b.linear_solves, b.linear_tolerance
    );
    assert!(difference <= allowed, "{name}: {difference:.3e} > {allowed:.3e}");
}

#[test]
fn krylov_equals_lu_on_the_shipped_stationary_problems() {
    // 2-D diffusion with state constraints; 1-D sampled controls with control-dependent noise;
    // two regimes with jumps.
    lu_and_krylov_agree("lqr_stochastic_2d", Some(&[121, 121]), None, 1.0);
    lu_and_krylov_agree("merton", None, None, 1.0);
    lu_and_krylov_agree("consumption_saving_two_income_states", None, None, 1.0);
}

#[test]
fn krylov_equals_lu_on_finite_horizon_backward_euler() {
    // Backward-Euler steps of the 2-D double integrator (extrapolated ghost rows included).
    let steps =
        solve("lqr_double_integrator", Some(&[61, 61]), Some("implicit"), LinearSolver::Lu).diagnostics.steps;
    lu_and_krylov_agree("lqr_double_integrator", Some(&[61, 61]), Some("implicit"), steps as f64);
}

#[test]
fn the_2d_lqr_keeps_its_error_against_riccati() {
    // lqr_stochastic_2d at 201²: L∞ 1.558e-1 on [-1, 1]² with LU (README); BiCGSTAB must give the
    // same error to far below the discretisation error.
    let lu = solve("lqr_stochastic_2d", Some(&[201, 201]), None, LinearSolver::Lu).error.unwrap().linf;
    let krylov =
        solve("lqr_stochastic_2d", Some(&[201, 201]), None, LinearSolver::Bicgstab).error.unwrap().linf;
    eprintln!("L∞ against Riccati: LU {lu:.6e}, BiCGSTAB {krylov:.6e}");
    assert!((lu - 1.5582e-1).abs() < 1e-4, "LU error {lu}");
    assert!((krylov - lu).abs() < 1e-8 * (1.0 + lu), "BiCGSTAB error {krylov} vs LU {lu}");
}

#[test]
fn auto_picks_lu_small_and_bicgstab_at_a_million_unknowns() {
    let small = solve("lqr_stochastic_2d", Some(&[41, 41]), None, LinearSolver::Auto);
    assert_eq!(small.diagnostics.implicit.unwrap().linear_solver, LinearSolver::Lu);
    let million = hjb::settings::LinearSystem {
        nodes: 1001 * 1001,
        dimension: 2,
        ghost_rows: false,
        tridiagonal: false,
    };
    assert_eq!(LinearSolver::Auto.resolve(&million).unwrap(), LinearSolver::Bicgstab);
}

#[test]
fn bad_linear_solver_names_are_refused_with_exit_code_2() {
    let directory = common::scratch_directory("krylov_bad_names");
    let text = std::fs::read_to_string(common::repository_path("problems/lqr_stochastic_2d.toml"))
        .unwrap()
        .replace("scheme = \"implicit\"", "scheme = \"implicit\"\nlinear_solver = \"gmres\"");
    let file = directory.join("bad.toml");
    std::fs::write(&file, text).unwrap();
    let run = |file: &std::path::Path, extra: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_hjb"))
            .args(["solve", "--no-plots", "--points", "11", "--out"])
            .arg(directory.join("out.h5"))
            .arg(file)
            .args(extra)
            .output()
            .unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (code, stderr) = run(&file, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.toml:37:17") && stderr.contains("unknown linear_solver `gmres`"),
        "{stderr}"
    );
    assert!(stderr.contains("auto, lu, bicgstab, tridiagonal"), "{stderr}");
    let shipped = common::repository_path("problems/lqr_stochastic_2d.toml");
    let (code, stderr) = run(&shipped, &["--linear-solver", "cg"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--linear-solver") && stderr.contains("unknown linear_solver `cg`"), "{stderr}");
    assert!(!directory.join("out.h5").exists());
}

#[test]
fn the_json_summary_names_the_solver_its_iterations_and_residual() {
    let directory = common::scratch_directory("krylov_json");
    let output = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["solve", "--no-plots", "--json", "--points", "61", "--linear-solver", "bicgstab", "--out"])
        .arg(directory.join("out.h5"))
        .arg(common::repository_path("problems/lqr_stochastic_2d.toml"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let linear = &summary["linear_solver"];
    assert_eq!(linear["name"], "bicgstab");
    assert!(linear["iterations"].as_u64().unwrap() > 0);
    assert!(linear["residual"].as_f64().unwrap() <= linear["tolerance"].as_f64().unwrap());
}

#[test]
fn bicgstab_gives_the_same_bits_on_one_and_two_threads() {
    let file = common::shipped_file("lqr_stochastic_2d");
    let mut settings = common::settings(&file.solver);
    settings.linear_solver = LinearSolver::Bicgstab;
    let problem = file.problem.with_points(&[81, 81]).unwrap();
    let run = |threads| {
        hjb::solver::with_threads(Some(threads), || hjb::solve(&problem, &settings, &mut hjb::Silent))
            .unwrap()
            .unwrap()
    };
    let (one, two) = (run(1), run(2));
    assert!(one.values.iter().zip(&two.values).all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn auto_keeps_lu_for_backward_euler_steps_with_extrapolated_ghost_rows() {
    // The 2-D stochastic LQR as a finite-horizon problem at 501² (251 001 unknowns, above the
    // Krylov threshold): with state-constrained ends every row is an M-matrix row and `auto`
    // takes BiCGSTAB; with extrapolated ends the steps keep the ghost rows and `auto` keeps LU,
    // whose fill the memory estimate counts.
    let shipped =
        std::fs::read_to_string(common::repository_path("problems/lqr_stochastic_2d.toml")).unwrap();
    let finite = shipped.replace("stationary = true", "final_time = 1.0");
    let extrapolated = finite.replace("boundary = \"state_constraint\"", "");
    let prepared = |text: &str| {
        let (problem, settings) = common::parse(text, std::path::Path::new("finite.toml"));
        let problem = problem.with_points(&[501, 501]).unwrap();
        hjb::solver::prepare(&problem, &settings).unwrap()
    };
    let constrained = prepared(&finite);
    let ghosts = prepared(&extrapolated);
    assert_eq!(constrained.linear_solver, Some(LinearSolver::Bicgstab));
    assert_eq!(ghosts.linear_solver, Some(LinearSolver::Lu));
    // LU's fill (about 20 log₂N floats per node) against BiCGSTAB's linear memory.
    assert!(
        ghosts.memory_bytes > 3 * constrained.memory_bytes,
        "{} vs {}",
        ghosts.memory_bytes,
        constrained.memory_bytes
    );
}
