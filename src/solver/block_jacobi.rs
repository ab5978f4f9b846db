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
/// solution, `policy` the last policy. `fixed` are the problem's own fixed nodes. Returns the
/// number of outer sweeps.
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
        // A failed policy iteration on any block stops every block (non-finite values are
        // found below, over the owned nodes).
        super::domain::agree(domain, outcome)?;
        let mut first: Option<(usize, f64)> = None;
        let (mut change, mut size) = (0.0f64, 0.0f64);
        domain.for_each_owned(&mut |node, global| {
            let value = next[node];
            if !value.is_finite() {
                if first.is_none_or(|(g, _)| global < g) {
                    first = Some((global, value));
                }
                return;
            }
            change = change.max((value - values[node]).abs());
            size = size.max(value.abs());
        });
        let mine = [
            f64::from(u8::from(first.is_some())),
            first.map_or(0.0, |f| f.0 as f64),
            first.map_or(0.0, |f| f.1),
            change,
            size,
        ];
        let all = domain.gather_all(&mine);
        if let Some(other) = all.iter().filter(|o| o[0] == 1.0).min_by(|a, b| a[1].total_cmp(&b[1])) {
            let (index, point) = domain.global_place(other[1] as usize).unwrap_or_default();
            return Err(HjbError::NonFinite { step: sweep, time: f64::NAN, index, point, value: other[2] });
        }
        let change = all.iter().fold(0.0f64, |a, o| a.max(o[3]));
        let size = all.iter().fold(0.0f64, |a, o| a.max(o[4]));
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
