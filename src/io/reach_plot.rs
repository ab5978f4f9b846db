//! Pictures of reachable sets (`[reachability]` problems): the value plot with the set
//! `{V(·, 0) ≤ 0}` shaded.
//!
//! - 1-D: `V` over the axis, the set shaded in red, the target `l(x, 0)` dashed grey (the
//!   obstacle's `−o` dashed orange), the reference dashed red when there is one.
//! - 2-D: the heatmap of `V` (viridis) with the set shaded (translucent red), its boundary
//!   `V = 0` drawn solid red and the target's zero contour `l = 0` dashed white (the obstacle's
//!   `o = 0` dashed orange), a legend naming them.
//! - ≥ 3-D: a 2 × 2 panel of slices at four values of the third state (for a periodic axis its
//!   quarter turns, e.g. ψ = 0, π/2, π, 3π/2 on air3d; otherwise the ends and the thirds), every
//!   later state at its middle node, drawn as in 2-D with one colour scale; slices interpolate
//!   multilinearly ([`crate::io::figures::slice_field`]).
//!
//! The title names the mode (set, tube, reach–avoid) and the fraction of grid nodes inside.
//! Target and obstacle are evaluated at `t = 0`.

use crate::error::Result;
use crate::grid::{row_major, Grid};
use crate::io::figures::slice_field;
use crate::io::plot::{finite_range, marching_squares, render, DrawResult, Plane, HEIGHT, WIDTH};
use crate::problem::function::PointFunction;
use crate::problem::game::{inside_count, ReachMode};
use crate::problem::Problem;
use ndarray::ArrayD;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use std::collections::HashMap;
use std::path::Path;

/// Largest number of cells drawn per axis of a panel.
const MAX_CELLS: usize = 200;
const ORANGE: RGBColor = RGBColor(255, 140, 0);

/// What a reachability picture shows.
#[derive(Debug)]
pub struct SetPicture<'a> {
    /// The grid of `values` (the problem's, or a stored result's).
    pub grid: &'a Grid,
    /// `V(·, 0)`.
    pub values: &'a ArrayD<f64>,
    /// A reference drawn dashed on 1-D pictures.
    pub reference: Option<&'a ArrayD<f64>>,
    /// Leads the title, e.g. `air3d` or `air3d (lax_friedrichs)`.
    pub title: String,
    /// Name of the field for the colour bar or y axis.
    pub field_name: String,
}

/// How a mode is named in titles and legends.
pub fn mode_words(mode: ReachMode) -> &'static str {
    match mode {
        ReachMode::Set => "backward reachable set",
        ReachMode::Tube => "backward reachable tube",
        ReachMode::ReachAvoid => "reach–avoid set",
    }
}

/// `function(x, 0, t = 0)` at every node of `grid` (controls and disturbances at 0).
fn tabulate(function: &PointFunction, problem: &Problem, grid: &Grid) -> Vec<f64> {
    let mut variables = vec![0.0; grid.dimension() + problem.controls.len() + 1];
    (0..grid.node_count())
        .map(|node| {
            variables[..grid.dimension()].copy_from_slice(&grid.point(node));
            function.evaluate(&variables)
        })
        .collect()
}

/// Write the picture of the reachable set of `problem` to `path` (PNG). A problem without
/// `[reachability]` gets nothing (returns `Ok(false)`).
pub fn write_reachable_png(path: &Path, problem: &Problem, picture: &SetPicture) -> Result<bool> {
    let Some(reach) = &problem.reachability else {
        return Ok(false);
    };
    let grid = picture.grid;
    let values = row_major(picture.values);
    let target = tabulate(&reach.target, problem, grid);
    let obstacle = reach.obstacle.as_ref().map(|o| tabulate(o, problem, grid));
    let (_, fraction) = inside_count(&values);
    let title = format!(
        "{}: {} {{V ≤ 0}}, {:.2} % of the grid inside",
        picture.title,
        mode_words(reach.mode),
        100.0 * fraction
    );
    let set_label = format!("{{V ≤ 0}} ({})", reach.mode.name());
    render(path, |target_path| match grid.dimension() {
        1 => draw_line(target_path, picture, &values, &target, obstacle.as_deref(), &title, &set_label),
        2 => {
            let fields = Fields { values: &values, target: &target, obstacle: obstacle.as_deref() };
            draw_single(target_path, grid, &fields, &title, &set_label, &picture.field_name)
        }
        _ => draw_slices(target_path, grid, picture.values, &target, obstacle.as_deref(), &title, &set_label),
    })?;
    Ok(true)
}

