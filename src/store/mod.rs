//! The state store: the run's memory and the report archive, kept in S3. An adapter
//! like the sources and sinks: it imports the domain, never a source or a sink.

pub mod codec;
pub mod s3;

use crate::domain::report::Report;

/// Where one run's state was read from: the version a conditional write must find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    /// No state object existed: the write must not find one either.
    Absent,
    /// The object's ETag when it was read.
    Etag(String),
}

/// A saved state, still compressed: it is decoded after the inventory is calculated,
/// so the old state and the raw inventory are never in memory together.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub bytes: Option<Vec<u8>>,
    pub version: Version,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Another run wrote the state since this one read it.
    #[error("the state object changed since it was read ({operation})")]
    Conflict { operation: String },
    #[error("{operation} failed: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
    Aws {
        operation: String,
        code: Option<String>,
        message: String,
    },
}

/// Where the run's memory lives. One read at the start, one write at the end, and the
/// archive objects of the report.
#[async_trait::async_trait]
pub trait StateStore: Send + Sync {
    async fn load(&self) -> Result<Loaded, StoreError>;
    /// Writes `bytes` if the object is still at `expected`; [`StoreError::Conflict`]
    /// otherwise, and nothing is written.
    async fn save(&self, bytes: Vec<u8>, expected: &Version) -> Result<(), StoreError>;
    /// Where [`StateStore::archive`] puts this report (known before it is written, for
    /// the alert footer).
    fn archive_location(&self, report: &Report) -> String;
    /// Writes the report to the archive: a bounded number of objects, never one per
    /// resource. Returns the location.
    async fn archive(&self, report: &Report) -> Result<String, StoreError>;
}
