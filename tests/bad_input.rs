//! Malformed problem files and unstable settings: a located message, exit code 2, no output.

mod common;

use std::path::Path;
use std::process::Command;

const GOOD: &str = r#"[[state]]
name = "x"
bounds = [-1.0, 1.0]
points = 11

[[control]]
name = "u"
bounds = [-1.0, 1.0]

[dynamics]
x = "x + u"

[cost]
running = "x^2 + u^2"

[horizon]
final_time = 1.0
"#;

/// Run `hjb solve` on `text`; returns (exit code, stderr, whether a result file appeared).
fn solve_text(name: &str, text: &str, extra: &[&str]) -> (i32, String, bool) {
    let directory = common::scratch_directory(&format!("bad_input_{name}"));
    let file = directory.join(format!("{name}.toml"));
    std::fs::write(&file, text).unwrap();
    let out = directory.join("result.h5");
    let output = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .arg("solve")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .arg("--no-plots")
        .args(extra)
        .output()
        .unwrap();
    let leftovers = std::fs::read_dir(&directory).unwrap().count() > 1;
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        leftovers || Path::new(&out).exists(),
    )
}

fn assert_located(name: &str, text: &str, line: usize, column: usize, needle: &str) {
    let (code, stderr, wrote) = solve_text(name, text, &[]);
    assert_eq!(code, 2, "{name}: exit code (stderr: {stderr})");
    let location = format!("{name}.toml:{line}:{column}:");
    assert!(stderr.contains(&location), "{name}: expected location {location} in: {stderr}");
    assert!(stderr.contains(needle), "{name}: expected `{needle}` in: {stderr}");
    assert!(!wrote, "{name}: an output file was written");
    assert!(!stderr.contains("panicked"), "{name}: panic: {stderr}");
}

