//! The state object and the archive as gzip-compressed JSON.

use crate::domain::report::{Report, ResourceRecord, Timestamp};
use crate::domain::state::{State, STATE_VERSION};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::Serialize;
use std::io::{Read, Write};

/// A state larger than this once decompressed is refused rather than read (100k
/// resources take about 25 MB).
pub const MAX_STATE_BYTES: u64 = 256 << 20;

pub fn encode_state(state: &State) -> Vec<u8> {
    gzip(|w| serde_json::to_writer(w, state).map_err(std::io::Error::other))
}

/// The state in `bytes`, or why it cannot be used (the run then starts afresh).
pub fn decode_state(bytes: &[u8]) -> Result<State, String> {
    let reader = GzDecoder::new(bytes).take(MAX_STATE_BYTES);
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
    gzip(|w| {
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
    gzip(|w| {
        serde_json::to_writer(&mut *w, &report.head()).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
}

pub fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

fn gzip(write: impl FnOnce(&mut GzEncoder<Vec<u8>>) -> std::io::Result<()>) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    // Writing into memory fails only if serializing does, and these types always
    // serialize (no map with non-string keys, no failing Serialize impl).
    write(&mut encoder).expect("in-memory JSON writes do not fail");
    encoder.finish().expect("in-memory gzip does not fail")
}
