//! The `mpi` feature: `mpirun -np 2` and `-np 4` (oversubscribed) give the very bits of the
//! single-process run — value and every policy field — on shipped 2-D and 3-D problems
//! (upwind, Lax–Friedrichs, a high-order step with global dissipation, a split periodic axis,
//! noise), and bad input stops every process with the same exit code. The single-process
//! reference runs are this same MPI build started without mpirun (a world of one). The
//! stationary and semi-Lagrangian solvers under MPI are tested in `tests/mpi_solvers.rs`.
#![cfg(feature = "mpi")]

mod common;

use common::mpirun::{same_bits, solve};
use std::process::Output;

#[test]
fn upwind_2d_is_bit_identical() {
    let outputs = same_bits("upwind_2d", "problems/lqr_double_integrator.toml", &[], &[1, 2, 4]);
    let report = String::from_utf8_lossy(&outputs[3].stdout);
    assert!(report.contains("mpi         march (upwind) on 4 ranks × 1 threads, blocks 2 × 2"), "{report}");
}

#[test]
fn upwind_4d_is_bit_identical() {
    same_bits("upwind_4d", "benches/mpi_lqr_4d.toml", &["--points", "9,8,9,7"], &[2, 4]);
}

#[test]
fn weno5_rk3_with_a_halo_of_9_is_bit_identical() {
    // Blocks of 20 nodes on 41-point axes, halo 3 × 3 = 9.
    same_bits("weno5_rk3", "problems/dubins_tube.toml", &["--accuracy", "very_high"], &[4]);
}

#[test]
fn the_very_high_preset_on_a_smooth_2d_problem_is_bit_identical() {
    // rotating_bump ships with accuracy = "very_high" (WENO5 + TVD-RK3): 81² in 2 × 2 blocks.
    same_bits("rotating_bump", "problems/rotating_bump.toml", &[], &[2, 4]);
}

#[test]
fn lax_friedrichs_2d_is_bit_identical() {
    same_bits("lf_2d", "problems/lqr_double_integrator.toml", &["--scheme", "lax_friedrichs"], &[2, 4]);
}

#[test]
fn noise_2d_is_bit_identical() {
    same_bits("noise_2d", "problems/colehopf_ring_2d.toml", &[], &[4]);
}

#[test]
fn game_3d_with_a_split_periodic_axis_is_bit_identical() {
    // 21 × 21 × 41: two blocks split the periodic heading, four split heading and x.
    same_bits("tube_3d", "problems/dubins_tube.toml", &["--points", "21,21,41"], &[2, 4]);
}

#[test]
fn high_order_with_global_dissipation_is_bit_identical() {
    // ENO2 × TVD-RK2 reads 2 × 2 = 4 nodes across a block edge in one step.
    same_bits(
        "eno2_rk2",
        "problems/dubins_tube.toml",
        &[
            "--points",
            "25,25,24",
            "--scheme",
            "lax_friedrichs",
            "--derivatives",
            "eno2",
            "--time-integrator",
            "tvd_rk2",
            "--dissipation",
            "global",
        ],
        &[2, 4],
    );
}

#[test]
fn refusals_reach_every_process_with_the_same_code() {
    let directory = common::scratch_directory("mpi_refusals");
    let out = directory.join("r.h5");
    // Blocks thinner than the stencil: 2 × 2 blocks of a 3 × 3 grid leave one node.
    let thin = solve(4, "problems/lqr_double_integrator.toml", &["--points", "3,3"], &out);
    let scheme = solve(2, "problems/lqr_double_integrator.toml", &["--scheme", "implicit"], &out);
    for (what, run) in [("thin blocks", thin), ("implicit", scheme)] {
        assert_eq!(run.status.code(), Some(2), "{what}: {}", String::from_utf8_lossy(&run.stderr));
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains("MPI") || stderr.contains("blocks"), "{what}: {stderr}");
    }
    assert!(!out.exists());
}

#[test]
fn a_blow_up_is_found_by_every_process_at_the_same_node() {
    let directory = common::scratch_directory("mpi_blow_up");
    let unstable = ["--time-step", "0.02", "--allow-unstable"];
    let single = solve(0, "problems/lqr_double_integrator.toml", &unstable, &directory.join("one.h5"));
    let four = solve(4, "problems/lqr_double_integrator.toml", &unstable, &directory.join("four.h5"));
    assert_eq!(single.status.code(), Some(1));
    assert_eq!(four.status.code(), Some(1));
    let first_error = |run: &Output| {
        String::from_utf8_lossy(&run.stderr)
            .lines()
            .find(|l| l.starts_with("error: blow-up"))
            .map(String::from)
    };
    let expected = first_error(&single).expect("the single run names the blow-up");
    let stderr = String::from_utf8_lossy(&four.stderr);
    // Every process that gets to print (mpirun ends the others once one has exited) stops with
    // the single-process message: same step, node and value.
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert!(!errors.is_empty(), "{stderr}");
    assert!(errors.iter().all(|l| *l == expected), "{stderr}");
}
