//! PNG pictures of fields (plotters, bitmap backend, DejaVu Sans embedded — no system fonts).
//!
//! 1-D: a line over the axis (with the reference dashed when there is one). 2-D: a heatmap with a
//! colour bar. ≥ 3-D: the heatmap of the slice through the middle node of every axis after the
//! first two. Axes carry the state names; the colour bar and the y axis carry the field's name.

use crate::error::{HjbError, Result};
use crate::grid::{row_major, Grid};
use ndarray::ArrayD;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use std::path::Path;
use std::sync::Once;

pub(crate) const WIDTH: u32 = 900;
pub(crate) const HEIGHT: u32 = 700;
/// Largest number of cells drawn per heatmap axis (finer grids are sampled).
const MAX_CELLS: usize = 300;

pub(crate) fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The bytes are a valid TrueType font shipped by the `dejavu` crate.
            let _ = plotters::style::register_font("sans-serif", style, dejavu::sans::regular());
        }
    });
}

/// What to draw.
#[derive(Debug)]
pub struct FieldPlot<'a> {
    /// The grid the field lives on.
    pub grid: &'a Grid,
    /// The field, of shape `grid.shape()`.
    pub values: &'a ArrayD<f64>,
    /// Drawn dashed on 1-D plots.
    pub reference: Option<&'a ArrayD<f64>>,
    /// The plot's title.
    pub title: String,
    /// Name of the field, e.g. `V(x, t = 0)`.
    pub field_name: String,
    /// A path drawn over a heatmap (first two coordinates), e.g. a closed-loop trajectory.
    pub overlay: Option<Vec<(f64, f64)>>,
    /// Evenly spaced contour levels drawn on a heatmap (0: none).
    pub contours: usize,
    /// Draw the zero level set on a heatmap (thick red).
    pub zero_level_set: bool,
}

/// Draw `plot` into the PNG file `path`.
pub fn write_field_png(path: &Path, plot: &FieldPlot) -> Result<()> {
    render(path, |target| {
        if plot.grid.dimension() == 1 {
            draw_line(target, plot)
        } else {
            draw_heatmap(target, plot)
        }
    })
}

/// Register the font and run `draw` on a temporary `.png` beside `path`, renamed into place
/// when complete (a kill never leaves a torn picture in place of the old one); the file is
/// named in any error.
pub(crate) fn render(path: &Path, draw: impl FnOnce(&Path) -> DrawResult) -> Result<()> {
    register_font();
    if !path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("png")) {
        return Err(HjbError::InvalidTarget {
            path: path.to_path_buf(),
            message: "pictures are written as PNG; give a path ending in .png".to_string(),
        });
    }
    crate::io::target::write_atomically(path, ".png", |temporary| {
        draw(temporary).map_err(|error| format!("plot failed: {error}"))
    })
}

/// The legend box every line chart uses.
fn legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
    position: SeriesLabelPosition,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 18))
        .draw()?;
    Ok(())
}

pub(crate) fn finite_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for value in values.filter(|v| v.is_finite()) {
        low = low.min(value);
        high = high.max(value);
    }
    if !low.is_finite() {
        return (0.0, 1.0);
    }
    if high - low < 1e-12 * (1.0 + low.abs()) {
        return (low - 0.5, high + 0.5);
    }
    (low, high)
}

pub(crate) type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// The plane of the first two axes through the middle node of every other axis, sampled to at
/// most `cells` nodes per axis: what every heatmap draws.
pub(crate) struct Plane<'a> {
    grid: &'a Grid,
    pub(crate) base: Vec<usize>,
    pub(crate) xs: Vec<usize>,
    pub(crate) ys: Vec<usize>,
}

impl<'a> Plane<'a> {
    pub(crate) fn new(grid: &'a Grid, cells: usize) -> Self {
        let mut base = vec![0usize; grid.dimension()];
        for k in 2..grid.dimension() {
            base[k] = grid.axes()[k].points / 2;
        }
        let sample = |points: usize| -> Vec<usize> {
            let count = points.min(cells);
            (0..count).map(|c| c * (points - 1) / (count - 1).max(1)).collect()
        };
        Plane { grid, base, xs: sample(grid.axes()[0].points), ys: sample(grid.axes()[1].points) }
    }

