//! Differential games and reachability against exact solutions: the 1-D pursuit game and a
//! separable 2-D game (closed form, affine and sampled min–max agree with the Hopf–Lax values),
//! the double-integrator tube, a reach–avoid value through an obstacle, air3d's set on a coarse
//! grid (same bits on 1 and 2 threads, the optimal inputs bang–bang), and the refusals.

mod common;

use hjb::{solve, Silent, SolverOptions};
use std::path::Path;

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("problems").join(name))
        .expect("problem file")
}

fn solve_text(text: &str, options: impl FnOnce(&mut SolverOptions)) -> hjb::Solution {
    let file = hjb::parse_problem(text, Path::new("inline.toml")).expect("problem parses");
    let mut solver = file.solver.clone();
    options(&mut solver);
    let settings = solver.settings().expect("valid settings");
    solve(&file.problem, &settings, &mut Silent).expect("solve succeeds")
}

fn parse_error(text: &str) -> String {
    hjb::parse_problem(text, Path::new("inline.toml")).expect_err("refused").to_string()
}

/// `ẋ = u + d`: V = max(|x| − (a − b)T, 0) − r. Lax–Friedrichs is first order in L1 (the kinks
/// cost ½ in L∞), and the tube's edge sits at |x| = r + (a − b)T = 1 within two cells.
#[test]
fn one_dimensional_game_converges_to_the_hopf_lax_value() {
    let text = read("game_1d.toml");
    let mut errors = Vec::new();
    for points in [121, 241, 481] {
        let solution = solve_text(&text.replace("points = 241", &format!("points = {points}")), |_| {});
        let error = solution.error.expect("reference");
        errors.push(error.l1);
        let reach = solution.diagnostics.reachable.expect("reachability report");
        // {V ≤ 0} = [-1, 1] of [-3, 3]: a third of the grid, within two cells per edge.
        let h = 6.0 / (points - 1) as f64;
        assert!(
            (reach.inside_fraction - 1.0 / 3.0).abs() <= 4.0 * h / 6.0 + 1.0 / points as f64,
            "{reach:?}"
        );
        // Away from the target the pursuer heads in at full speed and the evader pushes out.
        let x = solution.values.len();
        let (u, d) = (&solution.policy[0], &solution.policy[1]);
        assert_eq!(u[[x / 6]], 1.0, "u at x = -2");
        assert_eq!(d[[x / 6]], -0.5, "d at x = -2");
        assert_eq!(u[[5 * x / 6]], -1.0, "u at x = 2");
        assert_eq!(d[[5 * x / 6]], 0.5, "d at x = 2");
    }
    let orders: Vec<f64> = errors.windows(2).map(|pair| (pair[0] / pair[1]).log2()).collect();
    eprintln!("L1 errors {errors:?}, orders {orders:?}");
    assert!(errors[2] < 0.02, "{errors:?}");
    assert!(orders.iter().all(|order| *order > 0.85), "orders {orders:?}");
}

/// `ẋ = u` (|u| ≤ 1, minimising), `ẏ = d` (|d| ≤ ½, maximising), `l = |x| + |y| − 1`, the set
/// (no projection): the Hamiltonian `−|p_x| + ½|p_y|` separates, so V = max(|x| − T, 0) + |y| +
/// T/2 − 1. One input per state: the upwind closed form applies, Lax–Friedrichs too, and the
/// sampled min–max (bounds among the samples) equals the closed form.
const SEPARABLE: &str = r#"
name = "separable_game"
[[state]]
name = "x"
bounds = [-2.0, 2.0]
points = 81
[[state]]
name = "y"
bounds = [-2.0, 2.0]
points = 81
[[control]]
name = "u"
bounds = [-1.0, 1.0]
samples = 5
[[disturbance]]
name = "d"
bounds = [-0.5, 0.5]
samples = 5
[dynamics]
x = "u"
y = "d"
[reachability]
mode = "set"
target = "abs(x) + abs(y) - 1"
[horizon]
final_time = 0.5
[reference]
kind = "formula"
value = "max(abs(x) - 0.5, 0) + abs(y) + 0.25 - 1"
region = { x = [-1.0, 1.0], y = [-1.0, 1.0] }
"#;

