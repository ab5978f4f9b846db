//! The `mpi` feature beyond explicit marching, against the single-process run bit for bit:
//! stationary problems by explicit value iteration (the stopping rule reduced over the blocks)
//! on 1–4 processes — discounted with noise and state constraints, and exit time with a target
//! set — stopping after the same sweep; finite-horizon semi-Lagrangian stepping with the halo
//! its feet need (1-D, 2-D, noise, a split periodic axis with a reachability projection, Heun
//! feet). Stationary policy iteration as block-Jacobi sweeps agrees with one process to the
//! bound its stopping rule gives. Refused with exit code 2 on every process, naming the setting
//! to use: the stationary solvers that are not decomposed (fast sweeping, semi-Lagrangian value
//! iteration, and `auto` when it picks fast sweeping), and semi-Lagrangian blocks thinner than
//! the feet reach.
#![cfg(feature = "mpi")]

mod common;

use common::mpirun::{refused, same_bits, solve};

/// The `mpi` report line of a run.
fn mpi_line(stdout: &[u8]) -> String {
    String::from_utf8_lossy(stdout)
        .lines()
        .find(|line| line.trim_start().starts_with("mpi "))
        .map(String::from)
        .unwrap_or_else(|| panic!("no mpi line in {}", String::from_utf8_lossy(stdout)))
}

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
    // `auto` chooses fast sweeping for an exit-time problem: the refusal names the settings
    // that run.
    let auto = solve(2, ball, &points, &out);
    refused("auto, exit time", &auto, &["scheme = \"auto\" chooses fast sweeping", "--scheme upwind", "MPI"]);
    let sweeping = solve(2, ball, &["--scheme", "fast_sweeping", "--points", "41,41"], &out);
    refused(
        "fast sweeping",
        &sweeping,
        &["fast sweeping (a stationary problem) is not decomposed under MPI"],
    );
    let semi_lagrangian = solve(2, "problems/lqr_1d_discounted.toml", &[], &out);
    refused("semi-Lagrangian", &semi_lagrangian, &["semi-Lagrangian value iteration", "MPI"]);
    assert!(!out.exists());
}

#[test]
fn semi_lagrangian_1d_is_bit_identical_with_a_halo_of_three() {
    // |u| ≤ 2, Δt = h: the feet may move 2 cells, so the halo is ⌊2⌋ + 1 = 3 nodes.
    let outputs = same_bits("sl_hopf_lax", "problems/hopf_lax_two_wells.toml", &[], &[1, 2, 4]);
    let line = mpi_line(&outputs[3].stdout);
    assert!(line.contains("march (semi_lagrangian) on 4 ranks") && line.contains("halo 3 nodes"), "{line}");
}

#[test]
fn semi_lagrangian_with_heun_feet_takes_one_more_node() {
    let directory = common::scratch_directory("mpi_sl_heun_problem");
    let text = std::fs::read_to_string(common::repository_path("problems/hopf_lax_two_wells.toml")).unwrap();
    let file = directory.join("heun.toml");
    std::fs::write(
        &file,
        text.replace(
            "scheme = \"semi_lagrangian\"",
            "scheme = \"semi_lagrangian\"\ncharacteristic = \"heun\"",
        ),
    )
    .unwrap();
    let outputs = same_bits("sl_heun", file.to_str().unwrap(), &[], &[2, 4]);
    let single = String::from_utf8_lossy(&outputs[0].stdout);
    assert!(single.contains("heun single feet"), "{single}");
    assert!(mpi_line(&outputs[2].stdout).contains("halo 4 nodes"));
}

#[test]
fn semi_lagrangian_2d_is_bit_identical() {
    same_bits(
        "sl_double_integrator",
        "problems/lqr_double_integrator.toml",
        &["--scheme", "semi_lagrangian", "--points", "41,41"],
        &[2, 3, 4],
    );
}