    /// Flat index of node (i, j) of the plane.
    pub(crate) fn node(&self, i: usize, j: usize) -> usize {
        let mut index = self.base.clone();
        index[0] = i;
        index[1] = j;
        index.iter().zip(self.grid.strides()).map(|(a, s)| a * s).sum()
    }

    pub(crate) fn range(&self, values: &[f64]) -> (f64, f64) {
        finite_range(self.xs.iter().flat_map(|i| self.ys.iter().map(move |j| values[self.node(*i, *j)])))
    }

    /// Coloured cells (viridis on [low, high], magenta where not finite) centred on the samples.
    pub(crate) fn cells(&self, values: &[f64], low: f64, high: f64) -> Vec<Rectangle<(f64, f64)>> {
        let (x_axis, y_axis) = (&self.grid.axes()[0], &self.grid.axes()[1]);
        let edges = |samples: &[usize], axis: &crate::grid::Axis| -> Vec<f64> {
            let mut edges = vec![axis.lower];
            for w in samples.windows(2) {
                edges.push(0.5 * (axis.coordinate(w[0]) + axis.coordinate(w[1])));
            }
            edges.push(axis.upper);
            edges
        };
        let (x_edges, y_edges) = (edges(&self.xs, x_axis), edges(&self.ys, y_axis));
        let mut cells = Vec::with_capacity(self.xs.len() * self.ys.len());
        for (a, i) in self.xs.iter().enumerate() {
            for (b, j) in self.ys.iter().enumerate() {
                let value = values[self.node(*i, *j)];
                let color = if value.is_finite() {
                    ViridisRGB::get_color_normalized(value, low, high)
                } else {
                    RGBColor(255, 0, 255)
                };
                cells.push(Rectangle::new(
                    [(x_edges[a], y_edges[b]), (x_edges[a + 1], y_edges[b + 1])],
                    color.filled(),
                ));
            }
        }
        cells
    }
}

fn draw_line(path: &Path, plot: &FieldPlot) -> DrawResult {
    let axis = &plot.grid.axes()[0];
    let coordinates = axis.coordinates();
    let all = plot.values.iter().chain(plot.reference.into_iter().flatten()).copied();
    let (low, high) = finite_range(all);
    let margin = 0.05 * (high - low);
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&plot.title, ("sans-serif", 26))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(80)
        .build_cartesian_2d(axis.lower..axis.upper, (low - margin)..(high + margin))?;
    chart
        .configure_mesh()
        .x_desc(axis.label())
        .y_desc(plot.field_name.as_str())
        .axis_desc_style(("sans-serif", 22))
        .label_style(("sans-serif", 18))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            coordinates.iter().copied().zip(plot.values.iter().copied()),
            BLUE.stroke_width(3),
        ))?
        .label("hjb")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], BLUE.stroke_width(3)));
    if let Some(reference) = plot.reference {
        chart
            .draw_series(DashedLineSeries::new(
                coordinates.iter().copied().zip(reference.iter().copied()),
                10,
                6,
                RED.stroke_width(2),
            ))?
            .label("reference")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], RED.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present()?;
    Ok(())
}

