//! The wiring on top: configuration, the invocation event, one monitoring run, the
//! Lambda handler and the local table. Binaries call into here.

pub mod config;
pub mod event;
pub mod handler;
pub mod memory;
pub mod run;
pub mod table;
pub mod telemetry;
pub mod wiring;
