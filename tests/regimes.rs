//! Regime switching (`[regimes]`): a Markov-jump LQR with two regimes against its coupled
//! algebraic Riccati solution (computed here), the decoupled case, the MDP identity, bad input.

mod common;

use hjb::settings::Characteristic;
use hjb::{parse_problem, solve, Problem, ProblemFile, Settings, Silent};
use std::path::Path;

const A: [f64; 2] = [0.5, -0.3];
const RATES: [f64; 2] = [0.4, 0.7]; // λ_01, λ_10
const SIGMA: f64 = 0.5;
const RHO: f64 = 0.2;

fn switching_lqr(points: usize, scheme: &str, rates: [f64; 2]) -> (Problem, Settings) {
    common::split(switching_lqr_file(points, scheme, rates))
}

fn switching_lqr_file(points: usize, scheme: &str, rates: [f64; 2]) -> ProblemFile {
    let text = format!(
        r#"[[state]]
name = "x"
bounds = [-3.0, 3.0]
points = {points}
boundary = "state_constraint"

[regimes]
name = "z"
values = [0.0, 1.0]
rates = [[0.0, {}], [{}, 0.0]]

[[control]]
name = "u"
bounds = [-8.0, 8.0]

[dynamics]
x = "({} + ({} - {})*z)*x + u"

[diffusion]
x = "{SIGMA}"

[cost]
running = "x^2 + u^2"
discount = {RHO}

[horizon]
stationary = true

[solver]
scheme = "{scheme}"
"#,
        rates[0], rates[1], A[0], A[1], A[0]
    );
    parse_problem(&text, Path::new("switching.toml")).unwrap()
}

/// V_j = P_j x² + c_j with ρP_j = 2a_jP_j − P_j² + 1 + λ_j(P_k − P_j) and
/// ρc_j = σ²P_j + λ_j(c_k − c_j) (a fixed point in P, then a 2×2 system in c).
fn coupled_riccati(rates: [f64; 2]) -> ([f64; 2], [f64; 2]) {
    let mut p = [1.0f64, 1.0];
    for _ in 0..10_000 {
        let previous = p;
        for j in 0..2 {
            let b = 2.0 * A[j] - RHO - rates[j];
            let c = 1.0 + rates[j] * previous[1 - j];
            p[j] = 0.5 * (b + (b * b + 4.0 * c).sqrt());
        }
        if (p[0] - previous[0]).abs() + (p[1] - previous[1]).abs() < 1e-15 {
            break;
        }
    }
    // (ρ + λ_0)c_0 − λ_0 c_1 = σ²P_0, −λ_1 c_0 + (ρ + λ_1)c_1 = σ²P_1.
    let (m00, m01, m10, m11) = (RHO + rates[0], -rates[0], -rates[1], RHO + rates[1]);
    let (r0, r1) = (SIGMA * SIGMA * p[0], SIGMA * SIGMA * p[1]);
    let det = m00 * m11 - m01 * m10;
    (p, [(r0 * m11 - m01 * r1) / det, (m00 * r1 - m10 * r0) / det])
}

fn error_on_interior(problem: &Problem, values: &[f64], rates: [f64; 2]) -> f64 {
    let (p, c) = coupled_riccati(rates);
    let grid = &problem.grid;
    (0..grid.node_count())
        .filter_map(|node| {
            let point = grid.point(node);
            let regime = point[1].round() as usize;
            (point[0].abs() <= 1.0)
                .then(|| (values[node] - p[regime] * point[0] * point[0] - c[regime]).abs())
        })
        .fold(0.0, f64::max)
}

#[test]
fn the_riccati_reference_solves_its_equations() {
    let rates = RATES;
    let (p, c) = coupled_riccati(rates);
    for j in 0..2 {
        let k = 1 - j;
        let residual = 2.0 * A[j] * p[j] - p[j] * p[j] + 1.0 + rates[j] * (p[k] - p[j]) - RHO * p[j];
        assert!(residual.abs() < 1e-12, "{residual}");
        let constant = SIGMA * SIGMA * p[j] + rates[j] * (c[k] - c[j]) - RHO * c[j];
        assert!(constant.abs() < 1e-12, "{constant}");
    }
}

#[test]
fn markov_jump_lqr_converges_at_first_order_with_policy_iteration() {
    let mut errors = Vec::new();
    for points in [76, 151, 301, 601] {
        let (problem, settings) = switching_lqr(points, "implicit", RATES);
        let solution = solve(&problem, &settings, &mut Silent).unwrap();
        errors.push((
            problem.grid.spacings()[0],
            error_on_interior(&problem, solution.values.as_slice().unwrap(), RATES),
        ));
    }
    for k in 1..errors.len() {
        let order = (errors[k - 1].1 / errors[k].1).ln() / (errors[k - 1].0 / errors[k].0).ln();
        eprintln!("implicit, h = {:.4}: L∞ {:.4e}, order {order:.3}", errors[k].0, errors[k].1);
        assert!((0.8..=1.5).contains(&order), "order {order}");
    }
    assert!(errors[3].1 < 0.06, "{}", errors[3].1);
}

