//! Correlated noise (a full σ, `[lqr] Sigma` n × k or `[diffusion_matrix]`): the semi-Lagrangian
//! scheme's Camilli–Falcone feet along the columns of σ and the explicit schemes' cross stencil
//! (where the noise is diagonally dominant), against the Riccati solution whose noise term
//! tr(ΣΣᵀP) depends on the correlation.

mod common;

use hjb::{parse_problem, solve, Silent};
use std::path::Path;

fn double_integrator(points: usize, sigma: &str, scheme: &str) -> (hjb::Problem, hjb::Settings) {
    let text = format!(
        r#"[[state]]
name = "x"
bounds = [-3.0, 3.0]
points = {points}

[[state]]
name = "v"
bounds = [-3.0, 3.0]
points = {points}

[lqr]
A = [[0.0, 1.0], [0.0, 0.0]]
B = [[0.0], [1.0]]
Q = [[1.0, 0.0], [0.0, 1.0]]
R = [[1.0]]
S = [[1.0, 0.0], [0.0, 1.0]]
Sigma = {sigma}

[horizon]
final_time = 1.0

[solver]
scheme = "{scheme}"

[reference]
kind = "lqr"
region = {{ x = [-1.0, 1.0], v = [-1.0, 1.0] }}
"#
    );
    common::split(parse_problem(&text, Path::new("correlated.toml")).unwrap())
}

const CORRELATED: &str = "[[0.3, 0.0], [0.2, 0.3]]";
/// The same marginal variances (ΣΣᵀ diagonal 0.09, 0.13) without the correlation.
const INDEPENDENT: &str = "[[0.3, 0.0], [0.0, 0.36055512754639896]]";

#[test]
fn correlated_noise_converges_to_the_riccati_value() {
    // a = ΣΣᵀ/2 = [[0.045, 0.03], [0.03, 0.065]] is diagonally dominant on equal spacings, so
    // the upwind cross stencil applies as well as the semi-Lagrangian feet.
    for scheme in ["semi_lagrangian", "upwind"] {
        let mut errors = Vec::new();
        for points in [31, 61, 121, 241] {
            let (problem, settings) = double_integrator(points, CORRELATED, scheme);
            let solution = solve(&problem, &settings, &mut Silent).unwrap();
            let error = solution.error.unwrap();
            errors.push((problem.grid.spacings()[0], error.linf));
        }
        for k in 1..errors.len() {
            let order = (errors[k - 1].1 / errors[k].1).ln() / (errors[k - 1].0 / errors[k].0).ln();
            eprintln!("{scheme}, h = {:.4}: L∞ {:.4e}, order {order:.3}", errors[k].0, errors[k].1);
            assert!((0.8..=1.5).contains(&order), "{scheme}: order {order}");
        }
    }
}

#[test]
fn the_solvers_see_the_correlation() {
    for scheme in ["semi_lagrangian", "upwind"] {
        correlation_gap(scheme);
    }
}

fn correlation_gap(scheme: &str) {
    // Solve with the correlated Σ and with an independent Σ of the same marginal variances. The
    // references differ by the constant ∫ 2(ΣΣᵀ)₁₂P₁₂ dt; the discretisation errors of the two
    // solves nearly cancel in their difference, which must reproduce that constant.
    let (correlated, correlated_settings) = double_integrator(121, CORRELATED, scheme);
    let (independent, independent_settings) = double_integrator(121, INDEPENDENT, scheme);
    let (a, b) = (
        solve(&correlated, &correlated_settings, &mut Silent).unwrap(),
        solve(&independent, &independent_settings, &mut Silent).unwrap(),
    );
    let (reference_a, reference_b) = (a.reference.unwrap(), b.reference.unwrap());
    let grid = &correlated.grid;
    let (mut gap, mut mismatch) = (0.0f64, 0.0f64);
    for node in 0..grid.node_count() {
        let p = grid.point(node);
        if p[0].abs() <= 1.0 && p[1].abs() <= 1.0 {
            let index = grid.unravel(node);
            let exact = reference_a[&*index] - reference_b[&*index];
            gap = gap.max(exact.abs());
            mismatch = mismatch.max((a.values[&*index] - b.values[&*index] - exact).abs());
        }
    }
    eprintln!("{scheme}: reference gap {gap:.4e}, solver gap off by {mismatch:.4e}");
    assert!(gap > 1e-2, "the test needs a visible correlation term: {gap}");
    assert!(mismatch < 0.2 * gap, "{mismatch} vs {gap}");
}

