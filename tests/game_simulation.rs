//! Simulating a game: `hjb simulate` plays both players' stored feedbacks (the disturbance's
//! `/policy/<d>` is its worst case), so a path started inside the air3d tube is captured and one
//! started outside escapes.

mod common;

use hjb::io::hdf5::{read_result, write_result};

/// Closest approach `min_t sqrt(x² + y²)` along a closed-loop air3d path from `start`, and the
/// stored `V(start, 0)`.
fn closest_approach(start: [f64; 3]) -> (f64, f64) {
    let file = common::shipped_file("air3d");
    let mut settings = file.settings().unwrap();
    // The tube's feedback changes with time: keep V and both policies at 15 times.
    settings.snapshots = 15;
    let problem = &file.problem;
    let solution = hjb::solver::with_threads(Some(2), || hjb::solve(problem, &settings, &mut hjb::Silent))
        .unwrap()
        .unwrap();
    let directory = common::scratch_directory(&format!("game_simulation_{}", start[0]));
    let path = directory.join("air3d.h5");
    write_result(&path, problem, &solution, &file.output).unwrap();
    let stored = read_result(&path).unwrap();
    assert_eq!(stored.control_names, ["a", "b"], "the disturbance's policy is stored after the control's");
    let trajectory = hjb::simulate::simulate(problem, &stored, &start, problem.final_time, 1e-3).unwrap();
    assert!(trajectory.time_dependent_policy);
    let closest = trajectory.states.iter().map(|x| x[0].hypot(x[1])).fold(f64::INFINITY, f64::min);
    eprintln!(
        "air3d from {start:?}: V(x0, 0) = {:.4}, closest approach {closest:.4}",
        trajectory.value_at_start
    );
    (closest, trajectory.value_at_start)
}

#[test]
fn a_path_inside_the_air3d_tube_is_captured() {
    // Nearly head on (ψ = π, 1 m off the axis) at 13 m: inside the tube, which reaches x ≈ 16 on
    // this slice. (Exactly on the axis y = 0 the evader's switching function vanishes by symmetry
    // and its stored feedback is 0: it flies straight, so the start is taken off the axis.)
    // Measured: V(x0, 0) = −1.45, closest approach 2.19 m.
    let (closest, value) = closest_approach([13.0, 1.0, std::f64::consts::PI]);
    assert!(value < -1.0, "V(x0, 0) = {value}: the start should lie well inside the tube");
    assert!(closest < 3.0, "the pursuer's worst case should bring the distance below 5, got {closest}");
}

#[test]
fn a_path_outside_the_air3d_tube_escapes() {
    // The same at 19 m: outside the tube; the evader turns away in time. Measured: V(x0, 0) =
    // 2.32, closest approach 6.54 m.
    let (closest, value) = closest_approach([19.0, 1.0, std::f64::consts::PI]);
    assert!(value > 1.0, "V(x0, 0) = {value}: the start should lie well outside the tube");
    assert!(closest > 6.0, "the evader's feedback should keep the distance above 5, got {closest}");
}

/// game_1d solved with snapshots, written and read back: (problem, stored, result path).
/// The game_1d result with snapshots, written into its own scratch folder `folder` (tests run in
/// parallel: a shared folder would be cleared under another test's feet).
fn game_1d(folder: &str) -> (hjb::Problem, hjb::simulate::StoredResult, std::path::PathBuf) {
    let file = common::shipped_file("game_1d");
    let mut settings = file.settings().unwrap();
    settings.snapshots = 11;
    let solution = hjb::solve(&file.problem, &settings, &mut hjb::Silent).unwrap();
    let directory = common::scratch_directory(&format!("game_simulation_1d_{folder}"));
    let path = directory.join("game_1d.h5");
    write_result(&path, &file.problem, &solution, &file.output).unwrap();
    (file.problem, read_result(&path).unwrap(), path)
}

#[test]
fn game_1d_worst_case_paths_follow_the_closed_form() {
    // ẋ = u + d with u* = −sign x, d* = +0.5 sign x on the slope of V: |x| shrinks at a − b = 0.5.
    // From 0.9 (inside the tube |x| ≤ 1) the path ends at 0.4, inside the target |x| ≤ 0.5
    // (captured at t = 0.8); from 1.2 (outside) it ends at 0.7 and never enters it.
    let (problem, stored, _) = game_1d("1");
    for (start, end) in [(0.9, 0.4), (1.2, 0.7), (-1.2, -0.7)] {
        let trajectory = hjb::simulate::simulate(&problem, &stored, &[start], 1.0, 1e-3).unwrap();
        let last = trajectory.states.last().unwrap()[0];
        eprintln!("game_1d from {start}: x(T) ≈ {last:.4}, V(x0, 0) = {:.4}", trajectory.value_at_start);
        assert!((last - end).abs() < 0.02, "from {start}: x(T) = {last}, expected {end}");
        let d = trajectory.controls[0][1];
        assert!((d - 0.5 * start.signum()).abs() < 1e-9, "the disturbance's worst case pushes out, got {d}");
    }
}

