//! The MDP solvers' fast paths (state-major rows, fused backups, parallel sweeps, block-triangular
//! policy evaluation, the policy's compact chain in modified policy iteration) against the
//! straightforward reference implementation (`hjb::mdp::reference`: per-action CSR matrices,
//! materialised Q-values, sequential loops, a fresh sparse LU per evaluation), and the same bits
//! on 1 and 2 threads.

mod common;

use hjb::mdp::{build, reference, solve, Chain, Method, SolveOptions};
use hjb::settings::Characteristic;
use hjb::{parse_problem, Problem};

const METHODS: [Method; 4] = [
    Method::ValueIteration,
    Method::GaussSeidel,
    Method::PolicyIteration,
    Method::ModifiedPolicyIteration(20),
];

/// A shipped file with text replacements, at `points` per axis.
fn shipped(name: &str, replacements: &[(&str, &str)], points: usize) -> Problem {
    let path = common::repository_path(&format!("problems/{name}.toml"));
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in replacements {
        assert!(text.contains(from), "{name}: no `{from}`");
        text = text.replace(from, to);
    }
    let problem = parse_problem(&text, &path).unwrap().problem;
    let shape = vec![points; problem.grid.dimension()];
    problem.with_points(&shape).unwrap()
}

/// Every method's fast path against the reference: same iteration count, same policy, values
/// within 1e-12 (relative to the value's size).
fn assert_matches_reference(label: &str, mdp: &hjb::mdp::Mdp, methods: &[Method]) {
    let options = SolveOptions::default();
    for method in methods {
        let fast = solve(mdp, *method, &options).unwrap();
        let slow = reference::solve(mdp, *method, &options).unwrap();
        let size = slow.value.iter().fold(1.0f64, |a, v| a.max(v.abs()));
        let difference = fast.value.iter().zip(&slow.value).fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
        eprintln!(
            "{label} {}: {} iterations, |fast − reference| = {difference:.2e} (size {size:.2})",
            method.name(),
            fast.iterations
        );
        assert!(difference <= 1e-12 * size, "{label} {}: values differ by {difference:e}", method.name());
        assert_eq!(fast.iterations, slow.iterations, "{label} {}: iterations", method.name());
        assert_eq!(fast.policy, slow.policy, "{label} {}: policies", method.name());
        assert!(fast.error_bound <= 1e-9 * size, "{label} {}: bound {:e}", method.name(), fast.error_bound);
    }
}

#[test]
fn fixed_width_semi_lagrangian_chain_matches_the_reference() {
    // 1-D, no noise: rows of ≤ 2 entries (fixed width 2); drift towards 0 makes the policy's
    // chain nearly acyclic (single-state components in the evaluation).
    let problem = shipped("lqr_1d_discounted", &[], 401);
    let mdp = build(&problem, Chain::SemiLagrangian, 0.05, Characteristic::Euler).unwrap();
    assert_eq!(mdp.transitions.width, 2);
    assert!(mdp.transitions.pairs, "1-D linear interpolation rows are compacted into pairs");
    assert_matches_reference("lqr_1d_discounted 401", &mdp, &METHODS);
}

#[test]
fn interpolation_pairs_give_the_bits_of_the_width_two_rows_they_compact() {
    // The pair kernels (backups, and the partial evaluation sweeps of modified policy iteration)
    // compute 0 + (1 − θ)V(y) + θV(y + 1) where the width-2 kernels compute 0 + p₀V(y₀) + p₁V(y₁)
    // with p₀ = 1 − θ bit for bit: every method must give the same bits and the same iteration
    // counts on both layouts. Feet beyond the box ends give single-entry rows (probability 1 at
    // an end node), the other representation in the pair layout; the second chain has terminal
    // states (a target around 0 absorbs).
    assert_pairs_give_the_plain_bits("lqr_1d_discounted 301", shipped("lqr_1d_discounted", &[], 301), false);
    let with_target = shipped(
        "lqr_1d_discounted",
        &[
            (
                "[horizon]\nstationary = true",
                "[target]\nset = \"x^2 - 0.04\"\n\n[horizon]\nstationary = true",
            ),
            ("[reference]\nkind = \"lqr\"\nregion = { x = [-1.0, 1.0] }", ""),
        ],
        301,
    );
    assert_pairs_give_the_plain_bits("lqr_1d_discounted 301 with a target", with_target, true);
}

