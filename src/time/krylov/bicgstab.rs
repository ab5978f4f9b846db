//! BiCGSTAB (van der Vorst 1992) with right preconditioning by `K = LU` (ILU(0)).
//!
//! For `M x = b` from `x_0` (the warm start): `r_0 = b − M x_0`, `r̂ = r_0`, and per iteration
//!
//! ```text
//! ρ_i = (r̂, r_{i−1}),   β = (ρ_i/ρ_{i−1})(α/ω),   p = r_{i−1} + β (p − ω v)
//! p̂ = K⁻¹p,   v = M p̂,   α = ρ_i / (r̂, v),   s = r_{i−1} − α v
//! ŝ = K⁻¹s,   t = M ŝ,   ω = (t, s)/(t, t),   x_i = x_{i−1} + α p̂ + ω ŝ,   r_i = s − ω t
//! ```
//!
//! Right preconditioning keeps `r_i` the residual of `M` itself, so the stopping test
//! `‖r‖∞ ≤ scale (1 + ‖x‖∞)` is on the true system. When the recurrence says it is done, the residual
//! `b − M x` is recomputed; if rounding has let the recurrence drift above the target, the
//! iteration restarts from `x` with a fresh `r̂` (also after a breakdown, `ρ = 0`, `(r̂, v) = 0` or
//! `ω = 0`). Every reduction runs in node order on one thread: the same bits on any machine
//! and thread count.

use super::ilu::{Ilu0, SparseRows};

/// The vectors of one solve (allocated once per stepper).
#[derive(Debug, Clone)]
pub struct Workspace {
    r: Vec<f64>,
    shadow: Vec<f64>,
    p: Vec<f64>,
    v: Vec<f64>,
    s: Vec<f64>,
    t: Vec<f64>,
    preconditioned: Vec<f64>,
}

impl Workspace {
    /// Vectors of length `n`.
    pub fn new(n: usize) -> Workspace {
        let zero = vec![0.0; n];
        Workspace {
            r: zero.clone(),
            shadow: zero.clone(),
            p: zero.clone(),
            v: zero.clone(),
            s: zero.clone(),
            t: zero.clone(),
            preconditioned: zero,
        }
    }
}

/// How a solve ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Iterations (each two products with `M` and two with `K⁻¹`).
    pub iterations: usize,
    /// `‖b − M x‖∞` of the returned `x`, recomputed.
    pub residual: f64,
    /// Whether `residual ≤ scale (1 + ‖x‖∞)`.
    pub converged: bool,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

fn largest(a: &[f64]) -> f64 {
    a.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// Solve `M x = b` from the `x` given until `‖b − M x‖∞ ≤ scale (1 + ‖x‖∞)` or `max_iterations`.
pub fn solve(
    matrix: &SparseRows,
    preconditioner: &Ilu0,
    b: &[f64],
    x: &mut [f64],
    scale: f64,
    max_iterations: usize,
    work: &mut Workspace,
) -> Outcome {
    let Workspace { r, shadow, p, v, s, t, preconditioned } = work;
    let mut iterations = 0;
    let target = |x: &[f64]| scale * (1.0 + largest(x));
    let mut residual = matrix.residual(b, x, r);
    // Each pass is one restart: a fresh shadow vector r̂ = r.
    while residual > target(x) && iterations < max_iterations {
        shadow.copy_from_slice(r);
        p.fill(0.0);
        v.fill(0.0);
        let (mut rho_old, mut alpha, mut omega) = (1.0f64, 1.0f64, 1.0f64);
        while iterations < max_iterations {
            iterations += 1;
            let rho = dot(shadow, r);
            if rho == 0.0 || !rho.is_finite() {
                break;
            }
            let beta = (rho / rho_old) * (alpha / omega);
            for ((p, r), v) in p.iter_mut().zip(r.iter()).zip(v.iter()) {
                *p = r + beta * (*p - omega * v);
            }
            preconditioned.copy_from_slice(p);
            preconditioner.apply_in_place(matrix, preconditioned);
            matrix.apply(preconditioned, v);
            let projection = dot(shadow, v);
            if projection == 0.0 || !projection.is_finite() {
                break;
            }
            alpha = rho / projection;
            for ((x, s), (r, (v, q))) in
                x.iter_mut().zip(s.iter_mut()).zip(r.iter().zip(v.iter().zip(preconditioned.iter())))
            {
                *s = r - alpha * v;
                *x += alpha * q;
            }
            if largest(s) <= target(x) {
                r.copy_from_slice(s);
                break;
            }
            preconditioned.copy_from_slice(s);
            preconditioner.apply_in_place(matrix, preconditioned);
            matrix.apply(preconditioned, t);
            let tt = dot(t, t);
            omega = if tt > 0.0 { dot(t, s) / tt } else { 0.0 };
            for ((x, q), (r, (s, t))) in
                x.iter_mut().zip(preconditioned.iter()).zip(r.iter_mut().zip(s.iter().zip(t.iter())))
            {
                *x += omega * q;
                *r = s - omega * t;
            }
            if omega == 0.0 || !omega.is_finite() || largest(r) <= target(x) {
                break;
            }
            rho_old = rho;
        }
        let recomputed = matrix.residual(b, x, r);
        if !recomputed.is_finite() {
            return Outcome { iterations, residual: recomputed, converged: false };
        }
        residual = recomputed;
    }
    Outcome { iterations, residual, converged: residual <= target(x) }
}
