//! Diagonal diffusion: the stochastic LQR given by matrices, bad noise input, and
//! control-dependent noise on the sampled path.

mod common;

const NOISY_DOUBLE_INTEGRATOR: &str = r#"
[[state]]
name = "x"
bounds = [-3.0, 3.0]
points = 61
[[state]]
name = "v"
bounds = [-3.0, 3.0]
points = 61
[lqr]
A = [[0.0, 1.0], [0.0, 0.0]]
B = [[0.0], [1.0]]
Q = [[1.0, 0.0], [0.0, 1.0]]
R = [[1.0]]
S = [[1.0, 0.0], [0.0, 1.0]]
Sigma = [[0.0, 0.0], [0.0, 0.4]]
[horizon]
final_time = 1.0
[reference]
kind = "lqr"
region = { x = [-1.0, 1.0], v = [-1.0, 1.0] }
"#;

#[test]
fn noisy_double_integrator_converges_with_the_noise_term() {
    let (problem, settings) = common::parse(NOISY_DOUBLE_INTEGRATOR, std::path::Path::new("noisy.toml"));
    // The reference includes c(0) = ∫ tr(ΣΣᵀP) dt > 0.
    let c = match &problem.reference.as_ref().unwrap().solution {
        hjb::problem::ReferenceSolution::Lqr(lqr) => lqr.value_coefficients_at_start().unwrap().1,
        _ => unreachable!(),
    };
    assert!(c > 0.1, "noise constant {c}");
    let levels: Vec<Vec<usize>> = [31, 61, 121].iter().map(|n| vec![*n, *n]).collect();
    let study = hjb::validate::convergence_study(&problem, &settings, &levels).unwrap();
    for level in &study {
        eprintln!(
            "noisy double integrator {:?}: L∞ {:.4e} order {:?}",
            level.points, level.linf, level.order_linf
        );
    }
    for level in &study[1..] {
        let order = level.order_linf.unwrap();
        assert!((0.85..=1.5).contains(&order), "order {order}");
    }
    // The diffusion enters the CFL bound: the diffusion number is reported.
    let preparation = hjb::solver::prepare(&problem, &settings).unwrap();
    let h: f64 = 0.1;
    let expected = preparation.plan.time_step * 2.0 * (0.5 * 0.4 * 0.4) / (h * h);
    assert!((preparation.stability.diffusion_number - expected).abs() < 1e-12);
}

#[test]
fn correlated_noise_without_diagonal_dominance_is_refused_with_the_reason() {
    // Σ = [[0.1, 0.5], [0, 0.3]]: a = σσᵀ/2 has a_22 = 0.045 < |a_12| = 0.075 on equal spacings,
    // so the upwind cross stencil would have negative weights: refused with the worst node and
    // the scheme that solves it (tests/correlated_noise.rs checks both schemes' accuracy).
    let text = NOISY_DOUBLE_INTEGRATOR
        .replace("Sigma = [[0.0, 0.0], [0.0, 0.4]]", "Sigma = [[0.1, 0.5], [0.0, 0.3]]");
    let (problem, settings) = common::parse(&text, std::path::Path::new("correlated.toml"));
    assert!(problem.diffusion_matrix.is_some());
    let error = hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("diagonally dominant") && message.contains("semi_lagrangian"), "{message}");
    assert!(message.contains("-3.000e-2"), "a_22 − |a_12| = 0.045 − 0.075: {message}");
    assert_eq!(error.kind(), hjb::error::ErrorKind::BadInput);
    let text = r#"
[[state]]
name = "x"
bounds = [-1.0, 1.0]
points = 11
[[control]]
name = "u"
bounds = [-1.0, 1.0]
[dynamics]
x = "u"
[diffusion]
y = "0.1"
[cost]
running = "u^2"
[horizon]
final_time = 1.0
"#;
    let message = hjb::parse_problem(text, std::path::Path::new("unknown.toml")).unwrap_err().to_string();
    assert!(message.contains("`y` is not a state"), "{message}");
}

