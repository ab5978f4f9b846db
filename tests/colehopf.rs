//! Sampling by optimal control (Cole–Hopf): the Gaussian-mixture reference, its refusals, and the
//! ensembles of `simulate` against the exact law of X_T (KS distance, moments in standard errors),
//! reproducible bit for bit whatever the thread count.

mod common;

use hjb::io::hdf5::{read_result, write_result};
use hjb::problem::ReferenceSolution;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Solve a shipped problem on `points` and read the result back as `simulate` does.
fn solved(name: &str, points: &[usize]) -> (hjb::Problem, hjb::io::hdf5::StoredResult, PathBuf) {
    let file = common::shipped_file(name);
    let settings = file.settings().unwrap();
    let problem = file.problem.with_points(points).unwrap();
    let solution = hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap();
    let directory = common::scratch_directory(&format!("colehopf_{name}_{}", points[0]));
    let path = directory.join(format!("{name}.h5"));
    write_result(&path, &problem, &solution, &file.output).unwrap();
    (problem, read_result(&path).unwrap(), path)
}

#[test]
fn shipped_value_matches_the_closed_form_at_501_points() {
    let (problem, settings) = common::shipped("colehopf_mixture_1d");
    let solution = hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap();
    let error = solution.error.unwrap();
    eprintln!("L∞ {:.4e} on [-3, 3]", error.linf);
    assert!(error.linf <= 0.02 && error.linf > 1e-3, "L∞ {}", error.linf);
    // The reference is the closed form: V(0, 0) = −log Σ w_k = 0 for this problem.
    let Some(ReferenceSolution::GaussianMixture { mixture, horizon }) =
        problem.reference.as_ref().map(|r| &r.solution)
    else {
        panic!("the shipped problem has a Gaussian-mixture reference")
    };
    assert_eq!(*horizon, 1.0);
    assert!(mixture.cole_hopf(&[0.0], 0.0, 1.0).0.abs() < 1e-15);
}

#[test]
fn one_dimensional_ensemble_samples_the_mixture() {
    let (problem, stored, _) = solved("colehopf_mixture_1d", &[501]);
    let started = std::time::Instant::now();
    let statistics = hjb::simulate::simulate_paths(&problem, &stored, &[0.0], 1.0, 5e-4, 0, 20_000).unwrap();
    let ensemble = statistics.ensemble.as_ref().unwrap();
    let exact = ensemble.target.as_ref().unwrap();
    eprintln!(
        "20000 paths in {:.2} s: KS {:?} (critical {:.4}), mean {:?} vs {:?} ({:.2} se), var {:?} vs {:?} ({:.2} se)",
        started.elapsed().as_secs_f64(),
        exact.ks,
        exact.ks_critical,
        ensemble.mean,
        exact.mean,
        exact.mean_z,
        ensemble.covariance,
        exact.covariance,
        exact.covariance_z
    );
    assert_eq!(statistics.terminal_states.len(), 20_000);
    // The exact law from 0 is p_data itself: mean 0.4·(−2) + 0.6·1.5 = 0.1.
    assert!((exact.mean[0] - 0.1).abs() < 1e-15);
    // KS: statistical part ≈ 0.87/√N ≈ 0.006 (median), plus the grid policy's bias.
    assert!(exact.ks[0] <= 0.02, "KS {}", exact.ks[0]);
    assert!(exact.mean_z <= 3.0 && exact.covariance_z <= 3.0);
    // The realised cost estimates V(0, 0) = 0.
    assert!(statistics.cost_mean.abs() <= 3.0 * statistics.cost_standard_error + 0.02);
}

#[test]
fn two_dimensional_ensemble_matches_the_ring_moments() {
    let (problem, stored, _) = solved("colehopf_ring_2d", &[181, 181]);
    // Δt = T/2000 (the CLI's default): Euler–Maruyama's left-point drift makes the variance about
    // 0.4 % low here (≈ 0.7 standard errors; 0.9 % at Δt = T/1000), the grid policy less.
    let statistics =
        hjb::simulate::simulate_paths(&problem, &stored, &[0.0, 0.0], 1.0, 5e-4, 0, 20_000).unwrap();
    let ensemble = statistics.ensemble.as_ref().unwrap();
    let exact = ensemble.target.as_ref().unwrap();
    eprintln!(
        "ring: mean {:?} ({:.2} se), covariance {:?} vs {:?} ({:.2} se), KS {:?}",
        ensemble.mean, exact.mean_z, ensemble.covariance, exact.covariance, exact.covariance_z, exact.ks
    );
    // Ring of radius 2, variance 0.1: mean 0, covariance (0.1 + 2²/2)·I = 2.1·I.
    assert!(exact.mean.iter().all(|m| m.abs() < 1e-12));
    assert!((exact.covariance[0][0] - 2.1).abs() < 1e-12 && exact.covariance[0][1].abs() < 1e-12);
    assert!(exact.mean_z <= 3.0, "mean off by {} standard errors", exact.mean_z);
    assert!(exact.covariance_z <= 3.0, "covariance off by {} standard errors", exact.covariance_z);
    assert!(exact.ks.iter().all(|ks| *ks <= 0.02), "KS {:?}", exact.ks);
}

