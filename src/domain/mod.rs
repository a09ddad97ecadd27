//! The pure core: CIDR arithmetic, what the sources found, thresholds, the usage
//! calculator and the report. No I/O, no clock, no AWS SDK.

pub mod addresses;
pub mod calculator;
pub mod cidr;
pub mod fast;
pub mod holder;
pub mod inventory;
pub mod report;
pub mod state;
pub mod text;
pub mod thresholds;
