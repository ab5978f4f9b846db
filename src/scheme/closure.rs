//! Boundary closures of the finite-difference stencils: what stands beyond the last node of an
//! axis. The one definition used by the explicit stepper (neighbour values), the implicit
//! stepper (matrix slots) and the MDP's upwind chain (transition targets).
//!
//! ```text
//! periodic      V_{N} = V_0,  V_{−1} = V_{N−1}           (the axis wraps)
//! extrapolate   V_{N} = 2V_{N−1} − V_{N−2}               (linear ghost; not monotone at outflow)
//! reflect       V_{N} = V_{N−1}                          (state constraint: Neumann, M-matrix rows)
//! fixed         never read: the end nodes hold their Dirichlet values (extrapolated if asked)
//! ```
//!
//! Wide stencils (the high-order reconstructions, [`Closure::line_value`]) read `k` nodes
//! beyond an end with the same rules: the wrapped node; the line through the two end nodes,
//! `V_{N−1+k} = V_{N−1} + k(V_{N−1} − V_{N−2})` (extrapolated and Dirichlet ends); the end value
//! (reflecting ends).
//!
//! A Markov chain cannot carry the extrapolated ghost (its weight would be negative), so the
//! chain closes extrapolated ends as reflecting ([`Closure::chain_neighbour`]).
//! See `docs/numerics.md` §2.2.

use crate::problem::Boundary;

/// The closure of one end of an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closure {
    /// Linear extrapolation of the ghost value.
    Extrapolate,
    /// The axis wraps around.
    Periodic,
    /// Dirichlet ends: the end nodes are fixed.
    Fixed,
    /// State constraint: the ghost equals the end node.
    Reflect,
}

/// The value beyond an end, as a stencil entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Neighbour {
    /// The value of this node (the neighbour itself, a wrapped node, or the end node).
    Node(usize),
    /// The ghost `2V(node) − V(opposite)`.
    Ghost {
        /// The node on the other side of the end node.
        opposite: usize,
    },
}

impl Neighbour {
    /// The neighbour's value in `values`, `center` being the value of the node itself.
    #[inline(always)]
    pub fn value(self, values: &[f64], center: f64) -> f64 {
        match self {
            Neighbour::Node(node) => values[node],
            Neighbour::Ghost { opposite } => 2.0 * center - values[opposite],
        }
    }
}

impl Closure {
    /// The closure of an axis with `boundary`.
    pub fn of(boundary: &Boundary) -> Closure {
        match boundary {
            Boundary::Extrapolate => Closure::Extrapolate,
            Boundary::Periodic => Closure::Periodic,
            Boundary::Dirichlet(_) => Closure::Fixed,
            Boundary::StateConstraint => Closure::Reflect,
        }
    }

    /// The forward neighbour along an axis of `size` nodes and `stride` of `node`, whose index on
    /// the axis is `i`.
    #[inline(always)]
    pub fn forward(self, node: usize, i: usize, size: usize, stride: usize) -> Neighbour {
        if i + 1 < size {
            return Neighbour::Node(node + stride);
        }
        match self {
            Closure::Periodic => Neighbour::Node(node - (size - 1) * stride),
            Closure::Reflect => Neighbour::Node(node),
            Closure::Extrapolate | Closure::Fixed => Neighbour::Ghost { opposite: node - stride },
        }
    }

    /// The backward neighbour (see [`Closure::forward`]).
    #[inline(always)]
    pub fn backward(self, node: usize, i: usize, size: usize, stride: usize) -> Neighbour {
        if i > 0 {
            return Neighbour::Node(node - stride);
        }
        match self {
            Closure::Periodic => Neighbour::Node(node + (size - 1) * stride),
            Closure::Reflect => Neighbour::Node(node),
            Closure::Extrapolate | Closure::Fixed => Neighbour::Ghost { opposite: node + stride },
        }
    }

