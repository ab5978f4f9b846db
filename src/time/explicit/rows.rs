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
//! with the weights of [`crate::scheme::weights`]. A row is computed in three passes over it: the
//! controls (one pass per control), the weights and the expectation, then the controls'
//! interleaving into the policy. Its neighbours along each axis are grid rows, or ghost rows where
//! the row lies on a face of the box, and the row itself is padded with the ghosts beyond its two
//! ends: every ghost is the boundary closure's value ([`crate::scheme::closure::Closure`]), node by
//! node, exactly as the node rule reads it. Fixed nodes (Dirichlet ends, targets) then take their
//! values.
//!
//! What does not depend on `V` is computed once per table: the root `−a_i/b_i` clamped to the
//! box, the vertex factor `−1/(2r_j)` and the minimiser for a flat drift (`b_i = 0`). Coefficient
//! columns that hold one value on the whole grid (a gain of 1, a zero cost) are stored as one row
//! of that value, so that the kernel reads only the varying ones from memory. Each select
//! computes exactly the node rule's operations in the same order (no reassociation, no fused
//! multiply–add), so the results are bit-identical to the node rule's.

use super::columns::RowColumns;
use super::ExplicitStepper;
use crate::grid::MAX_DIMENSIONS;
use crate::scheme::minimiser::upwind_term;
use crate::scheme::row_hamiltonian::quadratic_select;
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

/// [`crate::scheme::minimiser::minimise_single`] with selects and the `V`-independent parts
/// precomputed (`root`, `vertex_scale`, `flat`; see [`RowColumns`]): both pieces are computed and
/// the better by the true objective is kept.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn single_select<const CURVATURE: u8>(
    base: f64,
    gain: f64,
    forward: f64,
    backward: f64,
    scale: f64,
    linear: f64,
    quadratic: f64,
    (lower, upper): (f64, f64),
    root: f64,
    vertex_scale: f64,
    flat: f64,
) -> f64 {
    let positive_slope = linear + scale * gain * forward;
    let negative_slope = linear + scale * gain * backward;
    let rising = gain > 0.0;
    let (positive_low, positive_high) =
        (if rising { root } else { lower }, if rising { upper } else { root });
    let (negative_low, negative_high) =
        (if rising { lower } else { root }, if rising { root } else { upper });
    let convex = match CURVATURE {
        CONVEX => true,
        NOT_CONVEX => false,
        _ => quadratic > 0.0,
    };
    let first = if convex {
        (positive_slope * vertex_scale).max(positive_low).min(positive_high)
    } else {
        linear_select(positive_slope, quadratic, positive_low, positive_high)
    };
    let second = if convex {
        (negative_slope * vertex_scale).max(negative_low).min(negative_high)
    } else {
        linear_select(negative_slope, quadratic, negative_low, negative_high)
    };
    let objective =
        |u: f64| linear * u + quadratic * u * u + scale * upwind_term(base + gain * u, forward, backward);
    let better = if objective(second) < objective(first) { second } else { first };
    if gain == 0.0 {
        flat
    } else {
        better
    }
}

/// [`single_select`]'s knowledge of the cost's curvature `r_j` over a segment: a constant
/// `r_j > 0` everywhere, a constant `r_j ≤ 0`, or either (decided per node). With a constant the
/// other branch is not computed; the result is the same select.
const MIXED: u8 = 0;
const CONVEX: u8 = 1;
const NOT_CONVEX: u8 = 2;

/// [`minimise_quadratic`] for `quadratic ≤ 0` (the better bound; 0 clamped on a tie), as selects.
#[inline(always)]
fn linear_select(linear: f64, quadratic: f64, lower: f64, upper: f64) -> f64 {
    let at_lower = linear * lower + quadratic * lower * lower;
    let at_upper = linear * upper + quadratic * upper * upper;
    if at_upper < at_lower {
        upper
    } else if at_lower < at_upper {
        lower
    } else {
        0.0f64.max(lower).min(upper)
    }
}

/// What the control pass of one control reads over a segment: `V` at the nodes and both
/// neighbours along the driven axis, and that axis's and that control's coefficients.
struct ControlPass<'s> {
    centre: &'s [f64],
    forward: &'s [f64],
    backward: &'s [f64],
    base: &'s [f64],
    gain: &'s [f64],
    linear: &'s [f64],
    quadratic: &'s [f64],
}

