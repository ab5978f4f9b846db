//! The double integrator LQR built in Rust code instead of a problem file: `ẋ = v`, `v̇ = u`,
//! cost `∫₀¹ (x² + v² + u²) dt + x_T² + v_T²` on [-3, 3]² with 121² nodes — the same problem as
//! `problems/lqr_double_integrator.toml` — solved by explicit upwind and compared with the
//! Riccati solution on [-1, 1]².
//!
//! Run: `cargo run --release --example double_integrator_in_code`

use hjb::problem::lqr::Lqr;
use hjb::problem::{Code, ProblemBuilder, ReferenceSolution};
use hjb::{Settings, Silent};

fn main() -> Result<(), hjb::HjbError> {
    let identity = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
    let lqr = Lqr::from_rows(
        &[vec![0.0, 1.0], vec![0.0, 0.0]],
        &[vec![0.0], vec![1.0]],
        &identity,
        &[vec![1.0]],
        &identity,
        0.0,
        1.0,
    )?;
    // The control box: 25 % above the largest optimal |u| on the grid (as for a file's [lqr]).
    let bound = 1.25 * lqr.largest_optimal_controls(&[-3.0, -3.0], &[3.0, 3.0])?[0];

    // Variables of every function: (x, v, u, t).
    let problem = ProblemBuilder::new("double_integrator_in_code")
        .state("x", -3.0, 3.0, 121)
        .state("v", -3.0, 3.0, 121)
        .control("u", -bound, bound, 41)
        .drift("x", Code::new("v", |p| p[1]).uses(&["v"]))
        .drift("v", Code::new("u", |p| p[2]).uses(&["u"]).degree_in_controls(1))
        .running_cost(
            Code::new("x² + v² + u²", |p| p[0] * p[0] + p[1] * p[1] + p[2] * p[2])
                .uses(&["x", "v", "u"])
                .degree_in_controls(2),
        )
        .terminal_cost(Code::new("x² + v²", |p| p[0] * p[0] + p[1] * p[1]).uses(&["x", "v"]))
        .final_time(1.0)
        .reference(ReferenceSolution::Lqr(Box::new(lqr)), Some(vec![(-1.0, 1.0), (-1.0, 1.0)]))
        .build()?;

    let settings = Settings::default(); // explicit upwind at CFL 0.9
    let solution = hjb::solve(&problem, &settings, &mut Silent)?;
    let diagnostics = &solution.diagnostics;
    let error = solution.error.as_ref().expect("the problem has a reference");
    println!("{}: {} scheme, {} Hamiltonian", problem.name, settings.scheme_name(), diagnostics.hamiltonian);
    println!("  grid        {:?} nodes, control box |u| ≤ {bound:.4}", problem.grid.shape());
    println!(
        "  time step   {:.4e} × {} steps (CFL {:.3}, monotone: {})",
        diagnostics.time_step, diagnostics.steps, diagnostics.cfl_number, diagnostics.monotone
    );
    println!(
        "  error vs Riccati on {}: L∞ {:.6e}, L1 {:.6e}, L2 {:.6e}",
        error.region.describe(&problem.state_names()),
        error.linf,
        error.l1,
        error.l2
    );
    println!("  took        {:.3} s on {} threads", diagnostics.seconds, diagnostics.threads);
    Ok(())
}
