//! The first-order explicit kernel: nanoseconds per node-step and the fraction of a STREAM-triad
//! roofline, measured in the same run, on the double-integrator reach problem of
//! hj_reachability's examples (`problems/double_integrator_reach.toml`, first-order upwind:
//! `--accuracy low`) at 201² (the size, cache-resident), at 2001² (too big for cache) and
//! on a 3-D variant at 201³.
//!
//! Run: `cargo bench --bench explicit_upwind`. Criterion times one step of each kernel at 201²
//! (upwind and Lax–Friedrichs closed form, upwind over 41 control samples); then "kernel" lines
//! give, for one thread and for all threads, the median step over the node count, the same for
//! the node rule alone (the stepper before the row kernel, `ExplicitStepper::node_rule_only`) and
//! the roofline fraction (`HJB_BENCH_KERNEL_ONLY=1` skips the criterion lines, and
//! `HJB_BENCH_CASES=2001,201³` keeps only the kernel lines whose label contains one of the given
//! pieces):
//!
//! * the row kernel moves at least `8·(2 + m + k)` bytes per node: read `V^n` and the `k`
//!   coefficient columns that vary over the grid, write `V^{n+1}` and the `m` controls
//!   ([`ExplicitStepper::streamed_bytes_per_node`]; 32 bytes here, where only the drift `v` of
//!   `ẋ = v` varies);
//! * the triad `a[i] = b[i] + 3c[i]` over arrays of the same length moves 24 bytes per element
//!   (write-allocate not counted on either side);
//! * fraction = (kernel bytes per second) / (triad bytes per second).

mod common;

use common::{median_seconds, triad_run};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hjb::problem::parse_problem;
use hjb::problem::Problem;
use hjb::solver::{prepare, Preparation};
use hjb::time::ExplicitStepper;
use hjb::Settings;
use std::path::Path;

const TRIAD_BYTES_PER_ELEMENT: f64 = 24.0;

/// The shipped reach problem, or its 3-D variant (a third state `ż = x − z`, the target a ball).
fn problem_text(three_d: bool) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("problems/double_integrator_reach.toml");
    let text = std::fs::read_to_string(path).expect("shipped problem");
    if !three_d {
        return text;
    }
    text.replace("[[control]]", "[[state]]\nname = \"z\"\nbounds = [-3.0, 3.0]\npoints = 201\n\n[[control]]")
        .replace("v = \"u\"", "v = \"u\"\nz = \"x - z\"")
        .replace("sqrt(x^2 + v^2) - 0.5", "sqrt(x^2 + v^2 + z^2) - 0.5")
}

/// A prepared case: the problem on `points` per axis with first-order explicit `scheme`.
struct Case {
    problem: Problem,
    settings: Settings,
    preparation: Preparation,
}

fn case(scheme: &str, sampled: bool, three_d: bool, points: usize) -> Case {
    let path = Path::new("double_integrator_reach.toml");
    let file = parse_problem(&problem_text(three_d), path).expect("problem");
    let mut options = file.solver.clone();
    options.scheme = Some(scheme.to_string());
    options.accuracy = None;
    options.derivatives = None;
    options.time_integrator = None;
    options.differencing = None;
    options.stepping = None;
    options.force_sampled = sampled;
    let settings = options.settings().expect("settings");
    let dimension = file.problem.grid.dimension();
    let problem = file.problem.with_points(&vec![points; dimension]).expect("grid");
    let preparation = prepare(&problem, &settings).expect("prepare");
    Case { problem, settings, preparation }
}

/// An explicit stepper of `case` with its buffers, stepping `V ← S(V)`.
struct Runner<'c> {
    case: &'c Case,
    stepper: ExplicitStepper<'c>,
    old: Vec<f64>,
    new: Vec<f64>,
    policy: Vec<f64>,
}

