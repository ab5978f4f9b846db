//! The score view (`hjb score`): the solver's optimal drift against the exact score drift
//! ∇log p_t + x/t of the Föllmer marginal. The difference is a real number against the closed
//! form and shrinks at first order with the grid (the upwind policy is a one-sided difference
//! of a value with an O(h) error); problems and results the view does not apply to are refused
//! with exit 2.

mod common;

use std::process::Command;

fn hjb(arguments: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hjb")).args(arguments).output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn drift_minus_score_shrinks_at_first_order() {
    let (problem, settings) = common::shipped("colehopf_mixture_1d");
    let times = [0.1, 0.5, 0.9];
    let mut linf = vec![Vec::new(); times.len()];
    let mut l1 = vec![Vec::new(); times.len()];
    for points in [126, 251, 501, 1001] {
        let problem = problem.with_points(&[points]).unwrap();
        let solution = hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap();
        let levels = hjb::score::score_view(&problem, solution.snapshots.as_ref().unwrap(), &times).unwrap();
        for (k, level) in levels.iter().enumerate() {
            // The stored times are exact multiples of T/100 up to the step rounding.
            assert!((level.time - times[k]).abs() < 2e-3, "{} vs {}", level.time, times[k]);
            eprintln!(
                "{points} points, t = {:.4}: max {:.4e}, L1 {:.4e} on {} nodes",
                level.time, level.norms.linf, level.norms.l1, level.norms.nodes
            );
            linf[k].push(level.norms.linf);
            l1[k].push(level.norms.l1);
        }
    }
    for k in 0..times.len() {
        let orders: Vec<f64> = l1[k].windows(2).map(|p| (p[0] / p[1]).log2()).collect();
        let max_orders: Vec<f64> = linf[k].windows(2).map(|p| (p[0] / p[1]).log2()).collect();
        eprintln!("t = {}: L1 orders {orders:?}, max orders {max_orders:?}", times[k]);
        // First order: the last two refinements in [0.8, 1.2] (L1) and the max norm falls too.
        assert!(orders[1..].iter().all(|p| (0.8..=1.2).contains(p)), "t = {}: {orders:?}", times[k]);
        assert!(max_orders[1..].iter().all(|p| (0.6..=1.4).contains(p)), "t = {}: {max_orders:?}", times[k]);
    }
    // At the shipped 501 points, half way: the drift matches the score to a few hundredths.
    assert!(linf[1][2] < 0.06 && l1[1][2] < 0.06, "{} {}", linf[1][2], l1[1][2]);
}

#[test]
fn the_verb_writes_the_view_and_refuses_what_it_cannot_show() {
    let directory = common::scratch_directory("score_cli");
    let result = directory.join("mixture.h5");
    let problem = common::repository_path("problems/colehopf_mixture_1d.toml").display().to_string();
    let (code, _, stderr) =
        hjb(&["solve", &problem, "--points", "201", "--out", &result.display().to_string(), "--no-plots"]);
    assert_eq!(code, 0, "{stderr}");
    let result = result.display().to_string();
    let (code, stdout, stderr) = hjb(&["score", &result, "--times", "0.5", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let linf = summary["levels"][0]["linf"].as_f64().unwrap();
    assert!(linf > 0.0 && linf < 0.2, "{linf}");
    assert!(directory.join("mixture_score.h5").is_file() && directory.join("mixture_score.png").is_file());
    // t = 0: the marginal is a point mass; a time past T; not numbers.
    for times in ["0", "1.5", "a,b"] {
        let (code, _, stderr) = hjb(&["score", &result, "--times", times]);
        assert_eq!(code, 2, "{times}: {stderr}");
        assert!(stderr.contains("--times"), "{stderr}");
    }
    // A result without stored levels, and a problem without the mixture reference.
    let bare = directory.join("bare.h5").display().to_string();
    let text = std::fs::read_to_string(&problem).unwrap().replace("snapshots = 101", "snapshots = 0");
    let bare_problem = directory.join("bare.toml");
    std::fs::write(&bare_problem, text).unwrap();
    let (code, _, stderr) =
        hjb(&["solve", &bare_problem.display().to_string(), "--points", "51", "--out", &bare, "--no-plots"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = hjb(&["score", &bare]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("snapshots"), "{stderr}");
    let lqr = directory.join("lqr.h5").display().to_string();
    let noisy = common::repository_path("problems/lqr_1d_noisy.toml").display().to_string();
    let (code, _, stderr) = hjb(&["solve", &noisy, "--points", "61", "--out", &lqr, "--no-plots"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = hjb(&["score", &lqr]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("gaussian_mixture"), "{stderr}");
}