#[test]
fn separable_game_is_first_order_with_every_min_max() {
    let at = |points: usize| SEPARABLE.replace("points = 81", &format!("points = {points}"));
    let upwind = solve_text(&at(81), |_| {});
    assert_eq!(upwind.diagnostics.hamiltonian, "closed_form");
    assert_eq!(upwind.diagnostics.game.as_deref(), Some("min_u max_d"));
    let finer = solve_text(&at(161), |_| {});
    let lax_friedrichs = solve_text(&at(81), |o| o.scheme = Some("lax_friedrichs".into()));
    let sampled = solve_text(&at(81), |o| {
        o.scheme = Some("lax_friedrichs".into());
        o.force_sampled = true;
    });
    assert_eq!(sampled.diagnostics.hamiltonian, "sampled(25)");
    let (e_upwind, e_finer, e_lf) =
        (upwind.error.unwrap().l1, finer.error.unwrap().l1, lax_friedrichs.error.unwrap().l1);
    let order = (e_upwind / e_finer).log2();
    eprintln!("L1 upwind {e_upwind:.3e} → {e_finer:.3e} (order {order:.2}), Lax–Friedrichs {e_lf:.3e}");
    // L1 is first order (measured 2.1e-2, 1.04e-2); L∞ only ½ at the kinks of |x|, |y|.
    assert!(order > 0.9 && e_finer < 0.012, "{e_upwind} {e_finer}");
    // Upwind is the sharper of the two monotone schemes on this Hamiltonian.
    assert!(e_upwind < e_lf, "{e_upwind} {e_lf}");
    // The min over 5 samples of the max over 5 samples hits the same bounds as the closed form.
    let gap = (&sampled.values - &lax_friedrichs.values).iter().fold(0.0f64, |a, v| a.max(v.abs()));
    assert!(gap < 1e-12, "sampled vs closed form {gap:e}");
}

#[test]
fn affine_row_rule_and_node_rule_give_the_same_bits() {
    // A one-member ball is the interval [-R, R] optimised by the node rule; the box goes through
    // the row rule: same arithmetic, same bits.
    let text = read("game_1d.toml");
    let row = solve_text(&text, |_| {});
    let ball = text.replace("bounds = [-0.5, 0.5]", "bounds = [-0.5, 0.5]\nnorm = 2\ngroup = \"push\"");
    let node = solve_text(&ball, |_| {});
    assert_eq!(row.values, node.values);
    assert_eq!(row.policy[0], node.policy[0]);
}

#[test]
fn double_integrator_tube_is_first_order_against_the_exact_tube() {
    let text = read("double_integrator_tube.toml");
    let errors: Vec<f64> = [51, 101]
        .iter()
        .map(|points| {
            let solution = solve_text(&text.replace("points = 101", &format!("points = {points}")), |_| {});
            solution.error.expect("reference").linf
        })
        .collect();
    let order = (errors[0] / errors[1]).log2();
    eprintln!("L∞ errors {errors:?}, order {order:.3}");
    assert!(errors[1] < 7e-3 && order > 0.9, "{errors:?}");
}