#[test]
fn the_good_file_solves() {
    let (code, stderr, wrote) = solve_text("good", GOOD, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(wrote);
}

#[test]
fn syntax_error_is_located() {
    assert_located(
        "syntax",
        &GOOD.replace("bounds = [-1.0, 1.0]\npoints", "bounds = [-1.0, 1.0\npoints"),
        4,
        1,
        "comma",
    );
}

#[test]
fn unknown_variable_in_a_formula_points_at_the_name() {
    // `x = "x + y*u"`: y is the 5th character of the formula, which starts at column 6.
    assert_located(
        "unknown_variable",
        &GOOD.replace("x = \"x + u\"", "x = \"x + y*u\""),
        11,
        10,
        "unknown name `y`",
    );
}

#[test]
fn missing_sections_are_named() {
    assert_located(
        "missing_horizon",
        &GOOD.replace("[horizon]\nfinal_time = 1.0\n", ""),
        1,
        1,
        "missing section [horizon]",
    );
    assert_located(
        "missing_dynamics",
        &GOOD.replace("[dynamics]\nx = \"x + u\"\n", ""),
        1,
        1,
        "missing section [dynamics]",
    );
}

#[test]
fn reversed_bounds_suggest_the_fix() {
    assert_located(
        "reversed",
        &GOOD.replace("bounds = [-1.0, 1.0]\npoints", "bounds = [1.0, -1.0]\npoints"),
        3,
        10,
        "write `bounds = [-1, 1]`",
    );
}

#[test]
fn zero_or_one_grid_point_is_refused() {
    assert_located("one_point", &GOOD.replace("points = 11", "points = 1"), 4, 10, "at least 2");
    assert_located("zero_points", &GOOD.replace("points = 11", "points = 0"), 4, 10, "at least 2");
}

#[test]
fn non_finite_numbers_are_refused() {
    assert_located(
        "nan_time",
        &GOOD.replace("final_time = 1.0", "final_time = nan"),
        17,
        14,
        "not a finite number",
    );
    assert_located(
        "inf_bound",
        &GOOD.replace("bounds = [-1.0, 1.0]\npoints", "bounds = [-inf, 1.0]\npoints"),
        3,
        10,
        "non-finite",
    );
}

#[test]
fn unknown_scheme_and_field_are_named() {
    assert_located(
        "scheme",
        &format!("{GOOD}\n[solver]\nscheme = \"upwnd\"\n"),
        20,
        10,
        "available: upwind, lax_friedrichs",
    );
    assert_located(
        "field",
        &GOOD.replace("name = \"u\"", "name = \"u\"\nsample = 3"),
        8,
        1,
        "unknown field `sample`",
    );
}

#[test]
fn time_step_above_the_cfl_bound_is_refused_with_the_bound() {
    // max Σ|f|/h = (1 + 1)/0.2 = 10 ⇒ Δt_max = 0.1.
    let (code, stderr, wrote) = solve_text("cfl", GOOD, &["--time-step", "0.5"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("exceeds the CFL bound 1e-1"), "{stderr}");
    assert!(!wrote);
    let (code, stderr, _) = solve_text("cfl_ok", GOOD, &["--time-step", "0.1"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr, _) = solve_text("cfl_number", GOOD, &["--cfl", "1.5"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("outside (0, 1]"), "{stderr}");
}

#[test]
fn bad_overrides_are_refused() {
    for (flag, value, needle) in [
        ("--points", "1", "at least 2"),
        ("--points", "x", "whole numbers"),
        ("--scheme", "central", "unknown scheme"),
        ("--points", "5,5", "2 counts given for 1 axes"),
    ] {
        let (code, stderr, wrote) = solve_text("override", GOOD, &[flag, value]);
        assert_eq!(code, 2, "{flag} {value}: {stderr}");
        assert!(stderr.contains(needle), "{flag} {value}: {stderr}");
        assert!(!wrote);
    }
}

#[test]
fn undefined_formula_values_are_caught_with_the_location() {
    // log(x) is NaN for x < 0: the run stops before its first step, naming the formula, the node,
    // the control and the time; exit 1 and nothing written.
    let text = GOOD.replace("running = \"x^2 + u^2\"", "running = \"log(x) + u^2\"");
    let (code, stderr, wrote) = solve_text("nan_value", &text, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("the running cost (cost.running) \"log(x) + u^2\" is NaN at grid node [0] = [-1.0] with u = 0 (t = 1)"),
        "{stderr}"
    );
    assert!(!wrote);
}

/// One bad input of the table: the problem file (none for verbs that take another file), the
/// command line (`{file}` is the problem file, `{dir}` the scratch folder), the exit code and a
/// fragment of stderr it must give.
struct Case {
    name: &'static str,
    text: Option<String>,
    arguments: &'static [&'static str],
    code: i32,
    fragment: &'static str,
}

fn case(
    name: &'static str,
    text: Option<String>,
    arguments: &'static [&'static str],
    code: i32,
    fragment: &'static str,
) -> Case {
    Case { name, text, arguments, code, fragment }
}

/// Run `hjb` on one case in a fresh folder; returns stderr and the files left in the folder
/// besides the problem file.
fn run_case(case: &Case) -> (String, Vec<String>) {
    let directory = common::scratch_directory(&format!("bad_input_table_{}", case.name));
    let file = directory.join(format!("{}.toml", case.name));
    if let Some(text) = &case.text {
        std::fs::write(&file, text).unwrap();
    }
    let arguments: Vec<String> = case
        .arguments
        .iter()
        .map(|a| {
            a.replace("{file}", &file.display().to_string())
                .replace("{dir}", &directory.display().to_string())
                .replace("{result}", &good_result().display().to_string())
        })
        .collect();
    let output =
        Command::new(env!("CARGO_BIN_EXE_hjb")).args(&arguments).current_dir(&directory).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let code = output.status.code().unwrap_or(-1);
    assert!(!stderr.contains("panicked"), "{}: panic: {stderr}", case.name);
    assert_eq!(code, case.code, "{}: exit code; stderr: {stderr}", case.name);
    assert!(stderr.contains(case.fragment), "{}: expected `{}` in: {stderr}", case.name, case.fragment);
    let mut left: Vec<String> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| *name != format!("{}.toml", case.name))
        .collect();
    left.sort();
    (stderr, left)
}

/// Run every case; a refused input (exit 2) writes nothing.
fn run_table(cases: &[Case]) {
    for case in cases {
        let (_, left) = run_case(case);
        if case.code == 2 {
            assert!(left.is_empty(), "{}: refused input left files: {left:?}", case.name);
        }
    }
}

/// A complete result of the good file, solved once for the cases that read one.
fn good_result() -> &'static Path {
    static RESULT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    RESULT.get_or_init(|| {
        let directory = common::scratch_directory("bad_input_good_result");
        let file = directory.join("good.toml");
        std::fs::write(&file, GOOD).unwrap();
        let out = directory.join("good.h5");
        let status = Command::new(env!("CARGO_BIN_EXE_hjb"))
            .args(["solve", "--no-plots", "--out"])
            .arg(&out)
            .arg(&file)
            .output()
            .unwrap();
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        out
    })
}

