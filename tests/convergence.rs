//! Accuracy tests: the quick studies of `validation/` (the same files `hjb validate --quick`
//! runs). Each asserts observed orders ≥ its minimum over four levels (L∞, L1 or both, as the
//! study says) and the finest error under its bar; the monotone schemes are first order in h with
//! Δt ∝ h, the high-order ones (`accuracy = ...`) up to the order of their reconstruction.

mod common;

use hjb::validate::{run_study, study_files};

fn check(name: &str) {
    check_up_to(name, 1.5);
}

/// [`check`] with `plausible` the largest observed order that is believable for the scheme.
fn check_up_to(name: &str, plausible: f64) {
    let outcome =
        run_study(&common::repository_path(&format!("validation/{name}.toml"))).expect("study runs");
    for level in &outcome.levels {
        eprintln!(
            "{name}: {:?} h = {:.4} L∞ = {:.4e} order {:?}",
            level.points, level.h, level.linf, level.order_linf
        );
    }
    assert!(outcome.study.quick, "{name} is not in the quick set");
    assert!(outcome.levels.len() >= 4, "{name}: a study needs at least 4 levels");
    assert!(outcome.passed(), "{name} missed its bar: {:?}", outcome.failures);
    for level in &outcome.levels[1..] {
        // A first-order scheme showing much more than order 1 would mean the reference or the
        // error measurement is off.
        assert!(
            level.order_linf.unwrap() <= plausible,
            "{name}: order {:?} is implausible",
            level.order_linf
        );
    }
}

#[test]
fn rotating_bump_weno5() {
    // Smooth data: WENO5 in space, TVD-RK3 in time with Δt ∝ h; the observed order sits near 5
    // because the time error (third order) is still far below the space error on these grids.
    check_up_to("rotating_bump_weno5", 5.6);
}

#[test]
fn rotating_bump_eno2() {
    check_up_to("rotating_bump_eno2", 2.6);
}

#[test]
fn lqr_1d_weno5() {
    // A quadratic value is reconstructed exactly: what remains is the O(Δt³) of TVD-RK3.
    check_up_to("lqr_1d_weno5", 3.6);
}

#[test]
fn hopf_lax_two_wells_weno5() {
    // Kinks in the data: first order, whatever the reconstruction.
    check("hopf_lax_two_wells_weno5");
}

#[test]
fn lqr_1d_upwind() {
    check("lqr_1d_upwind");
}

#[test]
fn lqr_1d_lax_friedrichs() {
    check("lqr_1d_lax_friedrichs");
}

#[test]
fn lqr_double_integrator_upwind() {
    check("lqr_double_integrator_upwind");
}

#[test]
fn lqr_double_integrator_lax_friedrichs() {
    check("lqr_double_integrator_lax_friedrichs");
}

#[test]
fn lqr_1d_noisy_upwind() {
    check("lqr_1d_noisy_upwind");
}

#[test]
fn lqr_1d_noisy_lax_friedrichs() {
    check("lqr_1d_noisy_lax_friedrichs");
}

#[test]
fn lqr_1d_implicit() {
    check("lqr_1d_implicit");
}

#[test]
fn lqr_1d_noisy_implicit() {
    check("lqr_1d_noisy_implicit");
}

#[test]
fn lqr_stochastic_upwind() {
    check("lqr_stochastic_upwind");
}

#[test]
fn lqr_1d_semi_lagrangian() {
    check("lqr_1d_semi_lagrangian");
}

#[test]
fn lqr_double_integrator_semi_lagrangian() {
    check("lqr_double_integrator_semi_lagrangian");
}

#[test]
fn lqr_1d_noisy_semi_lagrangian() {
    check("lqr_1d_noisy_semi_lagrangian");
}

#[test]
fn lqr_stochastic_semi_lagrangian() {
    check("lqr_stochastic_semi_lagrangian");
}

#[test]
fn hopf_lax_two_wells_semi_lagrangian() {
    check("hopf_lax_two_wells_semi_lagrangian");
}

#[test]
fn merton_implicit() {
    check("merton_implicit");
}

#[test]
fn lqr_stochastic_discounted_implicit() {
    // Stationary policy iteration with inward rows at the extrapolated ends (what `auto` picks).
    check("lqr_stochastic_discounted_implicit");
}

#[test]
fn every_quick_study_has_a_test() {
    let source = include_str!("convergence.rs");
    for path in study_files(&common::repository_path("validation")).unwrap() {
        let study = hjb::validate::load_study(&path).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if study.quick {
            assert!(
                source.contains(&format!("check(\"{name}\")"))
                    || source.contains(&format!("check_up_to(\"{name}\"")),
                "quick study {name} has no test here"
            );
        }
    }
}

#[test]
fn colehopf_mixture_1d_upwind() {
    check("colehopf_mixture_1d_upwind");
    // The bar: L∞ ≤ 0.02 on [-3, 3] at 501 points (the third level).
    let outcome = run_study(&common::repository_path("validation/colehopf_mixture_1d_upwind.toml")).unwrap();
    let level = outcome.levels.iter().find(|level| level.points == [501]).unwrap();
    assert!(level.linf <= 0.02, "L∞ {} at 501 points", level.linf);
}

#[test]
fn colehopf_mixture_1d_implicit() {
    check("colehopf_mixture_1d_implicit");
}

#[test]
fn colehopf_mixture_1d_semi_lagrangian() {
    check("colehopf_mixture_1d_semi_lagrangian");
}

#[test]
fn game_1d_lax_friedrichs() {
    // A min–max Hamiltonian −(a − b)|p| with a closed-form tube; L1 (the convex kink caps L∞ at ½).
    check("game_1d_lax_friedrichs");
}

#[test]
fn double_integrator_tube_upwind() {
    // The tube projection V ← min(V, l) after each step, against min(x, x + vT − T²/2).
    check("double_integrator_tube_upwind");
}
