//! The state object and the archive as gzip-compressed JSON.

use crate::domain::report::{Report, ResourceRecord, Timestamp};
use crate::domain::state::{State, STATE_VERSION};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::Serialize;
use std::io::{BufReader, BufWriter, Read, Write};

/// A state larger than this once decompressed is refused rather than read (100k
/// resources take about 25 MB).
pub const MAX_STATE_BYTES: u64 = 256 << 20;

pub fn encode_state(state: &State) -> Vec<u8> {
    gzip(state.resources.len() * STATE_BYTES_PER_RESOURCE, |w| {
        serde_json::to_writer(w, state).map_err(std::io::Error::other)
    })
}

/// The state in `bytes`, or why it cannot be used (the run then starts afresh).
pub fn decode_state(bytes: &[u8]) -> Result<State, String> {
    // Buffered: serde_json reads a byte at a time, and each unbuffered read would go
    // through the decompressor (4x slower at 100k resources).
    let reader = BufReader::with_capacity(BUFFER, GzDecoder::new(bytes).take(MAX_STATE_BYTES));
    let state: State = serde_json::from_reader(reader)
        .map_err(|e| format!("the state object is not readable ({e})"))?;
    if state.version != STATE_VERSION {
        return Err(format!(
            "the state object has version {}, this build reads version {STATE_VERSION}",
            state.version
        ));
    }
    Ok(state)
}

/// One archive line: a record with its run, so each line stands alone in a query.
#[derive(Serialize)]
struct ArchiveLine<'a> {
    run_id: &'a str,
    generated_at: Timestamp,
    #[serde(flatten)]
    record: &'a ResourceRecord,
}

/// Every record of `report` as one JSON line each (JSON Lines), compressed as it is
/// written: the whole text never exists at once.
pub fn archive_records(report: &Report) -> Vec<u8> {
    gzip(report.resources.len() * ARCHIVE_BYTES_PER_RECORD, |w| {
        for record in &report.resources {
            let line = ArchiveLine {
                run_id: &report.run.run_id,
                generated_at: report.run.generated_at,
                record,
            };
            serde_json::to_writer(&mut *w, &line).map_err(std::io::Error::other)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// The report without its records: scopes, overlaps, errors, summary and history.
pub fn archive_run(report: &Report) -> Vec<u8> {
    gzip(64 * 1024, |w| {
        serde_json::to_writer(&mut *w, &report.head()).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
}

pub fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

/// gzip level 3: at 100k resources the state is 8.9 MB written in 0.5 s, where the
/// default level 6 makes 7.8 MB in 1.6 s (BENCHMARKS.md).
const LEVEL: u32 = 3;

/// Reads and writes go through buffers this large: serde_json reads and writes a few
/// bytes at a time, and the compressor pays a fixed cost per call.
const BUFFER: usize = 64 * 1024;

/// Compressed bytes per resource at 100k resources (8.9 MB of state, 7.7 MB of archive),
/// with a margin: the output is allocated once at about its size instead of doubling
/// up to twice it (at 100k resources, 10 MB less at the run's peak).
const STATE_BYTES_PER_RESOURCE: usize = 90;
const ARCHIVE_BYTES_PER_RECORD: usize = 80;

fn gzip(
    capacity: usize,
    write: impl FnOnce(&mut BufWriter<GzEncoder<Vec<u8>>>) -> std::io::Result<()>,
) -> Vec<u8> {
    let out = Vec::with_capacity(capacity);
    let mut writer = BufWriter::with_capacity(BUFFER, GzEncoder::new(out, Compression::new(LEVEL)));
    // Writing into memory fails only if serializing does, and these types always
    // serialize (no map with non-string keys, no failing Serialize impl).
    write(&mut writer).expect("in-memory JSON writes do not fail");
    let encoder = writer
        .into_inner()
        .map_err(|e| e.into_error())
        .expect("in-memory writes do not fail");
    encoder.finish().expect("in-memory gzip does not fail")
}