fn good_with(from: &str, to: &str) -> Option<String> {
    assert!(GOOD.contains(from), "{from}");
    Some(GOOD.replace(from, to))
}

#[test]
fn sizes_are_checked_before_allocating() {
    run_table(&[
        case(
            "huge_axis",
            good_with("points = 11", "points = 1000000000000"),
            &["check", "{file}"],
            2,
            "of memory, more than the memory available",
        ),
        case(
            "largest_axis",
            good_with("points = 11", "points = 9223372036854775807"),
            &["solve", "{file}", "--no-plots"],
            2,
            "of memory",
        ),
        case(
            "points_override",
            Some(GOOD.to_string()),
            &["check", "{file}", "--points", "200000", "--max-memory", "1M"],
            2,
            "more than the limit given of 1.0 MiB",
        ),
        // The LU factors of a 2-D policy iteration (about 3 GB at 1001²) count before the run.
        case(
            "lu_factors",
            Some(
                std::fs::read_to_string(common::repository_path("problems/lqr_stochastic_2d.toml")).unwrap(),
            ),
            &["check", "{file}", "--points", "1001", "--linear-solver", "lu", "--max-memory", "1G"],
            2,
            "more than the limit given of 1.0 GiB",
        ),
        case(
            "points_override_solve",
            Some(GOOD.to_string()),
            &["solve", "{file}", "--points", "2000000000000", "--no-plots"],
            2,
            "hint: use fewer points",
        ),
        case(
            "max_memory_garbage",
            Some(GOOD.to_string()),
            &["solve", "{file}", "--max-memory", "lots"],
            2,
            "not a size such as 512M",
        ),
        case(
            "converge_levels_100",
            Some(GOOD.to_string()),
            &["converge", "{file}", "--levels", "100"],
            2,
            "at most 2 levels fit",
        ),
        case(
            "converge_levels_8",
            good_with("points = 11", "points = 51"),
            &["converge", "{file}", "--levels", "8"],
            2,
            "at least 4 intervals per axis, so at most 4 levels fit",
        ),
    ]);
}

#[test]
fn long_runs_are_refused_with_the_limit() {
    run_table(&[
        case(
            "final_time_1e300",
            good_with("final_time = 1.0", "final_time = 1e300"),
            &["check", "{file}"],
            2,
            "above the limit of 1e15",
        ),
        case(
            "final_time_1e300_solve",
            good_with("final_time = 1.0", "final_time = 1e300"),
            &["solve", "{file}", "--no-plots"],
            2,
            "time steps, above the limit",
        ),
        case(
            "implicit_tiny_step",
            Some(GOOD.to_string()),
            &["solve", "{file}", "--scheme", "implicit", "--time-step", "1e-12", "--no-plots"],
            2,
            "raise the cap with --max-steps N",
        ),
        case(
            "max_steps",
            Some(GOOD.to_string()),
            &["solve", "{file}", "--max-steps", "10", "--no-plots"],
            2,
            "above the limit of 1e1",
        ),
        case(
            "max_steps_zero",
            Some(GOOD.to_string()),
            &["solve", "{file}", "--max-steps", "0"],
            2,
            "at least 1 step",
        ),
    ]);
}

