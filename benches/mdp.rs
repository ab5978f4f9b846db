//! The MDP bridge: VI, Gauss–Seidel, PI and MPI on the shipped `lqr_1d_discounted` MDP (1001
//! and 20 001 states, 41 actions, Δt = 0.05: the chain `benches/compare_quantecon.sh` times
//! QuantEcon's DiscreteDP on), and a 2-D MDP with 10⁶ states (the minimum-time ball at 1001²,
//! semi-Lagrangian chain, 16 headings) to show that memory follows the nonzeros.
//!
//! Run: `cargo bench --bench mdp`. The final lines print iterations, times, nonzeros and bytes.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hjb::mdp::{build, solve, Chain, Method, SolveOptions};
use hjb::problem::load_problem;
use hjb::settings::Characteristic;
use std::path::Path;
use std::time::Instant;

/// A shipped problem and the foot rule of its file (Euler unless it asks for Heun).
fn shipped(name: &str) -> (hjb::Problem, Characteristic) {
    let file = load_problem(&Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("problems/{name}.toml")))
        .expect("problem");
    (file.problem, file.solver.characteristic.unwrap_or(Characteristic::Euler))
}

fn benches(criterion: &mut Criterion) {
    let (problem, characteristic) = shipped("lqr_1d_discounted");
    let options = SolveOptions::default();
    let methods = [
        Method::ValueIteration,
        Method::GaussSeidel,
        Method::PolicyIteration,
        Method::ModifiedPolicyIteration(20),
    ];
    for points in [1001, 20001] {
        let mdp = build(
            &problem.with_points(&[points]).expect("grid"),
            Chain::SemiLagrangian,
            0.05,
            characteristic,
        )
        .expect("mdp");
        let mut group = criterion.benchmark_group(format!("lqr_1d_discounted_mdp_{points}"));
        group.sample_size(10);
        for method in methods {
            group.bench_function(method.name(), |bencher| {
                bencher.iter(|| black_box(solve(&mdp, method, &options).expect("solve")))
            });
        }
        group.finish();
        for method in methods {
            let solution = solve(&mdp, method, &options).expect("solve");
            println!(
                "lqr_1d_discounted {points} {}: {} iterations, {:.4} s, error bound {:.2e}",
                method.name(),
                solution.iterations,
                solution.seconds,
                solution.error_bound
            );
        }
    }

    // 10⁶ states: build, memory, one Jacobi backup, and modified policy iteration to tolerance.
    let (ball, ball_characteristic) = shipped("min_time_ball");
    let mut ball = ball.with_points(&[1001, 1001]).expect("grid");
    ball.controls[0].samples = 17; // 16 distinct headings (0 and 2π coincide)
    let step = 4.0 * ball.grid.spacings()[0];
    let started = Instant::now();
    let large = build(&ball, Chain::SemiLagrangian, step, ball_characteristic).expect("large mdp");
    let build_seconds = started.elapsed().as_secs_f64();
    let values = vec![0.0; large.nodes];
    let mut out = vec![0.0; large.nodes];
    let mut policy = vec![0usize; large.nodes];
    let mut group = criterion.benchmark_group("min_time_ball_1001x1001_mdp");
    group.sample_size(10);
    group.throughput(Throughput::Elements(large.nodes as u64));
    group.bench_function("jacobi_backup", |bencher| {
        bencher.iter(|| large.backup(black_box(&values), &mut out, &mut policy))
    });
    group.finish();
    let solution =
        solve(&large, Method::ModifiedPolicyIteration(20), &SolveOptions { tolerance: 1e-8, ..options })
            .expect("solve");
    println!(
        "min_time_ball 1001²: {} states × {} actions, {} nonzeros ({:.2} per state-action), {:.1} MB \
         ({:.1} bytes per nonzero), built in {:.2} s; mpi(20): {} improvements in {:.2} s on {} threads",
        large.nodes,
        large.action_count,
        large.nonzeros(),
        large.nonzeros() as f64 / (large.nodes * large.action_count) as f64,
        large.bytes() as f64 / 1e6,
        large.bytes() as f64 / large.nonzeros() as f64,
        build_seconds,
        solution.iterations,
        solution.seconds,
        rayon::current_num_threads()
    );
}

criterion_group!(mdp, benches);
criterion_main!(mdp);
