//! Time steppers. Solvers march in time-to-go `τ = T − t` from `V(·, τ=0) = g`.
//!
//! * [`explicit`] — forward Euler with the monotone upwind or Lax–Friedrichs weights, under
//!   the CFL bound.
//! * [`implicit`] — backward Euler with Howard's policy iteration and sparse LU, any Δt.
//! * [`semi_lagrangian`] — interpolation at the feet of the characteristics (Camilli–Falcone
//!   with diffusion), any Δt.

pub mod explicit;
pub mod implicit;
pub mod semi_lagrangian;

pub use explicit::{ExplicitStepper, TimeStepPlan};
pub use implicit::{ImplicitReport, ImplicitStepper};
pub use semi_lagrangian::{SemiLagrangianReport, SemiLagrangianStepper};
