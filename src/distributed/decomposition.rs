//! The block decomposition of a tensor grid over `P` processes.
//!
//! `P` is factored into `d_1 ⋯ d_n` blocks per axis the way `MPI_Dims_create` balances a
//! Cartesian topology, but weighted by the grid: each prime factor of `P`, largest first, goes
//! to the splittable axis whose blocks are then longest (ties to the lower axis). Axis `k` of
//! `n_k` points in `d_k` blocks gives block `c` the nodes `[s_c, s_{c+1})` with
//! `s_c = c·⌊n_k/d_k⌋ + min(c, n_k mod d_k)` (sizes differ by at most one). Each block is
//! extended by a halo of `w` nodes on every side that has a neighbour (both sides of a split
//! periodic axis, which wraps); the halo of a split periodic axis wraps around.
//!
//! Everything here is arithmetic on the shape: every process computes every block and reaches
//! the same decisions without communicating.

use crate::error::{HjbError, Result};

/// One process's block: owned nodes and the halo around them, per axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Blocks per axis.
    pub dims: Vec<usize>,
    /// This block's position in the Cartesian topology (row-major rank order).
    pub coords: Vec<usize>,
    /// First owned node per axis (global index).
    pub own_start: Vec<usize>,
    /// Owned nodes per axis.
    pub own_points: Vec<usize>,
    /// Halo nodes below and above the owned ones, per axis.
    pub halo_below: Vec<usize>,
    /// See `halo_below`.
    pub halo_above: Vec<usize>,
    /// Points per axis of the whole grid.
    pub shape: Vec<usize>,
}

impl Block {
    /// First node of the extended block per axis (global index, wrapped on periodic axes).
    pub fn start(&self) -> Vec<usize> {
        (0..self.shape.len())
            .map(|k| (self.own_start[k] + self.shape[k] - self.halo_below[k]) % self.shape[k])
            .collect()
    }

    /// Points per axis of the extended block.
    pub fn points(&self) -> Vec<usize> {
        (0..self.shape.len()).map(|k| self.halo_below[k] + self.own_points[k] + self.halo_above[k]).collect()
    }

    /// Nodes of the extended block.
    pub fn node_count(&self) -> usize {
        self.points().iter().product()
    }

    /// Owned nodes.
    pub fn owned_count(&self) -> usize {
        self.own_points.iter().product()
    }
}

/// `ranks` balanced over the axes of `shape`; `splittable[k]` false keeps axis `k` whole (the
/// regime axis, whose jumps read every regime at the node).
pub fn dims(shape: &[usize], splittable: &[bool], ranks: usize) -> Vec<usize> {
    let mut factors = Vec::new();
    let (mut rest, mut p) = (ranks, 2);
    while rest > 1 {
        while rest % p == 0 {
            factors.push(p);
            rest /= p;
        }
        p += 1;
    }
    let mut dims = vec![1usize; shape.len()];
    for factor in factors.into_iter().rev() {
        let longest = (0..shape.len())
            .filter(|k| splittable[*k])
            .max_by(|a, b| (shape[*a] * dims[*b]).cmp(&(shape[*b] * dims[*a])).then(b.cmp(a)));
        match longest {
            Some(k) => dims[k] *= factor,
            None => dims[0] *= factor,
        }
    }
    dims
}

/// The block of `rank` among `ranks`, with a halo of `halo` nodes; `minimum` is the fewest
/// owned nodes a split axis may have (the halo, and the stencil's own minimum).
pub fn block(
    shape: &[usize],
    periodic: &[bool],
    splittable: &[bool],
    ranks: usize,
    rank: usize,
    halo: usize,
    minimum: usize,
) -> Result<Block> {
    let dims = dims(shape, splittable, ranks);
    let mut coords = vec![0usize; shape.len()];
    let mut rest = rank;
    for k in (0..shape.len()).rev() {
        coords[k] = rest % dims[k];
        rest /= dims[k];
    }
    let mut block = Block {
        dims: dims.clone(),
        coords: coords.clone(),
        own_start: vec![0; shape.len()],
        own_points: vec![0; shape.len()],
        halo_below: vec![0; shape.len()],
        halo_above: vec![0; shape.len()],
        shape: shape.to_vec(),
    };
    for k in 0..shape.len() {
        let (n, d, c) = (shape[k], dims[k], coords[k]);
        let start = |c: usize| c * (n / d) + c.min(n % d);
        block.own_start[k] = start(c);
        block.own_points[k] = start(c + 1) - start(c);
        if d == 1 {
            continue;
        }
        let thinnest = n / d;
        if thinnest < minimum.max(halo) {
            let largest = (n / minimum.max(halo)).max(1);
            return Err(HjbError::InvalidOption {
                option: "mpirun -np".to_string(),
                message: format!(
                    "{ranks} processes split axis {k} ({n} points) into {d} blocks of {thinnest} nodes, thinner than \
                     the {} nodes the scheme reads across a block edge (halo {halo}); use at most {} blocks on \
                     this axis (fewer processes), or more points",
                    minimum.max(halo),
                    largest
                ),
            });
        }
        block.halo_below[k] = if c > 0 || periodic[k] { halo } else { 0 };
        block.halo_above[k] = if c + 1 < d || periodic[k] { halo } else { 0 };
    }
    Ok(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dims_balance_the_longest_axes() {
        assert_eq!(dims(&[101, 101], &[true, true], 4), vec![2, 2]);
        assert_eq!(dims(&[400, 100], &[true, true], 4), vec![4, 1]);
        assert_eq!(dims(&[51, 51, 51], &[true, true, true], 2), vec![2, 1, 1]);
        assert_eq!(dims(&[51, 51, 3], &[true, true, false], 8), vec![4, 2, 1]);
        assert_eq!(dims(&[10], &[true], 1), vec![1]);
    }

    #[test]
    fn blocks_cover_the_grid_once() {
        let shape = [11, 7];
        let mut owner = vec![0usize; 77];
        for rank in 0..4 {
            let b = block(&shape, &[false, true], &[true, true], 4, rank, 1, 2).unwrap();
            for i in 0..b.own_points[0] {
                for j in 0..b.own_points[1] {
                    owner[(b.own_start[0] + i) * 7 + b.own_start[1] + j] += 1;
                }
            }
            // The periodic axis has a halo on both sides, the bounded one only inside.
            assert_eq!(b.halo_below[1], 1);
            assert_eq!(b.halo_below[0], usize::from(b.coords[0] > 0));
        }
        assert!(owner.iter().all(|count| *count == 1));
    }

    #[test]
    fn blocks_thinner_than_the_halo_are_refused() {
        assert!(block(&[5], &[false], &[true], 4, 0, 3, 2).is_err());
        assert!(block(&[12], &[false], &[true], 4, 3, 3, 2).is_ok());
    }
}