fn draw_heatmap(path: &Path, plot: &FieldPlot) -> DrawResult {
    let grid = plot.grid;
    let (x_axis, y_axis) = (&grid.axes()[0], &grid.axes()[1]);
    let plane = Plane::new(grid, MAX_CELLS);
    let (xs, ys, base) = (&plane.xs, &plane.ys, &plane.base);
    let node = |i: usize, j: usize| plane.node(i, j);
    let values = row_major(plot.values);
    let (low, high) = plane.range(&values);
    let mut title = plot.title.clone();
    if grid.dimension() > 2 {
        let fixed: Vec<String> = (2..grid.dimension())
            .map(|k| format!("{} = {:.3}", grid.axes()[k].name, grid.axes()[k].coordinate(base[k])))
            .collect();
        title = format!("{title} (slice {})", fixed.join(", "));
    }

    let root = BitMapBackend::new(path, (WIDTH + 160, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(WIDTH);
    let mut chart = ChartBuilder::on(&left)
        .caption(&title, ("sans-serif", 26))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(70)
        .build_cartesian_2d(x_axis.lower..x_axis.upper, y_axis.lower..y_axis.upper)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x_axis.label())
        .y_desc(y_axis.label())
        .axis_desc_style(("sans-serif", 22))
        .label_style(("sans-serif", 18))
        .draw()?;
    let cells = plane.cells(&values, low, high);
    chart.draw_series(cells)?;
    // Contours by marching squares on the drawn samples.
    let sample_value = |a: usize, b: usize| values[node(xs[a], ys[b])];
    let sample_point = |a: usize, b: usize| (x_axis.coordinate(xs[a]), y_axis.coordinate(ys[b]));
    let mut levels: Vec<(f64, ShapeStyle)> = (1..=plot.contours)
        .map(|k| (low + (high - low) * k as f64 / (plot.contours + 1) as f64, WHITE.mix(0.7).stroke_width(1)))
        .collect();
    if plot.zero_level_set && low < 0.0 && high > 0.0 {
        levels.push((0.0, RED.stroke_width(3)));
    }
    for (level, style) in levels {
        let segments = marching_squares(xs.len(), ys.len(), &sample_value, &sample_point, level);
        chart.draw_series(segments.into_iter().map(|(p, q)| PathElement::new(vec![p, q], style)))?;
    }
    if let Some(path) = &plot.overlay {
        chart.draw_series(LineSeries::new(path.iter().copied(), WHITE.stroke_width(4)))?;
        chart.draw_series(LineSeries::new(path.iter().copied(), RED.stroke_width(2)))?;
        if let Some(first) = path.first() {
            chart.draw_series(std::iter::once(Circle::new(*first, 7, RED.filled())))?;
        }
    }

    // Colour bar.
    let mut bar = ChartBuilder::on(&right)
        .margin_top(60)
        .margin_bottom(75)
        .margin_right(10)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..1.0, low..high)?;
    bar.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(plot.field_name.as_str())
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
    root.present()?;
    Ok(())
}

/// `|g(θ)|` along the diagonal `θ_i = θ` for the three differencings, with the stability line
/// `|g| = 1`.
pub fn write_amplification_png(
    path: &Path,
    analysis: &crate::stability::VonNeumann,
    title: &str,
) -> Result<()> {
    let draw = |path: &Path| -> DrawResult {
        let high = analysis.diagonal.iter().flat_map(|(_, g)| g.iter().copied()).fold(1.0f64, f64::max);
        let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let pi = std::f64::consts::PI;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 24))
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(-pi..pi, 0.0..(1.1 * high))?;
        chart
            .configure_mesh()
            .x_desc("θ (all axes, θ_i = θ)")
            .y_desc("|g(θ)|")
            .axis_desc_style(("sans-serif", 22))
            .label_style(("sans-serif", 18))
            .draw()?;
        // Upwind drawn widest underneath: it often coincides with Lax–Friedrichs.
        let colors = [BLUE, GREEN, RED];
        let widths = [7, 3, 3];
        for (k, differencing) in crate::stability::Differencing::ALL.iter().enumerate() {
            let (color, width) = (colors[k], widths[k]);
            chart
                .draw_series(LineSeries::new(
                    analysis.diagonal.iter().map(|(t, g)| (*t, g[k])),
                    color.stroke_width(width),
                ))?
                .label(format!("{} (max {:.4})", differencing.name(), analysis.maximum(*differencing)))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], color.stroke_width(width)));
        }
        chart.draw_series(DashedLineSeries::new(vec![(-pi, 1.0), (pi, 1.0)], 8, 6, BLACK.stroke_width(1)))?;
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        root.present()?;
        Ok(())
    };
    render(path, draw)
}