#[test]
fn explicit_and_semi_lagrangian_steps_agree_with_the_reference() {
    // Value iteration of the explicit and semi-Lagrangian steps at 301 points: first-order errors
    // of the size the implicit scheme has there (≈ 5e-2 for the single-regime problem).
    for scheme in ["upwind", "semi_lagrangian"] {
        let (problem, settings) = switching_lqr(301, scheme, RATES);
        let solution = solve(&problem, &settings, &mut Silent).unwrap();
        let error = error_on_interior(&problem, solution.values.as_slice().unwrap(), RATES);
        eprintln!("{scheme}: L∞ {error:.4e}");
        assert!(error < 0.12, "{scheme}: {error}");
    }
}

#[test]
fn without_switching_the_regimes_are_two_independent_problems() {
    let (both, settings) = switching_lqr(151, "implicit", [0.0, 0.0]);
    let solution = solve(&both, &settings, &mut Silent).unwrap();
    for (regime, a) in A.iter().enumerate() {
        let path = common::repository_path("problems/lqr_stochastic.toml");
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("points = 601", "points = 151\nboundary = \"state_constraint\"")
            .replace("\na = 0.5", &format!("\na = {a}"))
            .replace("scheme = \"upwind\"", "scheme = \"implicit\"");
        let (single, single_settings) = common::parse(&text, &path);
        let single = solve(&single, &single_settings, &mut Silent).unwrap();
        let largest = single
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| (solution.values[[i, regime]] - v).abs() / (1.0 + v.abs()))
            .fold(0.0, f64::max);
        assert!(largest < 1e-10, "regime {regime}: {largest:e}");
    }
}

#[test]
fn the_mdp_chain_with_jumps_has_the_pde_fixed_point() {
    let file = switching_lqr_file(151, "semi_lagrangian", RATES);
    let mut options = file.solver.clone();
    options.refine = Some(false);
    let settings = common::settings(&options);
    let characteristic = options.characteristic.unwrap_or(Characteristic::Euler);
    let mut problem = file.problem;
    problem.controls[0].samples = 41;
    let pde = solve(&problem, &settings, &mut Silent).unwrap();
    let step = pde.diagnostics.time_step;
    let mdp = hjb::mdp::build(&problem, hjb::mdp::Chain::SemiLagrangian, step, characteristic).unwrap();
    let solution = hjb::mdp::solve(&mdp, hjb::mdp::Method::PolicyIteration, &Default::default()).unwrap();
    let size = solution.value.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let difference = solution.value.iter().zip(&pde.values).fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
    assert!(difference <= 2e-9 * (1.0 + size), "{difference:e}");
    // The upwind chain with jumps too (under its CFL bound).
    let upwind = problem.clone();
    let mut upwind_options = common::with_scheme(&options, "upwind");
    upwind_options.force_sampled = true;
    let upwind_settings = common::settings(&upwind_options);
    let plan = hjb::solver::prepare(&upwind, &upwind_settings).unwrap().plan;
    hjb::mdp::build(&upwind, hjb::mdp::Chain::Upwind, plan.time_step, characteristic).unwrap();
}

#[test]
fn malformed_regimes_are_refused_with_the_field() {
    let good = std::fs::read_to_string(common::repository_path(
        "problems/consumption_saving_two_income_states.toml",
    ))
    .unwrap();
    for (from, to, field) in [
        ("rates = [[0.0, 0.2], [0.5, 0.0]]", "rates = [[0.0, -0.2], [0.5, 0.0]]", "regimes.rates"),
        ("rates = [[0.0, 0.2], [0.5, 0.0]]", "rates = [[0.0, 0.2]]", "regimes.rates"),
        ("values = [0.1, 0.2]", "values = [0.2, 0.1]", "regimes.values"),
    ] {
        assert!(good.contains(from), "fixture changed: {from}");
        let error = parse_problem(&good.replace(from, to), Path::new("bad.toml")).unwrap_err();
        assert_eq!(error.kind(), hjb::error::ErrorKind::BadInput);
        assert!(error.to_string().contains(field), "{error}");
    }
}

#[test]
fn the_regime_variable_takes_no_noise_and_keeps_its_points() {
    let path = common::repository_path("problems/consumption_saving_two_income_states.toml");
    let good = std::fs::read_to_string(&path).unwrap();
    let noisy = good.replace("[cost]", "[diffusion]\nz = \"0.1\"\n\n[cost]");
    let error = parse_problem(&noisy, Path::new("noisy_regime.toml")).unwrap_err();
    assert_eq!(error.kind(), hjb::error::ErrorKind::BadInput);
    assert!(error.to_string().contains("regime variable"), "{error}");
    // `--points N` refines the asset axis only; asking for 5 regime nodes is refused.
    let problem = parse_problem(&good, &path).unwrap().problem;
    assert!(problem.with_points(&[101, 5]).is_err());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["check", "problems/consumption_saving_two_income_states.toml", "--points", "101", "--json"])
        .current_dir(common::repository_path(""))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["grid"], serde_json::json!([101, 2]), "{summary}");
}
