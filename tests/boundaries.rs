//! Boundary handling against exact transport solutions: periodic wrap and Dirichlet inflow.
//!
//! With `dx = c dt`, zero running cost and terminal cost g, `V(x, 0) = g(x + cT)` while the
//! trajectory stays in the box; a trajectory that reaches a Dirichlet boundary at time s pays the
//! boundary value b(x, s) there.

mod common;

use hjb::validate::convergence_study;

fn assert_order(text: &str, name: &str, levels: &[usize], minimum_order: f64) -> Vec<hjb::validate::Level> {
    let (problem, settings) = common::parse(text, std::path::Path::new(name));
    let levels: Vec<Vec<usize>> = levels.iter().map(|n| vec![*n]).collect();
    let study = convergence_study(&problem, &settings, &levels).unwrap();
    for level in &study {
        eprintln!("{name}: {:?} L∞ {:.3e} order {:?}", level.points, level.linf, level.order_linf);
    }
    for level in &study[1..] {
        let order = level.order_linf.unwrap();
        assert!(order >= minimum_order, "{name}: order {order:.3} < {minimum_order}");
    }
    study
}

#[test]
fn periodic_transport_wraps_around() {
    // Speed 1 on the circle [0, 2π) for T = 2.5 > half a turn: V(x, 0) = sin(x + 2.5).
    let text = r#"
[[state]]
name = "x"
bounds = [0.0, 6.283185307179586]
points = 200
periodic = true

[[control]]
name = "u"
bounds = [-1.0, 1.0]

[dynamics]
x = "1"

[cost]
running = "u^2"
terminal = "sin(x)"

[horizon]
final_time = 2.5

[solver]
cfl = 0.5

[reference]
kind = "formula"
value = "sin(x + 2.5)"
region = { x = [0.0, 6.2] }
"#;
    assert_order(text, "periodic", &[100, 200, 400, 800], 0.9);
}

#[test]
fn dirichlet_inflow_enters_from_the_boundary() {
    // Speed −1 on [0, 2], T = 1: for x < 1 the path exits at x = 0 at time s = x and pays
    // b(0, s) = sin(s − 1) + 2(1 − s)²; otherwise g(x − 1) = sin(x − 1). (At x = 2 the boundary
    // formula equals the exact value, which is all a Dirichlet node at an outflow end can hold.)
    let text = r#"
[[state]]
name = "x"
bounds = [0.0, 2.0]
points = 201
boundary = "dirichlet"
dirichlet = "sin(x - (1 - t)) + 2*max(1 - t - x, 0)^2"

[[control]]
name = "u"
bounds = [-1.0, 1.0]

[dynamics]
x = "-1"

[cost]
running = "u^2"
terminal = "sin(x)"

[horizon]
final_time = 1.0

[solver]
cfl = 0.5

[reference]
kind = "formula"
value = "sin(x - 1) + 2*max(1 - x, 0)^2"
region = { x = [0.0, 2.0] }
"#;
    let study = assert_order(text, "dirichlet", &[101, 201, 401, 801], 0.9);
    // The extrapolating closure would miss the boundary data by up to 2: the Dirichlet values
    // are really used.
    assert!(study.last().unwrap().linf < 1e-2);
}
