//! `[output]` → [`OutputSettings`] (and the snapshot count of the solver options).
//!
//! Keys: `directory` (default `output`), `plots` (default true), `gradients`, `zero_level_set`
//! (default false), `contours` (0 to 100 levels; default 8) and `snapshots` (0 for none, or 2
//! to 10000 stored times from t = 0 to T).

use super::Context;
use crate::error::Result;
use crate::settings::OutputSettings;
use serde::Deserialize;
use std::path::PathBuf;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OutputSpec {
    directory: Option<String>,
    plots: Option<bool>,
    snapshots: Option<Spanned<i64>>,
    gradients: Option<bool>,
    contours: Option<Spanned<i64>>,
    zero_level_set: Option<bool>,
}

impl Context<'_> {
    /// The output settings of `[output]` (the defaults without it).
    pub(super) fn output(&self, output: Option<&OutputSpec>) -> Result<OutputSettings> {
        Ok(OutputSettings {
            directory: PathBuf::from(
                output.and_then(|o| o.directory.clone()).unwrap_or_else(|| "output".into()),
            ),
            plots: output.and_then(|o| o.plots).unwrap_or(true),
            gradients: output.and_then(|o| o.gradients).unwrap_or(false),
            zero_level_set: output.and_then(|o| o.zero_level_set).unwrap_or(false),
            contours: match output.and_then(|o| o.contours.as_ref()) {
                None => 8,
                Some(count) if (0..=100).contains(count.get_ref()) => *count.get_ref() as usize,
                Some(count) => {
                    return Err(self.invalid(
                        count.span(),
                        "output.contours",
                        format!("{} contour levels; give 0 to 100", count.get_ref()),
                        "write `contours = 8` (0 for none)",
                    ))
                }
            },
        })
    }

    /// `snapshots`: how many times the solver stores V and the policy (0: none).
    pub(super) fn snapshots(&self, output: Option<&OutputSpec>) -> Result<usize> {
        match output.and_then(|o| o.snapshots.as_ref()) {
            None => Ok(0),
            Some(count) if *count.get_ref() == 0 || (2..=10_000).contains(count.get_ref()) => {
                Ok(*count.get_ref() as usize)
            }
            Some(count) => Err(self.invalid(
                count.span(),
                "output.snapshots",
                format!("{} snapshots; give 0 (none) or 2 to 10000", count.get_ref()),
                "write `snapshots = 21` to store V and the policy at 21 times from t = 0 to T",
            )),
        }
    }
}
