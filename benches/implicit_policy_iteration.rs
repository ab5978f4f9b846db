//! One backward-Euler step of the implicit scheme (Howard policy iteration on faer's sparse LU,
//! symbolic factorisation reused) on the shipped double integrator refined to 201² and 401², at
//! the scheme's default step Δt = h. Throughput in grid nodes per second per time step; the
//! policy-iteration sweeps per step are printed.
//!
//! Run: `cargo bench --bench implicit_policy_iteration`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hjb::problem::{load_problem, Problem};
use hjb::solver::prepare;
use hjb::time::ImplicitStepper;
use hjb::Settings;
use std::path::Path;

fn problem(points: usize) -> (Problem, Settings) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("problems/lqr_double_integrator.toml");
    let file = load_problem(&path).expect("shipped problem");
    let mut options = file.solver.clone();
    options.scheme = Some("implicit".to_string());
    options.differencing = None;
    options.stepping = None;
    let settings = options.settings().expect("settings");
    (file.problem.with_points(&[points, points]).expect("grid"), settings)
}

fn benches(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("double_integrator_implicit_step");
    group.sample_size(10);
    for points in [201, 401] {
        let (problem, settings) = problem(points);
        let preparation = prepare(&problem, &settings).expect("prepare");
        let nodes = problem.grid.node_count();
        let terminal = problem.tabulate(&problem.terminal_cost, &preparation.coordinates, &[0.0], 1.0);
        let mut stepper = ImplicitStepper::new(
            &problem,
            &preparation.model,
            preparation.plan.time_step,
            hjb::settings::LinearSolver::Auto,
        )
        .expect("stepper");
        let mut policy = vec![0.0; nodes];
        let mut samples = vec![0usize; nodes];
        group.throughput(Throughput::Elements(nodes as u64));
        group.bench_function(format!("{points}x{points}"), |bencher| {
            bencher.iter(|| {
                let values = stepper
                    .step(&preparation.table, &terminal, &mut policy, &mut samples, None)
                    .expect("policy iteration converges");
                black_box(values);
            })
        });
        let report = stepper.report();
        println!(
            "implicit {points}x{points}: Δt = {:.4e}, policy-iteration sweeps per step: most {}, mean {:.2}",
            preparation.plan.time_step, report.most_iterations, report.mean_iterations
        );
    }
    group.finish();
}

criterion_group!(implicit, benches);
criterion_main!(implicit);