/// `ẋ = u`, |u| ≤ 1, target |x| ≤ ¼, obstacle |x − 1| ≤ 0.1, T = 2. From x = 1.5 the only way in
/// crosses the obstacle, where −o peaks at 0.1: V = 0.1 (the plain tube gives −¼); from x = −1
/// nothing is in the way: V = −¼.
#[test]
fn reach_avoid_value_through_an_obstacle() {
    let text = r#"
name = "reach_avoid_1d"
[[state]]
name = "x"
bounds = [-2.0, 2.0]
points = 401
[[control]]
name = "u"
bounds = [-1.0, 1.0]
[dynamics]
x = "u"
[reachability]
mode = "reach_avoid"
target = "abs(x) - 0.25"
obstacle = "abs(x - 1) - 0.1"
[horizon]
final_time = 2.0
"#;
    let at = |solution: &hjb::Solution, x: f64| solution.values[[((x + 2.0) / 0.01).round() as usize]];
    let avoid = solve_text(text, |_| {});
    let tube = solve_text(
        &text.replace("reach_avoid", "tube").replace("obstacle = \"abs(x - 1) - 0.1\"", ""),
        |_| {},
    );
    eprintln!(
        "reach–avoid V(1.5) = {}, V(-1) = {}; tube V(1.5) = {}",
        at(&avoid, 1.5),
        at(&avoid, -1.0),
        at(&tube, 1.5)
    );
    assert!((at(&avoid, 1.5) - 0.1).abs() < 0.02, "{}", at(&avoid, 1.5));
    assert!((at(&avoid, -1.0) + 0.25).abs() < 0.01);
    assert!((at(&tube, 1.5) + 0.25).abs() < 0.01);
    // Inside the obstacle the value is at least −o > 0.
    assert!(at(&avoid, 1.0) >= 0.1 - 1e-12);
}

#[test]
fn air3d_tube_on_a_coarse_grid_is_thread_independent_with_bang_bang_inputs() {
    let text = read("air3d.toml")
        .replace("points = 51", "points = 26")
        .replace("points = 40", "points = 20")
        .replace("points = 50", "points = 25");
    let one = hjb::solver::with_threads(Some(1), || solve_text(&text, |_| {})).unwrap();
    let two = hjb::solver::with_threads(Some(2), || solve_text(&text, |_| {})).unwrap();
    assert_eq!(one.values, two.values);
    assert_eq!(one.diagnostics.hamiltonian, "closed_form_affine");
    assert_eq!(one.diagnostics.game.as_deref(), Some("max_u min_d"));
    let reach = one.diagnostics.reachable.expect("report");
    eprintln!("air3d 26×20×25: {:.2} % inside", 100.0 * reach.inside_fraction);
    // The set converges to ≈ 26 % from below (first-order diffusion): 24.25 % at 51×40×50.
    assert!((0.18..0.26).contains(&reach.inside_fraction), "{reach:?}");
    // Without control cost each turn rate sits on a bound, or at 0 where its slope vanishes
    // (where the projection holds V = l, which does not depend on ψ).
    for policy in &one.policy {
        assert!(policy.iter().all(|w| [-1.0, 0.0, 1.0].contains(w)), "not bang–bang");
        let bound = policy.iter().filter(|w| w.abs() == 1.0).count() as f64 / policy.len() as f64;
        eprintln!("at a bound: {:.1} %", 100.0 * bound);
        assert!(bound > 0.4, "{bound}");
    }
}

