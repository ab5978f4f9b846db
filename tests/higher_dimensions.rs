//! The same scheme in 3-D and 4-D: errors against Riccati shrink at first order.

mod common;

use hjb::validate::convergence_study;

fn study(text: &str, name: &str, levels: &[usize]) -> Vec<hjb::validate::Level> {
    let (problem, settings) = common::parse(text, std::path::Path::new(name));
    let dimension = problem.grid.dimension();
    let levels: Vec<Vec<usize>> = levels.iter().map(|n| vec![*n; dimension]).collect();
    let study = convergence_study(&problem, &settings, &levels).unwrap();
    for level in &study {
        eprintln!("{name}: {:?} L∞ {:.4e} order {:?}", level.points, level.linf, level.order_linf);
    }
    study
}

#[test]
fn triple_integrator_in_three_dimensions() {
    // ẋ = v, v̇ = a, ȧ = u: the chain of three integrators, cost ∫(|z|² + u²) + |z(T)|².
    let text = r#"
[[state]]
name = "x"
bounds = [-2.0, 2.0]
points = 41
[[state]]
name = "v"
bounds = [-2.0, 2.0]
points = 41
[[state]]
name = "a"
bounds = [-2.0, 2.0]
points = 41
[lqr]
A = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
B = [[0.0], [0.0], [1.0]]
Q = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
R = [[1.0]]
S = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
[horizon]
final_time = 0.5
[reference]
kind = "lqr"
region = { x = [-0.5, 0.5], v = [-0.5, 0.5], a = [-0.5, 0.5] }
"#;
    // Levels whose spacing divides 0.5, so that every level has nodes on the region's faces.
    let levels = study(text, "triple_integrator", &[17, 33, 65]);
    for level in &levels[1..] {
        let order = level.order_linf.unwrap();
        assert!((0.8..=1.5).contains(&order), "order {order}");
    }
}

#[test]
fn two_decoupled_double_integrators_in_four_dimensions() {
    // Two copies of the double integrator, each with its own control: V is the sum of two 2-D
    // values, and the solver must reproduce the 2-D solution's error behaviour in 4-D.
    let text = r#"
[[state]]
name = "x1"
bounds = [-2.0, 2.0]
points = 9
[[state]]
name = "v1"
bounds = [-2.0, 2.0]
points = 9
[[state]]
name = "x2"
bounds = [-2.0, 2.0]
points = 9
[[state]]
name = "v2"
bounds = [-2.0, 2.0]
points = 9
[lqr]
A = [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]]
B = [[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]
Q = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
R = [[1.0, 0.0], [0.0, 1.0]]
S = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
[horizon]
final_time = 0.5
[reference]
kind = "lqr"
region = { x1 = [-0.5, 0.5], v1 = [-0.5, 0.5], x2 = [-0.5, 0.5], v2 = [-0.5, 0.5] }
"#;
    let levels = study(text, "two_double_integrators", &[9, 17, 33]);
    assert!(levels[2].linf < levels[1].linf && levels[1].linf < levels[0].linf);
    let order = levels[2].order_linf.unwrap();
    assert!((0.8..=1.5).contains(&order), "order {order}");
    // Separable problem: the 4-D solution on the plane x2 = v2 = 0 equals the 2-D one on the
    // same grid and time step? Not exactly (the time step differs with the dimension), but the
    // errors are comparable: check the 2-D problem's error at the same h and T.
    let planar = r#"
[[state]]
name = "x1"
bounds = [-2.0, 2.0]
points = 33
[[state]]
name = "v1"
bounds = [-2.0, 2.0]
points = 33
[lqr]
A = [[0.0, 1.0], [0.0, 0.0]]
B = [[0.0], [1.0]]
Q = [[1.0, 0.0], [0.0, 1.0]]
R = [[1.0]]
S = [[1.0, 0.0], [0.0, 1.0]]
[horizon]
final_time = 0.5
[reference]
kind = "lqr"
region = { x1 = [-0.5, 0.5], v1 = [-0.5, 0.5] }
"#;
    let (planar, planar_settings) = common::parse(planar, std::path::Path::new("planar"));
    let error_2d = hjb::solve(&planar, &planar_settings, &mut hjb::Silent).unwrap().error.unwrap().linf;
    // V₄(z) = V₂(z₁) + V₂(z₂): the 4-D error is at most about twice the 2-D one (the time
    // step is smaller in 4-D, which only helps).
    assert!(levels[2].linf <= 2.5 * error_2d, "4-D {} vs 2-D {error_2d}", levels[2].linf);
}
