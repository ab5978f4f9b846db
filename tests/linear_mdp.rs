//! The linearly solvable MDP (`hjb mdp --method linear`): the soft Bellman backup and the linear
//! march are one equation (identity between two code paths), `−λ log z` converges to the closed
//! forms (Riccati with λ = 1/2; Cole–Hopf for the mixture; the first-exit cosh solution), and
//! problems outside the class are refused with the condition that failed (exit 2).

mod common;

use hjb::mdp::linear::{first_exit, march, solve_linear};
use hjb::mdp::{build_passive, Chain};
use hjb::problem::linearly_solvable::linearly_solvable;
use hjb::settings::Characteristic;
use std::process::Command;

/// Observed orders between successive errors for refinement by 2.
fn orders(errors: &[f64]) -> Vec<f64> {
    errors.windows(2).map(|pair| (pair[0] / pair[1]).log2()).collect()
}

#[test]
fn soft_bellman_backup_is_the_linear_march() {
    // The noisy LQR: passive drift a x, state cost x², λ = σ² r = 0.25 · 2 = 1/2.
    let (problem, _) = common::shipped("lqr_1d_noisy");
    let problem = problem.with_points(&[121]).unwrap();
    let lambda = linearly_solvable(&problem).unwrap().temperature;
    assert!((lambda - 0.5).abs() < 1e-12);
    let mdp = build_passive(&problem, Chain::Upwind, 1e-3, Characteristic::Euler).unwrap();
    let coordinates = problem.grid.coordinate_columns();
    let g = problem.tabulate(&problem.terminal_cost, &coordinates, &[0.0], 1.0);
    let steps = 50;
    let linear = march(&mdp, lambda, &g, steps).unwrap();
    // Second path: the entropy-regularised backup V(x) = qΔt − λ log Σ_y P(x, y) e^{−V'(y)/λ},
    // in the log domain.
    let passive = mdp.transitions.action_matrix(0, mdp.action_count);
    let mut value = g.clone();
    for _ in 0..steps {
        value = (0..mdp.nodes)
            .map(|x| {
                let terms: Vec<f64> = (passive.indptr[x]..passive.indptr[x + 1])
                    .map(|k| passive.data[k].ln() - value[passive.indices[k]] / lambda)
                    .collect();
                let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = terms.iter().map(|t| (t - top).exp()).sum();
                mdp.cost[x] - lambda * (top + sum.ln())
            })
            .collect();
    }
    let largest = value.iter().zip(&linear.value).fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
    assert!(largest < 1e-11, "soft backup vs linear march: {largest:e}");
    // The march is parallel over states: the same bits on one thread and on three.
    for threads in [1, 3] {
        let again =
            hjb::solver::with_threads(Some(threads), || march(&mdp, lambda, &g, steps)).unwrap().unwrap();
        assert_eq!(again.value, linear.value, "{threads} threads");
    }
}

#[test]
fn linear_mdp_converges_at_first_order_to_the_riccati_value() {
    // Upwind passive chain with drift a x: first order in h (Δt of the matching scheme).
    let (problem, settings) = common::shipped("lqr_1d_noisy");
    let mut errors = Vec::new();
    for points in [76, 151, 301, 601] {
        let problem = problem.with_points(&[points]).unwrap();
        let comparison = solve_linear(&problem, &settings, Chain::Upwind).unwrap();
        let error = comparison.reference_error.unwrap();
        eprintln!("lqr_1d_noisy {points}: L∞ {:.4e}, L1 {:.4e}", error.linf, error.l1);
        errors.push(error.linf);
    }
    let observed = orders(&errors);
    eprintln!("orders {observed:?}");
    assert!(observed.iter().all(|p| (0.85..=1.15).contains(p)), "orders {observed:?}");
    assert!(errors[3] < 6e-3, "{errors:?}");
}

#[test]
fn linear_mdp_converges_to_the_cole_hopf_value() {
    // The mixture on a box wide enough that the passive chain's closed ends (±8, where e^{−g} is
    // below 3e-5) do not matter, with Δt = h²/2: the chain at u = 0 is the explicit heat scheme,
    // whose error (h²/24)(1 − 3Δt/h²)·∂⁴ is second order in h (first order in Δt).
    let text = std::fs::read_to_string(common::repository_path("problems/colehopf_mixture_1d.toml"))
        .unwrap()
        .replace("bounds = [-5.0, 5.0]", "bounds = [-8.0, 8.0]");
    let (problem, _) = common::parse(&text, std::path::Path::new("wide.toml"));
    let mut errors = Vec::new();
    for points in [101, 201, 401, 801] {
        let problem = problem.with_points(&[points]).unwrap();
        let h = problem.grid.spacings()[0];
        let steps = (1.0 / (0.5 * h * h)).ceil() as usize;
        let mdp = build_passive(&problem, Chain::Upwind, 1.0 / steps as f64, Characteristic::Euler).unwrap();
        let coordinates = problem.grid.coordinate_columns();
        let g = problem.tabulate(&problem.terminal_cost, &coordinates, &[0.0], 1.0);
        let solution = march(&mdp, 1.0, &g, steps).unwrap();
        let exact = problem.reference_values(&coordinates).unwrap();
        let region = &problem.reference.as_ref().unwrap().region;
        let error = hjb::norms::error_norms(&problem.grid, &solution.value, &exact, region);
        eprintln!(
            "mixture [-8, 8] {points}: h {h}, {steps} steps: L∞ {:.4e}, L1 {:.4e}",
            error.linf, error.l1
        );
        errors.push(error.linf);
    }
    let observed = orders(&errors);
    eprintln!("orders {observed:?}");
    assert!(observed.iter().all(|p| (1.8..=2.2).contains(p)), "orders {observed:?}");
    assert!(errors[3] < 1e-4, "{errors:?}");
}

