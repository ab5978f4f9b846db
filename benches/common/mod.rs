//! Helpers shared by the benches: the STREAM-triad probe and a median timer.

use criterion::black_box;
use rayon::prelude::*;
use std::time::Instant;

/// One parallel triad `a = b + 3c` over arrays of `length` elements (24 bytes per element).
pub fn triad_run(length: usize) -> impl FnMut() {
    let mut a = vec![0.0f64; length];
    let b = vec![1.0f64; length];
    let c = vec![2.0f64; length];
    move || {
        a.par_chunks_mut(hjb::time::explicit::CHUNK).enumerate().for_each(|(chunk, out)| {
            let start = chunk * hjb::time::explicit::CHUNK;
            for (k, value) in out.iter_mut().enumerate() {
                *value = b[start + k] + 3.0 * c[start + k];
            }
        });
        black_box(&a);
    }
}

/// Median wall time of `repeats` runs after one warm-up run.
pub fn median_seconds(mut run: impl FnMut(), repeats: usize) -> f64 {
    run();
    let mut times: Vec<f64> = (0..repeats)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[repeats / 2]
}
