//! Files and pictures: the HDF5 result file, PNG plots, JSON summaries.

pub mod checkpoint;
pub mod hdf5;
pub mod plot;
pub mod summary;
