//! Median solve times of the MDP methods on the shipped `lqr_1d_discounted` chain at a given
//! number of states: `cargo run --release --example mdp_timing -- 20001 5`.

use hjb::mdp::{build, reference, solve, Chain, Method, SolveOptions};
use hjb::problem::load_problem;
use hjb::settings::Characteristic;
use std::path::Path;
use std::time::Instant;

fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    let points: usize = arguments.get(1).and_then(|a| a.parse().ok()).unwrap_or(20001);
    let repeats: usize = arguments.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let with_reference = arguments.iter().any(|a| a == "--reference");
    let file = load_problem(&Path::new(env!("CARGO_MANIFEST_DIR")).join("problems/lqr_1d_discounted.toml"))
        .expect("problem");
    let characteristic = file.solver.characteristic.unwrap_or(Characteristic::Euler);
    let problem = file.problem.with_points(&[points]).expect("grid");
    let started = Instant::now();
    let mdp = build(&problem, Chain::SemiLagrangian, 0.05, characteristic).expect("mdp");
    println!(
        "{points} states: built in {:.3} s, {} nonzeros",
        started.elapsed().as_secs_f64(),
        mdp.nonzeros()
    );
    let options = SolveOptions::default();
    for method in [
        Method::ValueIteration,
        Method::GaussSeidel,
        Method::PolicyIteration,
        Method::ModifiedPolicyIteration(20),
    ] {
        let mut times = Vec::new();
        let mut solution = None;
        for _ in 0..repeats {
            let s = solve(&mdp, method, &options).expect("solve");
            times.push(s.seconds);
            solution = Some(s);
        }
        times.sort_by(f64::total_cmp);
        let s = solution.expect("solution");
        print!(
            "{:>4}: median {:.4} s, {} iterations, bound {:.2e}",
            method.name(),
            times[times.len() / 2],
            s.iterations,
            s.error_bound
        );
        if with_reference {
            let started = Instant::now();
            let r = reference::solve(&mdp, method, &options).expect("reference");
            let d = r.value.iter().zip(&s.value).fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
            print!(
                "; reference {:.4} s, {} iterations, max diff {d:.2e}",
                started.elapsed().as_secs_f64(),
                r.iterations
            );
        }
        println!();
    }
}
