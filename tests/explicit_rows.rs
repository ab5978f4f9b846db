//! The explicit step's vectorised row kernel against its node rule: identical bits for values and
//! policies, step after step, through every boundary closure (extrapolated, periodic, Dirichlet),
//! diffusion, discounting, quadratic and linear control costs, gains that vanish at some nodes,
//! two controls, both differencings, 1-D to 3-D, rows longer than a segment, and any thread count;
//! and every class of control cost the kernel specialises on (none, convex, linear, a curvature
//! that changes sign over the grid) in both of its passes.

use hjb::problem::parse_problem;
use hjb::solver::prepare;
use hjb::time::ExplicitStepper;
use std::path::Path;

/// A 3-D problem through every path of the kernel: a periodic axis, a Dirichlet axis, an
/// extrapolated axis; `u` with a convex cost and a gain `y` that is zero on the middle plane;
/// `w` with a linear cost (bang-bang); diffusion and discounting.
const THREE_D: &str = r#"
[[state]]
name = "x"
bounds = [0.0, 6.283185307179586]
points = 12
periodic = true

[[state]]
name = "y"
bounds = [-1.0, 1.0]
points = 9
boundary = "dirichlet"
dirichlet = "sin(x) + y^2 + 0.5*t"

[[state]]
name = "z"
bounds = [-1.0, 1.0]
points = 11

[[control]]
name = "u"
bounds = [-1.0, 2.0]

[[control]]
name = "w"
bounds = [-0.5, 0.5]

[dynamics]
x = "1 + 0.5*sin(y)"
y = "0.3*z - y + y*u"
z = "x - 3 + (1 + 0.2*x)*w"

[diffusion]
x = "0.3"
y = "0.2"

[cost]
running = "0.1*x^2 + u^2 + 0.5*u + 0.3*w"
terminal = "sin(x) + y^2 + z"
discount = 0.3

[horizon]
final_time = 0.5
"#;

/// The double integrator of hj_reachability's examples (extrapolated ends, no running cost).
fn reach_text() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("problems/double_integrator_reach.toml"),
    )
    .expect("shipped problem")
}

/// A 1-D problem: one row, both ends through the closures.
const ONE_D: &str = r#"
[[state]]
name = "x"
bounds = [-2.0, 2.0]
points = 41

[[control]]
name = "u"
bounds = [-1.0, 1.0]

[dynamics]
x = "x + u"

[cost]
running = "x^2 + 2*u^2"
terminal = "abs(x)"

[horizon]
final_time = 1.0
"#;

/// Two controls, one per axis, with `running` as the running cost and `extra` appended (a
/// `[diffusion]` section or nothing).
fn two_controls(running: &str, extra: &str) -> String {
    format!(
        r#"
[[state]]
name = "x"
bounds = [-1.0, 1.0]
points = 21

[[state]]
name = "y"
bounds = [-1.0, 1.0]
points = 19

[[control]]
name = "a"
bounds = [-1.0, 1.0]

[[control]]
name = "b"
bounds = [-0.5, 1.0]

[dynamics]
x = "y + a"
y = "-x + (1 + x)*b"

[cost]
running = "{running}"
terminal = "x^2 + abs(y)"

[horizon]
final_time = 0.5
{extra}"#
    )
}

