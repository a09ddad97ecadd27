//! The pure core: CIDR arithmetic, what the sources found, thresholds, the usage
//! calculator and the report. No I/O, no clock, no AWS SDK.

pub mod calculator;
pub mod cidr;
pub mod inventory;
mod rank_sort;
pub mod report;
mod subnet_match;
pub mod thresholds;