    /// `V_j` on a line of `size` nodes starting at `start` with `stride`, for any `j` (ghosts
    /// beyond either end by the rules in the module docs). Both ends of an axis share a closure.
    #[inline]
    pub fn line_value(self, values: &[f64], start: usize, size: usize, stride: usize, j: isize) -> f64 {
        let last = size as isize - 1;
        if (0..=last).contains(&j) {
            return values[start + j as usize * stride];
        }
        let at = |k: isize| values[start + k as usize * stride];
        match self {
            Closure::Periodic => at(j.rem_euclid(size as isize)),
            Closure::Reflect => at(j.clamp(0, last)),
            Closure::Extrapolate | Closure::Fixed if size == 1 => at(0),
            Closure::Extrapolate | Closure::Fixed if j < 0 => at(0) + j as f64 * (at(1) - at(0)),
            Closure::Extrapolate | Closure::Fixed => at(last) + (j - last) as f64 * (at(last) - at(last - 1)),
        }
    }

    /// Whether a step beyond the end reads an extrapolated ghost (rather than a node value).
    #[inline(always)]
    pub fn extrapolates(self) -> bool {
        matches!(self, Closure::Extrapolate)
    }

    /// The target of a chain transition one node forward (`forward = true`) or backward: the
    /// neighbour, the wrapped node, or — at any bounded end — the node itself, and whether the
    /// row was closed there.
    #[inline]
    pub fn chain_neighbour(
        self,
        node: usize,
        i: usize,
        size: usize,
        stride: usize,
        forward: bool,
    ) -> (usize, bool) {
        let neighbour = match (forward, self) {
            (true, Closure::Periodic) => self.forward(node, i, size, stride),
            (false, Closure::Periodic) => self.backward(node, i, size, stride),
            (true, _) => Closure::Reflect.forward(node, i, size, stride),
            (false, _) => Closure::Reflect.backward(node, i, size, stride),
        };
        match neighbour {
            Neighbour::Node(target) => (target, target == node),
            Neighbour::Ghost { .. } => unreachable!("reflecting and periodic ends have no ghost"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_closure_gives_its_ghost() {
        // One axis of 5 nodes, stride 1; values 0, 1, 4, 9, 16.
        let values = [0.0, 1.0, 4.0, 9.0, 16.0];
        let at_end = |closure: Closure| closure.forward(4, 4, 5, 1).value(&values, values[4]);
        assert_eq!(at_end(Closure::Periodic), 0.0);
        assert_eq!(at_end(Closure::Reflect), 16.0);
        assert_eq!(at_end(Closure::Extrapolate), 23.0);
        let at_start = |closure: Closure| closure.backward(0, 0, 5, 1).value(&values, values[0]);
        assert_eq!(at_start(Closure::Periodic), 16.0);
        assert_eq!(at_start(Closure::Reflect), 0.0);
        assert_eq!(at_start(Closure::Extrapolate), -1.0);
        assert_eq!(Closure::Extrapolate.forward(2, 2, 5, 1), Neighbour::Node(3));
        // The chain reflects an extrapolated end and wraps a periodic one.
        assert_eq!(Closure::Extrapolate.chain_neighbour(4, 4, 5, 1, true), (4, true));
        assert_eq!(Closure::Periodic.chain_neighbour(4, 4, 5, 1, true), (0, false));
        assert_eq!(Closure::Fixed.chain_neighbour(1, 1, 5, 1, false), (0, false));
    }

    #[test]
    fn wide_ghosts_extend_the_one_node_rules() {
        let values = [0.0, 1.0, 4.0, 9.0, 16.0];
        let line = |closure: Closure, j: isize| closure.line_value(&values, 0, 5, 1, j);
        for closure in [Closure::Periodic, Closure::Reflect, Closure::Extrapolate] {
            // One node out, the wide rule agrees with the neighbour rule.
            assert_eq!(line(closure, 5), closure.forward(4, 4, 5, 1).value(&values, 16.0));
            assert_eq!(line(closure, -1), closure.backward(0, 0, 5, 1).value(&values, 0.0));
        }
        assert_eq!(line(Closure::Periodic, -3), 4.0);
        assert_eq!(line(Closure::Periodic, 7), 4.0);
        assert_eq!(line(Closure::Reflect, 7), 16.0);
        assert_eq!(line(Closure::Extrapolate, 7), 37.0);
        assert_eq!(line(Closure::Extrapolate, -3), -3.0);
        assert_eq!(line(Closure::Extrapolate, 2), 4.0);
    }
}
