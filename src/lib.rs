//! ipam-monitor: finds every VPC, subnet and IPAM CIDR, computes how full each one is,
//! and reports it before space runs out.

pub mod aws_error;
pub mod aws_setup;
pub mod calculator;
pub mod cidr;
pub mod config;
pub mod event;
pub mod handler;
pub mod inventory;
mod rank_sort;
pub mod report;
pub mod run;
pub mod sinks;
pub mod source;
mod subnet_match;
pub mod table;
pub mod telemetry;
pub mod thresholds;