/// The fields of one 2-D panel, row-major on its grid.
struct Fields<'a> {
    values: &'a [f64],
    target: &'a [f64],
    obstacle: Option<&'a [f64]>,
}

fn draw_line(
    path: &Path,
    picture: &SetPicture,
    values: &[f64],
    target: &[f64],
    obstacle: Option<&[f64]>,
    title: &str,
    set_label: &str,
) -> DrawResult {
    let axis = &picture.grid.axes()[0];
    let x = axis.coordinates();
    let reference = picture.reference.map(|r| row_major(r).into_owned());
    let all = values.iter().chain(reference.iter().flatten()).chain(target).copied();
    let (low, high) = finite_range(all);
    let margin = 0.05 * (high - low);
    let (low, high) = (low - margin, high + margin);
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(80)
        .build_cartesian_2d(axis.lower..axis.upper, low..high)?;
    chart
        .configure_mesh()
        .x_desc(axis.label())
        .y_desc(picture.field_name.as_str())
        .axis_desc_style(("sans-serif", 22))
        .label_style(("sans-serif", 18))
        .draw()?;
    // The set: the cells around the nodes with V ≤ 0.
    let half = 0.5 * axis.spacing();
    let shade = RED.mix(0.18).filled();
    chart
        .draw_series(values.iter().zip(&x).filter(|(v, _)| **v <= 0.0).map(|(_, x)| {
            let (a, b) = ((x - half).max(axis.lower), (x + half).min(axis.upper));
            Rectangle::new([(a, low), (b, high)], shade)
        }))?
        .label(set_label)
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 25, y + 6)], shade));
    let line = |field: &[f64]| x.iter().copied().zip(field.iter().copied()).collect::<Vec<_>>();
    chart
        .draw_series(LineSeries::new(line(values), BLUE.stroke_width(3)))?
        .label("V(x, 0)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], BLUE.stroke_width(3)));
    let grey = RGBColor(90, 90, 90);
    chart
        .draw_series(DashedLineSeries::new(line(target), 8, 6, grey.stroke_width(2)))?
        .label("target l(x, 0)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], grey.stroke_width(2)));
    if let Some(obstacle) = obstacle {
        let lifted: Vec<f64> = obstacle.iter().map(|o| -o).collect();
        chart
            .draw_series(DashedLineSeries::new(line(&lifted), 8, 6, ORANGE.stroke_width(2)))?
            .label("−o(x, 0) (obstacle where ≥ 0)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], ORANGE.stroke_width(2)));
    }
    if let Some(reference) = &reference {
        chart
            .draw_series(DashedLineSeries::new(line(reference), 10, 6, RED.stroke_width(2)))?
            .label("reference")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], RED.stroke_width(2)));
    }
    legend(&mut chart)?;
    root.present()?;
    Ok(())
}

fn legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()?;
    Ok(())
}

