//! Results people can use: snapshots, compression, the XDMF sidecar, gradients, closed-loop
//! simulation and slices.
#![allow(clippy::needless_range_loop)]

mod common;

use hjb::io::hdf5::{read_result, write_result_with};
use std::process::Command;

fn riccati_value(problem: &hjb::Problem, x: &[f64]) -> f64 {
    match &problem.reference.as_ref().unwrap().solution {
        hjb::problem::ReferenceSolution::Lqr(lqr) => {
            let (p, c) = lqr.value_coefficients_at_start().unwrap();
            let mut value = c;
            for i in 0..x.len() {
                for j in 0..x.len() {
                    value += x[i] * p[(i, j)] * x[j];
                }
            }
            value
        }
        _ => unreachable!("LQR problem"),
    }
}

#[test]
fn closed_loop_cost_matches_the_riccati_value() {
    let file = common::shipped_file("lqr_double_integrator");
    let settings = file.settings().unwrap();
    let problem = &file.problem;
    assert_eq!(settings.snapshots, 21);
    let solution = hjb::solve(problem, &settings, &mut hjb::Silent).unwrap();
    let directory = common::scratch_directory("simulate");
    let path = directory.join("result.h5");
    hjb::io::hdf5::write_result(&path, problem, &solution, &file.output).unwrap();
    let stored = read_result(&path).unwrap();
    let start = [1.0, 0.0];
    let exact = riccati_value(problem, &start);
    let trajectory = hjb::simulate::simulate(problem, &stored, &start, problem.final_time, 5e-4).unwrap();
    assert!(trajectory.time_dependent_policy);
    let cost_error = (trajectory.cost - exact).abs() / exact;
    let value_error = (trajectory.value_at_start - exact).abs() / exact;
    eprintln!(
        "Riccati {exact:.6}, realised cost {:.6} ({cost_error:.2e}), V(x0) {:.6} ({value_error:.2e})",
        trajectory.cost, trajectory.value_at_start
    );
    // The realised cost of any admissible feedback is ≥ the optimal value (up to the
    // integration error), and the grid policy is near-optimal.
    assert!(trajectory.cost >= exact - 1e-6);
    assert!(cost_error < 0.05);
    assert!(value_error < 0.03);
    // The CLI reports the same numbers.
    let output = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["simulate", path.to_str().unwrap(), "--from", "1,0", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!((summary["cost"].as_f64().unwrap() - exact).abs() / exact < 0.05);
    assert!((summary["value_at_start"].as_f64().unwrap() - trajectory.value_at_start).abs() < 1e-12);
    for file in ["result_trajectory.csv", "result_trajectory.h5", "result_trajectory.png"] {
        assert!(directory.join(file).exists(), "{file} missing");
    }
    // A start outside the grid is bad input.
    let output = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["simulate", path.to_str().unwrap(), "--from", "5,0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn compressed_snapshots_and_sidecar_read_back() {
    let file = common::shipped_file("lqr_double_integrator");
    let settings = file.settings().unwrap();
    let problem = file.problem.with_points(&[33, 25]).unwrap();
    let solution = hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap();
    let directory = common::scratch_directory("compressed");
    let path = directory.join("small.h5");
    // Threshold 0: every field is chunked and deflated.
    write_result_with(&path, &problem, &solution, &file.output, 0).unwrap();
    let stored = read_result(&path).unwrap();
    assert_eq!(stored.values, solution.values);
    assert_eq!(stored.policy, solution.policy);
    let snapshots = stored.snapshots.expect("snapshots stored");
    let expected = solution.snapshots.unwrap();
    assert_eq!(snapshots, expected);
    assert_eq!(snapshots.times.len(), 21);
    assert_eq!(snapshots.times[0], 0.0);
    assert!((snapshots.times[20] - problem.final_time).abs() < 1e-12);
    assert_eq!(snapshots.values[0], solution.values, "the first snapshot is V at t = 0");
    // The last snapshot is the terminal cost x² + v².
    let grid = &problem.grid;
    for node in [0, 100, grid.node_count() - 1] {
        let p = grid.point(node);
        assert!((snapshots.values[20][&*grid.unravel(node)] - (p[0] * p[0] + p[1] * p[1])).abs() < 1e-12);
    }
    let sidecar = std::fs::read_to_string(directory.join("small.xmf")).unwrap();
    assert!(sidecar.contains("TopologyType=\"2DCoRectMesh\" Dimensions=\"33 25\""));
    assert!(sidecar.contains("small.h5:/value") && sidecar.contains("small.h5:/policy/u"));
}

#[test]
fn plot_slices_a_stored_field() {
    let file = common::shipped_file("lqr_double_integrator");
    let settings = file.settings().unwrap();
    let problem = file.problem.with_points(&[41, 41]).unwrap();
    let solution = hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap();
    let directory = common::scratch_directory("plot_slice");
    let path = directory.join("r.h5");
    hjb::io::hdf5::write_result(&path, &problem, &solution, &file.output).unwrap();
    let run = |arguments: &[&str]| Command::new(env!("CARGO_BIN_EXE_hjb")).args(arguments).output().unwrap();
    let output = run(&["plot", path.to_str().unwrap(), "--slice", "v=0"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(directory.join("r_value_v_0.png").exists());
    let output = run(&["plot", path.to_str().unwrap(), "--field", "policy/u", "--slice", "x=0.5"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(directory.join("r_policy_u_x_0.5.png").exists());
    for (slice, needle) in
        [("w=0", "not a state"), ("v=9", "outside"), ("x=0,v=0", "at least one state free")]
    {
        let output = run(&["plot", path.to_str().unwrap(), "--slice", slice]);
        assert_eq!(output.status.code(), Some(2), "{slice}");
        assert!(String::from_utf8_lossy(&output.stderr).contains(needle), "{slice}");
    }
}

#[test]
fn gradients_converge_to_the_riccati_gradient() {
    // ∂V/∂x = 2(P₁₁x + P₁₂v) on the interior box; the stored finite-difference gradient of the
    // first-order solution converges at first order.
    let mut errors = Vec::new();
    for points in [61, 121] {
        let file = common::shipped_file("lqr_double_integrator");
        let settings = file.settings().unwrap();
        let problem = file.problem.with_points(&[points, points]).unwrap();
        let mut output = file.output.clone();
        output.gradients = true;
        let solution = hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap();
        let directory = common::scratch_directory(&format!("gradient_{points}"));
        let path = directory.join("g.h5");
        hjb::io::hdf5::write_result(&path, &problem, &solution, &output).unwrap();
        let file = rust_hdf5::H5File::open(&path).unwrap();
        let derivative = file.dataset("gradient/x").unwrap().read_raw::<f64>().unwrap();
        let (p, _) = match &problem.reference.as_ref().unwrap().solution {
            hjb::problem::ReferenceSolution::Lqr(lqr) => lqr.value_coefficients_at_start().unwrap(),
            _ => unreachable!(),
        };
        let region = &problem.reference.as_ref().unwrap().region;
        let mut largest = 0.0f64;
        for (node, value) in derivative.iter().enumerate() {
            let point = problem.grid.point(node);
            if region.contains(&point) {
                let exact = 2.0 * (p[(0, 0)] * point[0] + p[(0, 1)] * point[1]);
                largest = largest.max((value - exact).abs());
            }
        }
        errors.push(largest);
    }
    let order = (errors[0] / errors[1]).log2();
    eprintln!("gradient errors {errors:?}, order {order:.3}");
    assert!(order > 0.8, "gradient order {order}");
    assert!(errors[1] < 0.2);
}

#[test]
fn stochastic_paths_estimate_the_value_and_are_reproducible() {
    let file = common::shipped_file("lqr_1d_noisy");
    let settings = file.settings().unwrap();
    let problem = file.problem.with_points(&[301]).unwrap();
    let solution = hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap();
    let directory = common::scratch_directory("stochastic_paths");
    let path = directory.join("noisy.h5");
    hjb::io::hdf5::write_result(&path, &problem, &solution, &file.output).unwrap();
    let stored = read_result(&path).unwrap();
    let exact = riccati_value(&problem, &[1.0]);
    let run = |seed| hjb::simulate::simulate_paths(&problem, &stored, &[1.0], 1.0, 2e-3, seed, 1000).unwrap();
    let first = run(7);
    eprintln!("mean cost {:.5} ± {:.5}, exact {exact:.5}", first.cost_mean, first.cost_standard_error);
    // Monte Carlo error (3 standard errors) plus the grid policy's and Euler–Maruyama's O(h, Δt).
    assert!((first.cost_mean - exact).abs() <= 3.0 * first.cost_standard_error + 0.02 * exact);
    assert!(first.cost_standard_error > 0.0 && first.paths == 1000);
    assert_eq!(run(7).cost_mean.to_bits(), first.cost_mean.to_bits(), "same seed, same paths");
    assert_ne!(run(8).cost_mean.to_bits(), first.cost_mean.to_bits());
}