#[test]
fn ensembles_are_the_same_bits_for_any_thread_count() {
    let (problem, stored, _) = solved("colehopf_mixture_1d", &[126]);
    let run = |threads: usize, seed: u64| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            hjb::simulate::simulate_paths(&problem, &stored, &[0.5], 1.0, 1e-2, seed, 300).unwrap()
        })
    };
    let one = run(1, 3);
    let three = run(3, 3);
    let bits =
        |s: &hjb::simulate::PathStatistics| s.terminal_states.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&one), bits(&three));
    assert_eq!(one.cost_mean.to_bits(), three.cost_mean.to_bits());
    assert_eq!(one.trajectory, three.trajectory);
    assert_ne!(bits(&run(2, 4)), bits(&one), "another seed, other paths");
    // From x0 = 0.5 the exact law is the tilted mixture, not p_data.
    let law = one.ensemble.unwrap().target.unwrap();
    assert!((law.mean[0] - 0.1).abs() > 0.1);
}

/// The 1-D problem text with `reference` in place of its `[reference]` table.
fn with_reference(reference: &str) -> String {
    let text = std::fs::read_to_string(common::repository_path("problems/colehopf_mixture_1d.toml")).unwrap();
    let start = text.find("[reference]").unwrap();
    let end = text.find("[output]").unwrap();
    format!("{}{reference}\n{}", &text[..start], &text[end..])
}

fn refusal(name: &str, text: &str) -> String {
    let directory = common::scratch_directory(&format!("colehopf_bad_{name}"));
    let file = directory.join(format!("{name}.toml"));
    std::fs::write(&file, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["solve", file.to_str().unwrap(), "--no-plots", "--out"])
        .arg(directory.join("out.h5"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
    assert!(!directory.join("out.h5").exists());
    stderr
}

#[test]
fn bad_mixtures_are_refused_where_they_are_written() {
    let weights = refusal(
        "weights",
        &with_reference("[reference]\nkind = \"gaussian_mixture\"\nweights = [0.4, 0.5]\nmeans = [-2.0, 1.5]\nvariances = [0.25, 0.5]\n"),
    );
    assert!(weights.contains("weights.toml:") && weights.contains("sum to 0.9"), "{weights}");
    assert!(weights.contains("reference.weights"), "{weights}");
    let variance = refusal(
        "variance",
        &with_reference("[reference]\nkind = \"gaussian_mixture\"\nweights = [0.4, 0.6]\nmeans = [-2.0, 1.5]\nvariances = [0.25, 0.0]\n"),
    );
    assert!(
        variance.contains("variance 0 is not positive") && variance.contains("reference.variances"),
        "{variance}"
    );
    // A mixture that is not the one in the terminal cost: the reference would be wrong.
    let other = refusal(
        "other",
        &with_reference("[reference]\nkind = \"gaussian_mixture\"\nweights = [0.5, 0.5]\nmeans = [-2.0, 1.5]\nvariances = [0.25, 0.5]\n"),
    );
    assert!(other.contains("would not be the solution"), "{other}");
    let missing =
        refusal("missing", &with_reference("[reference]\nkind = \"gaussian_mixture\"\nweights = [1.0]\n"));
    assert!(missing.contains("needs `means`"), "{missing}");
}

fn simulate(result: &Path, extra: &[&str]) -> (i32, String) {
    let out = result.with_file_name("traj");
    let output = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["simulate", result.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn simulate_refuses_bad_ensembles_with_exit_2() {
    let (_, _, result) = solved("colehopf_mixture_1d", &[51]);
    let (code, stderr) = simulate(&result, &["--from", "0", "--paths", "0"]);
    assert!(code == 2 && stderr.contains("--paths"), "{code} {stderr}");
    // Absurd path counts meet the path cap (issue 16's limits) before the memory estimate.
    let (code, stderr) = simulate(&result, &["--from", "0", "--paths", "1000000000000000"]);
    assert!(code == 2 && stderr.contains("paths, above the limit"), "{code} {stderr}");
    for horizon in ["0", "-1", "nan"] {
        let (code, stderr) = simulate(&result, &["--from", "0", &format!("--horizon={horizon}")]);
        assert!(code == 2 && stderr.contains("--horizon"), "{horizon}: {code} {stderr}");
    }
    // A small ensemble writes its terminal states and picture.
    let (code, stderr) = simulate(&result, &["--from", "0", "--paths", "50", "--time-step", "0.01"]);
    assert_eq!(code, 0, "{stderr}");
    let stem = result.with_file_name("traj");
    for suffix in ["_ensemble.h5", "_ensemble.png"] {
        assert!(PathBuf::from(format!("{}{suffix}", stem.display())).exists(), "{suffix}");
    }
}
