//! Accuracy tests: errors against the Riccati references shrink at the scheme's order.
//!
//! The explicit upwind and Lax–Friedrichs schemes are first order in h (with Δt ∝ h through the
//! CFL rule), so over four levels halving h the observed order of the max error on the interior
//! box |x_i| ≤ 1 must be ≥ 0.9 at every refinement.

mod common;

use hjb::validate::convergence_study;
use hjb::Scheme;

fn assert_first_order(name: &str, scheme: Scheme, levels: &[Vec<usize>]) -> Vec<hjb::validate::Level> {
    let mut problem = common::shipped(name);
    problem.settings.scheme = scheme;
    let study = convergence_study(&problem, levels).expect("study runs");
    for level in &study {
        eprintln!(
            "{name} {scheme:?} points {:?}: h = {:.4}, L∞ = {:.4e}, order {:?}",
            level.points, level.h, level.linf, level.order_linf
        );
    }
    for level in &study[1..] {
        let order = level.order_linf.expect("orders after the first level");
        assert!(order >= 0.9, "{name} {scheme:?}: observed order {order:.3} < 0.9 at {:?}", level.points);
        assert!(order <= 1.5, "{name} {scheme:?}: order {order:.3} is suspiciously high for a first-order scheme");
    }
    study
}

#[test]
fn lqr_1d_upwind_is_first_order() {
    let levels: Vec<Vec<usize>> = [101, 201, 401, 801].iter().map(|n| vec![*n]).collect();
    let study = assert_first_order("lqr_1d", Scheme::Upwind, &levels);
    // At the shipped resolution (401 points) the error is a few 1e-3 (C·h with C ≈ 0.2).
    assert!(study[2].linf < 3e-3, "L∞ at 401 points: {}", study[2].linf);
}

#[test]
fn lqr_1d_lax_friedrichs_is_first_order() {
    let levels: Vec<Vec<usize>> = [101, 201, 401, 801].iter().map(|n| vec![*n]).collect();
    assert_first_order("lqr_1d", Scheme::LaxFriedrichs, &levels);
}

#[test]
fn double_integrator_upwind_is_first_order() {
    let levels: Vec<Vec<usize>> = [31, 61, 121, 241].iter().map(|n| vec![*n, *n]).collect();
    let study = assert_first_order("lqr_double_integrator", Scheme::Upwind, &levels);
    // Relative to V ≈ 2–6 on the box, the shipped 121² grid is within a few percent.
    assert!(study[2].linf < 0.12, "L∞ at 121²: {}", study[2].linf);
}

#[test]
fn double_integrator_lax_friedrichs_is_first_order() {
    let levels: Vec<Vec<usize>> = [31, 61, 121, 241].iter().map(|n| vec![*n, *n]).collect();
    assert_first_order("lqr_double_integrator", Scheme::LaxFriedrichs, &levels);
}
