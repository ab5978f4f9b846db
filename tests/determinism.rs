//! The same input gives the same bits whatever the thread count.

mod common;

use hjb::solver::with_threads;

#[test]
fn one_and_two_threads_give_identical_bits() {
    for (name, scheme) in [
        ("lqr_double_integrator", "upwind"),
        ("lqr_double_integrator", "lax_friedrichs"),
        ("lqr_1d", "upwind"),
    ] {
        let file = common::shipped_file(name);
        let settings = common::settings(&common::with_scheme(&file.solver, scheme));
        let problem = file.problem;
        let one =
            with_threads(Some(1), || hjb::solve(&problem, &settings, &mut hjb::Silent)).unwrap().unwrap();
        let two =
            with_threads(Some(2), || hjb::solve(&problem, &settings, &mut hjb::Silent)).unwrap().unwrap();
        let three =
            with_threads(Some(3), || hjb::solve(&problem, &settings, &mut hjb::Silent)).unwrap().unwrap();
        assert_eq!(one.diagnostics.threads, 1);
        assert_eq!(two.diagnostics.threads, 2);
        for other in [&two, &three] {
            assert!(
                one.values.iter().zip(&other.values).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{name}: values differ"
            );
            assert!(
                one.policy[0].iter().zip(&other.policy[0]).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{name}: policy differs"
            );
            assert_eq!(one.error, other.error);
            assert_eq!(one.diagnostics.cfl_peak, other.diagnostics.cfl_peak);
        }
    }
}