/// The upwind minimiser of one control over a segment ([`single_select`]): `chosen` receives
/// `u`, `cost` accumulates `c u + r u²`, `drift` receives `a + b u`. `precomputed` holds the root,
/// vertex factor and flat minimiser columns. Written over arguments re-sliced to one length so
/// that the loop has no bounds checks and vectorises.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn upwind_controls<const CURVATURE: u8>(
    pass: &ControlPass<'_>,
    inverse_spacing: f64,
    beta: f64,
    bounds: (f64, f64),
    precomputed: [&[f64]; 3],
    chosen: &mut [f64],
    cost: &mut [f64],
    drift: &mut [f64],
) {
    let length = chosen.len();
    let (centre, forward, backward) =
        (&pass.centre[..length], &pass.forward[..length], &pass.backward[..length]);
    let (base, gain) = (&pass.base[..length], &pass.gain[..length]);
    let (linear, quadratic) = (&pass.linear[..length], &pass.quadratic[..length]);
    let [root, vertex_scale, flat] = precomputed.map(|s| &s[..length]);
    let (cost, drift) = (&mut cost[..length], &mut drift[..length]);
    for r in 0..length {
        let forward_difference = (forward[r] - centre[r]) * inverse_spacing;
        let backward_difference = (centre[r] - backward[r]) * inverse_spacing;
        let u = single_select::<CURVATURE>(
            base[r],
            gain[r],
            forward_difference,
            backward_difference,
            beta,
            linear[r],
            quadratic[r],
            bounds,
            root[r],
            vertex_scale[r],
            flat[r],
        );
        chosen[r] = u;
        cost[r] += linear[r] * u + quadratic[r] * u * u;
        drift[r] = base[r] + gain[r] * u;
    }
}

/// The Lax–Friedrichs minimiser of one control over a segment (the clamped vertex at the
/// central difference, [`quadratic_select`]); outputs as in [`upwind_controls`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn lax_friedrichs_controls(
    pass: &ControlPass<'_>,
    inverse_spacing: f64,
    beta: f64,
    (lower, upper): (f64, f64),
    chosen: &mut [f64],
    cost: &mut [f64],
    drift: &mut [f64],
) {
    let length = chosen.len();
    let (centre, forward, backward) =
        (&pass.centre[..length], &pass.forward[..length], &pass.backward[..length]);
    let (base, gain) = (&pass.base[..length], &pass.gain[..length]);
    let (linear, quadratic) = (&pass.linear[..length], &pass.quadratic[..length]);
    let (cost, drift) = (&mut cost[..length], &mut drift[..length]);
    for r in 0..length {
        let forward_difference = (forward[r] - centre[r]) * inverse_spacing;
        let backward_difference = (centre[r] - backward[r]) * inverse_spacing;
        let slope = linear[r] + beta * gain[r] * 0.5 * (forward_difference + backward_difference);
        let u = quadratic_select(slope, quadratic[r], lower, upper);
        chosen[r] = u;
        cost[r] += linear[r] * u + quadratic[r] * u * u;
        drift[r] = base[r] + gain[r] * u;
    }
}

