//! The picture of the score view ([`crate::score`]), over the reference's error region: in 1-D
//! the solver's drift `u_h(x, t)` (thick) and the exact score drift `∇log p_t + x/t` (thin, same
//! colour) at each stored time; in 2-D (the first two axes) one panel per time with the difference `|u_h − s|` as a
//! heat map (viridis, its range in the panel title) and both drifts as arrows on a coarse
//! subsample (exact black, solver red).

use crate::error::Result;
use crate::io::plot::{render, DrawResult, HEIGHT, WIDTH};
use crate::problem::Problem;
use crate::score::ScoreLevel;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use std::path::Path;

/// Line colours of the times, in order (repeating).
const COLOURS: [RGBColor; 5] = [BLUE, RED, RGBColor(0, 140, 0), MAGENTA, RGBColor(230, 140, 0)];
/// Arrows per axis in a 2-D panel.
const ARROWS: usize = 13;

/// Draw `levels` of `problem` into `path`.
pub fn write_score_png(path: &Path, problem: &Problem, levels: &[ScoreLevel], title: &str) -> Result<()> {
    let grid = &problem.grid;
    let region = &problem.reference.as_ref().map(|r| r.region.clone()).unwrap_or_else(|| {
        crate::problem::ErrorRegion { bounds: grid.axes().iter().map(|a| (a.lower, a.upper)).collect() }
    });
    let mut inside: Vec<usize> =
        (0..grid.node_count()).filter(|&node| region.contains(&grid.point(node))).collect();
    if inside.is_empty() {
        inside = (0..grid.node_count()).collect();
    }
    let control_units = problem.controls.first().map(|c| c.units.clone()).unwrap_or_default();
    let units = if control_units.is_empty() { String::new() } else { format!(" [{control_units}]") };
    let axes = grid.axes();
    if grid.dimension() == 1 {
        let (lower, upper) = region.bounds[0];
        let values =
            levels.iter().flat_map(|l| inside.iter().flat_map(move |&k| [l.drift[0][k], l.score[0][k]]));
        let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let margin = 0.05 * (high - low).max(1e-12);
        let coordinates = axes[0].coordinates();
        let draw = |target: &Path| -> DrawResult {
            let root = BitMapBackend::new(target, (WIDTH, HEIGHT)).into_drawing_area();
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 24))
                .margin(20)
                .x_label_area_size(55)
                .y_label_area_size(80)
                .build_cartesian_2d(lower..upper, (low - margin)..(high + margin))?;
            chart
                .configure_mesh()
                .x_desc(axes[0].label())
                .y_desc(format!("drift {}{units}", problem.control_names()[0]))
                .axis_desc_style(("sans-serif", 22))
                .label_style(("sans-serif", 18))
                .draw()?;
            for (index, level) in levels.iter().enumerate() {
                let colour = COLOURS[index % COLOURS.len()];
                let curve = |field: &[f64]| -> Vec<(f64, f64)> {
                    inside.iter().map(|&k| (coordinates[k], field[k])).collect()
                };
                chart
                    .draw_series(LineSeries::new(curve(&level.drift[0]), colour.mix(0.45).stroke_width(6)))?
                    .label(format!("t = {:.3}: solver u_h", level.time))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 25, y)], colour.mix(0.45).stroke_width(6))
                    });
                chart
                    .draw_series(LineSeries::new(curve(&level.score[0]), colour.stroke_width(2)))?
                    .label(format!("t = {:.3}: exact ∇log p_t + x/t", level.time))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 25, y)], colour.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 16))
                .draw()?;
            root.present()?;
            Ok(())
        };
        return render(path, draw);
    }
    // The plane of the first two axes (through the middle node of any further axis).
    let ((x0, x1), (y0, y1)) = (region.bounds[0], region.bounds[1]);
    let strides = grid.strides().to_vec();
    let base: usize = (2..grid.dimension()).map(|k| axes[k].points / 2 * strides[k]).sum();
    let (nx, ny) = (axes[0].points, axes[1].points);
    let in_box = |i: usize, j: usize| {
        let (x, y) = (axes[0].coordinate(i), axes[1].coordinate(j));
        (x0..=x1).contains(&x) && (y0..=y1).contains(&y)
    };
    let (hx, hy) = (axes[0].spacing(), axes[1].spacing());
    let panels = levels.len().max(1);
    let draw = |target: &Path| -> DrawResult {
        let root = BitMapBackend::new(target, (600 * panels as u32, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let heading = format!("{title} (colour |u_h − s|; arrows: exact s black, solver u_h red)");
        let root = root.titled(&heading, ("sans-serif", 22))?;
        for (level, area) in levels.iter().zip(root.split_evenly((1, panels))) {
            let high = level.norms.linf.max(1e-300);
            let mut chart = ChartBuilder::on(&area)
                .caption(
                    format!("t = {:.3}: |u_h − s| ∈ [0, {:.3}]{units}", level.time, high),
                    ("sans-serif", 18),
                )
                .margin(10)
                .x_label_area_size(45)
                .y_label_area_size(55)
                .build_cartesian_2d(x0..x1, y0..y1)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc(axes[0].label())
                .y_desc(axes[1].label())
                .axis_desc_style(("sans-serif", 18))
                .label_style(("sans-serif", 14))
                .draw()?;
            let mut cells = Vec::new();
            for i in 0..nx {
                for j in 0..ny {
                    if in_box(i, j) {
                        let (x, y) = (axes[0].coordinate(i), axes[1].coordinate(j));
                        let value = level.difference[base + i * strides[0] + j * strides[1]];
                        let colour = ViridisRGB::get_color_normalized(value.min(high), 0.0, high);
                        cells.push(Rectangle::new(
                            [(x - hx / 2.0, y - hy / 2.0), (x + hx / 2.0, y + hy / 2.0)],
                            colour.filled(),
                        ));
                    }
                }
            }
            chart.draw_series(cells)?;
            // Arrows: both fields on the same scale (the largest exact drift → 0.8 of a cell).
            let cell = ((x1 - x0) / ARROWS as f64).min((y1 - y0) / ARROWS as f64);
            let mut samples = Vec::new();
            for a in 0..ARROWS {
                for b in 0..ARROWS {
                    let (x, y) = (
                        x0 + (a as f64 + 0.5) * (x1 - x0) / ARROWS as f64,
                        y0 + (b as f64 + 0.5) * (y1 - y0) / ARROWS as f64,
                    );
                    let i = (((x - axes[0].lower) / hx).round() as usize).min(nx - 1);
                    let j = (((y - axes[1].lower) / hy).round() as usize).min(ny - 1);
                    samples.push((x, y, base + i * strides[0] + j * strides[1]));
                }
            }
            let largest = samples
                .iter()
                .map(|&(_, _, k)| level.score[0][k].hypot(level.score[1][k]))
                .fold(1e-300, f64::max);
            let scale = 0.8 * cell / largest;
            for (field, colour) in [(&level.score, BLACK), (&level.drift, RED)] {
                chart.draw_series(samples.iter().map(|&(x, y, k)| {
                    PathElement::new(
                        vec![(x, y), (x + scale * field[0][k], y + scale * field[1][k])],
                        colour.stroke_width(2),
                    )
                }))?;
                chart.draw_series(samples.iter().map(|&(x, y, k)| {
                    Circle::new((x + scale * field[0][k], y + scale * field[1][k]), 2, colour.filled())
                }))?;
            }
        }
        root.present()?;
        Ok(())
    };
    render(path, draw)
}
