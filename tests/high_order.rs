//! The high-order schemes (ENO/WENO derivatives, TVD Runge–Kutta) beyond the validation studies:
//! time-dependent coefficients keep the third order, kinked data gains accuracy over upwind, the
//! Lax–Friedrichs variants differ where they should and agree where they must, the same bits on
//! any number of threads, and bad settings refused with the reason.

mod common;

use hjb::error::ErrorKind;
use hjb::{solve, Silent, SolverOptions};
use std::path::Path;

/// `dx = cos(t) dt` on the periodic circle, `g = sin x`: `V(x, 0) = sin(x + sin T)`. The drift
/// depends on time, so a Runge–Kutta stage must see the coefficients at its own time.
const TIME_DEPENDENT: &str = r#"
name = "moving_sine"
[[state]]
name = "x"
bounds = [0.0, 6.283185307179586]
points = 40
periodic = true
[[control]]
name = "u"
bounds = [0.0, 1.0]
[dynamics]
x = "cos(t)"
[cost]
running = "u"
terminal = "sin(x)"
[horizon]
final_time = 1.0
[solver]
accuracy = "very_high"
cfl = 0.5
[reference]
kind = "formula"
value = "sin(x + sin(1))"
"#;

fn solve_text(text: &str, options: impl FnOnce(&mut SolverOptions)) -> hjb::Solution {
    let file = hjb::parse_problem(text, Path::new("inline.toml")).expect("problem parses");
    let mut solver = file.solver.clone();
    options(&mut solver);
    let settings = solver.settings().expect("valid settings");
    solve(&file.problem, &settings, &mut Silent).expect("solve succeeds")
}

#[test]
fn time_dependent_coefficients_keep_the_third_order_of_tvd_rk3() {
    // On 160 periodic nodes WENO5's space error is far below the time error, so halving the CFL
    // number shows the time order: third if each stage tabulates its own time, first if the
    // coefficients were frozen over the step.
    let text = TIME_DEPENDENT.replace("points = 40", "points = 160");
    let errors: Vec<f64> = [0.8, 0.4, 0.2]
        .iter()
        .map(|cfl| solve_text(&text, |options| options.cfl = Some(*cfl)).error.expect("reference").linf)
        .collect();
    let orders: Vec<f64> = errors.windows(2).map(|pair| (pair[0] / pair[1]).log2()).collect();
    eprintln!("errors {errors:?}, orders {orders:?}");
    assert!(orders.iter().all(|order| *order > 2.5), "orders {orders:?} (errors {errors:?})");
}

/// The largest difference on `[-1, 1]²` between a 2-D field on `points²` nodes of `[-3, 3]²` and a
/// finer one on `fine²` nodes whose every `(fine − 1)/(points − 1)`-th node is a coarse node.
fn difference_on_centre(
    coarse: &ndarray::ArrayD<f64>,
    fine: &ndarray::ArrayD<f64>,
    points: usize,
    fine_points: usize,
) -> f64 {
    let stride = (fine_points - 1) / (points - 1);
    let mut largest = 0.0f64;
    for i in 0..points {
        for j in 0..points {
            let (x, v) =
                (-3.0 + 6.0 * i as f64 / (points - 1) as f64, -3.0 + 6.0 * j as f64 / (points - 1) as f64);
            if x.abs() <= 1.0 + 1e-12 && v.abs() <= 1.0 + 1e-12 {
                largest = largest.max((coarse[[i, j]] - fine[[i * stride, j * stride]]).abs());
            }
        }
    }
    largest
}

#[test]
fn weno5_beats_upwind_on_the_kinked_double_integrator_at_equal_grid() {
    // hj_reachability's double-integrator reach problem (kinks at the target's centre and along
    // the switching curve): against a WENO5 solution on 241², WENO5 on 61² must be well below
    // first-order upwind on 61² (measured: about 5× at 201² against 801², see the README).
    let (problem, settings) = common::shipped("double_integrator_reach");
    let fine = solve(&problem.with_points(&[241, 241]).unwrap(), &settings, &mut Silent).unwrap();
    let coarse = problem.with_points(&[61, 61]).unwrap();
    let weno = solve(&coarse, &settings, &mut Silent).unwrap();
    let low = hjb::Settings::of_scheme("upwind").unwrap();
    let low = hjb::Settings {
        stepping: hjb::Stepping::Explicit { cfl: 0.75, integrator: hjb::settings::Integrator::Euler },
        ..low
    };
    let upwind = solve(&coarse, &low, &mut Silent).unwrap();
    let weno_error = difference_on_centre(&weno.values, &fine.values, 61, 241);
    let upwind_error = difference_on_centre(&upwind.values, &fine.values, 61, 241);
    eprintln!("61²: WENO5 {weno_error:.4e}, upwind {upwind_error:.4e}");
    assert!(!weno.diagnostics.monotone && upwind.diagnostics.monotone);
    assert!(weno_error < upwind_error / 3.0, "WENO5 {weno_error:.4e} vs upwind {upwind_error:.4e}");
}

