//! ipam-monitor: finds every VPC, subnet and IPAM CIDR, computes how full each one is,
//! and reports it before space runs out.
//!
//! Layers, each importing only those below it:
//! - [`app`]: configuration, the invocation event, the run and the Lambda handler.
//! - [`source`], [`sinks`] and [`store`]: adapters that read AWS, deliver reports and
//!   keep the run's memory (S3); they never import each other.
//! - [`aws`]: what every adapter shares (SDK setup, error mapping, partitions).
//! - [`domain`]: pure rules and plain data, no I/O and no AWS SDK.

pub mod app;
pub mod aws;
pub mod domain;
pub mod sinks;
pub mod source;
pub mod store;
