//! The explicit monotone step over rows of the contiguous axis: the same arithmetic as the node
//! rule of [`super::ExplicitStepper`], in straight-line loops the compiler vectorises.
//!
//! It applies to the closed-form model when every control drives exactly one state and there are
//! no state constraints, regimes or correlated noise. At an interior node (every neighbour inside
//! the box) the step is, with `D^±_i` the one-sided differences and `i = c(j)` the state driven by
//! control `j`,
//!
//! ```text
//! u_j = argmin_{u ∈ [l_j, h_j]} { c_j u + r_j u² + β φ(a_i + b_i u) },   φ(s) = s⁺D⁺_iV − s⁻D⁻_iV
//!       (upwind: both pieces split at the root of a_i + b_i u, the better by the true objective;
//!        Lax–Friedrichs: the clamped vertex at the central difference)
//! f_i = a_i + b_i u_{c(i)},   ℓ = ℓ_0 + Σ_j (c_j u_j + r_j u_j²)
//! V^{n+1} = β [p_0 V + Σ_i (p_i^+ V(x + h_i e_i) + p_i^- V(x − h_i e_i))] + Δt ℓ
//! ```
//!
//! with the weights of [`crate::scheme::weights`]. A row is computed in segments (at most
//! [`SEGMENT`] nodes) by the loops of [`super::passes`]: one pass per control but the last, the
//! last control fused with the weights and the expectation, then the controls' interleaving into
//! the policy when there are several. Its neighbours along each axis are grid rows, or ghost rows
//! where the row lies on a face of the box, and the row itself is padded with the ghosts beyond
//! its two ends: every ghost is the boundary closure's value
//! ([`crate::scheme::closure::Closure`]), node by node, exactly as the node rule reads it. Fixed
//! nodes (Dirichlet ends, targets) then take their values.
//!
//! What does not depend on `V` is computed once per table: the root `−a_i/b_i` clamped to the
//! box, the vertex factor `−1/(2r_j)` and the minimiser for a flat drift (`b_i = 0`). Coefficient
//! columns that hold one value on the whole grid (a gain of 1, a zero cost) are stored as one row
//! of that value, so that the kernel reads only the varying ones from memory. The results are
//! bit-identical to the node rule's (see [`super::passes`]).

use super::columns::RowColumns;
use super::passes::{
    curvature, expectation_pass, fused_pass, lax_friedrichs_controls, upwind_controls, ControlPass,
    LastControl, Segment, CONVEX, FREE, MIXED, NOT_CONVEX,
};
use super::ExplicitStepper;
use crate::grid::MAX_DIMENSIONS;
use crate::settings::Differencing;
use crate::time::StepOutcome;

/// Nodes per segment of a row: the row kernel's passes over a segment (about a dozen arrays of
/// this length) stay in the first-level cache.
pub(super) const SEGMENT: usize = 512;

/// Per-task scratch for one row: drift per axis, controls per control, the cost.
#[derive(Debug)]
pub(super) struct RowScratch {
    row: usize,
    drift: Vec<f64>,
    controls: Vec<f64>,
    cost: Vec<f64>,
}

impl RowScratch {
    pub(super) fn new(row: usize, dimension: usize, controls: usize) -> RowScratch {
        RowScratch {
            row,
            drift: vec![0.0; row * dimension],
            controls: vec![0.0; row * controls],
            cost: vec![0.0; row],
        }
    }
}

/// A task's scratch for the row kernel, made once per rayon job and reused for every segment and
/// step it computes (every entry is written before it is read, so what a previous segment left
/// there never reaches a result).
#[derive(Debug)]
pub(super) struct RowWorkspace {
    scratch: RowScratch,
    ghosts: Ghosts,
}

impl RowWorkspace {
    /// The scratch for segments of rows of `row` nodes on `dimension` axes with `controls` controls.
    pub(super) fn new(row: usize, dimension: usize, controls: usize) -> RowWorkspace {
        let capacity = row.min(SEGMENT);
        RowWorkspace {
            scratch: RowScratch::new(capacity, dimension, controls),
            ghosts: Ghosts::new(capacity, dimension),
        }
    }
}

/// The values around one segment of a row (at most [`SEGMENT`] nodes): the segment itself padded
/// with its two neighbours along the contiguous axis (grid values, or the closure's ghosts beyond
/// the row's ends), and, for a row on a face of the box, the ghost values beyond that face per
/// axis.
#[derive(Debug)]
pub(super) struct Ghosts {
    capacity: usize,
    /// `V` at `first − 1 … first + length` (ends through the closure).
    padded: Vec<f64>,
    /// Ghost values ahead of and behind the segment, `[axis · capacity + r]` (faces only).
    ahead: Vec<f64>,
    behind: Vec<f64>,
}

