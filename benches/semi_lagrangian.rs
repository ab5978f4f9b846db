//! Throughput of the semi-Lagrangian step: node × control evaluations per second on all cores,
//! on the problems the tests use, beside the explicit upwind step of the same problem and a
//! STREAM-triad probe over arrays of the same length (same run).
//!
//! Run: `cargo bench --bench semi_lagrangian`. An evaluation is one candidate control at one
//! node: its foot(s), the multilinear interpolation there and the stage cost. The final lines
//! print evaluations/s, grid-point updates/s of both schemes and the cost of one sweep at the
//! Courant numbers the tests use (semi-Lagrangian Δt = 4h vs explicit CFL 0.9 on the minimum-time
//! problem).

mod common;

use common::{median_seconds, triad_run};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hjb::problem::{load_problem, Problem};
use hjb::solver::prepare;
use hjb::time::{ExplicitStepper, SemiLagrangianStepper};
use hjb::{Settings, Stepping};
use std::path::Path;

/// A shipped problem on `points` with the file's solver options, the historical `scheme` and
/// golden-section refinement on or off.
fn shipped(name: &str, points: &[usize], scheme: &str, refine: bool) -> (Problem, Settings) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("problems/{name}.toml"));
    let file = load_problem(&path).expect("shipped problem");
    let mut options = file.solver.clone();
    options.scheme = Some(scheme.to_string());
    options.differencing = None;
    options.stepping = None;
    options.refine = Some(refine);
    if scheme == "semi_lagrangian" && name == "min_time_ball" {
        options.courant = Some(8.0);
    }
    let settings = options.settings().expect("settings");
    (file.problem.with_points(points).expect("grid"), settings)
}

/// One semi-Lagrangian step as a closure; also returns the evaluations per step.
fn semi_lagrangian_run((problem, settings): &'static (Problem, Settings)) -> (impl FnMut(), f64) {
    let preparation: &'static hjb::solver::Preparation =
        Box::leak(Box::new(prepare(problem, settings).expect("prepare")));
    let Stepping::SemiLagrangian { characteristic, refine, .. } = settings.stepping else {
        panic!("semi-Lagrangian settings expected");
    };
    let nodes = problem.grid.node_count();
    let zeros = vec![0.0; problem.controls.len()];
    let mut old = problem.tabulate(&problem.terminal_cost, &preparation.coordinates, &zeros, 0.0);
    let mut new = vec![0.0; nodes];
    let mut policy = vec![0.0; nodes * problem.controls.len()];
    let mut stepper = SemiLagrangianStepper::new(
        problem,
        &preparation.model,
        &preparation.table,
        preparation.plan.time_step,
        preparation.plan.time_step_max,
        characteristic,
        refine,
    )
    .expect("stepper");
    stepper.step(&preparation.table, 0.0, &old, &mut new, &mut policy, None);
    let evaluations = stepper.report().evaluations_per_step;
    let run = move || {
        let outcome = stepper.step(&preparation.table, 0.0, &old, &mut new, &mut policy, None);
        black_box(outcome);
        std::mem::swap(&mut old, &mut new);
    };
    (run, evaluations)
}

fn explicit_run((problem, settings): &'static (Problem, Settings)) -> impl FnMut() {
    let preparation: &'static hjb::solver::Preparation =
        Box::leak(Box::new(prepare(problem, settings).expect("prepare")));
    let nodes = problem.grid.node_count();
    let zeros = vec![0.0; problem.controls.len()];
    let mut old = problem.tabulate(&problem.terminal_cost, &preparation.coordinates, &zeros, 0.0);
    let mut new = vec![0.0; nodes];
    let mut policy = vec![0.0; nodes * problem.controls.len()];
    let stepper =
        ExplicitStepper::new(problem, settings.differencing, &preparation.model, preparation.plan.time_step);
    move || {
        black_box(stepper.step(&preparation.table, &old, &mut new, &mut policy, None));
        std::mem::swap(&mut old, &mut new);
    }
}

fn leak(problem: (Problem, Settings)) -> &'static (Problem, Settings) {
    Box::leak(Box::new(problem))
}

fn benches(criterion: &mut Criterion) {
    let cases = [
        (
            "double_integrator_241x241_refined",
            leak(shipped("lqr_double_integrator", &[241, 241], "semi_lagrangian", true)),
        ),
        (
            "min_time_ball_161x161_65_headings",
            leak(shipped("min_time_ball", &[161, 161], "semi_lagrangian", false)),
        ),
        ("hopf_lax_601_refined", leak(shipped("hopf_lax_two_wells", &[601], "semi_lagrangian", true))),
    ];
    let mut group = criterion.benchmark_group("semi_lagrangian_step");
    group.sample_size(10);
    let mut summary = Vec::new();
    for (name, problem) in cases {
        let (run, evaluations) = semi_lagrangian_run(problem);
        group.throughput(Throughput::Elements(evaluations as u64));
        group.bench_function(name, |bencher| bencher.iter(semi_lagrangian_run(problem).0));
        summary.push((name, problem, evaluations, median_seconds(run, 15)));
    }
    group.finish();

    let explicit_ball = leak(shipped("min_time_ball", &[161, 161], "upwind", false));
    let explicit_step = median_seconds(explicit_run(explicit_ball), 15);
    let nodes = explicit_ball.0.grid.node_count();
    let triad = median_seconds(triad_run(nodes), 30);
    for (name, (problem, _), evaluations, seconds) in &summary {
        println!(
            "semi-Lagrangian {name}: {:.3e} evaluations/s, {:.3e} node updates/s ({:.1} evaluations per node) on {} threads",
            evaluations / seconds,
            problem.grid.node_count() as f64 / seconds,
            evaluations / problem.grid.node_count() as f64,
            rayon::current_num_threads()
        );
    }
    let (_, ball, _, ball_seconds) = summary[1];
    println!(
        "min_time_ball 161²: one sweep semi-Lagrangian {:.3e} s (Δt = 4h) vs explicit upwind {:.3e} s (CFL 0.9, Δt = 0.636h): \
         time per unit of τ {:.3e} s vs {:.3e} s; triad probe {:.2} GB/s over {} elements",
        ball_seconds,
        explicit_step,
        ball_seconds / (4.0 * ball.0.grid.spacings()[0]),
        explicit_step / (0.9 / 2f64.sqrt() * ball.0.grid.spacings()[0]),
        24.0 * nodes as f64 / triad / 1e9,
        nodes
    );
}

criterion_group!(semi_lagrangian, benches);
criterion_main!(semi_lagrangian);
