//! The MPI side of [`Domain`]: halo exchange over a Cartesian communicator and the reductions
//! of the march driver.
//!
//! The exchange goes axis by axis. On split axis `k`, every process sends its top `w` owned
//! layers up and receives its lower halo from below, then sends its bottom `w` owned layers
//! down and receives its upper halo from above. A layer spans the whole extended block on the
//! other axes, halo included, so after the axes before `k` the corners are already filled and
//! travel on: after the last axis every halo node, corners included, holds its owner's value
//! (what a stencil with diagonal neighbours — the cross-diffusion stencil — reads).

use super::decomposition::Block;
use crate::error::Result;
use crate::grid::Grid;
use crate::solver::Domain;
use mpi::collective::SystemOperation;
use mpi::point_to_point::send_receive_into_with_tags;
use mpi::topology::CartesianCommunicator;
use mpi::traits::*;
use std::time::Instant;

/// One block of the grid on one MPI process.
pub struct MpiDomain {
    comm: CartesianCommunicator,
    block: Block,
    /// Extended-block points and strides, and its first node in the whole grid per axis.
    points: Vec<usize>,
    start: Vec<usize>,
    strides: Vec<usize>,
    /// The whole grid (for the places of global nodes in error messages and reports).
    grid: Grid,
    global_strides: Vec<usize>,
    /// Seconds in exchanges and reductions.
    communication: f64,
    /// Bytes this process sent in its last exchange.
    pub halo_bytes: usize,
}

impl MpiDomain {
    /// The domain of `block` of `grid` on the Cartesian communicator `comm`.
    pub fn new(comm: CartesianCommunicator, block: Block, grid: Grid) -> MpiDomain {
        let points = block.points();
        let mut strides = vec![1usize; points.len()];
        for k in (0..points.len().saturating_sub(1)).rev() {
            strides[k] = strides[k + 1] * points[k + 1];
        }
        let global_strides = grid.strides().to_vec();
        let start = block.start();
        MpiDomain {
            comm,
            block,
            points,
            strides,
            start,
            grid,
            global_strides,
            communication: 0.0,
            halo_bytes: 0,
        }
    }

    /// The communicator.
    pub fn communicator(&self) -> &CartesianCommunicator {
        &self.comm
    }

    /// Copy layers `[from, from + width)` of axis `k` out of `field`.
    fn pack(&self, field: &[f64], k: usize, from: usize, width: usize) -> Vec<f64> {
        let inner = self.strides[k];
        let outer: usize = self.points[..k].iter().product();
        let mut out = Vec::with_capacity(outer * width * inner);
        for o in 0..outer {
            let base = o * self.points[k] * inner;
            out.extend_from_slice(&field[base + from * inner..base + (from + width) * inner]);
        }
        out
    }

    /// Write `data` into layers `[from, from + width)` of axis `k`.
    fn unpack(&self, field: &mut [f64], k: usize, from: usize, width: usize, data: &[f64]) {
        let inner = self.strides[k];
        let chunk = width * inner;
        for (o, piece) in data.chunks_exact(chunk).enumerate() {
            let base = o * self.points[k] * inner + from * inner;
            field[base..base + chunk].copy_from_slice(piece);
        }
    }

    /// Send `send` to `destination` and receive `receive` from `source` (either may be absent).
    fn shift(
        &self,
        send: &[f64],
        destination: Option<i32>,
        receive: &mut [f64],
        source: Option<i32>,
        tag: i32,
    ) {
        match (destination, source) {
            (Some(d), Some(s)) => {
                send_receive_into_with_tags(
                    send,
                    &self.comm.process_at_rank(d),
                    tag,
                    receive,
                    &self.comm.process_at_rank(s),
                    tag,
                );
            }
            (Some(d), None) => self.comm.process_at_rank(d).send_with_tag(send, tag),
            (None, Some(s)) => {
                self.comm.process_at_rank(s).receive_into_with_tag(receive, tag);
            }
            (None, None) => {}
        }
    }
}

impl std::fmt::Debug for MpiDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MpiDomain").field("block", &self.block).finish_non_exhaustive()
    }
}

impl Domain for MpiDomain {
    fn is_whole(&self) -> bool {
        false
    }

