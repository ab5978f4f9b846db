//! Time steppers. Solvers march in time-to-go `τ = T − t` from `V(·, τ=0) = g`.
//!
//! * [`explicit`] — forward Euler with the monotone upwind or Lax–Friedrichs weights, under
//!   the CFL bound.

pub mod explicit;

pub use explicit::{ExplicitStepper, TimeStepPlan};