#[test]
fn empty_study_folders_and_one_level_studies_are_refused() {
    let directory = common::scratch_directory("bad_input_validate_empty");
    let output = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["validate", "--directory"])
        .arg(&directory)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("holds no study files"));
    std::fs::write(directory.join("p.toml.txt"), "").unwrap();
    let problem = directory.join("problem.toml");
    std::fs::write(&problem, GOOD).unwrap();
    let studies = directory.join("studies");
    std::fs::create_dir(&studies).unwrap();
    let study = "problem = \"../problem.toml\"\nscheme = \"upwind\"\nlevels = [[11]]\nminimum_order = 0.5\nmaximum_error = 1.0\n";
    std::fs::write(studies.join("one.toml"), study).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["validate", "--directory"])
        .arg(&studies)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("one.toml") && stderr.contains("at least 2"), "{stderr}");
}

#[test]
fn deep_formulas_are_refused_with_the_location() {
    let nested = format!("x = \"{}x{}\"", "(".repeat(9000), ")".repeat(9000));
    let minus = format!("x = \"{}x\"", "-".repeat(50_000));
    let tower = format!("x = \"{}\"", vec!["x"; 50_000].join("^"));
    let chain = format!("x = \"{}\"", vec!["u"; 50_000].join(" + "));
    let (nested, minus, tower, chain) = (nested.leak(), minus.leak(), tower.leak(), chain.leak());
    run_table(&[
        case(
            "nested_parentheses",
            good_with("x = \"x + u\"", nested),
            &["check", "{file}"],
            2,
            "nested_parentheses.toml:11:262: field `dynamics.x`",
        ),
        case(
            "nested_parentheses_message",
            good_with("x = \"x + u\"", nested),
            &["check", "{file}"],
            2,
            "more than 256 levels deep here",
        ),
        case(
            "unary_minuses",
            good_with("x = \"x + u\"", minus),
            &["check", "{file}"],
            2,
            "more than 256 levels",
        ),
        case(
            "power_tower",
            good_with("x = \"x + u\"", tower),
            &["check", "{file}"],
            2,
            "more than 256 levels",
        ),
        case(
            "long_sum",
            good_with("x = \"x + u\"", chain),
            &["check", "{file}"],
            2,
            "more than 1024 operations deep",
        ),
    ]);
}

#[test]
fn result_files_that_cannot_be_read_are_bad_input() {
    run_table(&[
        case("simulate_missing", None, &["simulate", "{dir}/missing.h5", "--from", "0"], 2, "cannot read"),
        case(
            "simulate_not_hdf5",
            Some(GOOD.to_string()),
            &["simulate", "{file}", "--from", "0"],
            2,
            "not a result file of `hjb solve`",
        ),
        case("plot_missing", None, &["plot", "{dir}/missing.h5"], 2, "No such file"),
        case("plot_not_hdf5", Some(GOOD.to_string()), &["plot", "{file}"], 2, "cannot read"),
    ]);
}

#[test]
fn undefined_formulas_name_formula_node_and_time() {
    let sampled = "[[state]]\nname = \"x\"\nbounds = [-1.0, 1.0]\npoints = 21\n\n[[control]]\nname = \"u\"\nbounds = [-1.0, 1.0]\nsamples = 21\n\n[dynamics]\nx = \"abs(u)\"\n\n[cost]\nrunning = \"x^2 + sqrt(u - 0.95)\"\n\n[horizon]\nfinal_time = 1.0\n";
    run_table(&[
        // NaN for 20 of 21 control samples: was a silent constant policy.
        case(
            "nan_samples",
            Some(sampled.to_string()),
            &["solve", "{file}", "--no-plots"],
            1,
            "\"x^2 + sqrt(u - 0.95)\" is NaN at grid node [0] = [-1.0] with u = -1 (t = 1)",
        ),
        // A NaN Dirichlet value read as "not fixed".
        case(
            "nan_dirichlet",
            good_with("points = 11", "points = 11\nboundary = \"dirichlet\"\ndirichlet = \"1/(x-1)\""),
            &["solve", "{file}", "--no-plots"],
            1,
            "the boundary value (state.x.dirichlet) \"1/(x-1)\" is inf at grid node [10] = [1.0] (t = 1)",
        ),
        // A reference that is NaN on its region gave "L∞ inf, L1 NaN" and exit 0.
        case(
            "nan_reference",
            good_with("[horizon]", "[reference]\nkind = \"formula\"\nvalue = \"log(x)\"\n\n[horizon]"),
            &["solve", "{file}", "--no-plots"],
            1,
            "the reference (reference.value) \"log(x)\" is NaN at grid node [3] = [-0.3",
        ),
        case(
            "inf_terminal",
            good_with("running = \"x^2 + u^2\"", "running = \"x^2 + u^2\"\nterminal = \"1/(x-x)\""),
            &["solve", "{file}", "--no-plots"],
            1,
            "the terminal cost (cost.terminal) \"1/(x-x)\" is inf at grid node [0] = [-1.0] (t = 1)",
        ),
    ]);
}

