//! What every AWS adapter shares: SDK configuration, error mapping and partitions.

pub mod error;
pub mod partition;
pub mod setup;