#[test]
fn a_disturbance_law_replaces_the_worst_case() {
    // With d = 0 the controller alone moves |x| at speed 1 until the target: from 1.2 the path
    // now enters |x| ≤ 0.5 (the worst case kept it at 0.7).
    let (problem, stored, _) = game_1d("2");
    let laws = hjb::simulate::disturbance_laws(&problem, &stored.problem_toml, &["d=0".to_string()]).unwrap();
    let trajectory = hjb::simulate::simulate_with(&problem, &stored, &laws, &[1.2], 1.0, 1e-3).unwrap();
    assert!(trajectory.controls.iter().all(|u| u[1] == 0.0));
    let closest = trajectory.states.iter().map(|x| x[0].abs()).fold(f64::INFINITY, f64::min);
    eprintln!("game_1d from 1.2 with d = 0: closest |x| = {closest:.4}");
    assert!(closest <= 0.5 + 1e-3, "closest |x| = {closest}");
    // A law of t and a parameter (b = 0.5 in the file), clamped to the bounds [−0.5, 0.5].
    let laws =
        hjb::simulate::disturbance_laws(&problem, &stored.problem_toml, &["d = 2*b*sin(10*t)".to_string()])
            .unwrap();
    let trajectory = hjb::simulate::simulate_with(&problem, &stored, &laws, &[1.2], 1.0, 1e-3).unwrap();
    for (t, u) in trajectory.times.iter().zip(&trajectory.controls) {
        assert!((u[1] - (10.0 * t).sin().clamp(-0.5, 0.5)).abs() < 1e-12, "d({t}) = {}", u[1]);
    }
}

#[test]
fn bad_disturbance_laws_exit_2() {
    let (_, _, result) = game_1d("3");
    let run = |law: &str| {
        let out = result.with_file_name("trajectory");
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hjb"))
            .args(["simulate", result.to_str().unwrap(), "--from", "1.2", "--out", out.to_str().unwrap()])
            .args(["--disturbance", law])
            .output()
            .unwrap();
        (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    for (law, says) in [
        ("u=0", "not a disturbance"),
        ("e=0", "not a disturbance"),
        ("d=sin(q)", "d=sin(q)"),
        ("d", "not name=formula"),
    ] {
        let (code, stderr) = run(law);
        assert_eq!(code, 2, "{law}: {stderr}");
        assert!(stderr.contains(says), "{law}: {stderr}");
    }
    let (code, stderr) = run("d=-0.25");
    assert_eq!(code, 0, "{stderr}");
    let csv = std::fs::read_to_string(result.with_file_name("trajectory.csv")).unwrap();
    let column = csv.lines().next().unwrap().split(',').position(|c| c == "d").unwrap();
    for line in csv.lines().skip(1) {
        assert_eq!(line.split(',').nth(column).unwrap().parse::<f64>().unwrap(), -0.25);
    }
}

#[test]
fn a_tube_path_realises_the_value_it_starts_from() {
    // Double integrator to {x ≤ 0} within T = 1, exact V(x, v, 0) = min(x, x + v − ½). Under the
    // stored feedback (u = −1 where it matters) the path's closest approach min_t x(t) is the
    // value: the payoff and V(x0, 0) agree with the exact value to the grid's O(h) error.
    let file = common::shipped_file("double_integrator_tube");
    let mut settings = file.settings().unwrap();
    settings.snapshots = 21;
    let problem = &file.problem;
    let solution = hjb::solve(problem, &settings, &mut hjb::Silent).unwrap();
    let directory = common::scratch_directory("game_simulation_tube_payoff");
    let path = directory.join("double_integrator_tube.h5");
    write_result(&path, problem, &solution, &file.output).unwrap();
    let stored = read_result(&path).unwrap();
    for start in [[0.3f64, -0.4], [0.2, 0.5], [1.0, 0.2], [0.5, 0.0]] {
        let exact = start[0].min(start[0] + start[1] - 0.5);
        let trajectory = hjb::simulate::simulate(problem, &stored, &start, problem.final_time, 1e-3).unwrap();
        let payoff = hjb::simulate::reach_payoff(problem, &trajectory).unwrap();
        let closest = trajectory.states.iter().map(|x| x[0]).fold(f64::INFINITY, f64::min);
        eprintln!(
            "tube from {start:?}: payoff {payoff:.4}, closest x {closest:.4}, V(x0, 0) {:.4}, exact {exact:.4}",
            trajectory.value_at_start
        );
        // The tube's target is l = x: the payoff is the path's smallest x.
        assert!((payoff - closest).abs() < 1e-12, "payoff {payoff} vs min x {closest}");
        // h = 0.04: the value's error is below h/4 here (L∞ 1.19e-2 at 51², 5.95e-3 at 101², README),
        // and the feedback follows the optimal u = −1 up to the switching curve (measured 4e-4).
        assert!((payoff - exact).abs() < 0.02, "{start:?}: payoff {payoff} vs exact {exact}");
        assert!((trajectory.value_at_start - exact).abs() < 0.02, "{start:?}: V(x0, 0)");
    }
    let lqr = common::shipped_file("lqr_double_integrator");
    let empty = hjb::simulate::Trajectory {
        times: vec![0.0],
        states: vec![vec![0.0, 0.0]],
        controls: vec![vec![0.0]],
        running_cost: vec![0.0],
        cost: 0.0,
        value_at_start: 0.0,
        time_dependent_policy: false,
    };
    assert!(hjb::simulate::reach_payoff(&lqr.problem, &empty).is_none(), "no payoff without [reachability]");
}