const LQR_2D: &str = "[[state]]\nname = \"x\"\nbounds = [-2.0, 2.0]\npoints = 21\n\n[[state]]\nname = \"v\"\nbounds = [-2.0, 2.0]\npoints = 21\n\n[lqr]\nA = [[0.0, 1.0], [0.0, 0.0]]\nB = [[0.0], [1.0]]\nQ = [[1.0, 1.0], [0.0, 1.0]]\nR = [[1.0]]\n\n[horizon]\nfinal_time = 1.0\n";

#[test]
fn contradictory_or_unsafe_problem_files_are_refused() {
    run_table(&[
        case(
            "lqr_not_symmetric",
            Some(LQR_2D.to_string()),
            &["check", "{file}"],
            2,
            "Q is not symmetric: Q[0][1] = 1 but Q[1][0] = 0",
        ),
        case(
            "lqr_not_symmetric_hint",
            Some(LQR_2D.to_string()),
            &["check", "{file}"],
            2,
            "Q = [[1, 0.5], [0.5, 1]]",
        ),
        case(
            "periodic_and_constraint",
            good_with("points = 11", "points = 11\nperiodic = true\nboundary = \"state_constraint\""),
            &["check", "{file}"],
            2,
            "field `state.x.boundary`: `periodic = true` and `boundary = \"state_constraint\"` contradict",
        ),
        case(
            "name_parent",
            Some(format!("name = \"../../x\"\n{GOOD}")),
            &["solve", "{file}"],
            2,
            "name_parent.toml:1:8: field `name`: the name \"../../x\" contains a path separator",
        ),
        case(
            "name_absolute",
            Some(format!("name = \"/tmp/x\"\n{GOOD}")),
            &["solve", "{file}"],
            2,
            "contains a path separator",
        ),
        case(
            "name_empty",
            Some(format!("name = \"\"\n{GOOD}")),
            &["solve", "{file}"],
            2,
            "the name \"\" is empty",
        ),
        case(
            "name_hidden",
            Some(format!("name = \".x\"\n{GOOD}")),
            &["solve", "{file}"],
            2,
            "starts with `.`",
        ),
        case(
            "duplicate_name",
            good_with("name = \"u\"", "name = \"x\""),
            &["check", "{file}"],
            2,
            "duplicate_name.toml:7:8: the control name `x` is already used by a state (line 2)",
        ),
    ]);
}

#[test]
fn bad_output_paths_and_options_are_refused() {
    run_table(&[
        case(
            "out_folder",
            Some(GOOD.to_string()),
            &["solve", "{file}", "--out", "{dir}"],
            2,
            "exists and is not a regular file",
        ),
        case(
            "out_device",
            Some(GOOD.to_string()),
            &["solve", "{file}", "--out", "/dev/null", "--no-plots"],
            2,
            "cannot write /dev/null: it exists and is not a regular file",
        ),
        case(
            "plot_out_dat",
            None,
            &["plot", "{result}", "--out", "{dir}/x.dat"],
            2,
            "give a path ending in .png",
        ),
        case(
            "plot_slice_twice",
            None,
            &["plot", "{result}", "--slice", "x=0,x=0.5", "--out", "{dir}/x.png"],
            2,
            "`x` is fixed twice",
        ),
        case(
            "simulate_tiny_step",
            None,
            &["simulate", "{result}", "--from", "0", "--time-step", "1e-300", "--out", "{dir}/t"],
            2,
            "above the limit of 1e7",
        ),
        case(
            "simulate_paths",
            None,
            &["simulate", "{result}", "--from", "0", "--paths", "1000000000000", "--out", "{dir}/t"],
            2,
            "needs 1.000e12 paths, above the limit of 1e7",
        ),
        case(
            "simulate_huge_horizon",
            None,
            &["simulate", "{result}", "--from", "0.5", "--horizon", "1e300", "--out", "{dir}/t"],
            1,
            "the closed-loop path became non-finite at step 1 (t = 5.000000e296)",
        ),
    ]);
    // Nothing replaced the folder or the device.
    assert!(Path::new("/dev/null").exists());
}

