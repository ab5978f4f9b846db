//! Pictures of an ensemble's terminal states: a histogram over the exact density in 1-D, the
//! samples (first two states) over the exact density's contours in ≥ 2-D.

use crate::error::Result;
use crate::io::plot::{marching_squares, render, DrawResult, HEIGHT, WIDTH};
use crate::problem::mixture::GaussianMixture;
use crate::problem::Problem;
use plotters::prelude::*;
use std::path::Path;

/// Histogram bins in 1-D.
const BINS: usize = 80;
/// Most samples drawn in the 2-D scatter (the first paths).
const MAX_POINTS: usize = 5000;

/// Draw the terminal states `terminal` (row-major paths × states) of `problem` into `path`;
/// `law` (the exact law of `X_T`, when known) is drawn as a curve (1-D) or contours (2-D).
pub fn write_ensemble_png(
    path: &Path,
    problem: &Problem,
    terminal: &[f64],
    law: Option<&GaussianMixture>,
    title: &str,
) -> Result<()> {
    let n = problem.grid.dimension();
    let axes = problem.grid.axes();
    let names = problem.state_names();
    if n == 1 {
        let (lower, upper) = (axes[0].lower, axes[0].upper);
        let width = (upper - lower) / BINS as f64;
        let mut counts = vec![0usize; BINS];
        for x in terminal {
            if *x >= lower && *x <= upper {
                counts[(((x - lower) / width) as usize).min(BINS - 1)] += 1;
            }
        }
        let scale = 1.0 / (terminal.len() as f64 * width);
        let heights: Vec<f64> = counts.iter().map(|c| *c as f64 * scale).collect();
        let curve: Vec<(f64, f64)> = law
            .map(|law| {
                (0..=400)
                    .map(|k| {
                        let x = lower + (upper - lower) * k as f64 / 400.0;
                        (x, law.log_density(&[x]).exp())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let top = heights.iter().chain(curve.iter().map(|(_, y)| y)).fold(0.0f64, |a, b| a.max(*b)) * 1.1;
        let draw = |target: &Path| -> DrawResult {
            let root = BitMapBackend::new(target, (WIDTH, HEIGHT)).into_drawing_area();
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 24))
                .margin(20)
                .x_label_area_size(55)
                .y_label_area_size(80)
                .build_cartesian_2d(lower..upper, 0.0..top.max(1e-12))?;
            chart
                .configure_mesh()
                .x_desc(format!("{} at t = T", names[0]))
                .y_desc("density")
                .axis_desc_style(("sans-serif", 22))
                .label_style(("sans-serif", 18))
                .draw()?;
            chart
                .draw_series(heights.iter().enumerate().map(|(k, h)| {
                    let x0 = lower + k as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width, *h)], BLUE.mix(0.35).filled())
                }))?
                .label(format!("{} paths", terminal.len()))
                .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], BLUE.mix(0.35).filled()));
            if !curve.is_empty() {
                chart
                    .draw_series(LineSeries::new(curve.iter().copied(), RED.stroke_width(3)))?
                    .label("exact density")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], RED.stroke_width(3)));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 18))
                .draw()?;
            root.present()?;
            Ok(())
        };
        return render(path, draw);
    }
    let ((x0, x1), (y0, y1)) = ((axes[0].lower, axes[0].upper), (axes[1].lower, axes[1].upper));
    let samples = 200;
    let point = |i: usize, j: usize| {
        (x0 + (x1 - x0) * i as f64 / (samples - 1) as f64, y0 + (y1 - y0) * j as f64 / (samples - 1) as f64)
    };
    // The exact density of the first two states (their marginal when n > 2 is not drawn: the
    // contours need a 2-D law).
    let contours: Vec<((f64, f64), (f64, f64))> = match law.filter(|_| n == 2) {
        Some(law) => {
            let density: Vec<f64> = (0..samples * samples)
                .map(|k| {
                    let (x, y) = point(k / samples, k % samples);
                    law.log_density(&[x, y]).exp()
                })
                .collect();
            let peak = density.iter().fold(0.0f64, |a, b| a.max(*b));
            let value = |i: usize, j: usize| density[i * samples + j];
            [0.05, 0.25, 0.5, 0.75]
                .iter()
                .flat_map(|fraction| marching_squares(samples, samples, &value, &point, fraction * peak))
                .collect()
        }
        None => Vec::new(),
    };
    let shown = (terminal.len() / n).min(MAX_POINTS);
    let draw = |target: &Path| -> DrawResult {
        let root = BitMapBackend::new(target, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 24))
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc(format!("{} at t = T", names[0]))
            .y_desc(format!("{} at t = T", names[1]))
            .axis_desc_style(("sans-serif", 22))
            .label_style(("sans-serif", 18))
            .draw()?;
        chart
            .draw_series(
                terminal
                    .chunks_exact(n)
                    .take(shown)
                    .map(|row| Circle::new((row[0], row[1]), 2, BLUE.mix(0.5).filled())),
            )?
            .label(format!("{shown} of {} paths", terminal.len() / n))
            .legend(|(x, y)| Circle::new((x + 10, y), 4, BLUE.filled()));
        if !contours.is_empty() {
            chart
                .draw_series(
                    contours.iter().map(|(a, b)| PathElement::new(vec![*a, *b], RED.stroke_width(2))),
                )?
                .label("exact density (5, 25, 50, 75 % of the peak)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], RED.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 18))
            .draw()?;
        root.present()?;
        Ok(())
    };
    render(path, draw)
}
