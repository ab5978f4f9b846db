//! Two code paths, one answer: the closed-form minimisation against the control sample set.
//!
//! The explicit step is monotone, and the minimum over a subset of the control box is never below
//! the minimum over the whole box, so by induction `V_sampled ≥ V_closed_form` at every node (up
//! to round-off), with the gap shrinking as the sample set is refined.

mod common;

fn gap(name: &str, scheme: &str, samples: usize) -> (f64, f64) {
    let file = common::shipped_file(name);
    let closed_options = common::with_scheme(&file.solver, scheme);
    let closed_settings = common::settings(&closed_options);
    let closed = file.problem;
    let mut sampled_options = closed_options.clone();
    sampled_options.force_sampled = true;
    let sampled_settings = common::settings(&sampled_options);
    let mut sampled = closed.clone();
    sampled.controls[0].samples = samples;
    let a = hjb::solve(&closed, &closed_settings, &mut hjb::Silent).unwrap();
    let b = hjb::solve(&sampled, &sampled_settings, &mut hjb::Silent).unwrap();
    assert_eq!(a.diagnostics.hamiltonian, "closed_form");
    assert_eq!(b.diagnostics.hamiltonian, format!("sampled({samples})"));
    assert_eq!(a.diagnostics.time_step, b.diagnostics.time_step);
    let smallest = a.values.iter().zip(&b.values).map(|(c, s)| s - c).fold(f64::INFINITY, f64::min);
    let largest = a.values.iter().zip(&b.values).map(|(c, s)| s - c).fold(f64::NEG_INFINITY, f64::max);
    (smallest, largest)
}

#[test]
fn sampled_upwind_bounds_the_closed_form_from_above_and_converges() {
    let (smallest, coarse) = gap("lqr_1d", "upwind", 41);
    assert!(smallest >= -1e-12, "sampled value below the exact minimum by {smallest}");
    let (smallest, fine) = gap("lqr_1d", "upwind", 401);
    assert!(smallest >= -1e-12, "sampled value below the exact minimum by {smallest}");
    eprintln!("gap with 41 samples {coarse:.3e}, with 401 samples {fine:.3e}");
    // The quadratic cost makes the per-step gap O(Δu²): ten times finer, ≥ 20 times smaller.
    assert!(fine < coarse / 20.0, "gap {coarse:.3e} → {fine:.3e}");
    assert!(fine < 1e-4);
}

#[test]
fn sampled_path_in_two_dimensions() {
    let (smallest, largest) = gap("lqr_double_integrator", "upwind", 201);
    eprintln!("double integrator gap: [{smallest:.3e}, {largest:.3e}]");
    assert!(smallest >= -1e-12);
    assert!(largest < 1e-3);
}