#[test]
fn game_files_are_refused_with_located_reasons() {
    let game = read("game_1d.toml");
    let message = parse_error(&game.replace("name = \"d\"", "name = \"x\""));
    assert!(message.contains("disturbance name `x` is already used by a state"), "{message}");
    let message = parse_error(&game.replace("scheme = \"lax_friedrichs\"", "scheme = \"implicit\""));
    assert!(message.contains("policy iteration does not apply to a differential game"), "{message}");
    assert!(message.contains("inline.toml:"), "located: {message}");
    let message = parse_error(&game.replace("mode = \"tube\"", "mode = \"reach_avoid\""));
    assert!(message.contains("needs an obstacle"), "{message}");
    let message = parse_error(&game.replace("[reachability]", "[cost]\nrunning = \"1\"\n[reachability]"));
    assert!(message.contains("cannot also have a [cost] section"), "{message}");
    let two_sizes = read("game_1d.toml").replace(
        "[dynamics]",
        "[[disturbance]]\nname = \"e\"\nbounds = [-1.0, 1.0]\nnorm = 2\ngroup = \"wind\"\n[dynamics]",
    );
    let two_sizes =
        two_sizes.replace("bounds = [-0.5, 0.5]", "bounds = [-0.5, 0.5]\nnorm = 2\ngroup = \"wind\"");
    let message = parse_error(&two_sizes);
    assert!(message.contains("members of different sizes"), "{message}");
    // Upwind differencing on a state driven by both players: refused with the reason.
    let file = hjb::parse_problem(
        &game.replace("scheme = \"lax_friedrichs\"", "scheme = \"upwind\""),
        Path::new("g.toml"),
    )
    .expect("parses");
    let error =
        solve(&file.problem, &file.settings().unwrap(), &mut Silent).expect_err("refused").to_string();
    assert!(error.contains("does not separate"), "{error}");
    // The MDP bridge has no game.
    let file = hjb::parse_problem(&game, Path::new("g.toml")).expect("parses");
    let error =
        hjb::mdp::build(&file.problem, hjb::mdp::Chain::Upwind, 0.01, hjb::settings::Characteristic::Euler)
            .expect_err("refused")
            .to_string();
    assert!(error.contains("Shapley"), "{error}");
}

#[test]
fn a_game_built_in_rust_equals_the_same_game_from_its_file() {
    use hjb::problem::game::{ReachMode, Sense};
    use hjb::problem::{Code, ProblemBuilder};
    let problem = ProblemBuilder::new("game_1d")
        .state("x", -3.0, 3.0, 241)
        .control("u", -1.0, 1.0, 21)
        .disturbance("d", -0.5, 0.5, 21)
        .control_sense(Sense::Minimise)
        .drift("x", Code::new("u + d", |p| p[1] + p[2]).uses(&["u", "d"]).degree_in_controls(1))
        .reachability(ReachMode::Tube, Code::new("|x| - r", |p| p[0].abs() - 0.5).uses(&["x"]), None)
        .final_time(1.0)
        .build()
        .expect("builds");
    let file = hjb::parse_problem(&read("game_1d.toml"), Path::new("game_1d.toml")).expect("parses");
    let settings = file.settings().unwrap();
    let from_code = solve(&problem, &settings, &mut Silent).expect("solves");
    let from_file = solve(&file.problem, &settings, &mut Silent).expect("solves");
    assert_eq!(from_code.values, from_file.values);
    assert_eq!(from_code.diagnostics.reachable, from_file.diagnostics.reachable);
}

/// A target moving at unit speed, `l(x, t) = |x − t| − ¼`, and an idle control (no motion): the
/// tube is the union of the target's positions over `[0, T]`, `V(x, 0) = min_n l(x, t_n)` over the
/// time levels — the projection must tabulate the target at each new level.
#[test]
fn time_varying_target_sweeps_its_path() {
    let text = r#"
name = "moving_target"
[[state]]
name = "x"
bounds = [-1.0, 2.0]
points = 301
[[control]]
name = "u"
bounds = [0.0, 1.0]
[dynamics]
x = "0*u"
[reachability]
mode = "tube"
target = "abs(x - t) - 0.25"
[horizon]
final_time = 1.0
[solver]
time_step = 0.01
"#;
    let solution = solve_text(text, |_| {});
    let times: Vec<f64> = (0..=100).map(|n| 1.0 - n as f64 * 0.01).collect();
    let mut worst = 0.0f64;
    for (k, value) in solution.values.iter().enumerate() {
        let x = -1.0 + 0.01 * k as f64;
        let exact = times.iter().map(|t| (x - t).abs() - 0.25).fold(f64::INFINITY, f64::min);
        worst = worst.max((value - exact).abs());
    }
    assert!(worst < 1e-12, "{worst:e}");
    let reach = solution.diagnostics.reachable.unwrap();
    // {V ≤ 0} = [-0.25, 1.25]: 151 of 301 nodes.
    assert_eq!(reach.inside_nodes, 151);
}
