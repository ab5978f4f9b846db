//! Regression tests: the errors of the shipped problems at their shipped settings, pinned.
//!
//! These are not accuracy claims (tests/convergence.rs has those); they catch any change of the
//! discrete solution. The pinned values were measured with this code (commit history) and are
//! compared to 1 % — far above round-off differences between machines, far below the change any
//! modification of the scheme produces.

mod common;

fn assert_pinned(measured: f64, pinned: f64, what: &str) {
    let relative = (measured - pinned).abs() / pinned;
    assert!(
        relative < 0.01,
        "{what}: measured {measured:.6e}, pinned {pinned:.6e} (relative change {relative:.2e})"
    );
}

#[test]
fn lqr_1d_errors_are_pinned() {
    let (problem, settings) = common::shipped("lqr_1d");
    let solution = hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap();
    let error = solution.error.unwrap();
    assert_eq!(solution.diagnostics.steps, 556);
    assert_pinned(error.linf, 1.892509e-3, "L∞");
    assert_pinned(error.l2, 1.528696e-3, "L2");
}

#[test]
fn double_integrator_errors_are_pinned() {
    let (problem, settings) = common::shipped("lqr_double_integrator");
    let solution = hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap();
    let error = solution.error.unwrap();
    assert_eq!(solution.diagnostics.steps, 259);
    assert_pinned(error.linf, 9.352146e-2, "L∞");
    assert_pinned(error.l2, 1.094617e-1, "L2");
}