/// The fields of one interior segment of a row: `V` at the nodes and both neighbours per axis,
/// the drift per axis after the controls, and the constants of the step.
struct Segment<'s, const D: usize> {
    centre: &'s [f64],
    forward: [&'s [f64]; D],
    backward: [&'s [f64]; D],
    drift: [&'s [f64]; D],
    diffusion: [&'s [f64]; D],
    dissipation: [&'s [f64]; D],
    cost: &'s [f64],
    inverse_spacing: [f64; D],
    discount_factor: f64,
    time_step: f64,
}

/// `V^{n+1} = β (p_0 V + Σ_i p_i^± V(x ± h_i e_i)) + Δt ℓ` over a segment: upwind
/// ([`crate::scheme::weights::upwind_weights`]) or Lax–Friedrichs
/// ([`crate::scheme::weights::lax_friedrichs_weights`]) weights, with or without diffusion.
#[inline(always)]
fn expectation_pass<const D: usize, const LAX_FRIEDRICHS: bool, const DIFFUSION: bool>(
    segment: &Segment<'_, D>,
    out: &mut [f64],
) {
    let length = out.len();
    let centre = &segment.centre[..length];
    let cost = &segment.cost[..length];
    let forward = segment.forward.map(|s| &s[..length]);
    let backward = segment.backward.map(|s| &s[..length]);
    let drift = segment.drift.map(|s| &s[..length]);
    let diffusion = segment.diffusion.map(|s| if DIFFUSION { &s[..length] } else { s });
    let dissipation = segment.dissipation.map(|s| if LAX_FRIEDRICHS { &s[..length] } else { s });
    let inverse_spacing = segment.inverse_spacing;
    let (beta, dt) = (segment.discount_factor, segment.time_step);
    for r in 0..length {
        let mut stay = 1.0f64;
        let mut ahead = [0.0f64; D];
        let mut behind = [0.0f64; D];
        for i in 0..D {
            let spread =
                if DIFFUSION { diffusion[i][r] * inverse_spacing[i] * inverse_spacing[i] * dt } else { 0.0 };
            if LAX_FRIEDRICHS {
                let scale = 0.5 * dt * inverse_spacing[i];
                let (alpha, f) = (dissipation[i][r], drift[i][r]);
                ahead[i] = scale * (alpha + f) + spread;
                behind[i] = scale * (alpha - f) + spread;
                stay -= 2.0 * scale * alpha + 2.0 * spread;
            } else {
                let rate = drift[i][r] * inverse_spacing[i] * dt;
                let positive = rate > 0.0;
                ahead[i] = if positive { rate + spread } else { spread };
                behind[i] = if positive { spread } else { spread - rate };
                stay = if positive { stay - (rate + 2.0 * spread) } else { stay + (rate - 2.0 * spread) };
            }
        }
        let mut total = stay * centre[r];
        for i in 0..D {
            total += ahead[i] * forward[i][r] + behind[i] * backward[i][r];
        }
        out[r] = beta * total + dt * cost[r];
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
        scratch.cost[..length].copy_from_slice(columns.cost_base.slice(first, length));
        for (j, &i) in columns.driven.iter().enumerate() {
            let inverse_spacing = self.inverse_spacing[i];
            let (forward, backward) = (&forward[i][..length], &backward[i][..length]);
            let base = columns.base[i].slice(first, length);
            let gain = columns.gain[i].slice(first, length);
            let linear = columns.linear[j].slice(first, length);
            let quadratic = columns.quadratic[j].slice(first, length);
            let bounds = self.control_bounds[j];
            // One control goes straight to the policy; several are interleaved after the passes.
            let chosen =
                if m == 1 { &mut controls[..length] } else { &mut scratch.controls[j * row..][..length] };
            let drift = &mut scratch.drift[i * row..][..length];
            let cost = &mut scratch.cost[..length];
            let pass = ControlPass { centre, forward, backward, base, gain, linear, quadratic };
            if lax_friedrichs {
                lax_friedrichs_controls(&pass, inverse_spacing, beta, bounds, chosen, cost, drift);
            } else {
                let root = columns.root[j].slice(first, length);
                let vertex_scale = columns.vertex_scale[j].slice(first, length);
                let flat = columns.flat[j].slice(first, length);
                let precomputed = [root, vertex_scale, flat];
                let curvature = &columns.quadratic[j];
                // Direct calls (not a function pointer), so each is inlined into the caller's
                // instruction set.
                match (curvature.constant, curvature.data.first().is_some_and(|r| *r > 0.0)) {
                    (true, true) => upwind_controls::<CONVEX>(
                        &pass,
                        inverse_spacing,
                        beta,
                        bounds,
                        precomputed,
                        chosen,
                        cost,
                        drift,
                    ),
                    (true, false) => upwind_controls::<NOT_CONVEX>(
                        &pass,
                        inverse_spacing,
                        beta,
                        bounds,
                        precomputed,
                        chosen,
                        cost,
                        drift,
                    ),
                    (false, _) => upwind_controls::<MIXED>(
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
        let mut driven_axis = [false; MAX_DIMENSIONS];
        for &i in &columns.driven {
            driven_axis[i] = true;
        }
        let segment = Segment::<D> {
            centre,
            forward,
            backward,
            drift: std::array::from_fn(|i| {
                if driven_axis[i] {
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
            cost: &scratch.cost[..length],
            inverse_spacing: std::array::from_fn(|i| self.inverse_spacing[i]),
            discount_factor: beta,
            time_step: self.time_step,
        };
        match (lax_friedrichs, !columns.diffusion.is_empty()) {
            (false, false) => expectation_pass::<D, false, false>(&segment, out),
            (false, true) => expectation_pass::<D, false, true>(&segment, out),
            (true, false) => expectation_pass::<D, true, false>(&segment, out),
            (true, true) => expectation_pass::<D, true, true>(&segment, out),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::minimiser::{minimise_quadratic, minimise_single};

    #[test]
    fn the_select_form_equals_the_node_rule() {
        // Every branch of the node rule: signs of the gain and the drift, bang-bang (r = 0) and
        // interior (r > 0) minima, roots inside and outside the box, a discount factor β < 1.
        let values = [-2.0, -0.7, 0.0, 0.3, 1.5];
        let (lower, upper) = (-1.0, 1.0);
        for base in values {
            for gain in values {
                for forward in values {
                    for backward in values {
                        for (linear, quadratic) in [(0.0, 0.0), (0.4, 0.0), (-0.3, 0.5), (1.0, 2.0)] {
                            for scale in [1.0, 0.97] {
                                let expected = minimise_single(
                                    base, gain, forward, backward, scale, linear, quadratic, lower, upper,
                                );
                                type Select =
                                    fn(f64, f64, f64, f64, f64, f64, f64, (f64, f64), f64, f64, f64) -> f64;
                                let select = |form: Select| {
                                    form(
                                        base,
                                        gain,
                                        forward,
                                        backward,
                                        scale,
                                        linear,
                                        quadratic,
                                        (lower, upper),
                                        (-base / gain).max(lower).min(upper),
                                        -0.5 / quadratic,
                                        minimise_quadratic(linear, quadratic, lower, upper),
                                    )
                                };
                                let got = select(single_select::<MIXED>);
                                assert_eq!(
                                    expected.to_bits(),
                                    got.to_bits(),
                                    "{base} {gain} {forward} {backward}"
                                );
                                // With the curvature known for the segment: the same select.
                                let again = select(if quadratic > 0.0 {
                                    single_select::<CONVEX>
                                } else {
                                    single_select::<NOT_CONVEX>
                                });
                                assert_eq!(expected.to_bits(), again.to_bits(), "known curvature");
                            }
                        }
                    }
                }
            }
        }
    }
}
