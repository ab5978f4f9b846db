//! The files of `mpirun -np P hjb solve` (the `mpi` feature): one block file per process
//! stitched back by `read_result` (the index, or the XDMF beside it) into the very bits of the
//! single-process result — value, every policy field, every snapshot, the reference — whether
//! asked for (`--per-rank-files`) or chosen because the gathered result would not fit rank 0's
//! `--max-memory`; per-process checkpoints written at `--checkpoint-every` and `--stop-after`
//! and resumed (`--resume`) to the single-process bits; and the refusals of a resume with
//! another decomposition or grid, or from checkpoints of different steps (exit 2).
#![cfg(feature = "mpi")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::mpirun::solve;

/// The value, every policy field, every stored snapshot and the reference, as bits.
fn bits(path: &Path) -> Vec<Vec<u64>> {
    let stored = hjb::io::hdf5::read_result(path).expect("a result file");
    let mut fields: Vec<&hjb::ndarray::ArrayD<f64>> =
        std::iter::once(&stored.values).chain(&stored.policy).chain(&stored.reference).collect();
    if let Some(snapshots) = &stored.snapshots {
        for (values, policies) in snapshots.values.iter().zip(&snapshots.policies) {
            fields.push(values);
            fields.extend(policies);
        }
    }
    fields.iter().map(|field| field.iter().map(|v| v.to_bits()).collect()).collect()
}

fn assert_same_bits(what: &str, a: &[Vec<u64>], b: &[Vec<u64>]) {
    assert_eq!(a.len(), b.len(), "{what}: number of fields");
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.len(), y.len(), "{what}: field {k} size");
        let differing = x.iter().zip(y).filter(|(p, q)| p != q).count();
        assert_eq!(differing, 0, "{what}: field {k} differs at {differing} nodes");
    }
}

fn succeeded(what: &str, run: &Output) {
    assert!(
        run.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// A single-process reference and the block files of `ranks` processes, stitched.
fn stitched_matches(
    name: &str,
    file: &str,
    extra: &[&str],
    ranks: usize,
    blocks_xdmf: Option<usize>,
) -> PathBuf {
    let directory = common::scratch_directory(&format!("mpi_files_{name}"));
    let single = directory.join("single.h5");
    succeeded("single", &solve(0, file, extra, &single));
    let out = directory.join("blocks.h5");
    let mut arguments = extra.to_vec();
    arguments.push("--per-rank-files");
    succeeded("blocks", &solve(ranks, file, &arguments, &out));
    for rank in 0..ranks {
        assert!(hjb::io::blocks::block_path(&out, rank).exists(), "block file of rank {rank}");
    }
    assert_same_bits(name, &bits(&out), &bits(&single));
    if let Some(grids) = blocks_xdmf {
        let xdmf = out.with_extension("xmf");
        let text = std::fs::read_to_string(&xdmf).expect("the XDMF collection");
        assert!(text.contains("GridType=\"Collection\" CollectionType=\"Spatial\""), "{text}");
        assert_eq!(text.matches("GridType=\"Uniform\"").count(), grids, "{text}");
        // The XDMF stands for the set too.
        assert_same_bits(name, &bits(&xdmf), &bits(&single));
    }
    out
}

#[test]
fn per_rank_files_of_a_2d_problem_stitch_to_the_single_process_bits() {
    let out = stitched_matches("lqr_2d", "problems/lqr_double_integrator.toml", &[], 4, Some(4));
    // Each block file is an ordinary result of its block: 121² in 2 × 2 blocks of 61 or 60.
    let block = hjb::io::hdf5::read_result(&hjb::io::blocks::block_path(&out, 3)).unwrap();
    assert_eq!(block.shape, vec![60, 60]);
    // `hjb plot` and `hjb simulate` read the set.
    let simulate = |result: &Path| {
        let run = Command::new(env!("CARGO_BIN_EXE_hjb"))
            .args(["simulate", &result.display().to_string(), "--from", "1,0", "--json", "--out"])
            .arg(result.with_extension("").display().to_string() + "_path")
            .output()
            .unwrap();
        succeeded("simulate", &run);
        let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        json["cost"].as_f64().unwrap().to_bits()
    };
    assert_eq!(simulate(&out), simulate(&out.with_file_name("single.h5")));
    let plot = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["plot", &out.display().to_string(), "--slice", "v=0"])
        .output()
        .unwrap();
    succeeded("plot", &plot);
    // A block file of another run, or a missing one, is refused (bad input), never stitched.
    let other = out.with_file_name("other.h5");
    let file = "problems/lqr_double_integrator.toml";
    succeeded("other run", &solve(4, file, &["--per-rank-files"], &other));
    let plot_exit = || {
        let run = Command::new(env!("CARGO_BIN_EXE_hjb"))
            .args(["plot", &out.display().to_string()])
            .output()
            .unwrap();
        (run.status.code(), String::from_utf8_lossy(&run.stderr).into_owned())
    };
    let block1 = hjb::io::blocks::block_path(&out, 1);
    std::fs::copy(hjb::io::blocks::block_path(&other, 1), &block1).unwrap();
    let (code, stderr) = plot_exit();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("another run"), "{stderr}");
    std::fs::remove_file(&block1).unwrap();
    assert_eq!(plot_exit().0, Some(2));
}

