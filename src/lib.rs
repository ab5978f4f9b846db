//! # hjb — Hamilton–Jacobi–Bellman equations on grids
//!
//! For the controlled diffusion `dX = f(X,u,t) dt + σ dW` and the cost
//! `E[∫_t^T e^{−ρ(s−t)} ℓ(X,u,s) ds + e^{−ρ(T−t)} g(X_T)]`, the value function solves
//!
//! ```text
//! −V_t + ρV − min_u { f·∇V + ½ tr(σσᵀ D²V) + ℓ } = 0,   V(x, T) = g(x).
//! ```
//!
//! The pipeline: a problem file ([`problem::spec`]) → [`problem::Problem`] (formulas compiled
//! once, [`problem::formula`]) → the control structure and tabulated coefficients
//! ([`scheme::hamiltonian`]) → monotone transition weights ([`scheme::weights`]) → the explicit
//! stepper under the CFL bound ([`time::explicit`]) driven by [`solver::solve`] → a
//! [`solver::Solution`] with its diagnostics and, where the problem has an exact reference
//! ([`problem::lqr`]), its errors ([`validate`]) → HDF5, PNG and JSON ([`io`]).
//!
//! Minimisation everywhere; solvers march in time-to-go `τ = T − t`; `t` is physical time in the
//! API and in files.

#![warn(missing_debug_implementations)]
// Comparisons written as `!(a <= b)` are deliberate: they reject NaN as well.
#![allow(clippy::neg_cmp_op_on_partial_ord)]
// Numerical kernels index several arrays with one loop variable.
#![allow(clippy::needless_range_loop)]

pub mod error;
pub mod grid;
pub mod io;
pub mod problem;
pub mod scheme;
pub mod solver;
pub mod stability;
pub mod time;
pub mod validate;

pub use error::{HjbError, Result};
pub use grid::{Axis, Grid};
pub use problem::{load_problem, parse_problem, Problem, Scheme};
pub use solver::{solve, Diagnostics, Observer, Silent, Solution};
