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
//!
//! ```
//! // The scalar LQR `dx = (x/2 + u) dt`, cost `∫₀¹ (x² + u²) dt`, against its Riccati solution.
//! let text = r#"
//! [[state]]
//! name = "x"
//! bounds = [-2.0, 2.0]
//! points = 201
//!
//! [[control]]
//! name = "u"
//! bounds = [-4.0, 4.0]
//!
//! [dynamics]
//! x = "0.5*x + u"
//!
//! [cost]
//! running = "x^2 + u^2"
//!
//! [horizon]
//! final_time = 1.0
//!
//! [reference]
//! kind = "lqr"
//! region = { x = [-1.0, 1.0] }
//! "#;
//! let file = hjb::parse_problem(text, std::path::Path::new("example.toml"))?;
//! let settings = file.settings()?; // the file's [solver] table: explicit upwind by default
//! let solution = hjb::solve(&file.problem, &settings, &mut hjb::Silent)?;
//! assert!(solution.diagnostics.monotone);
//! // First order: the max error on |x| ≤ 1 is about 0.19·h with h = 0.02.
//! let error = solution.error.expect("the problem has a reference");
//! assert!(error.linf < 5e-3, "{}", error.linf);
//! # Ok::<(), hjb::HjbError>(())
//! ```

#![warn(missing_debug_implementations)]
#![warn(missing_docs)]
// Comparisons written as `!(a <= b)` are deliberate: they reject NaN as well.
#![allow(clippy::neg_cmp_op_on_partial_ord)]
// Numerical kernels index several arrays with one loop variable.
#![allow(clippy::needless_range_loop)]

#[cfg(feature = "mpi")]
pub mod distributed;
pub mod error;
pub mod grid;
pub mod io;
pub mod mdp;
pub mod norms;
pub mod problem;
pub mod scheme;
pub mod score;
pub mod settings;
pub mod simulate;
pub mod solver;
pub mod stability;
pub mod time;
pub mod validate;

pub use error::{HjbError, Result};
pub use grid::{Axis, Grid};
/// The array crate of the fields in [`Solution`] and [`simulate::StoredResult`] (re-exported so
/// users name the same version).
pub use ndarray;
pub use problem::{load_problem, parse_problem, Problem, ProblemFile};
pub use settings::{Differencing, OutputSettings, Settings, SolverOptions, Stepping};
pub use solver::{solve, Diagnostics, Observer, Silent, Solution};