/// Where a segment lies: its first node, its length, the length of its row, its offset in the row
/// and the index of the row's first node.
#[derive(Debug, Clone, Copy)]
struct Piece<const D: usize> {
    first: usize,
    length: usize,
    row: usize,
    offset: usize,
    index: [usize; D],
}

impl Ghosts {
    fn new(capacity: usize, dimension: usize) -> Ghosts {
        Ghosts {
            capacity,
            padded: vec![0.0; capacity + 2],
            ahead: vec![0.0; capacity * dimension],
            behind: vec![0.0; capacity * dimension],
        }
    }

    /// Fill the padded segment and the ghost values of the faces its row lies on, with the
    /// closures' values (`Closure::forward`/`backward`, as the node rule reads them).
    #[inline(always)]
    fn fill<const D: usize>(&mut self, stepper: &ExplicitStepper<'_>, old: &[f64], piece: &Piece<D>) {
        let (first, length, row) = (piece.first, piece.length, piece.row);
        let capacity = self.capacity;
        let closure = stepper.closures[D - 1];
        self.padded[1..=length].copy_from_slice(&old[first..][..length]);
        let last = first + length - 1;
        self.padded[0] = if piece.offset == 0 {
            closure.backward(first, 0, row, 1).value(old, old[first])
        } else {
            old[first - 1]
        };
        self.padded[length + 1] = if piece.offset + length == row {
            closure.forward(last, row - 1, row, 1).value(old, old[last])
        } else {
            old[last + 1]
        };
        for k in 0..D - 1 {
            let (i, size, stride, closure) =
                (piece.index[k], stepper.shape[k], stepper.strides[k], stepper.closures[k]);
            if i + 1 >= size {
                for (r, ghost) in self.ahead[k * capacity..][..length].iter_mut().enumerate() {
                    let node = first + r;
                    *ghost = closure.forward(node, i, size, stride).value(old, old[node]);
                }
            }
            if i == 0 {
                for (r, ghost) in self.behind[k * capacity..][..length].iter_mut().enumerate() {
                    let node = first + r;
                    *ghost = closure.backward(node, i, size, stride).value(old, old[node]);
                }
            }
        }
    }

    /// The segment's values and its neighbours' along every axis: grid values inside the box,
    /// ghost values beyond it.
    #[inline(always)]
    fn neighbours<'g, const D: usize>(
        &'g self,
        stepper: &ExplicitStepper<'_>,
        old: &'g [f64],
        piece: &Piece<D>,
    ) -> (&'g [f64], [&'g [f64]; D], [&'g [f64]; D]) {
        let (first, length, capacity) = (piece.first, piece.length, self.capacity);
        let forward = std::array::from_fn(|k| {
            if k == D - 1 {
                &self.padded[2..length + 2]
            } else if piece.index[k] + 1 < stepper.shape[k] {
                &old[first + stepper.strides[k]..][..length]
            } else {
                &self.ahead[k * capacity..][..length]
            }
        });
        let backward = std::array::from_fn(|k| {
            if k == D - 1 {
                &self.padded[..length]
            } else if piece.index[k] > 0 {
                &old[first - stepper.strides[k]..][..length]
            } else {
                &self.behind[k * capacity..][..length]
            }
        });
        (&self.padded[1..=length], forward, backward)
    }
}