#[test]
fn semi_lagrangian_with_noise_is_bit_identical() {
    // Camilli–Falcone feet ± √(2Δt) σ: the noise spread is part of the halo.
    same_bits(
        "sl_noise",
        "problems/colehopf_ring_2d.toml",
        &["--scheme", "semi_lagrangian", "--points", "31,31", "--time-step", "0.05"],
        &[2, 4],
    );
}

#[test]
fn semi_lagrangian_on_a_split_periodic_axis_is_bit_identical() {
    // The heading of the Dubins tube wraps; feet located on the whole grid wrap with it.
    same_bits(
        "sl_dubins",
        "problems/dubins_tube.toml",
        &["--scheme", "semi_lagrangian", "--points", "21,21,41"],
        &[2, 4],
    );
}

#[test]
fn semi_lagrangian_blocks_thinner_than_the_feet_are_refused() {
    let directory = common::scratch_directory("mpi_sl_refusal");
    let out = directory.join("r.h5");
    // Δt = 0.2 on 41²: the noise feet reach 47 cells, blocks hold 20.
    let run = solve(
        2,
        "problems/colehopf_ring_2d.toml",
        &["--scheme", "semi_lagrangian", "--points", "41,41", "--time-step", "0.2"],
        &out,
    );
    refused(
        "thin semi-Lagrangian blocks",
        &run,
        &["2 processes split axis 0", "feet move up to 47.2", "halo is 48 nodes", "blocks of 20 nodes"],
    );
    assert!(!out.exists());
}

#[test]
fn block_jacobi_policy_iteration_agrees_with_one_process_to_its_tolerance() {
    // The outer sweeps stop at ‖ΔV‖∞ ≤ 1e-11 (1 + ‖V‖∞). After the last sweep the whole grid's
    // residual is at most max_x Σ r(x) · ‖ΔV‖∞ (the rows at block edges read halo values one
    // sweep old), and rows with margin ρ turn a residual ε into an error ≤ ε/ρ: here
    // Σ r ≤ 2 (9.5/0.15 + 0.25/0.15²) ≈ 149 and ρ = 0.2, so ≤ 7.5e-9 (1 + ‖V‖∞); policy
    // iteration on one process stops at 1e-12. We assert 1e-8 (1 + ‖V‖∞).
    let directory = common::scratch_directory("mpi_block_jacobi");
    let file = "problems/lqr_stochastic_2d.toml";
    let points = ["--points", "41,41"];
    let single = solve(0, file, &points, &directory.join("single.h5"));
    assert!(single.status.success(), "{}", String::from_utf8_lossy(&single.stderr));
    let reference = hjb::io::hdf5::read_result(&directory.join("single.h5")).expect("a result file");
    let size = reference.values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let single_report = String::from_utf8_lossy(&single.stdout);
    assert!(single_report.contains("policy iteration: 9 sweeps"), "{single_report}");
    for ranks in [2, 4] {
        let out = directory.join(format!("ranks{ranks}.h5"));
        let run = solve(ranks, file, &points, &out);
        assert!(run.status.success(), "{ranks} ranks: {}", String::from_utf8_lossy(&run.stderr));
        let decomposed = hjb::io::hdf5::read_result(&out).expect("a result file");
        let difference =
            decomposed.values.iter().zip(&reference.values).fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
        eprintln!("{ranks} ranks: max |V − V_single| = {difference:.3e}, ‖V‖∞ = {size:.3}");
        assert!(difference <= 1e-8 * (1.0 + size), "{ranks} ranks: {difference:e}");
        let report = String::from_utf8_lossy(&run.stdout);
        let line = mpi_line(&run.stdout);
        assert!(
            line.contains(&format!("block-Jacobi policy iteration (implicit) on {ranks} ranks")),
            "{line}"
        );
        let sweeps: usize = report
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("block-Jac."))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no outer sweep count in {report}"));
        eprintln!("{ranks} ranks: {sweeps} outer sweeps against 9 policy-iteration sweeps on one process");
        // Each outer sweep moves information one block further: more sweeps than one process's.
        assert!(sweeps > 9, "{report}");
    }
}
