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
    let problem = hjb::parse_problem(NOISY_DOUBLE_INTEGRATOR, std::path::Path::new("noisy.toml")).unwrap();
    // The reference includes c(0) = ∫ tr(ΣΣᵀP) dt > 0.
    let c = match &problem.reference.as_ref().unwrap().solution {
        hjb::problem::ReferenceSolution::Lqr(lqr) => lqr.value_coefficients_at_start().unwrap().1,
        _ => unreachable!(),
    };
    assert!(c > 0.1, "noise constant {c}");
    let levels: Vec<Vec<usize>> = [31, 61, 121].iter().map(|n| vec![*n, *n]).collect();
    let study = hjb::validate::convergence_study(&problem, &levels).unwrap();
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
    let preparation = hjb::solver::prepare(&problem).unwrap();
    let h: f64 = 0.1;
    let expected = preparation.plan.time_step * 2.0 * (0.5 * 0.4 * 0.4) / (h * h);
    assert!((preparation.stability.diffusion_number - expected).abs() < 1e-12);
}

#[test]
fn correlated_noise_is_refused_with_the_reason() {
    let text = NOISY_DOUBLE_INTEGRATOR
        .replace("Sigma = [[0.0, 0.0], [0.0, 0.4]]", "Sigma = [[0.1, 0.2], [0.0, 0.4]]");
    let error = hjb::parse_problem(&text, std::path::Path::new("correlated.toml")).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("correlated.toml:16:9") && message.contains("non-diagonal"), "{message}");
    assert_eq!(error.exit_code(), 2);
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
    let problem = hjb::parse_problem(text, std::path::Path::new("control_noise.toml")).unwrap();
    let solution = hjb::solve(&problem, &mut hjb::Silent).unwrap();
    assert_eq!(solution.diagnostics.hamiltonian, "sampled(41)");
    assert!(solution.diagnostics.monotone);
    for node in 0..problem.grid.node_count() {
        let x = problem.grid.point(node)[0];
        let value = solution.values[node];
        assert!(value >= -1e-12 && value <= x * x + 1e-12, "V({x}) = {value}");
    }
    // Exact value for |x| large enough to steer at full speed: with u = −sign(x) the drift is
    // −1 and the variance 0.25·T: E[x_T²] = (|x| − T)² + 0.25·T — an upper bound the monotone
    // scheme's value should respect up to its O(h) error.
    let node = problem.grid.node_count() - 1 - 10; // x = 1.5
    let x = problem.grid.point(node)[0];
    let bang = (x - 0.5f64).powi(2) + 0.25 * 0.5;
    assert!(solution.values[node] <= bang + 0.05, "V({x}) = {} > {bang}", solution.values[node]);
}
