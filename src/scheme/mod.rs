//! Discrete Hamiltonians: the transition weights of the monotone explicit schemes and the
//! minimisation over controls.
//!
//! * [`weights`] — upwind and Lax–Friedrichs weights (the single source of the Markov chain).
//! * [`constraint`] — admissible controls at state-constrained box ends.
//! * [`affine`] — the input-affine model of games (several inputs per state, both players).
//! * [`hamiltonian`] — closed-form or sampled minimisation, and the tabulated coefficients.
//! * [`reconstruction`] — one-sided derivatives of high order (ENO2, ENO3, WENO5).
//! * [`row_hamiltonian`] — the closed-form numerical Hamiltonian over a row of nodes (vectorised).

pub mod affine;
pub mod affine_row;
pub mod closure;
pub mod constraint;
pub mod hamiltonian;
pub mod minimiser;
pub mod reconstruction;
pub mod row_hamiltonian;
pub mod weights;

pub use hamiltonian::{ControlModel, DriftBounds, Tabulation};
pub use weights::{cross_diffusion, dominance_margin, lax_friedrichs_weights, upwind_weights, Weights};