#[test]
fn control_dependent_noise_uses_the_sampled_path() {
    // Noise that grows with the control: dx = u dt + 0.5·u dW. Without running cost on u and
    // with terminal cost x², the trade-off is between steering (drift) and variance.
    // With g = x² and no running cost, V(x, t) = min_u E[x_T²]: the scheme must stay monotone
    // and the value must lie between 0 and the uncontrolled value x² (u = 0 is admissible).
    let text = r#"
[[state]]
name = "x"
bounds = [-2.0, 2.0]
points = 81
[[control]]
name = "u"
bounds = [-1.0, 1.0]
samples = 41
[dynamics]
x = "u"
[diffusion]
x = "0.5*u"
[cost]
running = "0"
terminal = "x^2"
[horizon]
final_time = 0.5
"#;
    let (problem, settings) = common::parse(text, std::path::Path::new("control_noise.toml"));
    let solution = hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap();
    assert_eq!(solution.diagnostics.hamiltonian, "sampled(41)");
    assert!(solution.diagnostics.monotone);
    for node in 0..problem.grid.node_count() {
        let x = problem.grid.point(node)[0];
        let value = solution.values[[node]];
        assert!(value >= -1e-12 && value <= x * x + 1e-12, "V({x}) = {value}");
    }
    // Exact value for |x| large enough to steer at full speed: with u = −sign(x) the drift is
    // −1 and the variance 0.25·T: E[x_T²] = (|x| − T)² + 0.25·T — an upper bound the monotone
    // scheme's value should respect up to its O(h) error.
    let node = problem.grid.node_count() - 1 - 10; // x = 1.5
    let x = problem.grid.point(node)[0];
    let bang = (x - 0.5f64).powi(2) + 0.25 * 0.5;
    assert!(solution.values[[node]] <= bang + 0.05, "V({x}) = {} > {bang}", solution.values[[node]]);
}

#[test]
fn stationary_problems_need_a_discount_and_no_time() {
    let base = r#"
[[state]]
name = "x"
bounds = [-1.0, 1.0]
points = 11
[[control]]
name = "u"
bounds = [-1.0, 1.0]
[dynamics]
x = "u"
[cost]
running = "x^2 + u^2"
discount = 0.1
[horizon]
stationary = true
"#;
    let file = hjb::parse_problem(base, std::path::Path::new("ok.toml")).unwrap();
    let problem = &file.problem;
    assert!(problem.is_stationary());
    let message =
        hjb::parse_problem(&base.replace("discount = 0.1\n", ""), std::path::Path::new("no_discount.toml"))
            .unwrap_err()
            .to_string();
    assert!(message.contains("no_discount.toml:14:14") && message.contains("needs a discount"), "{message}");
    let message =
        hjb::parse_problem(&base.replace("x^2 + u^2", "x^2 + u^2 + t"), std::path::Path::new("t.toml"))
            .unwrap_err()
            .to_string();
    assert!(message.contains("cannot depend on t"), "{message}");
    let message = hjb::parse_problem(
        &base.replace("stationary = true", "stationary = true\nfinal_time = 1.0"),
        std::path::Path::new("both.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(message.contains("both `final_time` and `stationary = true`"), "{message}");
    // Policy iteration takes the extrapolated ends with inward M-matrix rows, and reaches the
    // fixed point of value iteration of the same upwind scheme (to O(ρΔt)·|V|: the explicit step
    // discounts by e^{−ρΔt}). The optimal drift points inward at both ends, where the rows agree.
    let implicit = common::settings(&common::with_scheme(&file.solver, "implicit"));
    let policy_iteration = hjb::solve(problem, &implicit, &mut hjb::Silent).unwrap();
    assert_eq!(policy_iteration.diagnostics.implicit.unwrap().positive_off_diagonal_rows, 0);
    let upwind = common::settings(&common::with_scheme(&file.solver, "upwind"));
    let value_iteration = hjb::solve(problem, &upwind, &mut hjb::Silent).unwrap();
    let size = value_iteration.values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let bound = problem.discount * value_iteration.diagnostics.time_step * size;
    let difference = policy_iteration
        .values
        .iter()
        .zip(&value_iteration.values)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(difference <= bound, "{difference:.3e} > ρΔt‖V‖ = {bound:.3e}");
}

#[test]
fn stationary_value_iteration_is_the_long_time_limit_of_explicit_marching() {
    // The stationary solution equals explicit marching run long enough (here 60/ρ time units,
    // e^{−ρT} ≈ 1e-26) on the same grid and step: the same discrete operator, iterated.
    let file = common::shipped_file("lqr_stochastic");
    let settings = file.settings().unwrap();
    let stationary = file.problem.with_points(&[61]).unwrap();
    let solution = hjb::solve(&stationary, &settings, &mut hjb::Silent).unwrap();
    let mut marching = stationary.clone();
    marching.final_time = 300.0;
    let mut marching_options = file.solver.clone();
    marching_options.time_step = Some(solution.diagnostics.time_step);
    let long = hjb::solve(&marching, &common::settings(&marching_options), &mut hjb::Silent).unwrap();
    let difference = solution.values.iter().zip(&long.values).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    let size = solution.values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    eprintln!("max |V_stationary − V(T = 300)| = {difference:.3e} (|V| ≤ {size:.3})");
    assert!(difference <= 1e-8 * (1.0 + size));
    // And the error against the algebraic Riccati solution (with c = σ²P/ρ) is C·h with
    // C ≈ 2.6 (validation/lqr_stochastic_upwind.toml measures the order): here h = 0.1.
    let error = solution.error.unwrap().linf;
    assert!(error < 3.0 * 0.1, "{error}");
}
