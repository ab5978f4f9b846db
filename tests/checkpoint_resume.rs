//! A solve killed mid-way leaves its last checkpoint and no result file; `--resume` finishes it
//! with the same bits as an uninterrupted run.

mod common;

use hjb::ndarray::ArrayD;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn killed_solve_resumes_to_identical_bits() {
    let directory = common::scratch_directory("checkpoint");
    let problem = common::repository_path("problems/lqr_double_integrator.toml");
    let problem = problem.to_str().unwrap();
    let interrupted = directory.join("interrupted.h5");
    let reference = directory.join("uninterrupted.h5");
    // 301² nodes × ~650 steps: long enough to be interrupted after the first checkpoint.
    let arguments = |out: &std::path::Path| {
        vec![
            "solve".to_string(),
            problem.to_string(),
            "--points".to_string(),
            "301".to_string(),
            "--no-plots".to_string(),
            "--out".to_string(),
            out.display().to_string(),
        ]
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(arguments(&interrupted))
        .args(["--checkpoint-every", "40"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = hjb::io::checkpoint::checkpoint_path(&interrupted);
    let started = Instant::now();
    while !checkpoint.exists() {
        assert!(started.elapsed() < Duration::from_secs(120), "no checkpoint appeared");
        assert!(child.try_wait().unwrap().is_none(), "the solve ended before it could be interrupted");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!interrupted.exists(), "an interrupted solve must not leave a result file");
    let saved = hjb::io::checkpoint::read(&checkpoint).unwrap();
    assert!(saved.completed >= 40 && saved.completed % 40 == 0);

    let resumed = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(arguments(&interrupted))
        .arg("--resume")
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert!(!checkpoint.exists(), "the checkpoint is removed once the solve completes");
    let straight = Command::new(env!("CARGO_BIN_EXE_hjb")).args(arguments(&reference)).output().unwrap();
    assert!(straight.status.success());

    let a = hjb::io::hdf5::read_result(&interrupted).unwrap();
    let b = hjb::io::hdf5::read_result(&reference).unwrap();
    let same = |x: &ArrayD<f64>, y: &ArrayD<f64>| {
        x.shape() == y.shape() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
    };
    assert!(same(&a.values, &b.values), "values differ after resume");
    assert!(same(&a.policy[0], &b.policy[0]), "policy differs after resume");
    let (sa, sb) = (a.snapshots.unwrap(), b.snapshots.unwrap());
    assert_eq!(sa.times, sb.times);
    for k in 0..sa.values.len() {
        assert!(same(&sa.values[k], &sb.values[k]), "snapshot {k} differs");
        assert!(same(&sa.policies[k][0], &sb.policies[k][0]), "snapshot policy {k} differs");
    }

    // Time-based checkpoints: a short interval writes some before the end, none is left after.
    let timed = directory.join("timed.h5");
    let output = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(arguments(&timed))
        .args(["--checkpoint-seconds", "0.05"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(!hjb::io::checkpoint::checkpoint_path(&timed).exists());
    assert!(same(&hjb::io::hdf5::read_result(&timed).unwrap().values, &b.values));

    // A checkpoint from other settings is refused (bad input).
    hjb::io::checkpoint::write(&checkpoint, &saved).unwrap();
    let mismatched = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(arguments(&interrupted))
        .args(["--resume", "--cfl", "0.5"])
        .output()
        .unwrap();
    assert_eq!(mismatched.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&mismatched.stderr).contains("was written for another problem"));
}

/// Ctrl-C stops the solve after the current step: with checkpoints asked for, the state of that
/// step is kept; no temporary file and no result file are left; exit 130; `--resume` finishes.
#[cfg(unix)]
#[test]
fn ctrl_c_keeps_a_checkpoint_and_exits_130() {
    let directory = common::scratch_directory("checkpoint_ctrl_c");
    let problem = common::repository_path("problems/lqr_double_integrator.toml");
    let out = directory.join("stopped.h5");
    let arguments =
        ["solve", problem.to_str().unwrap(), "--points", "301", "--no-plots", "--checkpoint-every", "1000"];
    let child = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(arguments)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Past start-up (the handler is installed before the first step), well before the end: on
    // Linux wait until the kernel lists SIGINT among the caught signals (a fixed sleep failed on
    // a loaded machine, killing the child before its handler existed); elsewhere sleep.
    wait_for_interrupt_handler(child.id());
    // SAFETY: kill(2) on the id of the child this test started.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted: checkpoint of step"), "{stderr}");
    let checkpoint = hjb::io::checkpoint::checkpoint_path(&out);
    assert!(checkpoint.exists() && !out.exists());
    let left: Vec<String> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|name| !name.contains(".tmp")), "temporaries left: {left:?}");
    let resumed = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(arguments)
        .arg("--out")
        .arg(&out)
        .arg("--resume")
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert!(out.exists() && !checkpoint.exists());
}

/// Wait until process `pid` catches SIGINT (`SigCgt` in `/proc/pid/status` has bit 1), at most 30 s;
/// without `/proc`, sleep 700 ms.
#[cfg(unix)]
fn wait_for_interrupt_handler(pid: u32) {
    let status = format!("/proc/{pid}/status");
    if std::fs::metadata(&status).is_err() {
        std::thread::sleep(Duration::from_millis(700));
        return;
    }
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let caught = std::fs::read_to_string(&status).ok().and_then(|text| {
            let line = text.lines().find(|line| line.starts_with("SigCgt:"))?.to_string();
            u64::from_str_radix(line.trim_start_matches("SigCgt:").trim(), 16).ok()
        });
        if caught.is_some_and(|mask| mask & (1 << (libc::SIGINT - 1)) != 0) {
            // The handler is installed just before the solve starts; let a few steps run.
            std::thread::sleep(Duration::from_millis(100));
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `--stop-after N` stops a solve after N steps of the run with a checkpoint (exit 130, no
/// result file); the same command with `--resume` goes on from there, and the finished result
/// has the bits of an uninterrupted run.
#[test]
fn stop_after_slices_a_solve_into_runs_with_identical_bits() {
    let directory = common::scratch_directory("checkpoint_stop_after");
    let problem = common::repository_path("problems/lqr_double_integrator.toml");
    let run = |out: &std::path::Path, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hjb"))
            .args(["solve", problem.to_str().unwrap(), "--no-plots", "--out"])
            .arg(out)
            .args(extra)
            .output()
            .unwrap()
    };
    let sliced = directory.join("sliced.h5");
    let checkpoint = hjb::io::checkpoint::checkpoint_path(&sliced);
    // 259 steps: 100, then 100 more, then the rest.
    for (extra, completed) in
        [(&["--stop-after", "100"][..], 100), (&["--resume", "--stop-after", "100"][..], 200)]
    {
        let output = run(&sliced, extra);
        assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stderr));
        assert!(String::from_utf8_lossy(&output.stderr).contains("as asked (--stop-after)"));
        assert!(!sliced.exists());
        assert_eq!(hjb::io::checkpoint::read(&checkpoint).unwrap().completed, completed);
    }
    assert!(run(&sliced, &["--resume"]).status.success());
    assert!(!checkpoint.exists());
    let straight = directory.join("straight.h5");
    assert!(run(&straight, &[]).status.success());
    let (a, b) =
        (hjb::io::hdf5::read_result(&sliced).unwrap(), hjb::io::hdf5::read_result(&straight).unwrap());
    let bits = |x: &ArrayD<f64>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.values), bits(&b.values));
    assert_eq!(bits(&a.policy[0]), bits(&b.policy[0]));
    let bad = run(&directory.join("bad.h5"), &["--stop-after", "0"]);
    assert_eq!(bad.status.code(), Some(2));
}
