//! The implicit scheme: policy iteration reproduces the explicit scheme's accuracy without a
//! step limit, its matrices are M-matrices, and it is deterministic.

mod common;

use hjb::solver::with_threads;

fn solve(name: &str, scheme: &str, time_step: Option<f64>) -> hjb::Solution {
    let file = common::shipped_file(name);
    let mut options = common::with_scheme(&file.solver, scheme);
    options.time_step = time_step;
    hjb::solve(&file.problem, &common::settings(&options), &mut hjb::Silent).unwrap()
}

#[test]
fn implicit_double_integrator_matches_riccati_as_the_explicit_scheme_does() {
    let explicit = solve("lqr_double_integrator", "upwind", None);
    let implicit = solve("lqr_double_integrator", "implicit", None);
    let (e, i) = (explicit.error.unwrap().linf, implicit.error.unwrap().linf);
    eprintln!(
        "explicit L∞ {e:.4e} ({} steps), implicit L∞ {i:.4e} ({} steps)",
        explicit.diagnostics.steps, implicit.diagnostics.steps
    );
    // Same first-order accuracy from 13× fewer steps (Δt = h instead of the CFL step).
    assert!((i - e).abs() < 0.1 * e, "implicit {i} vs explicit {e}");
    assert!(implicit.diagnostics.steps * 10 < explicit.diagnostics.steps);
    let report = implicit.diagnostics.implicit.unwrap();
    assert!(implicit.diagnostics.monotone);
    assert!(report.margin >= 1.0 - 1e-12, "interior rows have row sum 1 + ρΔt ≥ 1: margin {}", report.margin);
    assert!(report.most_iterations <= 10, "policy iteration took {} sweeps", report.most_iterations);
    assert!(implicit.diagnostics.cfl_number > 10.0, "the step is far above the explicit bound");
}

#[test]
fn backward_and_forward_euler_agree_to_first_order_in_the_time_step() {
    // At the explicit CFL step both schemes make O(Δt) time errors of opposite sign around the
    // same spatial discretisation: their difference shrinks linearly with Δt.
    let mut differences = Vec::new();
    for time_step in [2e-3, 1e-3] {
        let explicit = solve("lqr_1d", "upwind", Some(time_step));
        let implicit = solve("lqr_1d", "implicit", Some(time_step));
        let difference =
            explicit.values.iter().zip(&implicit.values).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        differences.push(difference);
    }
    eprintln!("max |V_explicit − V_implicit|: {differences:?}");
    let order = (differences[0] / differences[1]).log2();
    assert!((0.8..=1.2).contains(&order), "order {order}");
}

#[test]
fn implicit_is_deterministic_across_thread_counts() {
    let file = common::shipped_file("lqr_double_integrator");
    let settings = common::settings(&common::with_scheme(&file.solver, "implicit"));
    let problem = file.problem.with_points(&[61, 61]).unwrap();
    let one = with_threads(Some(1), || hjb::solve(&problem, &settings, &mut hjb::Silent)).unwrap().unwrap();
    let two = with_threads(Some(2), || hjb::solve(&problem, &settings, &mut hjb::Silent)).unwrap().unwrap();
    assert!(one.values.iter().zip(&two.values).all(|(a, b)| a.to_bits() == b.to_bits()));
}
