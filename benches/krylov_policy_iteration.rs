//! Stationary policy iteration at 10⁶ unknowns with sparse LU against BiCGSTAB (relaxed ILU(0),
//! warm-started, inexact): the shipped 2-D `lqr_stochastic_2d` problem at 1001² (or the sizes in
//! `HJB_BENCH_POINTS`, e.g. `301,501,1001`), each solver in a child process of its own so that
//! its peak resident memory (Linux `VmHWM`) is its own. Prints per size and solver the sweeps, the
//! linear iterations, the wall time, the peak memory, the L∞ error against the Riccati solution
//! and the largest difference between the two solvers' values.
//!
//! Run: `cargo bench --bench krylov_policy_iteration` (about 3 minutes and 3 GB on 2 cores).

use hjb::problem::load_problem;
use hjb::settings::LinearSolver;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn peak_memory_megabytes() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(f64::NAN, |kilobytes| kilobytes / 1024.0)
}

/// One solve in this process: prints one line `points solver sweeps iterations seconds MB linf`
/// and writes the values to `values` (raw little-endian f64) for the comparison.
fn child(points: usize, solver: &str, values: &Path) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("problems/lqr_stochastic_2d.toml");
    let file = load_problem(&path).expect("shipped problem");
    let mut settings = file.settings().expect("settings");
    settings.linear_solver = LinearSolver::parse(solver).expect("solver name");
    let problem = file.problem.with_points(&[points, points]).expect("grid");
    let started = Instant::now();
    let solution = hjb::solve(&problem, &settings, &mut hjb::Silent).expect("solve");
    let seconds = started.elapsed().as_secs_f64();
    let report = solution.diagnostics.implicit.expect("policy-iteration report");
    let bytes: Vec<u8> = solution.values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(values, bytes).expect("values file");
    println!(
        "{points} {} {} {} {seconds:.2} {:.0} {:.4e} {:.2e}",
        report.linear_solver.name(),
        report.most_iterations,
        report.linear_iterations,
        peak_memory_megabytes(),
        solution.error.map_or(f64::NAN, |e| e.linf),
        report.linear_residual
    );
}

fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    if let Some(at) = arguments.iter().position(|a| a == "--child") {
        let points = arguments[at + 1].parse().expect("points");
        child(points, &arguments[at + 2], Path::new(&arguments[at + 3]));
        return;
    }
    if arguments.iter().any(|a| a == "--list") {
        return;
    }
    let sizes = std::env::var("HJB_BENCH_POINTS").unwrap_or_else(|_| "1001".to_string());
    let scratch = std::env::temp_dir();
    println!("points solver sweeps linear_iterations seconds peak_MB linf_error residual_bound | max|ΔV|");
    for points in sizes.split(',').map(|p| p.trim().parse::<usize>().expect("HJB_BENCH_POINTS: N,N,…")) {
        let mut fields = Vec::new();
        for solver in ["lu", "bicgstab"] {
            let values =
                scratch.join(format!("hjb_krylov_bench_{}_{points}_{solver}.f64", std::process::id()));
            let output = Command::new(std::env::current_exe().expect("bench binary"))
                .args(["--child", &points.to_string(), solver, &values.display().to_string()])
                .output()
                .expect("child solve");
            let line = String::from_utf8_lossy(&output.stdout).trim().to_string();
            let read = std::fs::read(&values).unwrap_or_default();
            let _ = std::fs::remove_file(&values);
            let field: Vec<f64> =
                read.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))).collect();
            if !output.status.success() {
                println!("{points} {solver} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
            }
            fields.push((line, field));
        }
        let difference = fields[0].1.iter().zip(&fields[1].1).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        for (line, _) in &fields {
            println!("{line} | {difference:.2e}");
        }
    }
}
