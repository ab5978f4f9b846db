//! Files and pictures: the HDF5 result file, PNG plots and which plots a result gets, JSON
//! summaries and text reports.

pub mod blocks;
pub mod checkpoint;
pub mod ensemble_file;
pub mod ensemble_plot;
pub mod ensemble_report;
pub mod figures;
pub mod hdf5;
mod netcdf;
pub mod plot;
pub mod reach_plot;
pub mod report;
pub mod score_file;
pub mod score_plot;
pub mod score_report;
pub mod summary;
pub mod target;
