//! The `mpi` feature beyond explicit marching: stationary problems by explicit value iteration
//! (the stopping rule reduced over the blocks) give the very bits of the single-process run on
//! 1, 2, 3 and 4 processes — discounted with noise and state constraints, and exit time with a
//! target set — stopping after the same sweep; the stationary solvers that are not decomposed
//! (policy iteration, fast sweeping, semi-Lagrangian value iteration, and `auto` when it picks
//! one of them) stop every process with exit code 2 and the setting to use.
#![cfg(feature = "mpi")]

mod common;

use common::mpirun::{refused, same_bits, solve};

/// The report line that names the value-iteration sweeps.
fn sweeps_line(stdout: &[u8]) -> String {
    String::from_utf8_lossy(stdout)
        .lines()
        .find(|line| line.contains("value iteration:"))
        .map(String::from)
        .unwrap_or_else(|| panic!("no value-iteration line in {}", String::from_utf8_lossy(stdout)))
}

#[test]
fn discounted_value_iteration_is_bit_identical_and_stops_at_the_same_sweep() {
    // 2-D stochastic LQR, ρ = 0.2, state-constrained box: 15 633 upwind sweeps on 41².
    let outputs = same_bits(
        "stationary_lqr_2d",
        "problems/lqr_stochastic_2d.toml",
        &["--scheme", "upwind", "--points", "41,41"],
        &[1, 2, 4],
    );
    let single = sweeps_line(&outputs[0].stdout);
    assert!(single.contains("value iteration: 15633 sweeps"), "{single}");
    for run in &outputs[1..] {
        assert_eq!(sweeps_line(&run.stdout), single);
    }
    let report = String::from_utf8_lossy(&outputs[3].stdout);
    assert!(
        report.contains("mpi         value iteration (upwind) on 4 ranks × 1 threads, blocks 2 × 2"),
        "{report}"
    );
}

#[test]
fn exit_time_value_iteration_is_bit_identical() {
    // Minimum time to a ball (target set held fixed, ρ = 0, sampled heading), on 2 × 1, 3 × 1
    // and 2 × 2 blocks.
    let outputs = same_bits(
        "stationary_min_time",
        "problems/min_time_ball.toml",
        &["--scheme", "upwind", "--points", "41,41"],
        &[2, 3, 4],
    );
    let single = sweeps_line(&outputs[0].stdout);
    for run in &outputs[1..] {
        assert_eq!(sweeps_line(&run.stdout), single);
    }
}

#[test]
fn lax_friedrichs_value_iteration_in_json_names_the_method() {
    let outputs = same_bits(
        "stationary_lf",
        "problems/min_time_ball.toml",
        &["--scheme", "lax_friedrichs", "--points", "33,33", "--json"],
        &[4],
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&outputs[1].stdout).expect("the JSON summary of rank 0");
    assert_eq!(summary["mpi"]["method"], "value iteration (lax_friedrichs)");
    assert_eq!(summary["mpi"]["ranks"], 4);
}

#[test]
fn stationary_solvers_that_are_not_decomposed_are_refused_on_every_process() {
    let directory = common::scratch_directory("mpi_stationary_refusals");
    let out = directory.join("r.h5");
    let ball = "problems/min_time_ball.toml";
    let points = ["--points", "41,41"];
    // `auto` chooses fast sweeping (exit time) or policy iteration (discounted): the refusal
    // names the setting that runs.
    let auto = solve(2, ball, &points, &out);
    refused("auto, exit time", &auto, &["scheme = \"auto\" chooses fast sweeping", "--scheme upwind", "MPI"]);
    let discounted =
        solve(4, "problems/lqr_stochastic_2d.toml", &["--scheme", "auto", "--points", "41,41"], &out);
    refused(
        "auto, discounted",
        &discounted,
        &["scheme = \"auto\" chooses policy iteration", "--scheme upwind"],
    );
    let sweeping = solve(2, ball, &["--scheme", "fast_sweeping", "--points", "41,41"], &out);
    refused(
        "fast sweeping",
        &sweeping,
        &["fast sweeping (a stationary problem) is not decomposed under MPI"],
    );
    let implicit = solve(2, "problems/lqr_stochastic_2d.toml", &["--points", "41,41"], &out);
    refused("implicit", &implicit, &["policy iteration (a stationary problem) is not decomposed under MPI"]);
    let semi_lagrangian = solve(2, "problems/lqr_1d_discounted.toml", &[], &out);
    refused("semi-Lagrangian", &semi_lagrangian, &["semi-Lagrangian value iteration", "MPI"]);
    assert!(!out.exists());
}