    fn exchange(&mut self, field: &mut [f64]) -> Result<()> {
        let started = Instant::now();
        let mut bytes = 0;
        for k in 0..self.points.len() {
            if self.block.dims[k] == 1 {
                continue;
            }
            let (below, above) = (self.block.halo_below[k], self.block.halo_above[k]);
            let own = self.block.own_points[k];
            let (source, destination) = self.comm.shift(k as i32, 1);
            let layer: usize =
                self.points.iter().enumerate().filter(|(j, _)| *j != k).map(|(_, p)| p).product();
            // Up: my top owned layers fill the lower halo of the block above.
            let send = if destination.is_some() {
                self.pack(field, k, below + own - above, above)
            } else {
                Vec::new()
            };
            let mut receive = vec![0.0; if source.is_some() { below * layer } else { 0 }];
            self.shift(&send, destination, &mut receive, source, 2 * k as i32);
            bytes += 8 * send.len();
            if source.is_some() {
                self.unpack(field, k, 0, below, &receive);
            }
            // Down: my bottom owned layers fill the upper halo of the block below.
            let send = if source.is_some() { self.pack(field, k, below, below) } else { Vec::new() };
            let mut receive = vec![0.0; if destination.is_some() { above * layer } else { 0 }];
            self.shift(&send, source, &mut receive, destination, 2 * k as i32 + 1);
            bytes += 8 * send.len();
            if destination.is_some() {
                self.unpack(field, k, below + own, above, &receive);
            }
        }
        self.halo_bytes = bytes;
        self.communication += started.elapsed().as_secs_f64();
        Ok(())
    }

    fn maximum(&mut self, values: &mut [f64]) {
        let started = Instant::now();
        let mine = values.to_vec();
        self.comm.all_reduce_into(&mine[..], values, SystemOperation::max());
        self.communication += started.elapsed().as_secs_f64();
    }

    fn any(&mut self, yes: bool) -> bool {
        let mut all = [0i32];
        self.comm.all_reduce_into(&i32::from(yes), &mut all[0], SystemOperation::max());
        all[0] == 1
    }

    fn gather_all(&mut self, values: &[f64]) -> Vec<Vec<f64>> {
        let started = Instant::now();
        let size = self.comm.size() as usize;
        let mut all = vec![0.0; values.len() * size];
        self.comm.all_gather_into(values, &mut all[..]);
        self.communication += started.elapsed().as_secs_f64();
        all.chunks(values.len().max(1)).take(size).map(<[f64]>::to_vec).collect()
    }

    fn rank(&self) -> usize {
        self.comm.rank() as usize
    }

    fn owns(&self, node: usize) -> bool {
        let mut rest = node;
        for k in 0..self.points.len() {
            let i = rest / self.strides[k];
            rest %= self.strides[k];
            let below = self.block.halo_below[k];
            if i < below || i >= below + self.block.own_points[k] {
                return false;
            }
        }
        true
    }

    fn global_node(&self, node: usize) -> usize {
        let mut rest = node;
        let mut global = 0;
        for k in 0..self.points.len() {
            let i = rest / self.strides[k];
            rest %= self.strides[k];
            global += ((self.start[k] + i) % self.block.shape[k]) * self.global_strides[k];
        }
        global
    }

    fn for_each_owned(&self, visit: &mut dyn FnMut(usize, usize)) {
        // Rows of the last axis: contiguous locally, and globally unless a periodic axis wraps.
        let d = self.points.len();
        let last = d - 1;
        let (below, own, n) =
            (self.block.halo_below[last], self.block.own_points[last], self.block.shape[last]);
        let mut index: Vec<usize> = self.block.halo_below.clone();
        loop {
            index[last] = below;
            let local = (0..d).map(|k| index[k] * self.strides[k]).sum::<usize>();
            let row: usize = (0..last)
                .map(|k| ((self.start[k] + index[k]) % self.block.shape[k]) * self.global_strides[k])
                .sum();
            for j in 0..own {
                visit(local + j, row + (self.start[last] + below + j) % n);
            }
            // Next row of the owned box (odometer over the axes before the last).
            let mut k = last;
            loop {
                if k == 0 {
                    return;
                }
                k -= 1;
                index[k] += 1;
                if index[k] < self.block.halo_below[k] + self.block.own_points[k] {
                    break;
                }
                index[k] = self.block.halo_below[k];
            }
        }
    }

    fn global_place(&self, global: usize) -> Option<(Vec<usize>, Vec<f64>)> {
        Some((self.grid.unravel(global), self.grid.point(global)))
    }

    fn communication_seconds(&self) -> f64 {
        self.communication
    }
}
