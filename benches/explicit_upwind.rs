//! Throughput of one explicit step (grid-point updates per second) on the shipped double
//! integrator refined to 501², against a STREAM-triad probe over arrays of the same length in the
//! same run.
//!
//! Run: `cargo bench --bench explicit_upwind`. Criterion reports each throughput; the final
//! "roofline" lines convert both to bytes per second and print the ratio:
//!
//! * an update of the closed-form upwind step must move at least 80 bytes per node in 2-D with
//!   one control: read V (8), the tabulated a, b (2·16), ℓ₀, c, r (24); write V (8) and the
//!   policy (8);
//! * the triad `a[i] = b[i] + s·c[i]` moves 24 bytes per element (write-allocate not counted).

mod common;

use common::{median_seconds, triad_run};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hjb::problem::{load_problem, Problem};
use hjb::solver::prepare;
use hjb::time::ExplicitStepper;
use hjb::Settings;
use std::path::Path;

const POINTS: usize = 501;
const CLOSED_FORM_BYTES_PER_UPDATE: f64 = 80.0;
const TRIAD_BYTES_PER_ELEMENT: f64 = 24.0;

fn problem(scheme: &str, sampled: bool) -> (Problem, Settings) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("problems/lqr_double_integrator.toml");
    let file = load_problem(&path).expect("shipped problem");
    let mut options = file.solver.clone();
    options.scheme = Some(scheme.to_string());
    options.differencing = None;
    options.stepping = None;
    options.force_sampled = sampled;
    let settings = options.settings().expect("settings");
    (file.problem.with_points(&[POINTS, POINTS]).expect("grid"), settings)
}

/// One step of `problem`'s explicit scheme, as a closure over prepared buffers.
fn stepper_run((problem, settings): &(Problem, Settings)) -> impl FnMut() + '_ {
    // Leaked once per bench function: the stepper borrows it for the closure's lifetime.
    let preparation: &'static hjb::solver::Preparation =
        Box::leak(Box::new(prepare(problem, settings).expect("prepare")));
    let nodes = problem.grid.node_count();
    let mut old = problem.tabulate(&problem.terminal_cost, &preparation.coordinates, &[0.0], 1.0);
    let mut new = vec![0.0; nodes];
    let mut policy = vec![0.0; nodes * problem.controls.len()];
    let stepper =
        ExplicitStepper::new(problem, settings.differencing, &preparation.model, preparation.plan.time_step);
    move || {
        let outcome = stepper.step(&preparation.table, &old, &mut new, &mut policy, None);
        black_box(outcome);
        std::mem::swap(&mut old, &mut new);
    }
}

fn benches(criterion: &mut Criterion) {
    let nodes = POINTS * POINTS;
    let upwind = problem("upwind", false);
    let lax_friedrichs = problem("lax_friedrichs", false);
    let sampled = problem("upwind", true);
    let mut group = criterion.benchmark_group("double_integrator_501x501_step");
    group.throughput(Throughput::Elements(nodes as u64));
    group.sample_size(20);
    group.bench_function("upwind_closed_form", |bencher| bencher.iter(stepper_run(&upwind)));
    group.bench_function("lax_friedrichs_closed_form", |bencher| bencher.iter(stepper_run(&lax_friedrichs)));
    group.bench_function("upwind_sampled_41", |bencher| bencher.iter(stepper_run(&sampled)));
    group.bench_function("stream_triad_probe", |bencher| bencher.iter(triad_run(nodes)));
    group.finish();

    // Roofline summary from medians of our own repeats (criterion keeps its numbers to itself).
    let step = median_seconds(stepper_run(&upwind), 30);
    let triad = median_seconds(triad_run(nodes), 30);
    let updates_per_second = nodes as f64 / step;
    let triad_bandwidth = TRIAD_BYTES_PER_ELEMENT * nodes as f64 / triad;
    let step_bandwidth = CLOSED_FORM_BYTES_PER_UPDATE * updates_per_second;
    println!(
        "roofline: upwind closed form {:.3e} updates/s ({:.2} GB/s at {} B/update); triad {:.2} GB/s; ratio {:.1} % on {} threads",
        updates_per_second,
        step_bandwidth / 1e9,
        CLOSED_FORM_BYTES_PER_UPDATE,
        triad_bandwidth / 1e9,
        100.0 * step_bandwidth / triad_bandwidth,
        rayon::current_num_threads()
    );
}

criterion_group!(explicit, benches);
criterion_main!(explicit);