/// `steps` explicit steps of `text` on `points` with `scheme`, by the row kernel and by the node
/// rule, in pools of `threads`; every value and control must have the same bits.
fn assert_identical(text: &str, points: &[usize], scheme: &str, steps: usize) {
    let file = parse_problem(text, Path::new("identity.toml")).expect("problem");
    let mut options = file.solver.clone();
    options.scheme = Some(scheme.to_string());
    options.accuracy = None;
    options.derivatives = None;
    options.time_integrator = None;
    let settings = options.settings().expect("settings");
    let problem = file.problem.with_points(points).expect("grid");
    let preparation = prepare(&problem, &settings).expect("prepare");
    let m = problem.controls.len();
    let nodes = problem.grid.node_count();
    let run = |node_rule: bool, threads: usize| {
        let stepper = ExplicitStepper::new(
            &problem,
            settings.differencing,
            &preparation.model,
            preparation.plan.time_step,
        );
        assert!(stepper.uses_row_kernel(), "{scheme} on {points:?}: the row kernel should apply");
        let stepper = if node_rule { stepper.node_rule_only() } else { stepper };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        pool.install(|| {
            let t_final = problem.final_time;
            let mut old =
                problem.tabulate(&problem.terminal_cost, &preparation.coordinates, &vec![0.0; m], t_final);
            let mut new = vec![0.0; nodes];
            let mut policy = vec![0.0; nodes * m];
            let mut history = Vec::new();
            for step in 0..steps {
                let t_new = t_final - (step + 1) as f64 * preparation.plan.time_step;
                let fixed = problem.fixed_values(&preparation.coordinates, t_new);
                let outcome = stepper.step(&preparation.table, &old, &mut new, &mut policy, fixed.as_deref());
                history.push((new.clone(), policy.clone(), outcome));
                std::mem::swap(&mut old, &mut new);
            }
            history
        })
    };
    let reference = run(true, 1);
    for threads in [1, 2, 3] {
        let rows = run(false, threads);
        for (step, ((values, policy, outcome), (expected, expected_policy, expected_outcome))) in
            rows.iter().zip(&reference).enumerate()
        {
            for node in 0..nodes {
                assert_eq!(
                    values[node].to_bits(),
                    expected[node].to_bits(),
                    "{scheme} {points:?}, {threads} threads, step {step}, node {node}: {} vs {}",
                    values[node],
                    expected[node]
                );
            }
            for (k, (u, expected)) in policy.iter().zip(expected_policy).enumerate() {
                assert_eq!(
                    u.to_bits(),
                    expected.to_bits(),
                    "{scheme} {points:?}, step {step}, control slot {k}"
                );
            }
            assert_eq!(outcome, expected_outcome, "{scheme} {points:?}, step {step}: outcome");
        }
    }
    // The steps did something: the values moved away from the terminal cost.
    let moved = reference.last().expect("steps").0.iter().zip(&reference[0].0).any(|(a, b)| a != b);
    assert!(moved, "{scheme} {points:?}: nothing changed");
}

#[test]
fn row_kernel_equals_node_rule_on_the_reach_problem() {
    for scheme in ["upwind", "lax_friedrichs"] {
        assert_identical(&reach_text(), &[41, 37], scheme, 12);
    }
}

#[test]
fn row_kernel_equals_node_rule_in_three_dimensions_with_every_closure() {
    for scheme in ["upwind", "lax_friedrichs"] {
        assert_identical(THREE_D, &[12, 9, 11], scheme, 8);
        // Thin axes: rows of two nodes, a face on every side.
        assert_identical(THREE_D, &[4, 3, 2], scheme, 4);
    }
}

#[test]
fn row_kernel_equals_node_rule_in_one_dimension() {
    for scheme in ["upwind", "lax_friedrichs"] {
        assert_identical(ONE_D, &[41], scheme, 20);
    }
}

#[test]
fn row_kernel_equals_node_rule_on_rows_longer_than_a_segment() {
    // Rows are computed in segments of 512 nodes and a 1-D row of more than 2048 nodes is shared
    // among tasks: the segments' inner ends read grid values, the row's ends the closures.
    for scheme in ["upwind", "lax_friedrichs"] {
        assert_identical(ONE_D, &[5001], scheme, 6);
        assert_identical(THREE_D, &[3, 3, 1100], scheme, 4);
    }
}

#[test]
fn row_kernel_equals_node_rule_for_every_class_of_control_cost() {
    for scheme in ["upwind", "lax_friedrichs"] {
        // `a` without a cost (the first control, in a pass of its own) and `b` with a curvature
        // `x·b²` that changes sign over the grid (the last, fused with the expectation), with
        // diffusion along `y`.
        let text = two_controls("x^2 + x*b^2 + 0.2*b", "\n[diffusion]\ny = \"0.1\"\n");
        assert_identical(&text, &[21, 19], scheme, 10);
        // Swapped: `a` with the changing curvature first, `b` without a cost last; no diffusion.
        assert_identical(&two_controls("x^2 + y*a^2 - 0.3*a", ""), &[21, 19], scheme, 10);
    }
}
