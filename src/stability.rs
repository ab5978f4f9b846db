//! Stability numbers.
