//! Block-Jacobi policy iteration for a stationary discounted problem on one block of a
//! decomposed grid (`docs/numerics.md` §12.6).
//!
//! Each outer sweep solves the block's own stationary system `(ρI − A(u))V = ℓ(u)` by policy
//! iteration ([`crate::time::implicit`]) with the halo held fixed at the neighbours' values of
//! the last sweep (Dirichlet rows), exchanges the halo, and measures `‖V_{k+1} − V_k‖∞` and
//! `‖V_{k+1}‖∞` over the owned nodes of every block (exact maxima, so every process stops after
//! the same sweep). The fixed point of the sweeps is the solution of the whole grid's system:
//! at an owned node the block's row is the whole grid's row, and the halo values are the
//! owners'. The rows are strictly diagonally dominant M-matrix rows with margin `ρ`, so the
//! sweep is a contraction in the sup norm (a block's solution moves by no more than its halo
//! data did) and the iteration converges; it is not the single-process arithmetic, so the
//! result agrees with one process to the stopping tolerance, not bit for bit.

use super::domain::Domain;
use crate::error::{HjbError, Result};
use crate::time::{StepContext, Stepper};

/// Outer sweeps stop at `‖V_{k+1} − V_k‖∞ ≤ OUTER_TOLERANCE · (1 + ‖V_{k+1}‖∞)` over all blocks.
pub const OUTER_TOLERANCE: f64 = 1e-11;
/// Largest number of outer sweeps.
pub const MAX_OUTER_SWEEPS: usize = 20_000;

/// Solve the block's stationary problem by block-Jacobi sweeps of `stepper` (which solves the
/// stationary equation directly): `values` holds the start (halo exchanged) and receives the
/// solution, `policy` the last policy; `context.fixed` holds the problem's own fixed nodes.
/// Returns the number of outer sweeps.
pub(super) fn solve(
    stepper: &mut dyn Stepper,
    context: &StepContext<'_>,
    domain: &mut dyn Domain,
    values: &mut Vec<f64>,
    policy: &mut [f64],
) -> Result<usize> {
    let nodes = values.len();
    let mut owned = vec![false; nodes];
    domain.for_each_owned(&mut |node, _| owned[node] = true);
    let mut held = vec![f64::NAN; nodes];
    let mut next = vec![0.0; nodes];
    let mut last_change = f64::INFINITY;
    for sweep in 1..=MAX_OUTER_SWEEPS {
        // The halo is Dirichlet data: the neighbours' values of the last sweep.
        for node in 0..nodes {
            held[node] =
                if owned[node] { context.fixed.map_or(f64::NAN, |fixed| fixed[node]) } else { values[node] };
        }
        let block_context = StepContext { table: context.table, time: context.time, fixed: Some(&held) };
        let outcome = stepper.step(&block_context, values, &mut next, policy);
        // A failed policy iteration on any block stops every block; a non-finite solution is
        // found below, over the owned nodes (the stepper leaves `next` unwritten then).
        if let Some((node, value)) = super::domain::agree(domain, outcome)?.first_non_finite {
            next[node] = value;
        }
        let (change, size) = super::domain::owned_change(domain, values, &next, sweep, f64::NAN)?;
        domain.exchange(&mut next)?;
        std::mem::swap(values, &mut next);
        last_change = change;
        if change <= OUTER_TOLERANCE * (1.0 + size) {
            return Ok(sweep);
        }
    }
    Err(HjbError::NotConverged {
        method: "block-Jacobi policy iteration",
        limit: MAX_OUTER_SWEEPS,
        last_change,
    })
}
