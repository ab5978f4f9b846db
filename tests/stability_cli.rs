//! The stability tools from the command line: von Neumann analysis, the unstable demonstration,
//! refinement studies and the validation runner.

mod common;

use std::process::{Command, Output};

fn hjb(directory: &std::path::Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hjb")).current_dir(directory).args(arguments).output().unwrap()
}

fn problem(name: &str) -> String {
    common::repository_path(&format!("problems/{name}.toml")).display().to_string()
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!("stdout is not one JSON object ({error}): {}", String::from_utf8_lossy(&output.stdout))
    })
}

#[test]
fn von_neumann_upwind_does_not_amplify_and_central_does() {
    let directory = common::scratch_directory("von_neumann");
    let output = hjb(&directory, &["check", &problem("lqr_double_integrator"), "--von-neumann", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary = json(&output);
    let upwind = summary["max_amplification"].as_f64().unwrap();
    assert!(upwind <= 1.0 + 1e-12, "upwind max |g| = {upwind}");
    let central = summary["von_neumann"]["max_amplification"]["central"].as_f64().unwrap();
    // |g|² = 1 + (Σ|c_i|)² at the frozen coefficients: Σ|c_i| = CFL number = 0.9.
    assert!((central - (1.0f64 + 0.9 * 0.9).sqrt()).abs() < 1e-3, "central max |g| = {central}");
    assert!(directory.join("output/lqr_double_integrator_von_neumann.png").exists());
    // Above the bound the same analysis shows amplification.
    let output = hjb(
        &directory,
        &[
            "check",
            &problem("lqr_double_integrator"),
            "--von-neumann",
            "--json",
            "--time-step",
            "0.01",
            "--allow-unstable",
        ],
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(json(&output)["max_amplification"].as_f64().unwrap() > 1.5);
}

#[test]
fn unstable_run_is_stopped_with_the_bound_and_saved_as_partial() {
    let directory = common::scratch_directory("unstable");
    let out = directory.join("unstable.h5");
    let output = hjb(
        &directory,
        &[
            "solve",
            &problem("lqr_double_integrator"),
            "--time-step",
            "0.05",
            "--allow-unstable",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("blow-up at step"), "{stderr}");
    assert!(stderr.contains("above the bound Δt ≤ 4.2910e-3"), "{stderr}");
    assert!(stderr.contains("at grid node ["), "{stderr}");
    let stored = hjb::io::hdf5::read_result(&out).unwrap();
    assert!(stored.stopped.is_some(), "the partial result must say so");
    assert!(stored.values.iter().all(|v| v.is_finite()));
    // Without --allow-unstable the same step is refused up front (bad input, exit 2).
    let output =
        hjb(&directory, &["solve", &problem("lqr_double_integrator"), "--time-step", "0.05", "--no-plots"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn converge_reports_first_order_and_writes_its_files() {
    let directory = common::scratch_directory("converge");
    let output = hjb(&directory, &["converge", &problem("lqr_1d"), "--levels", "4", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary = json(&output);
    let levels = summary["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 4);
    assert!(levels[0]["order_linf"].is_null());
    let last = levels[3]["order_linf"].as_f64().unwrap();
    assert!(last >= 0.9, "last observed order {last}");
    assert_eq!(levels[3]["points"][0].as_u64(), Some(401));
    assert!(directory.join("output/lqr_1d_convergence.h5").exists());
    assert!(directory.join("output/lqr_1d_convergence.png").exists());
}

#[test]
fn validate_fails_a_study_below_its_bar() {
    let directory = common::scratch_directory("validate_bar");
    let studies = directory.join("studies");
    std::fs::create_dir_all(&studies).unwrap();
    let study = |name: &str, minimum: f64| {
        std::fs::write(
            studies.join(format!("{name}.toml")),
            format!(
                "problem = {:?}\nscheme = \"upwind\"\nlevels = [[26], [51], [101], [201]]\nminimum_order = {minimum}\nmaximum_error = 1e-2\nquick = true\n",
                problem("lqr_1d")
            ),
        )
        .unwrap();
    };
    // The coarse levels are pre-asymptotic (order 0.76 between 26 and 51 points): a bar of 0.9
    // fails, a bar of 0.7 passes.
    study("passes", 0.7);
    study("fails", 0.9);
    let output = hjb(&directory, &["validate", "--directory", "studies", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let summary = json(&output);
    assert_eq!(summary["passed"].as_u64(), Some(1));
    assert_eq!(summary["failed"].as_u64(), Some(1));
    let failing = summary["studies"].as_array().unwrap().iter().find(|s| s["name"] == "fails").unwrap();
    assert!(failing["failures"][0].as_str().unwrap().contains("observed order"));
}

#[test]
fn without_a_reference_richardson_estimates_the_true_error() {
    // The 1-D LQR with its [reference] table removed: the study falls back to the finest level,
    // and the Richardson estimate of the finest error must match the error against Riccati.
    let path = common::repository_path("problems/lqr_1d.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let without: String = text.split("\n[reference]").next().unwrap().to_string();
    let (problem, settings) = common::parse(&without, &path);
    assert!(problem.reference.is_none());
    let levels: Vec<Vec<usize>> = [51, 101, 201, 401, 801].iter().map(|n| vec![*n]).collect();
    let study = hjb::validate::self_convergence_study(&problem, &settings, &levels).unwrap();
    let (shipped, shipped_settings) = common::shipped("lqr_1d");
    let truth = hjb::solve(&shipped.with_points(&[801]).unwrap(), &shipped_settings, &mut hjb::Silent)
        .unwrap()
        .error
        .unwrap()
        .linf;
    let estimate = study.levels.last().unwrap().linf;
    eprintln!("Richardson order {:.3}, estimate {estimate:.4e}, true {truth:.4e}", study.richardson_order);
    assert!((study.richardson_order - 1.0).abs() < 0.1);
    assert!((estimate - truth).abs() / truth < 0.1, "estimate {estimate} vs true error {truth}");
    // The CLI uses the same study when the file has no reference.
    let directory = common::scratch_directory("converge_self");
    let file = directory.join("no_reference.toml");
    std::fs::write(&file, &without).unwrap();
    let output = hjb(&directory, &["converge", file.to_str().unwrap(), "--levels", "4", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary = json(&output);
    assert_eq!(summary["reference"], "finest_level");
    assert!(summary["richardson"]["order"].as_f64().unwrap() > 0.8);
}

#[test]
fn check_calls_the_schemes_without_a_cfl_limit_monotone_at_any_step() {
    // Policy iteration and fast sweeping solve the stationary equation on M-matrix rows (no time
    // step at all); backward Euler and semi-Lagrangian stepping are monotone at any Δt. The
    // explicit step's CFL number at their Δt (11.65 for implicit lqr_double_integrator) would
    // call them "not monotone": check must not.
    let directory = common::scratch_directory("stability_cli_unlimited");
    let cases: [(&str, &[&str], bool); 5] = [
        ("lqr_stochastic_discounted", &[], true),
        ("min_time_ball", &[], true),
        ("lqr_double_integrator", &["--scheme", "implicit"], false),
        ("lqr_1d", &["--scheme", "semi_lagrangian"], false),
        ("lqr_double_integrator", &["--scheme", "upwind", "--time-step", "0.01", "--allow-unstable"], false),
    ];
    for (name, extra, stationary) in cases {
        let file = problem(name);
        let mut arguments = vec!["check", file.as_str()];
        arguments.extend_from_slice(extra);
        let text = String::from_utf8_lossy(&hjb(&directory, &arguments).stdout).into_owned();
        arguments.push("--json");
        let summary = json(&hjb(&directory, &arguments));
        let explicit_above_bound = extra.contains(&"--allow-unstable");
        assert_eq!(summary["monotone"], !explicit_above_bound, "{name} {extra:?}: {summary}");
        if explicit_above_bound {
            assert!(text.contains("monotone     NO (a weight is negative"), "{text}");
        } else {
            assert!(text.contains("monotone     yes at any Δt"), "{name} {extra:?}: {text}");
        }
        // A stationary problem solved directly has no time step and no CFL number.
        assert_eq!(text.contains("time step    none"), stationary, "{name}: {text}");
        assert_eq!(text.contains("CFL number"), !stationary, "{name}: {text}");
    }
}