fn assert_pairs_give_the_plain_bits(label: &str, problem: Problem, terminal: bool) {
    let pairs = build(&problem, Chain::SemiLagrangian, 0.05, Characteristic::Euler).unwrap();
    assert!(pairs.transitions.pairs, "{label}: compacted");
    assert_eq!(pairs.terminal.iter().any(|t| *t), terminal, "{label}: terminal states");
    assert!(pairs.transitions.length.contains(&1), "{label}: single-entry rows present");
    let mut plain = pairs.clone();
    plain.transitions = pairs.transitions.expanded();
    assert!(!plain.transitions.pairs && plain.transitions.width == 2);
    assert_eq!(plain.transitions.entries(), pairs.transitions.entries(), "{label}: entries");
    assert!(
        pairs.transitions.bytes() * 10 < plain.transitions.bytes() * 6,
        "{label}: compaction saves memory"
    );
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for method in METHODS {
        let fast = solve(&pairs, method, &SolveOptions::default()).unwrap();
        let slow = solve(&plain, method, &SolveOptions::default()).unwrap();
        assert_eq!(bits(&fast.value), bits(&slow.value), "{label} {}: values", method.name());
        assert_eq!(fast.policy, slow.policy, "{label} {}: policies", method.name());
        assert_eq!(fast.iterations, slow.iterations, "{label} {}: iterations", method.name());
    }
    for action in 0..pairs.action_count {
        assert_eq!(
            pairs.action_matrix(action),
            plain.action_matrix(action),
            "{label}: matrix of action {action}"
        );
    }
}

#[test]
fn noisy_csr_chain_with_a_large_component_matches_the_reference() {
    // 2-D with noise: up to 16 entries per row (CSR layout); the noise spreads every row over
    // its neighbours, so the policy's chain has large strongly connected components (the dense
    // and sparse-LU paths of the evaluation rather than the single-state one).
    let problem = shipped(
        "lqr_stochastic_2d",
        &[("bounds = [-8.0, 8.0]\n", "bounds = [-8.0, 8.0]\nsamples = 5\n")],
        31,
    );
    let mdp = build(&problem, Chain::SemiLagrangian, 0.1, Characteristic::Euler).unwrap();
    assert_eq!(mdp.transitions.width, 0);
    assert_matches_reference("lqr_stochastic_2d 31²", &mdp, &METHODS);
}

#[test]
fn exit_time_chain_with_terminal_states_matches_the_reference() {
    // γ = 1, target nodes absorb (terminal rows), 2-D fixed width 4.
    let problem = shipped("min_time_ball", &[("samples = 65", "samples = 17")], 41);
    let step = 2.0 * problem.grid.spacings()[0];
    let mdp = build(&problem, Chain::SemiLagrangian, step, Characteristic::Euler).unwrap();
    assert_eq!(mdp.transitions.width, 4);
    assert!(mdp.terminal.iter().any(|t| *t));
    let methods = [Method::ValueIteration, Method::GaussSeidel, Method::ModifiedPolicyIteration(20)];
    assert_matches_reference("min_time_ball 41²", &mdp, &methods);
    // Policy iteration from the greedy policy of V = 0 (heading 0 everywhere) is improper here
    // (states pushed against the box end never reach the ball): both refuse it as a numerical
    // failure instead of returning non-finite values.
    let options = SolveOptions::default();
    for error in [
        solve(&mdp, Method::PolicyIteration, &options).unwrap_err(),
        reference::solve(&mdp, Method::PolicyIteration, &options).unwrap_err(),
    ] {
        assert_eq!(error.kind(), hjb::error::ErrorKind::Numerical, "{error}");
    }
}

#[test]
fn upwind_chain_matches_the_reference() {
    // 1-D upwind chain (stay + two neighbours: fixed width 3) under its CFL bound.
    let problem = shipped("lqr_1d_discounted", &[], 201);
    let h = problem.grid.spacings()[0];
    let mdp = build(&problem, Chain::Upwind, 0.9 * h / 5.0, Characteristic::Euler).unwrap();
    assert_eq!(mdp.transitions.width, 3);
    assert_matches_reference(
        "lqr_1d_discounted upwind 201",
        &mdp,
        &[Method::PolicyIteration, Method::ModifiedPolicyIteration(20)],
    );
}

#[test]
fn thread_count_does_not_change_the_bits() {
    // 4001 states × 41 actions: above the size where the sweeps run in parallel.
    let problem = shipped("lqr_1d_discounted", &[], 4001);
    let mdp = build(&problem, Chain::SemiLagrangian, 0.05, Characteristic::Euler).unwrap();
    let run = |threads: usize, method: Method| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| solve(&mdp, method, &SolveOptions::default()).unwrap())
    };
    for method in METHODS {
        let (one, two) = (run(1, method), run(2, method));
        let bits = |values: &[f64]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&one.value),
            bits(&two.value),
            "{}: values differ across thread counts",
            method.name()
        );
        assert_eq!(one.policy, two.policy, "{}", method.name());
        assert_eq!(one.iterations, two.iterations, "{}", method.name());
    }
}
