//! A build without the `mpi` feature started by `mpirun -np 2` would solve the whole problem
//! twice into one file: it refuses with exit code 2 and says how to build the MPI binary. (The
//! environment variable is the one OpenMPI's launcher sets in every process.)
#![cfg(not(feature = "mpi"))]

mod common;

use std::process::Command;

#[test]
fn a_build_without_mpi_refuses_to_run_under_mpirun() {
    let out = common::scratch_directory("mpirun_without_feature").join("r.h5");
    let run = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["solve", "problems/lqr_1d.toml", "--no-plots", "--out"])
        .arg(&out)
        .current_dir(common::repository_path(""))
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .output()
        .expect("hjb runs");
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("--features mpi"), "{stderr}");
    assert!(!out.exists());
    // One process (the size mpirun -np 1 sets) runs as usual.
    let single = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["solve", "problems/lqr_1d.toml", "--no-plots", "--out"])
        .arg(&out)
        .current_dir(common::repository_path(""))
        .env("OMPI_COMM_WORLD_SIZE", "1")
        .output()
        .expect("hjb runs");
    assert!(single.status.success(), "{}", String::from_utf8_lossy(&single.stderr));
}
