//! Fast kernels: each does what a plain function of the domain rules does, with the
//! same signature, where the plain one was too slow for a 100k-subnet run. Each is
//! proven equal to its plain twin by property tests (`tests/fast_kernels.rs`).

pub mod report_order;