impl ExplicitStepper<'_> {
    /// The nodes `first .. first + out.len()` of one row, given `V` there (`centre`) and at both
    /// neighbours along every axis (`forward`, `backward`: grid rows, or ghost rows beyond an
    /// end): `out` receives `V^{n+1}`, `controls` the policy (`[r · m + j]`).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn row_kernel<const D: usize>(
        &self,
        columns: &RowColumns,
        centre: &[f64],
        forward: [&[f64]; D],
        backward: [&[f64]; D],
        first: usize,
        out: &mut [f64],
        controls: &mut [f64],
        scratch: &mut RowScratch,
    ) {
        let length = out.len();
        let m = columns.driven.len();
        let row = scratch.row;
        let beta = self.discount_factor;
        let lax_friedrichs = self.differencing == Differencing::LaxFriedrichs;
        let centre = &centre[..length];
        // Every control but the last in a pass of its own (drift and cost to scratch); the last
        // one fused with the expectation.
        let earlier = m.saturating_sub(1);
        if earlier > 0 {
            scratch.cost[..length].copy_from_slice(columns.cost_base.slice(first, length));
        }
        for (j, &i) in columns.driven[..earlier].iter().enumerate() {
            let inverse_spacing = self.inverse_spacing[i];
            let (forward, backward) = (&forward[i][..length], &backward[i][..length]);
            let base = columns.base[i].slice(first, length);
            let gain = columns.gain[i].slice(first, length);
            let linear = columns.linear[j].slice(first, length);
            let quadratic = columns.quadratic[j].slice(first, length);
            let bounds = self.control_bounds[j];
            let chosen = &mut scratch.controls[j * row..][..length];
            let drift = &mut scratch.drift[i * row..][..length];
            let cost = &mut scratch.cost[..length];
            let pass = ControlPass { centre, forward, backward, base, gain, linear, quadratic };
            if lax_friedrichs {
                lax_friedrichs_controls(&pass, inverse_spacing, beta, bounds, chosen, cost, drift);
            } else {
                let precomputed = [&columns.root[j], &columns.vertex_scale[j], &columns.flat[j]]
                    .map(|column| column.slice(first, length));
                // Direct calls (not a function pointer), so each is inlined into the caller's
                // instruction set.
                match curvature(&columns.linear[j], &columns.quadratic[j]) {
                    FREE => upwind_controls::<FREE>(
                        &pass,
                        inverse_spacing,
                        beta,
                        bounds,
                        precomputed,
                        chosen,
                        cost,
                        drift,
                    ),
                    CONVEX => upwind_controls::<CONVEX>(
                        &pass,
                        inverse_spacing,
                        beta,
                        bounds,
                        precomputed,
                        chosen,
                        cost,
                        drift,
                    ),
                    NOT_CONVEX => upwind_controls::<NOT_CONVEX>(
                        &pass,
                        inverse_spacing,
                        beta,
                        bounds,
                        precomputed,
                        chosen,
                        cost,
                        drift,
                    ),
                    _ => upwind_controls::<MIXED>(
                        &pass,
                        inverse_spacing,
                        beta,
                        bounds,
                        precomputed,
                        chosen,
                        cost,
                        drift,
                    ),
                }
            }
        }
        let mut earlier_axis = [false; MAX_DIMENSIONS];
        for &i in &columns.driven[..earlier] {
            earlier_axis[i] = true;
        }
        let segment = Segment::<D> {
            centre,
            forward,
            backward,
            // The last control's axis reads its base here, never used: the fused pass computes
            // that drift.
            drift: std::array::from_fn(|i| {
                if earlier_axis[i] {
                    &scratch.drift[i * row..][..length]
                } else {
                    columns.base[i].slice(first, length)
                }
            }),
            diffusion: std::array::from_fn(|i| {
                columns.diffusion.get(i).map_or(&[][..], |c| c.slice(first, length))
            }),
            dissipation: std::array::from_fn(|i| {
                columns.dissipation.get(i).map_or(&[][..], |c| c.slice(first, length))
            }),
            cost: if earlier > 0 { &scratch.cost[..length] } else { columns.cost_base.slice(first, length) },
            inverse_spacing: std::array::from_fn(|i| self.inverse_spacing[i]),
            discount_factor: beta,
            time_step: self.time_step,
        };
        let diffusion = !columns.diffusion.is_empty();
        let Some(&axis) = columns.driven.last() else {
            match (lax_friedrichs, diffusion) {
                (false, false) => expectation_pass::<D, false, false>(&segment, out),
                (false, true) => expectation_pass::<D, false, true>(&segment, out),
                (true, false) => expectation_pass::<D, true, false>(&segment, out),
                (true, true) => expectation_pass::<D, true, true>(&segment, out),
            }
            return;
        };
        let j = m - 1;
        let last = LastControl {
            axis,
            base: columns.base[axis].slice(first, length),
            gain: columns.gain[axis].slice(first, length),
            linear: columns.linear[j].slice(first, length),
            quadratic: columns.quadratic[j].slice(first, length),
            bounds: self.control_bounds[j],
            precomputed: if lax_friedrichs {
                [&[][..]; 3]
            } else {
                [&columns.root[j], &columns.vertex_scale[j], &columns.flat[j]]
                    .map(|column| column.slice(first, length))
            },
        };
        // One control goes straight to the policy; several are interleaved below.
        let chosen =
            if m == 1 { &mut controls[..length] } else { &mut scratch.controls[j * row..][..length] };
        match (lax_friedrichs, diffusion, curvature(&columns.linear[j], &columns.quadratic[j])) {
            (true, false, _) => fused_pass::<D, true, false, MIXED>(&segment, &last, chosen, out),
            (true, true, _) => fused_pass::<D, true, true, MIXED>(&segment, &last, chosen, out),
            (false, false, FREE) => fused_pass::<D, false, false, FREE>(&segment, &last, chosen, out),
            (false, false, CONVEX) => fused_pass::<D, false, false, CONVEX>(&segment, &last, chosen, out),
            (false, false, NOT_CONVEX) => {
                fused_pass::<D, false, false, NOT_CONVEX>(&segment, &last, chosen, out)
            }
            (false, false, _) => fused_pass::<D, false, false, MIXED>(&segment, &last, chosen, out),
            (false, true, FREE) => fused_pass::<D, false, true, FREE>(&segment, &last, chosen, out),
            (false, true, CONVEX) => fused_pass::<D, false, true, CONVEX>(&segment, &last, chosen, out),
            (false, true, NOT_CONVEX) => {
                fused_pass::<D, false, true, NOT_CONVEX>(&segment, &last, chosen, out)
            }
            (false, true, _) => fused_pass::<D, false, true, MIXED>(&segment, &last, chosen, out),
        }
        if m > 1 {
            for j in 0..m {
                let chosen = &scratch.controls[j * row..][..length];
                for (r, u) in chosen.iter().enumerate() {
                    controls[r * m + j] = *u;
                }
            }
        }
    }

    /// The nodes `start .. start + values.len()` through [`ExplicitStepper::row_kernel`], in
    /// segments of at most [`SEGMENT`] nodes of one row (so that a segment's passes stay in the
    /// first-level cache, and a long row — a 1-D grid — can be shared among tasks): the row's own
    /// ends and the rows on a face of the box read ghost values built by the boundary closures,
    /// node by node exactly as the node rule does.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn rows<const D: usize>(
        &self,
        columns: &RowColumns,
        old: &[f64],
        fixed: Option<&[f64]>,
        start: usize,
        values: &mut [f64],
        controls: &mut [f64],
        workspace: &mut RowWorkspace,
    ) -> StepOutcome {
        let m = columns.driven.len();
        let row = self.shape[D - 1];
        let RowWorkspace { scratch, ghosts } = workspace;
        let mut index = [0usize; D];
        let mut first_bad: Option<(usize, f64)> = None;
        let mut largest = (0.0f64, start);
        let mut largest_piece: Option<(usize, usize)> = None;
        let mut done = 0;
        while done < values.len() {
            let first = start + done;
            let offset = first % row;
            let length = (row - offset).min(SEGMENT).min(values.len() - done);
            self.problem.grid.unravel_inplace(first - offset, &mut index);
            let piece = Piece::<D> { first, length, row, offset, index };
            let piece_values = &mut values[done..][..length];
            let piece_controls = &mut controls[done * m..][..length * m];
            ghosts.fill::<D>(self, old, &piece);
            let (centre, forward, backward) = ghosts.neighbours::<D>(self, old, &piece);
            self.row_kernel::<D>(
                columns,
                centre,
                forward,
                backward,
                first,
                piece_values,
                piece_controls,
                scratch,
            );
            if let Some(fixed) = fixed {
                // Fixed nodes (Dirichlet ends, target sets) hold their prescribed value.
                for (r, held) in fixed[first..][..length].iter().enumerate() {
                    if !held.is_nan() {
                        piece_values[r] = *held;
                        piece_controls[r * m..(r + 1) * m].fill(0.0);
                    }
                }
            }
            // The first non-finite value and the largest |V|, lowest node first (passes that
            // vectorise; the same answer as a node-by-node scan).
            const EXPONENT: u64 = 0x7ff0_0000_0000_0000;
            let non_finite =
                piece_values.iter().fold(0u64, |any, v| any | u64::from(v.to_bits() & EXPONENT == EXPONENT));
            if first_bad.is_none() && non_finite != 0 {
                let r = piece_values.iter().position(|v| !v.is_finite()).expect("a non-finite value");
                first_bad = Some((first + r, piece_values[r]));
            }
            let piece_largest = piece_values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            if piece_largest > largest.0 {
                largest.0 = piece_largest;
                largest_piece = Some((done, length));
            }
            done += length;
        }
        if let Some((done, length)) = largest_piece {
            let piece_values = &values[done..][..length];
            let r = piece_values.iter().position(|v| v.abs() == largest.0).expect("the largest value");
            largest.1 = start + done + r;
        }
        StepOutcome { first_non_finite: first_bad, largest }
    }

    /// [`ExplicitStepper::rows`] compiled for AVX2 (Rust never fuses multiply–adds on its own, so
    /// the bits equal the portable path's).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn rows_avx2<const D: usize>(
        &self,
        columns: &RowColumns,
        old: &[f64],
        fixed: Option<&[f64]>,
        start: usize,
        values: &mut [f64],
        controls: &mut [f64],
        workspace: &mut RowWorkspace,
    ) -> StepOutcome {
        self.rows::<D>(columns, old, fixed, start, values, controls, workspace)
    }

    /// [`ExplicitStepper::rows`] compiled for AVX-512 (eight lanes; same bits again).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn rows_avx512<const D: usize>(
        &self,
        columns: &RowColumns,
        old: &[f64],
        fixed: Option<&[f64]>,
        start: usize,
        values: &mut [f64],
        controls: &mut [f64],
        workspace: &mut RowWorkspace,
    ) -> StepOutcome {
        self.rows::<D>(columns, old, fixed, start, values, controls, workspace)
    }
}
