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
    // log(x) is NaN for x < 0: the run stops at the first step, naming the node; exit 1. The last
    // finite state (here the terminal cost) is kept, flagged as partial.
    let text = GOOD.replace("running = \"x^2 + u^2\"", "running = \"log(x) + u^2\"");
    let (code, stderr, wrote) = solve_text("nan_value", &text, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("non-finite value") && stderr.contains("at grid node [0] = [-1.0]"), "{stderr}");
    assert!(wrote);
    let stored =
        hjb::io::hdf5::read_result(&common::scratch_path("bad_input_nan_value").join("result.h5")).unwrap();
    assert!(
        stored.stopped.as_deref().is_some_and(|s| s.contains("stopped before step 1")),
        "{:?}",
        stored.stopped
    );
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