/// Log–log plot of the errors of a refinement study against h, with slopes 1 and 2 for reference.
pub fn write_convergence_png(path: &Path, levels: &[crate::validate::Level], title: &str) -> Result<()> {
    let draw = |path: &Path| -> DrawResult {
        let hs: Vec<f64> = levels.iter().map(|l| l.h).collect();
        // Reference slopes anchored at the finest L∞ point.
        let anchor = levels.last().filter(|l| l.linf > 0.0).map(|l| (l.h, l.linf));
        let slope_lines: Vec<(f64, Vec<(f64, f64)>)> = anchor
            .map(|(h0, e0)| {
                [1.0, 2.0]
                    .iter()
                    .map(|order| (*order, hs.iter().map(|h| (*h, e0 * (h / h0).powf(*order))).collect()))
                    .collect()
            })
            .unwrap_or_default();
        let errors: Vec<f64> = levels
            .iter()
            .flat_map(|l| [l.linf, l.l2])
            .chain(slope_lines.iter().flat_map(|(_, line)| line.iter().map(|(_, e)| *e)))
            .filter(|e| *e > 0.0)
            .collect();
        let (h_low, h_high) = finite_range(hs.iter().copied());
        let (e_low, e_high) = finite_range(errors.iter().copied());
        let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 24))
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(90)
            .build_cartesian_2d(
                (h_low / 1.5..h_high * 1.5).log_scale(),
                (e_low / 3.0..e_high * 3.0).log_scale(),
            )?;
        chart
            .configure_mesh()
            .x_desc("grid spacing h")
            .y_desc("error")
            .axis_desc_style(("sans-serif", 22))
            .label_style(("sans-serif", 18))
            .x_label_formatter(&|v| format!("{v:.3}"))
            .y_label_formatter(&|v| format!("{v:.1e}"))
            .draw()?;
        let series = [("L∞ error", BLUE, true), ("L2 error", GREEN, false)];
        for (name, color, is_linf) in series {
            let points: Vec<(f64, f64)> = levels
                .iter()
                .map(|l| (l.h, if is_linf { l.linf } else { l.l2 }))
                .filter(|(_, e)| *e > 0.0)
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], color.stroke_width(3)));
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 5, color.filled())))?;
        }
        for ((order, line), style) in slope_lines.into_iter().zip([BLACK, RGBColor(128, 128, 128)]) {
            chart
                .draw_series(LineSeries::new(line, style.stroke_width(1)))?
                .label(format!("slope {order} (through the finest L∞ point)"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], style.stroke_width(1)));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        root.present()?;
        Ok(())
    };
    render(path, draw)
}

/// Several series against time, e.g. the states and controls of a 1-D trajectory.
pub fn write_time_series_png(
    path: &Path,
    title: &str,
    times: &[f64],
    series: &[(String, Vec<f64>)],
) -> Result<()> {
    write_lines_png(path, title, "t", "state / control", times, series)
}

/// Several named curves over one abscissa (e.g. a policy per regime), with axis labels and a
/// legend.
pub fn write_lines_png(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    times: &[f64],
    series: &[(String, Vec<f64>)],
) -> Result<()> {
    let draw = |path: &Path| -> DrawResult {
        let (low, high) = finite_range(series.iter().flat_map(|(_, values)| values.iter().copied()));
        let margin = 0.05 * (high - low);
        let (t0, t1) = finite_range(times.iter().copied());
        let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 24))
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(t0..t1, (low - margin)..(high + margin))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .axis_desc_style(("sans-serif", 22))
            .label_style(("sans-serif", 18))
            .draw()?;
        let colors = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
        for (k, (name, values)) in series.iter().enumerate() {
            let color = colors[k % colors.len()];
            chart
                .draw_series(LineSeries::new(
                    times.iter().copied().zip(values.iter().copied()),
                    color.stroke_width(3),
                ))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], color.stroke_width(3)));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present()?;
        Ok(())
    };
    render(path, draw)
}