#[test]
fn first_exit_matches_the_cosh_solution() {
    // ½V'' − ½V'² + q = 0 on (−1, 1), V(±1) = 0 (the target |x| ≥ 1), q = 1: z = e^{−V} = cosh(√2 x)/cosh(√2).
    let text = r#"
[[state]]
name = "x"
bounds = [-1.0, 1.0]
points = 201

[[control]]
name = "u"
bounds = [-10.0, 10.0]

[dynamics]
x = "u"

[diffusion]
x = "1"

[cost]
running = "1 + u^2/2"
terminal = "0"

[target]
set = "1 - x^2"

[horizon]
stationary = true

[reference]
kind = "formula"
value = "-log((exp(sqrt(2)*x) + exp(-sqrt(2)*x)) / (exp(sqrt(2)) + exp(-sqrt(2))))"
region = { x = [-1.0, 1.0] }
"#;
    let (problem, _) = common::parse(text, std::path::Path::new("cosh.toml"));
    let coordinates = problem.grid.coordinate_columns();
    let exact = problem.reference_values(&coordinates).unwrap();
    let mut errors = Vec::new();
    for points in [51, 101, 201] {
        let problem = problem.with_points(&[points]).unwrap();
        let h = problem.grid.spacings()[0];
        let mdp = build_passive(&problem, Chain::Upwind, 0.5 * h * h, Characteristic::Euler).unwrap();
        let solution = first_exit(&mdp, 1.0).unwrap();
        let exact = problem.reference_values(&problem.grid.coordinate_columns()).unwrap();
        let error = solution.value.iter().zip(&exact).fold(0.0f64, |a, (v, e)| a.max((v - e).abs()));
        eprintln!("first exit {points}: max error {error:.4e}");
        errors.push(error);
    }
    assert!(exact.iter().all(|v| v.is_finite()));
    let observed = orders(&errors);
    assert!(observed.iter().all(|p| (1.8..=2.2).contains(p)), "orders {observed:?}");
    assert!(errors[2] < 1e-4, "{errors:?}");
}

fn hjb(arguments: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hjb")).args(arguments).output().unwrap();
    (output.status.code().unwrap(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn refuses_problems_outside_the_class_with_the_failed_condition() {
    let file = |name: &str| common::repository_path(&format!("problems/{name}.toml")).display().to_string();
    // Deterministic: no noise.
    let (code, stderr) = hjb(&["mdp", &file("lqr_1d"), "--method", "linear"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no noise"), "{stderr}");
    // The 2-D stochastic LQR is discounted.
    let (code, stderr) = hjb(&["mdp", &file("lqr_stochastic_2d"), "--method", "linear"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("linear (KL-control) MDP does not apply: the discount"), "{stderr}");
    // A discount makes the backup nonlinear.
    let (code, stderr) = hjb(&["mdp", &file("lqr_1d_discounted"), "--method", "linear"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("discount"), "{stderr}");
    // The shipped mixture is in the class: exit 0 and the temperature in the report.
    let (code, stderr) = hjb(&["mdp", &file("colehopf_mixture_1d"), "--method", "linear", "--points", "101"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn each_condition_is_named() {
    let ring = std::fs::read_to_string(common::repository_path("problems/colehopf_ring_2d.toml")).unwrap();
    let reason = |from: &str, to: &str| {
        assert!(ring.contains(from), "{from}");
        let text = ring.replace(from, to).replace("points = 181", "points = 11");
        let (problem, _) = common::parse(&text, std::path::Path::new("ring.toml"));
        linearly_solvable(&problem).unwrap_err()
    };
    let ok = {
        let text = ring.replace("points = 181", "points = 11");
        let (problem, _) = common::parse(&text, std::path::Path::new("ring.toml"));
        linearly_solvable(&problem).unwrap()
    };
    assert_eq!(ok.temperature, 1.0);
    assert_eq!(ok.control_weights, vec![1.0, 1.0]);
    assert!(reason("y = \"1\"", "y = \"0.5\"").contains("λ = σ² r is 0.25 on y"));
    assert!(reason("x = \"u\"", "x = \"2*u\"").contains("the drift of x is not a(x) + u"));
    assert!(reason("x = \"u\"", "x = \"u + w\"").contains("the drift of x is not a(x) + u"));
    assert!(reason("(u^2 + w^2) / 2", "(u^2 + w^2) / 2 + u*w").contains("the control cost is not"));
    assert!(reason("(u^2 + w^2) / 2", "(u^2 + w^2) / 2 + u").contains("the control cost is not"));
    assert!(reason("x = \"1\"", "x = \"1 + 0*u + x^2\"").contains("λ = σ² r"));
    assert!(reason("x = \"1\"", "x = \"1 + u^2\"").contains("depends on the controls"));
}