#[test]
fn the_implicit_scheme_refuses_correlated_noise_with_the_pointer() {
    let (problem, settings) = double_integrator(31, CORRELATED, "implicit");
    let error = solve(&problem, &settings, &mut Silent).unwrap_err();
    assert_eq!(error.kind(), hjb::error::ErrorKind::BadInput);
    assert!(error.to_string().contains("semi_lagrangian"), "{error}");
}

#[test]
fn a_noise_matrix_of_the_wrong_shape_is_refused() {
    let text = r#"[[state]]
name = "x"
bounds = [-1.0, 1.0]
points = 11

[[state]]
name = "y"
bounds = [-1.0, 1.0]
points = 11

[[control]]
name = "u"
bounds = [-1.0, 1.0]

[dynamics]
x = "u"
y = "0"

[diffusion_matrix]
sigma = [["0.1", "0.2"]]

[cost]
running = "x^2 + u^2"

[horizon]
final_time = 1.0
"#;
    let error = parse_problem(text, Path::new("bad_noise.toml")).unwrap_err();
    assert_eq!(error.kind(), hjb::error::ErrorKind::BadInput);
    assert!(error.to_string().contains("diffusion_matrix.sigma"), "{error}");
}

#[test]
fn control_dependent_noise_matrices_with_more_brownian_motions_than_states_solve() {
    // One state, two Brownian motions, σ depending on the control: the sampled semi-Lagrangian
    // path (no refinement off the samples). dx = u dt + (0.1u dW₁ + 0.2 dW₂), cost x² + u²,
    // T = 1, g = x²: compare with the same noise written as one σ = √(0.01u² + 0.04).
    let text = |noise: &str| {
        format!(
            r#"[[state]]
name = "x"
bounds = [-2.0, 2.0]
points = 201

[[control]]
name = "u"
bounds = [-3.0, 3.0]
samples = 61

{noise}

[dynamics]
x = "u"

[cost]
running = "x^2 + u^2"
terminal = "x^2"

[horizon]
final_time = 1.0

[solver]
scheme = "semi_lagrangian"
refine = false
"#
        )
    };
    let (matrix, matrix_settings) =
        common::parse(&text("[diffusion_matrix]\nsigma = [[\"0.1*u\", \"0.2\"]]"), Path::new("m.toml"));
    let (diagonal, diagonal_settings) =
        common::parse(&text("[diffusion]\nx = \"sqrt(0.01*u^2 + 0.04)\""), Path::new("d.toml"));
    let (a, b) = (
        solve(&matrix, &matrix_settings, &mut Silent).unwrap(),
        solve(&diagonal, &diagonal_settings, &mut Silent).unwrap(),
    );
    let report = a.diagnostics.semi_lagrangian.as_ref().unwrap();
    assert_eq!(report.noisy_axes, 2, "two noise columns");
    assert!(report.noise_spread_cells.is_finite());
    // Same generator, different feet (2 columns vs 1 axis): the values agree to the scheme's
    // O(h²/Δt) interpolation term (h = Δt = 0.02) on the interior.
    let grid = &matrix.grid;
    let largest = (0..grid.node_count())
        .filter(|node| grid.point(*node)[0].abs() <= 1.0)
        .map(|node| (a.values.as_slice().unwrap()[node] - b.values.as_slice().unwrap()[node]).abs())
        .fold(0.0, f64::max);
    eprintln!("matrix vs diagonal noise: {largest:.3e}");
    assert!(largest < 2e-2, "{largest}");
}