#[test]
fn a_partial_result_never_replaces_a_complete_one_and_pictures_are_replaced_whole() {
    let directory = common::scratch_directory("bad_input_partial");
    // The README's instability demonstration: blows up at step 9.
    let file = common::repository_path("problems/lqr_double_integrator.toml");
    let out = directory.join("p.h5");
    let solve = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hjb"))
            .args(["solve", "--no-plots", "--out"])
            .arg(&out)
            .arg(&file)
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(solve(&[]).status.success());
    // Above the CFL bound the run blows up: its last finite state goes beside the result.
    let unstable = solve(&["--time-step", "0.05", "--allow-unstable"]);
    let stderr = String::from_utf8_lossy(&unstable.stderr);
    assert_eq!(unstable.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("written to") && stderr.contains("p.partial.h5"), "{stderr}");
    assert!(stderr.contains("is left as it was"), "{stderr}");
    assert!(hjb::io::hdf5::read_result(&out).unwrap().stopped.is_none());
    let partial = hjb::io::hdf5::read_result(&directory.join("p.partial.h5")).unwrap();
    assert!(partial.stopped.is_some() && partial.values.iter().all(|v| v.is_finite()));

    // A plot written twice over the same name leaves one complete PNG and no temporary.
    let picture = directory.join("v.png");
    for _ in 0..2 {
        let plot = Command::new(env!("CARGO_BIN_EXE_hjb"))
            .arg("plot")
            .arg(&out)
            .arg("--out")
            .arg(&picture)
            .output()
            .unwrap();
        assert!(plot.status.success(), "{}", String::from_utf8_lossy(&plot.stderr));
    }
    assert!(std::fs::read(&picture).unwrap().starts_with(b"\x89PNG"));
    let left: Vec<String> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|name| !name.contains(".tmp")), "{left:?}");
}

#[test]
fn messages_say_each_thing_once_and_where() {
    let directory = common::scratch_directory("bad_input_messages");
    let file = directory.join("latin1.toml");
    let mut bytes = GOOD.as_bytes().to_vec();
    let at = GOOD.find("\"x + u\"").unwrap() + 1;
    bytes.insert(at, 0xe9);
    std::fs::write(&file, &bytes).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hjb")).arg("check").arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "latin1.toml:11:6: the file is not UTF-8 text: invalid byte 0xe9 at byte offset {at}"
        )),
        "{stderr}"
    );
    assert_eq!(stderr.matches("UTF-8").count(), 2, "{stderr}");

    let missing = directory.join("missing.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_hjb")).arg("solve").arg(&missing).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.matches("No such file or directory").count(), 1, "the OS error once: {stderr}");
}

