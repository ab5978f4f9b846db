//! Self-convergence of the shipped reachability problems without a closed form (Dubins car tube,
//! air3d), first-order Lax–Friedrichs as the files choose: each problem is solved on a sequence of
//! grids, every finer solution is interpolated (multilinearly; periodic axes wrap) to the
//! coarsest grid, and the test asserts
//!
//! - the successive differences `δ_k = mean |V_k − V_{k+1}|` over the coarsest nodes shrink by a
//!   ratio that a first-order scheme gives (`δ_{k+1}/δ_k ≤ bar` with `h` halved or ×⅔),
//! - the fraction of the grid inside `{V ≤ 0}` converges: its successive changes shrink, and the
//!   fractions lie in the measured bands (README, "Reachability and differential games"),
//! - the sets agree more and more: the share of coarsest nodes where the sign of `V_k` differs
//!   from the sign of the finest solution there decreases with `k`.
//!
//! The Dubins study and a three-level air3d study run by default (about 10 s and 20 s in release
//! on a loaded two-core machine); the air3d study up to 101 × 80 × 100 is `#[ignore]`d (17 s
//! alone, about a minute on a busy machine).

mod common;

use hjb::{solve, Grid, Problem, Silent};

/// One solved level.
struct Level {
    grid: Grid,
    values: Vec<f64>,
    inside_fraction: f64,
}

fn solve_levels(name: &str, levels: &[&[usize]]) -> Vec<Level> {
    let (problem, settings) = common::shipped(name);
    levels
        .iter()
        .map(|points| {
            let refined: Problem = problem.with_points(points).expect("grid");
            let solution = hjb::solver::with_threads(Some(2), || solve(&refined, &settings, &mut Silent))
                .expect("thread pool")
                .expect("solve succeeds");
            let reach =
                solution.diagnostics.reachable.as_ref().expect("a reachability problem reports its set");
            Level {
                values: hjb::grid::row_major(&solution.values).into_owned(),
                inside_fraction: reach.inside_fraction,
                grid: refined.grid,
            }
        })
        .collect()
}

/// `level`'s value at the nodes of `grid`.
fn on_grid(level: &Level, grid: &Grid) -> Vec<f64> {
    (0..grid.node_count()).map(|node| level.grid.interpolate(&level.values, &grid.point(node))).collect()
}

/// What the study measured.
struct Study {
    /// `mean |V_k − V_{k+1}|` on the coarsest grid.
    differences: Vec<f64>,
    /// Inside fraction of each level.
    fractions: Vec<f64>,
    /// Share of coarsest nodes where `sign V_k ≠ sign V_finest`, for every level but the finest.
    disagreement: Vec<f64>,
}

fn study(name: &str, levels: &[&[usize]]) -> Study {
    let solved = solve_levels(name, levels);
    let coarse = &solved[0].grid;
    let sampled: Vec<Vec<f64>> = solved.iter().map(|level| on_grid(level, coarse)).collect();
    let mean_difference = |a: &[f64], b: &[f64]| -> f64 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
    };
    let differences: Vec<f64> = sampled.windows(2).map(|pair| mean_difference(&pair[0], &pair[1])).collect();
    let finest = sampled.last().expect("levels");
    let disagreement: Vec<f64> = sampled[..sampled.len() - 1]
        .iter()
        .map(|values| {
            let differing = values.iter().zip(finest).filter(|(a, b)| (**a <= 0.0) != (**b <= 0.0)).count();
            differing as f64 / values.len() as f64
        })
        .collect();
    let fractions: Vec<f64> = solved.iter().map(|level| level.inside_fraction).collect();
    eprintln!("{name}: levels {levels:?}");
    eprintln!("{name}: mean |V_k − V_k+1| on the coarsest grid {differences:.5?}");
    eprintln!("{name}: inside fractions {fractions:.5?}");
    eprintln!("{name}: sign disagreement with the finest {disagreement:.4?}");
    Study { differences, fractions, disagreement }
}

fn assert_converges(name: &str, study: &Study, ratio_bar: f64) {
    for pair in study.differences.windows(2) {
        assert!(
            pair[1] < ratio_bar * pair[0],
            "{name}: differences {:?} do not shrink by {ratio_bar}",
            study.differences
        );
    }
    let changes: Vec<f64> = study.fractions.windows(2).map(|pair| pair[1] - pair[0]).collect();
    for pair in changes.windows(2) {
        assert!(
            pair[1].abs() < pair[0].abs(),
            "{name}: inside fractions {:?} do not settle",
            study.fractions
        );
    }
    for pair in study.disagreement.windows(2) {
        assert!(pair[1] < pair[0], "{name}: sign disagreement {:?} does not shrink", study.disagreement);
    }
}

#[test]
fn dubins_tube_self_converges() {
    let study = study("dubins_tube", &[&[21, 21, 21], &[41, 41, 41], &[81, 81, 81]]);
    // h halves: a first-order scheme gives a ratio near ½; the bar leaves room for the kinks.
    assert_converges("dubins_tube", &study, 0.75);
    // Measured: 9.48 %, 11.49 %, 12.66 % (the volume grows towards the limit from below: the
    // coarse scheme's dissipation shrinks the tube).
    let expected = [0.0948, 0.1149, 0.1266];
    for (fraction, expected) in study.fractions.iter().zip(expected) {
        assert!((fraction - expected).abs() < 2e-3, "dubins_tube: inside fractions {:?}", study.fractions);
    }
}

#[test]
fn air3d_self_converges() {
    // 26 × 20 × 25 → 51 × 40 × 50 → 76 × 60 × 75 (h ×½, then ×⅔).
    let study = study("air3d", &[&[26, 20, 25], &[51, 40, 50], &[76, 60, 75]]);
    assert_converges("air3d", &study, 0.75);
    // Measured 21.65 %, 24.25 %, 25.30 % (hj_reachability's very_high at 51 × 40 × 50: 25.9 %).
    let expected = [0.2165, 0.2425, 0.2530];
    for (fraction, expected) in study.fractions.iter().zip(expected) {
        assert!((fraction - expected).abs() < 2e-3, "air3d: inside fractions {:?}", study.fractions);
    }
}

#[test]
#[ignore = "17 s alone, a minute on a busy machine: cargo test --release --test reachability_convergence -- --ignored"]
fn air3d_self_converges_to_101_points() {
    let study = study("air3d", &[&[26, 20, 25], &[51, 40, 50], &[101, 80, 100]]);
    assert_converges("air3d", &study, 0.75);
    // Measured 21.65 %, 24.25 %, 25.71 %; differences 0.216, 0.131 (ratio 0.61 for h halved);
    // sign disagreement with the finest 2.65 %, 0.91 %.
    let expected = [0.2165, 0.2425, 0.2571];
    for (fraction, expected) in study.fractions.iter().zip(expected) {
        assert!((fraction - expected).abs() < 2e-3, "air3d: inside fractions {:?}", study.fractions);
    }
}