/// One 2-D panel: heatmap, shaded set, its boundary, dashed target (and obstacle) contours.
#[allow(clippy::too_many_arguments)]
fn draw_panel(
    area: &DrawingArea<BitMapBackend, Shift>,
    grid: &Grid,
    fields: &Fields,
    (low, high): (f64, f64),
    caption: &str,
    caption_size: u32,
    set_label: Option<&str>,
) -> DrawResult {
    let (x_axis, y_axis) = (&grid.axes()[0], &grid.axes()[1]);
    let plane = Plane::new(grid, MAX_CELLS);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", caption_size))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(65)
        .build_cartesian_2d(x_axis.lower..x_axis.upper, y_axis.lower..y_axis.upper)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x_axis.label())
        .y_desc(y_axis.label())
        .axis_desc_style(("sans-serif", 20))
        .label_style(("sans-serif", 16))
        .draw()?;
    chart.draw_series(plane.cells(fields.values, low, high))?;
    // The set: translucent red over the cells whose node has V ≤ 0.
    let edges = |samples: &[usize], axis: &crate::grid::Axis| -> Vec<f64> {
        let mut edges = vec![axis.lower];
        edges.extend(samples.windows(2).map(|w| 0.5 * (axis.coordinate(w[0]) + axis.coordinate(w[1]))));
        edges.push(axis.upper);
        edges
    };
    let (x_edges, y_edges) = (edges(&plane.xs, x_axis), edges(&plane.ys, y_axis));
    let shade = RED.mix(0.35).filled();
    let mut shaded = Vec::new();
    for (a, i) in plane.xs.iter().enumerate() {
        for (b, j) in plane.ys.iter().enumerate() {
            if fields.values[plane.node(*i, *j)] <= 0.0 {
                shaded.push(Rectangle::new(
                    [(x_edges[a], y_edges[b]), (x_edges[a + 1], y_edges[b + 1])],
                    shade,
                ));
            }
        }
    }
    let set = chart.draw_series(shaded)?;
    if let Some(label) = set_label {
        set.label(label).legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 25, y + 6)], shade));
    }
    let contour = |field: &[f64]| {
        let value = |a: usize, b: usize| field[plane.node(plane.xs[a], plane.ys[b])];
        let point = |a: usize, b: usize| (x_axis.coordinate(plane.xs[a]), y_axis.coordinate(plane.ys[b]));
        marching_squares(plane.xs.len(), plane.ys.len(), &value, &point, 0.0)
    };
    let boundary = RED.stroke_width(3);
    let drawn = chart.draw_series(
        contour(fields.values).into_iter().map(|(p, q)| PathElement::new(vec![p, q], boundary)),
    )?;
    if set_label.is_some() {
        drawn.label("V = 0").legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], boundary));
    }
    let mut dashed = vec![(fields.target, WHITE, "target l = 0")];
    if let Some(obstacle) = fields.obstacle {
        dashed.push((obstacle, ORANGE, "obstacle o = 0"));
    }
    for (field, color, label) in dashed {
        let style = color.stroke_width(2);
        for line in polylines(contour(field)) {
            chart.draw_series(DashedLineSeries::new(line, 9, 6, style))?;
        }
        if set_label.is_some() {
            chart
                .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], style));
        }
    }
    if set_label.is_some() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(RGBColor(200, 200, 200).mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .draw()?;
    }
    Ok(())
}

/// The colour bar of `[low, high]` with the field's name.
fn draw_bar(area: &DrawingArea<BitMapBackend, Shift>, (low, high): (f64, f64), name: &str) -> DrawResult {
    let mut bar = ChartBuilder::on(area)
        .margin_top(60)
        .margin_bottom(75)
        .margin_right(10)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..1.0, low..high)?;
    bar.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(name)
        .axis_desc_style(("sans-serif", 20))
        .label_style(("sans-serif", 16))
        .draw()?;
    let steps = 200;
    bar.draw_series((0..steps).map(|k| {
        let a = low + (high - low) * k as f64 / steps as f64;
        let b = low + (high - low) * (k + 1) as f64 / steps as f64;
        Rectangle::new(
            [(0.0, a), (1.0, b)],
            ViridisRGB::get_color_normalized(0.5 * (a + b), low, high).filled(),
        )
    }))?;
    Ok(())
}

