//! Throughput of the high-order steps (WENO5 + TVD-RK3 and the other presets) in ns per node per
//! Runge–Kutta stage, at 201², 801² and 101³, against a STREAM-triad probe over arrays of the
//! same length in the same run, on 1 thread and on all threads.
//!
//! Run: `cargo bench --bench high_order` (plain timing, medians of repeats; no criterion
//! statistics: the numbers that matter are the ratios printed on each line). The problems are
//! `problems/double_integrator_reach.toml` refined, and a 3-D version of it (a triple
//! integrator, `ẋ = y, ẏ = z, ż = u`, `|u| ≤ 1`, same target shape).
//!
//! Bytes a WENO5 stage must move at least, per node, 2-D with one control: read V and the
//! stage's base (16), the tabulated a, b per axis (32), ℓ₀, c, r (24); write V and the policy
//! (16) = 88 B; 3-D: 104 B. The triad moves 24 B per element.

mod common;

use common::{median_seconds, triad_run};
use hjb::problem::{load_problem, parse_problem, Problem};
use hjb::solver::{prepare, with_threads};
use hjb::time::{HighOrderStepper, StepContext, Stepper};
use hjb::{Settings, SolverOptions};
use std::path::Path;

const TRIPLE_INTEGRATOR: &str = r#"
name = "triple_integrator_reach"
[[state]]
name = "x"
bounds = [-3.0, 3.0]
points = 101
[[state]]
name = "y"
bounds = [-3.0, 3.0]
points = 101
[[state]]
name = "z"
bounds = [-3.0, 3.0]
points = 101
[[control]]
name = "u"
bounds = [-1.0, 1.0]
[dynamics]
x = "y"
y = "z"
z = "u"
[cost]
running = "0"
terminal = "sqrt(x^2 + y^2 + z^2) - 0.5"
[horizon]
final_time = 1.0
[solver]
accuracy = "very_high"
cfl = 0.75
"#;

fn settings_of(accuracy: &str) -> Settings {
    SolverOptions { accuracy: Some(accuracy.into()), cfl: Some(0.75), ..Default::default() }
        .settings()
        .unwrap()
}

/// Median seconds of one step of `problem` with `settings` (all stages).
fn step_seconds(problem: &Problem, settings: &Settings, repeats: usize) -> f64 {
    let preparation = prepare(problem, settings).expect("prepare");
    let nodes = problem.grid.node_count();
    let mut old = problem.tabulate(&problem.terminal_cost, &preparation.coordinates, &[0.0], 1.0);
    let mut new = vec![0.0; nodes];
    let mut policy = vec![0.0; nodes * problem.controls.len()];
    let mut stepper =
        HighOrderStepper::new(problem, settings, &preparation.model, preparation.plan.time_step);
    let context = StepContext { table: &preparation.table, time: problem.final_time, fixed: None };
    median_seconds(
        || {
            let outcome = stepper.step(&context, &old, &mut new, &mut policy).expect("step");
            criterion::black_box(outcome);
            std::mem::swap(&mut old, &mut new);
        },
        repeats,
    )
}

/// Peak resident memory of this process so far, in MiB (Linux; 0 elsewhere).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1).and_then(|kib| kib.parse::<f64>().ok()))
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("problems/double_integrator_reach.toml");
    let file = load_problem(&path).expect("shipped problem");
    let cases: Vec<(String, Problem, f64)> = vec![
        ("201²".into(), file.problem.with_points(&[201, 201]).unwrap(), 88.0),
        ("801²".into(), file.problem.with_points(&[801, 801]).unwrap(), 88.0),
        (
            "101³".into(),
            parse_problem(TRIPLE_INTEGRATOR, Path::new("triple_integrator.toml")).unwrap().problem,
            104.0,
        ),
    ];
    let all = rayon::current_num_threads();
    println!("high-order step: ns per node per Runge–Kutta stage (median), triad probe on the same length");
    for (name, problem, bytes) in &cases {
        let nodes = problem.grid.node_count();
        let repeats = if nodes > 500_000 { 7 } else { 25 };
        for threads in [1, all] {
            let triad = with_threads(Some(threads), || median_seconds(triad_run(nodes), repeats)).unwrap();
            let triad_bandwidth = 24.0 * nodes as f64 / triad;
            for accuracy in ["low", "medium", "very_high"] {
                let settings = settings_of(accuracy);
                let stages = match settings.stepping {
                    hjb::Stepping::Explicit { integrator, .. } => integrator.stages(),
                    _ => 1,
                };
                // `low` through the high-order stepper too (first order, one Euler stage), so the
                // three rows share one code path.
                let seconds =
                    with_threads(Some(threads), || step_seconds(problem, &settings, repeats)).unwrap();
                let per_stage = seconds / stages as f64 / nodes as f64;
                let bandwidth = bytes / per_stage;
                println!(
                    "  {name:>5} {accuracy:>9} {threads} thread{}: {:6.2} ns/node/stage, {:5.2} GB/s at {bytes} B = {:4.1} % of the triad ({:.2} GB/s)",
                    if threads == 1 { " " } else { "s" },
                    per_stage * 1e9,
                    bandwidth / 1e9,
                    100.0 * bandwidth / triad_bandwidth,
                    triad_bandwidth / 1e9
                );
            }
        }
    }
    println!("  peak RSS of this bench process: {:.0} MiB (101³ fields are 7.9 MiB each)", peak_rss_mib());
}