impl<'c> Runner<'c> {
    /// A runner on the row kernel, or (`node_rule`) on the node rule everywhere.
    fn new(case: &'c Case, node_rule: bool) -> Runner<'c> {
        let Case { problem, settings, preparation } = case;
        let nodes = problem.grid.node_count();
        let controls = vec![0.0; problem.controls.len()];
        let stepper = ExplicitStepper::new(
            problem,
            settings.differencing,
            &preparation.model,
            preparation.plan.time_step,
        );
        Runner {
            case,
            stepper: if node_rule { stepper.node_rule_only() } else { stepper },
            old: problem.tabulate(&problem.terminal_cost, &preparation.coordinates, &controls, 1.0),
            new: vec![0.0; nodes],
            policy: vec![0.0; nodes * problem.controls.len()],
        }
    }

    fn step(&mut self) {
        let table = &self.case.preparation.table;
        black_box(self.stepper.step(table, &self.old, &mut self.new, &mut self.policy, None));
        std::mem::swap(&mut self.old, &mut self.new);
    }
}

/// Median seconds of one explicit step of `case` over `repeats` steps, and the kernel's bytes
/// per node.
fn step_seconds(case: &Case, repeats: usize, node_rule: bool) -> (f64, Option<usize>) {
    let mut runner = Runner::new(case, node_rule);
    let seconds = median_seconds(|| runner.step(), repeats);
    (seconds, runner.stepper.streamed_bytes_per_node())
}

fn benches(criterion: &mut Criterion) {
    if std::env::var_os("HJB_BENCH_KERNEL_ONLY").is_none() {
        criterion_lines(criterion);
    }
    let wanted = std::env::var("HJB_BENCH_CASES").unwrap_or_default();
    let wanted = |label: &str| wanted.is_empty() || wanted.split(',').any(|piece| label.contains(piece));
    let all = rayon::current_num_threads();
    // (label, scheme, 3-D variant, points per axis, repeated steps)
    for (label, scheme, three_d, points, repeats) in [
        ("double_integrator_reach 201² upwind", "upwind", false, 201, 60),
        ("double_integrator_reach 201² lax_friedrichs", "lax_friedrichs", false, 201, 60),
        ("double_integrator_reach 2001² upwind", "upwind", false, 2001, 15),
        ("double_integrator_reach_3d 201³ upwind", "upwind", true, 201, 9),
    ] {
        if wanted(label) {
            kernel_lines(label, &case(scheme, false, three_d, points), repeats, all);
        }
    }
}

/// The criterion lines: one step of each kernel at 201², and the triad probe.
fn criterion_lines(criterion: &mut Criterion) {
    let upwind = case("upwind", false, false, 201);
    let lax_friedrichs = case("lax_friedrichs", false, false, 201);
    let nodes = upwind.problem.grid.node_count();
    let sampled = case("upwind", true, false, 201);
    let mut group = criterion.benchmark_group("double_integrator_reach_201x201_step");
    group.throughput(Throughput::Elements(nodes as u64));
    group.sample_size(20);
    for (name, case) in [
        ("upwind_closed_form", &upwind),
        ("lax_friedrichs_closed_form", &lax_friedrichs),
        ("upwind_sampled_41", &sampled),
    ] {
        let mut runner = Runner::new(case, false);
        group.bench_function(name, |bencher| bencher.iter(|| runner.step()));
    }
    group.bench_function("stream_triad_probe", |bencher| bencher.iter(triad_run(nodes)));
    group.finish();
}

/// The "kernel" lines of one case: one thread and `all` threads.
fn kernel_lines(label: &str, case: &Case, repeats: usize, all: usize) {
    let nodes = case.problem.grid.node_count();
    for threads in [1, all] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
        let ((step, bytes), (node_rule, _), triad) = pool.install(|| {
            (
                step_seconds(case, repeats, false),
                step_seconds(case, repeats.div_ceil(3), true),
                median_seconds(triad_run(nodes), repeats),
            )
        });
        let bytes = bytes.unwrap_or(0) as f64;
        let kernel_bandwidth = bytes * nodes as f64 / step;
        let triad_bandwidth = TRIAD_BYTES_PER_ELEMENT * nodes as f64 / triad;
        println!(
            "kernel: {label}, {threads} thread(s): {:.2} ns per node-step (node rule {:.2} ns, {:.1}× slower); \
             {bytes} B/node = {:.1} GB/s; triad {:.1} GB/s; {:.0} % of the triad roofline",
            step * 1e9 / nodes as f64,
            node_rule * 1e9 / nodes as f64,
            node_rule / step,
            kernel_bandwidth / 1e9,
            triad_bandwidth / 1e9,
            100.0 * kernel_bandwidth / triad_bandwidth,
        );
    }
}

criterion_group!(explicit, benches);
criterion_main!(explicit);