#[test]
fn per_rank_files_of_a_3d_game_with_a_split_periodic_axis_stitch_to_the_same_bits() {
    stitched_matches("tube_3d", "problems/dubins_tube.toml", &["--points", "21,21,41"], 2, Some(2));
}

#[test]
fn per_rank_files_of_a_4d_problem_stitch_to_the_same_bits_without_xdmf() {
    let out = stitched_matches("lqr_4d", "benches/mpi_lqr_4d.toml", &["--points", "9,8,9,7"], 4, None);
    assert!(!out.with_extension("xmf").exists());
}

#[test]
fn a_result_too_large_for_rank_0_goes_to_block_files() {
    let directory = common::scratch_directory("mpi_files_memory");
    let file = "problems/lqr_double_integrator.toml";
    let single = directory.join("single.h5");
    succeeded("single", &solve(0, file, &[], &single));
    // 121² nodes × (value + policy) × 22 levels: about 5.6 MiB gathered; a block needs less than 2.
    let limited = solve(0, file, &["--max-memory", "4M"], &directory.join("refused.h5"));
    assert_eq!(limited.status.code(), Some(2), "one process does not fit 4 MiB");
    let out = directory.join("blocks.h5");
    let run = solve(4, file, &["--max-memory", "4M"], &out);
    succeeded("4 ranks", &run);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("one block file per process instead"), "{stderr}");
    assert!(hjb::io::blocks::block_path(&out, 3).exists());
    assert_same_bits("memory rule", &bits(&out), &bits(&single));
    // A block that does not fit its process is refused on every process, before any work.
    let small = directory.join("small.h5");
    let refused = solve(4, file, &["--max-memory", "1M"], &small);
    assert_eq!(refused.status.code(), Some(2), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(!small.exists() && !hjb::io::blocks::block_path(&small, 0).exists());
    // Without the limit the result is gathered (no block files).
    let gathered = directory.join("gathered.h5");
    succeeded("gathered", &solve(4, file, &[], &gathered));
    assert!(!hjb::io::blocks::block_path(&gathered, 0).exists());
    assert_same_bits("gathered", &bits(&gathered), &bits(&single));
}