fn draw_single(
    path: &Path,
    grid: &Grid,
    fields: &Fields,
    title: &str,
    set_label: &str,
    name: &str,
) -> DrawResult {
    let range = finite_range(fields.values.iter().copied());
    let root = BitMapBackend::new(path, (WIDTH + 160, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(WIDTH);
    draw_panel(&left, grid, fields, range, title, 20, Some(set_label))?;
    draw_bar(&right, range, name)?;
    root.present()?;
    Ok(())
}

/// The four coordinates of the third axis the slices are taken at.
pub fn slice_coordinates(axis: &crate::grid::Axis) -> [f64; 4] {
    let length = axis.upper - axis.lower;
    if axis.periodic {
        [0, 1, 2, 3].map(|k| axis.lower + length * k as f64 / 4.0)
    } else {
        [0, 1, 2, 3].map(|k| axis.lower + length * k as f64 / 3.0)
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_slices(
    path: &Path,
    grid: &Grid,
    values: &ArrayD<f64>,
    target: &[f64],
    obstacle: Option<&[f64]>,
    title: &str,
    set_label: &str,
) -> DrawResult {
    let axes = grid.axes();
    let third = &axes[2];
    let field = |flat: &[f64]| grid.field(flat.to_vec());
    let (target, obstacle) = (field(target), obstacle.map(field));
    let mut panels = Vec::new();
    for coordinate in slice_coordinates(third) {
        let mut fixed: Vec<Option<f64>> = vec![None; axes.len()];
        fixed[2] = Some(coordinate);
        for (k, axis) in axes.iter().enumerate().skip(3) {
            fixed[k] = Some(axis.coordinate(axis.points / 2));
        }
        let v = slice_field(grid, values, &fixed)?;
        let l = slice_field(grid, &target, &fixed)?;
        let o = obstacle.as_ref().map(|o| slice_field(grid, o, &fixed)).transpose()?;
        let mut caption = format!("{} = {coordinate:.3}", third.name);
        if !third.units.is_empty() {
            caption = format!("{caption} {}", third.units);
        }
        if axes.len() > 3 {
            caption = format!("{caption} ({} others at their middle)", axes.len() - 3);
        }
        panels.push((caption, v, l, o));
    }
    let range = finite_range(panels.iter().flat_map(|p| p.1.values.iter().copied()));
    let (panel_width, panel_height) = (620u32, 540u32);
    let root = BitMapBackend::new(path, (2 * panel_width + 160, 2 * panel_height + 60)).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(60);
    header.titled(title, ("sans-serif", 24))?;
    let (left, right) = body.split_horizontally(2 * panel_width);
    for (slot, (area, (caption, v, l, o))) in left.split_evenly((2, 2)).iter().zip(&panels).enumerate() {
        let (v, l) = (row_major(&v.values), row_major(&l.values));
        let o = o.as_ref().map(|o| row_major(&o.values).into_owned());
        let fields = Fields { values: &v, target: &l, obstacle: o.as_deref() };
        draw_panel(
            area,
            &panels[slot].1.grid,
            &fields,
            range,
            caption,
            18,
            (slot == 0).then_some(set_label),
        )?;
    }
    draw_bar(&right, range, "V(·, 0)")?;
    root.present()?;
    Ok(())
}

/// Join marching-squares segments that share end points into polylines (so a dashed style
/// dashes along the curve instead of restarting on every cell).
fn polylines(segments: Vec<((f64, f64), (f64, f64))>) -> Vec<Vec<(f64, f64)>> {
    let key = |p: (f64, f64)| ((p.0 * 1e9).round() as i64, (p.1 * 1e9).round() as i64);
    let mut ends: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for (k, (p, q)) in segments.iter().enumerate() {
        ends.entry(key(*p)).or_default().push(k);
        ends.entry(key(*q)).or_default().push(k);
    }
    let mut used = vec![false; segments.len()];
    let mut lines = Vec::new();
    for start in 0..segments.len() {
        if used[start] {
            continue;
        }
        used[start] = true;
        let mut line = std::collections::VecDeque::from([segments[start].0, segments[start].1]);
        for forward in [true, false] {
            loop {
                let end =
                    if forward { *line.back().expect("points") } else { *line.front().expect("points") };
                let next = ends.get(&key(end)).and_then(|list| list.iter().find(|k| !used[**k]).copied());
                let Some(k) = next else { break };
                used[k] = true;
                let (p, q) = segments[k];
                let other = if key(p) == key(end) { q } else { p };
                if forward {
                    line.push_back(other);
                } else {
                    line.push_front(other);
                }
            }
        }
        lines.push(line.into_iter().collect());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_join_into_one_polyline() {
        // A square traced by four segments given in scrambled order and directions.
        let segments = vec![
            ((1.0, 0.0), (1.0, 1.0)),
            ((0.0, 0.0), (1.0, 0.0)),
            ((0.0, 1.0), (0.0, 0.0)),
            ((0.0, 1.0), (1.0, 1.0)),
        ];
        let lines = polylines(segments);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].len(), 5);
        assert_eq!(lines[0].first(), lines[0].last());
    }

    #[test]
    fn slices_of_a_periodic_axis_are_quarter_turns() {
        let axis = crate::grid::Axis {
            name: "psi".to_string(),
            lower: 0.0,
            upper: std::f64::consts::TAU,
            points: 50,
            periodic: true,
            units: "rad".to_string(),
        };
        let expected =
            [0.0, std::f64::consts::FRAC_PI_2, std::f64::consts::PI, 3.0 * std::f64::consts::FRAC_PI_2];
        for (got, want) in slice_coordinates(&axis).iter().zip(expected) {
            assert!((got - want).abs() < 1e-12);
        }
    }
}