/// Segments of the level set `{value = level}` over a grid of `nx × ny` samples.
pub(crate) fn marching_squares(
    nx: usize,
    ny: usize,
    value: &dyn Fn(usize, usize) -> f64,
    point: &dyn Fn(usize, usize) -> (f64, f64),
    level: f64,
) -> Vec<((f64, f64), (f64, f64))> {
    let mut segments = Vec::new();
    let crossing = |(a, b): (usize, usize), (c, d): (usize, usize)| -> Option<(f64, f64)> {
        let (u, v) = (value(a, b) - level, value(c, d) - level);
        if !(u.is_finite() && v.is_finite()) || (u < 0.0) == (v < 0.0) {
            return None;
        }
        let weight = u / (u - v);
        let (p, q) = (point(a, b), point(c, d));
        Some((p.0 + weight * (q.0 - p.0), p.1 + weight * (q.1 - p.1)))
    };
    for i in 0..nx.saturating_sub(1) {
        for j in 0..ny.saturating_sub(1) {
            let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            let points: Vec<(f64, f64)> =
                (0..4).filter_map(|k| crossing(corners[k], corners[(k + 1) % 4])).collect();
            // Two crossings: one segment; four (a saddle): pair them in edge order.
            for pair in points.chunks_exact(2) {
                segments.push((pair[0], pair[1]));
            }
        }
    }
    segments
}

/// V at up to four stored times: lines on one chart in 1-D, side-by-side heatmaps with a shared
/// colour scale in ≥ 2-D (slices through the middle as in [`write_field_png`]).
pub fn write_time_strip_png(
    path: &Path,
    grid: &Grid,
    snapshots: &crate::solver::Snapshots,
    title: &str,
) -> Result<()> {
    let count = snapshots.times.len();
    let chosen: Vec<usize> =
        if count <= 4 { (0..count).collect() } else { (0..4).map(|k| k * (count - 1) / 3).collect() };
    let draw = |path: &Path| -> DrawResult {
        let (low, high) = finite_range(chosen.iter().flat_map(|k| snapshots.values[*k].iter().copied()));
        if grid.dimension() == 1 {
            let axis = &grid.axes()[0];
            let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
            root.fill(&WHITE)?;
            let margin = 0.05 * (high - low);
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 24))
                .margin(20)
                .x_label_area_size(55)
                .y_label_area_size(80)
                .build_cartesian_2d(axis.lower..axis.upper, (low - margin)..(high + margin))?;
            chart
                .configure_mesh()
                .x_desc(axis.label())
                .y_desc("V(x, t)")
                .axis_desc_style(("sans-serif", 22))
                .label_style(("sans-serif", 18))
                .draw()?;
            for (slot, k) in chosen.iter().enumerate() {
                let color =
                    ViridisRGB::get_color_normalized(slot as f64, 0.0, (chosen.len().max(2) - 1) as f64);
                chart
                    .draw_series(LineSeries::new(
                        axis.coordinates().into_iter().zip(snapshots.values[*k].iter().copied()),
                        color.stroke_width(3),
                    ))?
                    .label(format!("t = {:.3}", snapshots.times[*k]))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], color.stroke_width(3)));
            }
            legend(&mut chart, SeriesLabelPosition::UpperRight)?;
            root.present()?;
            return Ok(());
        }
        let panel = 420u32;
        let root = BitMapBackend::new(path, (panel * chosen.len() as u32, panel + 60)).into_drawing_area();
        root.fill(&WHITE)?;
        let (header, body) = root.split_vertically(60);
        header.titled(
            &format!("{title}; one colour scale (viridis) from {low:.4} to {high:.4}"),
            ("sans-serif", 24),
        )?;
        let panels = body.split_evenly((1, chosen.len()));
        let (x_axis, y_axis) = (&grid.axes()[0], &grid.axes()[1]);
        let plane = Plane::new(grid, 120);
        for (area, k) in panels.iter().zip(&chosen) {
            let mut chart = ChartBuilder::on(area)
                .caption(format!("t = {:.3}", snapshots.times[*k]), ("sans-serif", 18))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(x_axis.lower..x_axis.upper, y_axis.lower..y_axis.upper)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc(x_axis.label())
                .y_desc(y_axis.label())
                .label_style(("sans-serif", 14))
                .draw()?;
            let cells = plane.cells(&row_major(&snapshots.values[*k]), low, high);
            chart.draw_series(cells)?;
        }
        root.present()?;
        Ok(())
    };
    render(path, draw)
}