#[test]
fn lax_friedrichs_dissipations_order_as_the_theory_says() {
    // The rotating bump has no driven state: local-local and local dissipation are the same
    // numbers (α_i = |f_i(x)|), bit for bit; global dissipation (α_i = max_x |f_i|) smears more.
    let (problem, _) = common::shipped("rotating_bump");
    let problem = problem.with_points(&[61, 61]).unwrap();
    let run = |dissipation: &str| {
        let options = SolverOptions {
            differencing: Some("lax_friedrichs".into()),
            dissipation: Some(dissipation.into()),
            accuracy: Some("very_high".into()),
            cfl: Some(0.5),
            ..Default::default()
        };
        solve(&problem, &options.settings().unwrap(), &mut Silent).unwrap()
    };
    let (global, local, local_local) = (run("global"), run("local"), run("local_local"));
    assert_eq!(local.values, local_local.values);
    let (global_error, local_error) = (global.error.unwrap().linf, local.error.unwrap().linf);
    eprintln!("global {global_error:.4e}, local {local_error:.4e}");
    assert!(global_error > local_error, "global {global_error:.4e} vs local {local_error:.4e}");
    // Global dissipation is larger, so its CFL bound is no larger: at least as many steps.
    assert!(global.diagnostics.steps >= local.diagnostics.steps);
    assert!(local_error < 2e-3, "local error {local_error:.4e}");
}

#[test]
fn the_same_bits_on_one_and_two_threads() {
    let (problem, settings) = common::shipped("double_integrator_reach");
    let problem = problem.with_points(&[81, 81]).unwrap();
    let one =
        hjb::solver::with_threads(Some(1), || solve(&problem, &settings, &mut Silent)).unwrap().unwrap();
    let two =
        hjb::solver::with_threads(Some(2), || solve(&problem, &settings, &mut Silent)).unwrap().unwrap();
    assert_eq!(one.values, two.values);
    assert_eq!(one.policy, two.policy);
}

#[test]
fn the_sampled_minimum_agrees_with_the_closed_form() {
    // The double integrator's control enters affinely with a bang-bang optimum at ±1, which
    // the samples contain: both paths must give nearly the same WENO5 solution.
    let (problem, settings) = common::shipped("double_integrator_reach");
    let problem = problem.with_points(&[61, 61]).unwrap();
    let closed = solve(&problem, &settings, &mut Silent).unwrap();
    let sampled_settings = hjb::Settings { minimisation: hjb::settings::Minimisation::Sampled, ..settings };
    let sampled = solve(&problem, &sampled_settings, &mut Silent).unwrap();
    let largest =
        closed.values.iter().zip(sampled.values.iter()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(largest < 1e-9, "closed form and samples differ by {largest:.3e}");
}

fn refusal(text: &str) -> hjb::HjbError {
    let file = hjb::parse_problem(text, Path::new("inline.toml"));
    match file {
        Err(error) => error,
        Ok(file) => {
            let settings = file.solver.settings().expect("settings");
            solve(&file.problem, &settings, &mut Silent).expect_err("refused")
        }
    }
}

#[test]
fn bad_settings_are_refused_with_the_reason() {
    let short = TIME_DEPENDENT.replace("points = 40", "points = 5");
    let error = refusal(&short);
    assert_eq!(error.kind(), ErrorKind::BadInput);
    assert!(error.to_string().contains("at least 7 points"), "{error}");

    let implicit = TIME_DEPENDENT
        .replace("accuracy = \"very_high\"", "accuracy = \"very_high\"\nstepping = \"implicit\"");
    let error = refusal(&implicit);
    assert_eq!(error.kind(), ErrorKind::BadInput);
    assert!(error.to_string().contains("stepping = \"explicit\""), "{error}");
    assert!(error.to_string().contains("inline.toml:"), "located: {error}");

    let unknown = TIME_DEPENDENT.replace("accuracy = \"very_high\"", "derivatives = \"weno7\"");
    let error = refusal(&unknown);
    assert!(error.to_string().contains("first_order, eno2, eno3, weno5"), "{error}");

    let above_bound = TIME_DEPENDENT.replace("cfl = 0.5", "cfl = 1.2");
    assert_eq!(refusal(&above_bound).kind(), ErrorKind::BadInput);

    let stationary = TIME_DEPENDENT
        .replace("running = \"u\"", "running = \"u\"\ndiscount = 0.5")
        .replace("final_time = 1.0", "stationary = true")
        .replace("x = \"cos(t)\"", "x = \"1\"");
    let error = refusal(&stationary);
    assert!(error.to_string().contains("stationary"), "{error}");
}