#[test]
fn stopped_runs_resume_from_per_rank_checkpoints_to_the_single_process_bits() {
    let directory = common::scratch_directory("mpi_files_resume");
    let file = "problems/lqr_double_integrator.toml";
    let single = directory.join("single.h5");
    succeeded("single", &solve(0, file, &[], &single));
    let out = directory.join("resumed.h5");
    let checkpoint = |rank: usize| hjb::io::checkpoint::rank_checkpoint_path(&out, rank, 4);
    // 259 steps: stop after 100 (checkpoints every 40 on the way), then after 200.
    let first = solve(4, file, &["--checkpoint-every", "40", "--stop-after", "100"], &out);
    assert_eq!(first.status.code(), Some(130), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(!out.exists());
    for rank in 0..4 {
        assert_eq!(hjb::io::checkpoint::read(&checkpoint(rank)).unwrap().completed, 100);
    }
    let saved = directory.join("rank0_step100.h5");
    std::fs::copy(checkpoint(0), &saved).unwrap();

    // Refused on every process, exit 2: another decomposition, another grid, a clock.
    for (what, ranks, extra) in [
        ("2 processes", 2, vec!["--resume"]),
        ("another grid", 4, vec!["--resume", "--points", "101"]),
        ("seconds", 4, vec!["--checkpoint-seconds", "1"]),
    ] {
        let run = solve(ranks, file, &extra, &out);
        assert_eq!(run.status.code(), Some(2), "{what}: {}", String::from_utf8_lossy(&run.stderr));
    }

    let second = solve(4, file, &["--resume", "--stop-after", "100"], &out);
    assert_eq!(second.status.code(), Some(130), "{}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(hjb::io::checkpoint::read(&checkpoint(3)).unwrap().completed, 200);

    // Checkpoints of different steps (a run stopped while writing them) are refused.
    let newer = directory.join("rank0_step200.h5");
    std::fs::copy(checkpoint(0), &newer).unwrap();
    std::fs::copy(&saved, checkpoint(0)).unwrap();
    let torn = solve(4, file, &["--resume"], &out);
    assert_eq!(torn.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&torn.stderr).contains("different steps"));
    std::fs::copy(&newer, checkpoint(0)).unwrap();

    // The last leg writes block files: stitched, they are the single-process bits.
    succeeded("resume", &solve(4, file, &["--resume", "--per-rank-files"], &out));
    assert_same_bits("resumed", &bits(&out), &bits(&single));
    for rank in 0..4 {
        assert!(!checkpoint(rank).exists(), "checkpoint of rank {rank} removed once the result is written");
    }

    // A gathered result resumes to the same bits too.
    let gathered = directory.join("gathered.h5");
    let stop = solve(4, file, &["--stop-after", "130"], &gathered);
    assert_eq!(stop.status.code(), Some(130));
    succeeded("resume gathered", &solve(4, file, &["--resume"], &gathered));
    assert_same_bits("resumed, gathered", &bits(&gathered), &bits(&single));
}

#[test]
fn a_blow_up_leaves_the_last_finite_state_as_block_files_with_the_single_process_bits() {
    let directory = common::scratch_directory("mpi_files_blow_up");
    let file = "problems/lqr_double_integrator.toml";
    let unstable = ["--time-step", "0.02", "--allow-unstable"];
    let single = directory.join("single.h5");
    assert_eq!(solve(0, file, &unstable, &single).status.code(), Some(1));
    let out = directory.join("four.h5");
    let run = solve(4, file, &unstable, &out);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("partial result (attribute partial = 1) written as 4")
    );
    let stitched = hjb::io::hdf5::read_result(&out).unwrap();
    let stopped = hjb::io::hdf5::read_result(&single).unwrap().stopped.expect("the single run is partial");
    assert_eq!(stitched.stopped.as_deref(), Some(stopped.as_str()));
    assert_same_bits("partial", &bits(&out), &bits(&single));
    // A complete result is never replaced by a partial one: it goes beside it.
    succeeded("complete", &solve(4, file, &[], &out));
    assert_eq!(solve(4, file, &unstable, &out).status.code(), Some(1));
    assert!(hjb::io::hdf5::read_result(&out).unwrap().stopped.is_none());
    let beside = directory.join("four.partial.h5");
    assert_same_bits("partial beside", &bits(&beside), &bits(&single));
}
