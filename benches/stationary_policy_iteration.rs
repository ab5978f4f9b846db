//! Stationary policy iteration on `(ρI − A(u))V = ℓ(u)` (Howard, one sparse LU per sweep) on the
//! shipped 2-D `lqr_stochastic_2d` problem: criterion timings at 201² and 301², then one timed
//! run at 1001² (10⁶ nodes) with sweeps, seconds per sweep and peak resident memory (Linux
//! `VmHWM`), printed at the end.
//!
//! Run: `cargo bench --bench stationary_policy_iteration` (the 10⁶-node run takes about a
//! minute on 2 cores and 3 GB). Every run here uses the sparse LU (`linear_solver = "lu"`; `auto`
//! would pick BiCGSTAB at 1001²): `cargo bench --bench krylov_policy_iteration` compares the two.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hjb::problem::load_problem;
use std::path::Path;
use std::time::Instant;

fn problem(points: usize) -> (hjb::Problem, hjb::Settings) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("problems/lqr_stochastic_2d.toml");
    let file = load_problem(&path).expect("shipped problem");
    let mut settings = file.settings().expect("settings");
    settings.linear_solver = hjb::settings::LinearSolver::Lu;
    (file.problem.with_points(&[points, points]).expect("grid"), settings)
}

fn peak_memory_megabytes() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kilobytes: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes / 1024.0)
}

fn benches(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("stationary_policy_iteration");
    group.sample_size(10);
    for points in [201, 301] {
        let (problem, settings) = problem(points);
        group.throughput(Throughput::Elements(problem.grid.node_count() as u64));
        group.bench_function(format!("lqr_stochastic_2d_{points}x{points}"), |bencher| {
            bencher.iter(|| black_box(hjb::solve(&problem, &settings, &mut hjb::Silent).expect("solve")))
        });
    }
    group.finish();

    let (large, settings) = problem(1001);
    let started = Instant::now();
    let solution = hjb::solve(&large, &settings, &mut hjb::Silent).expect("10⁶-node solve");
    let seconds = started.elapsed().as_secs_f64();
    let report = solution.diagnostics.implicit.expect("policy-iteration report");
    println!(
        "lqr_stochastic_2d 1001² ({} nodes): {} policy-iteration sweeps to a 1e-12 relative change in {:.1} s \
         ({:.2} s per sweep, one sparse LU each), M-matrix margin {:.3}, L∞ error {:.3e}, peak memory {} on {} threads",
        large.grid.node_count(),
        report.most_iterations,
        seconds,
        seconds / report.most_iterations as f64,
        report.margin,
        solution.error.map_or(f64::NAN, |e| e.linf),
        peak_memory_megabytes().map_or("unknown".to_string(), |mb| format!("{mb:.0} MB")),
        rayon::current_num_threads()
    );
}

criterion_group!(stationary, benches);
criterion_main!(stationary);
