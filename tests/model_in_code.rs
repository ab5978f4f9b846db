//! A model given in Rust code (closures through `ProblemBuilder`) against the same model from a
//! problem file: the two code paths must give the same field.

use hjb::problem::lqr::Lqr;
use hjb::problem::{Code, Problem, ProblemBuilder, ReferenceSolution};
use hjb::settings::{Minimisation, Settings};
use hjb::Silent;
use std::path::PathBuf;

fn shipped_double_integrator() -> hjb::ProblemFile {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("problems/lqr_double_integrator.toml");
    hjb::load_problem(&path).unwrap()
}

/// The double integrator of `problems/lqr_double_integrator.toml`, in code; `declared` says
/// whether the closures declare what they read and their degree in the control.
fn in_code(declared: bool, bound: f64) -> Problem {
    let identity = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
    let lqr = Lqr::from_rows(
        &[vec![0.0, 1.0], vec![0.0, 0.0]],
        &[vec![0.0], vec![1.0]],
        &identity,
        &[vec![1.0]],
        &identity,
        0.0,
        1.0,
    )
    .unwrap();
    let declare = |code: Code, uses: &[&str], degree: Option<u32>| {
        if !declared {
            return code;
        }
        let code = code.uses(uses);
        match degree {
            Some(degree) => code.degree_in_controls(degree),
            None => code,
        }
    };
    ProblemBuilder::new("double_integrator_in_code")
        .state("x", -3.0, 3.0, 121)
        .state("v", -3.0, 3.0, 121)
        .control("u", -bound, bound, 41)
        .drift("x", declare(Code::new("v", |p| p[1]), &["v"], None))
        .drift("v", declare(Code::new("u", |p| p[2]), &["u"], Some(1)))
        .running_cost(declare(
            Code::new("x² + v² + u²", |p| p[0] * p[0] + p[1] * p[1] + p[2] * p[2]),
            &["x", "v", "u"],
            Some(2),
        ))
        .terminal_cost(declare(Code::new("x² + v²", |p| p[0] * p[0] + p[1] * p[1]), &["x", "v"], None))
        .final_time(1.0)
        .reference(ReferenceSolution::Lqr(Box::new(lqr)), Some(vec![(-1.0, 1.0), (-1.0, 1.0)]))
        .build()
        .unwrap()
}

fn largest_difference(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0.0f64, |largest, (x, y)| largest.max((x - y).abs()))
}

#[test]
fn closures_with_declared_structure_reproduce_the_file_in_closed_form() {
    let file = shipped_double_integrator();
    let bound = file.problem.controls[0].upper;
    let settings = file.settings().unwrap();
    let from_file = hjb::solve(&file.problem, &settings, &mut Silent).unwrap();
    let from_code = hjb::solve(&in_code(true, bound), &settings, &mut Silent).unwrap();
    assert_eq!(from_code.diagnostics.hamiltonian, "closed_form");
    assert_eq!(from_code.diagnostics.steps, from_file.diagnostics.steps);
    // The file's formulas are the same polynomials with unit coefficients: the tabulated
    // coefficients agree to rounding, so the fields agree to a few ulps of |V| ≤ 40.
    let difference =
        largest_difference(from_code.values.as_slice().unwrap(), from_file.values.as_slice().unwrap());
    assert!(difference <= 1e-12, "{difference:e}");
    let (a, b) = (from_code.error.unwrap(), from_file.error.unwrap());
    assert!((a.linf - b.linf).abs() <= 1e-12, "{} vs {}", a.linf, b.linf);
}

#[test]
fn undeclared_closures_fall_back_to_the_sampled_minimum() {
    let file = shipped_double_integrator();
    let bound = file.problem.controls[0].upper;
    let problem = in_code(false, bound).with_points(&[41, 41]).unwrap();
    let mut settings = Settings::default();
    let from_code = hjb::solve(&problem, &settings, &mut Silent).unwrap();
    assert_eq!(from_code.diagnostics.hamiltonian, "sampled(41)");
    // The file's problem forced onto the same 41 samples.
    settings.minimisation = Minimisation::Sampled;
    let sampled_file = file.problem.with_points(&[41, 41]).unwrap();
    let from_file = hjb::solve(&sampled_file, &settings, &mut Silent).unwrap();
    let difference =
        largest_difference(from_code.values.as_slice().unwrap(), from_file.values.as_slice().unwrap());
    assert!(difference <= 1e-12, "{difference:e}");
}

#[test]
fn builder_refuses_inconsistent_models_with_the_field_named() {
    let base = || {
        ProblemBuilder::new("bad")
            .state("x", -1.0, 1.0, 11)
            .control("u", -1.0, 1.0, 5)
            .running_cost(Code::new("u²", |p| p[1] * p[1]))
            .final_time(1.0)
    };
    let missing_drift = base().build().unwrap_err();
    assert!(missing_drift.to_string().contains("state `x` has no drift"), "{missing_drift}");
    let unknown = base().drift("x", Code::new("y", |p| p[0]).uses(&["y"])).build().unwrap_err();
    assert!(unknown.to_string().contains("`y`"), "{unknown}");
    let no_state = base().drift("z", Code::new("u", |p| p[1])).build().unwrap_err();
    assert!(no_state.to_string().contains("`z` is not a state"), "{no_state}");
    let stationary = ProblemBuilder::new("stationary")
        .state("x", -1.0, 1.0, 11)
        .drift("x", Code::new("-x", |p| -p[0]))
        .running_cost(Code::new("x²", |p| p[0] * p[0]))
        .build()
        .unwrap_err();
    assert!(stationary.to_string().contains("discount"), "{stationary}");
    assert_eq!(missing_drift.kind(), hjb::error::ErrorKind::BadInput);
}
