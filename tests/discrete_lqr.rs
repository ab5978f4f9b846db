//! The discrete-time LQR backward recursion converges to the continuous Riccati solution at
//! first order in Δt (Euler discretisation of the dynamics and the cost).

mod common;

use faer::Mat;
use hjb::problem::lqr::{discrete_lqr_backward, matrix_from_rows, Lqr};

fn double_integrator(discount: f64) -> Lqr {
    Lqr {
        a: matrix_from_rows(&[vec![0.0, 1.0], vec![0.0, 0.0]]),
        b: matrix_from_rows(&[vec![0.0], vec![1.0]]),
        q: Mat::identity(2, 2),
        r: matrix_from_rows(&[vec![1.0]]),
        s: Mat::identity(2, 2),
        sigma: None,
        discount,
        final_time: 1.0,
    }
}

fn max_difference(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    let mut largest = 0.0f64;
    for i in 0..a.nrows() {
        for j in 0..a.ncols() {
            largest = largest.max((a[(i, j)] - b[(i, j)]).abs());
        }
    }
    largest
}

#[test]
fn discrete_recursion_converges_at_first_order() {
    for discount in [0.0, 0.3] {
        let lqr = double_integrator(discount);
        let (continuous, _) = lqr.value_coefficients_at_start().unwrap();
        let mut errors = Vec::new();
        let mut steps_list = Vec::new();
        for steps in [20usize, 40, 80, 160, 320] {
            let time_step = lqr.final_time / steps as f64;
            let stage = lqr.euler_stage(time_step);
            let terminal = &lqr.s * faer::Scale(2.0);
            let solution = discrete_lqr_backward(&stage, &terminal, &Mat::zeros(2, 1), steps).unwrap();
            let p = &solution.value_hessians[0] * faer::Scale(0.5);
            errors.push(max_difference(&p, &continuous));
            steps_list.push(steps);
            // The gain is the discrete analogue of −R⁻¹BᵀP: K_0 → −BᵀP(0) as Δt → 0.
            assert_eq!(solution.gains.len(), steps);
            assert!(max_difference(&solution.feedforwards[0], &Mat::zeros(1, 1)) < 1e-14);
        }
        for k in 1..errors.len() {
            let order = (errors[k - 1] / errors[k]).ln() / 2f64.ln();
            eprintln!(
                "ρ = {discount}: {} steps, |P_Δt − P| = {:.3e}, order {order:.3}",
                steps_list[k], errors[k]
            );
            assert!((0.9..=1.1).contains(&order), "observed order {order} in Δt is not first order");
        }
        let (gain_continuous, gain_discrete) = {
            let steps = 320;
            let stage = lqr.euler_stage(lqr.final_time / steps as f64);
            let solution =
                discrete_lqr_backward(&stage, &(&lqr.s * faer::Scale(2.0)), &Mat::zeros(2, 1), steps)
                    .unwrap();
            (-(lqr.b.transpose() * &continuous), solution.gains[0].clone())
        };
        assert!(max_difference(&gain_continuous, &gain_discrete) < 0.02);
    }
}

#[test]
fn discrete_recursion_handles_affine_terms() {
    // A scalar problem with a linear cost term and a drift offset: compare with brute-force
    // dynamic programming over a fine grid of x and u (two stages).
    let stage = hjb::problem::lqr::DiscreteLqrStage {
        dynamics: matrix_from_rows(&[vec![0.9, 0.5]]),
        offset: matrix_from_rows(&[vec![0.2]]),
        cost_hessian: matrix_from_rows(&[vec![1.0, 0.1], vec![0.1, 2.0]]),
        cost_gradient: matrix_from_rows(&[vec![0.3], vec![-0.4]]),
        discount: 0.95,
    };
    let terminal_hessian = matrix_from_rows(&[vec![1.5]]);
    let terminal_gradient = matrix_from_rows(&[vec![-0.2]]);
    let solution = discrete_lqr_backward(&stage, &terminal_hessian, &terminal_gradient, 2).unwrap();
    let terminal = |x: f64| 0.75 * x * x - 0.2 * x;
    let stage_cost = |x: f64, u: f64| 0.5 * (x * x + 0.2 * x * u + 2.0 * u * u) + 0.3 * x - 0.4 * u;
    let next = |x: f64, u: f64| 0.9 * x + 0.5 * u + 0.2;
    // The recursion tracks the value up to a constant, so compare differences V(x) − V(0).
    // The stage objective is strictly convex in u here, so a ternary search finds its minimum.
    let one_stage = |x: f64, later: &dyn Fn(f64) -> f64| {
        let objective = |u: f64| stage_cost(x, u) + 0.95 * later(next(x, u));
        let (mut low, mut high) = (-20.0f64, 20.0f64);
        for _ in 0..200 {
            let (a, b) = (low + (high - low) / 3.0, high - (high - low) / 3.0);
            if objective(a) < objective(b) {
                high = b;
            } else {
                low = a;
            }
        }
        objective(0.5 * (low + high))
    };
    let value_one = |x: f64| one_stage(x, &terminal);
    let value_zero = |x: f64| one_stage(x, &value_one);
    let quadratic =
        |x: f64| 0.5 * solution.value_hessians[0][(0, 0)] * x * x + solution.value_gradients[0][(0, 0)] * x;
    for x in [-1.0, -0.3, 0.5, 1.2] {
        let brute = value_zero(x) - value_zero(0.0);
        let recursion = quadratic(x) - quadratic(0.0);
        assert!((brute - recursion).abs() < 1e-9, "x = {x}: brute force {brute}, recursion {recursion}");
    }
}