#[test]
fn a_result_whose_fields_disagree_with_its_grid_is_refused() {
    let directory = common::scratch_directory("bad_input_mismatched_result");
    let path = directory.join("mismatched.h5");
    let write = || -> rust_hdf5::Result<()> {
        let file = rust_hdf5::H5File::create(&path)?;
        file.set_attr_string("scheme", "upwind")?;
        file.set_attr_string("problem_toml", GOOD)?;
        let grid = file.create_group("grid")?;
        let coordinates: Vec<f64> = (0..11).map(|i| -1.0 + 0.2 * i as f64).collect();
        grid.new_dataset::<f64>().shape([11]).create("x")?.write_raw(&coordinates)?;
        file.new_dataset::<f64>().shape([5]).create("value")?.write_raw(&[0.0; 5])?;
        let policy = file.create_group("policy")?;
        policy.new_dataset::<f64>().shape([11]).create("u")?.write_raw(&[0.0; 11])?;
        file.close()
    };
    write().unwrap();
    for verb in [&["simulate", "--from", "0"][..], &["plot"][..]] {
        let output = Command::new(env!("CARGO_BIN_EXE_hjb"))
            .arg(verb[0])
            .arg(&path)
            .args(&verb[1..])
            .current_dir(&directory)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("cannot read") && stderr.contains("/value has shape [5]"), "{stderr}");
    }
    let left = std::fs::read_dir(&directory).unwrap().count();
    assert_eq!(left, 1, "nothing written besides the file");
}

/// Games and reachability: each mistake of the issue's list is refused in the file, exit 2,
/// nothing written.
#[test]
fn game_mistakes_are_refused_before_solving() {
    let game = GOOD.replace(
        "[dynamics]\nx = \"x + u\"\n\n[cost]\nrunning = \"x^2 + u^2\"\n",
        "[[disturbance]]\nname = \"d\"\nbounds = [-0.5, 0.5]\n\n[dynamics]\nx = \"u + d\"\n\n[reachability]\nmode = \"tube\"\ntarget = \"abs(x) - 0.2\"\n\n[solver]\nscheme = \"lax_friedrichs\"\n",
    );
    assert!(game.contains("[reachability]"), "{game}");
    let with = |from: &str, to: &str| {
        assert!(game.contains(from), "{from}");
        Some(game.replace(from, to))
    };
    run_table(&[
        case("game_solves", Some(game.clone()), &["check", "{file}"], 0, ""),
        case("disturbance_named_like_a_state", with("name = \"d\"", "name = \"x\""), &["solve", "{file}"], 2, "the disturbance name `x` is already used by a state"),
        case("disturbance_named_like_a_control", with("name = \"d\"", "name = \"u\""), &["solve", "{file}"], 2, "already used by a control"),
        case(
            "ball_of_two_sizes",
            with(
                "bounds = [-0.5, 0.5]\n",
                "bounds = [-0.5, 0.5]\nnorm = 2\ngroup = \"w\"\n\n[[disturbance]]\nname = \"e\"\nbounds = [-1.0, 1.0]\nnorm = 2\ngroup = \"w\"\n",
            ),
            &["solve", "{file}"],
            2,
            "members of different sizes",
        ),
        case(
            "ball_of_two_units",
            with(
                "bounds = [-0.5, 0.5]\n",
                "bounds = [-0.5, 0.5]\nunits = \"m/s\"\nnorm = 2\ngroup = \"w\"\n\n[[disturbance]]\nname = \"e\"\nbounds = [-0.5, 0.5]\nunits = \"rad/s\"\nnorm = 2\ngroup = \"w\"\n",
            ),
            &["solve", "{file}"],
            2,
            "members in different units",
        ),
        case("reach_avoid_without_obstacle", with("mode = \"tube\"", "mode = \"reach_avoid\""), &["solve", "{file}"], 2, "needs an obstacle"),
        case("game_with_implicit", with("scheme = \"lax_friedrichs\"", "scheme = \"implicit\""), &["solve", "{file}"], 2, "policy iteration does not apply to a differential game"),
        case("game_with_upwind", with("scheme = \"lax_friedrichs\"", "scheme = \"upwind\""), &["solve", "{file}"], 2, "does not separate"),
        case("game_scheme_override", Some(game.clone()), &["solve", "{file}", "--scheme", "semi_lagrangian"], 2, "no min–max for games"),
        case("game_in_the_mdp", Some(game.clone()), &["mdp", "{file}"], 2, "hjb mdp solves stationary problems"),
        case("unknown_sense", with("[[disturbance]]", "[game]\ncontrol = \"maximise\"\n\n[[disturbance]]"), &["solve", "{file}"], 2, "unknown sense `maximise`"),
    ]);
}
