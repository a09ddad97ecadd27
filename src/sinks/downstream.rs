//! The report to downstream Lambda functions: asynchronous (`Event`) invokes, split
//! into numbered chunks when it is larger than the asynchronous payload limit.

use super::{Delivery, RunContext, Sink, SinkError};
use crate::aws::setup::timeouts_until;
use crate::domain::report::{json_len, Report, ReportHead, ResourceRecord, SCHEMA_VERSION};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_sdk_lambda::Client;
use std::io::Write;

/// Lambda's asynchronous payload limit is 1 MB; chunks stay under this.
pub const MAX_ASYNC_PAYLOAD_BYTES: usize = 1_000_000;
pub const PAYLOAD_KIND: &str = "ipam-monitor.report";

pub struct DownstreamSink {
    pub client: Client,
    pub functions: Vec<String>,
    pub max_payload_bytes: usize,
}

/// How a report is cut into payloads under a byte limit: chunk 1 carries the report
/// without its resources, every chunk a slice of `resources` in order. A consumer
/// rebuilds the report by appending the chunks' resources in chunk order.
///
/// Only sizes are measured up front; each payload is written when it is sent, so a
/// run holds one chunk at a time rather than the whole report twice.
pub struct ChunkPlan<'a> {
    resources: &'a [ResourceRecord],
    head: ReportHead<'a>,
    /// Index of the first resource of each chunk.
    starts: Vec<usize>,
}

impl<'a> ChunkPlan<'a> {
    pub fn new(report: &'a Report, limit: usize) -> Result<ChunkPlan<'a>, SinkError> {
        let too_big = |what: String| SinkError {
            operation: "chunk report".into(),
            code: None,
            message: format!("{what} alone exceeds the {limit}-byte payload limit"),
        };
        let head = report.head();
        // The envelope with the widest chunk numbers a run can have.
        let overhead = envelope_prefix(&report.run.run_id, 999_999, 999_999).len() + "]}".len();
        let head_len = json_len(&head) + ",\"report\":".len();
        if overhead + head_len > limit {
            return Err(too_big("the report without its resources".into()));
        }
        // Greedy packing by serialized size, in report order (worst first).
        let mut starts = vec![0];
        let mut used = overhead + head_len;
        for (i, r) in report.resources.iter().enumerate() {
            let size = json_len(r) + 1; // and its comma
            if overhead + size > limit {
                return Err(too_big(format!("resource {}", r.resource_id)));
            }
            if used + size > limit {
                starts.push(i);
                used = overhead;
            }
            used += size;
        }
        Ok(ChunkPlan {
            resources: &report.resources,
            head,
            starts,
        })
    }

    /// The number of chunks (at least one, even for a report without resources).
    pub fn chunks(&self) -> usize {
        self.starts.len()
    }

    /// Payload `i` (0-based) as the JSON bytes sent.
    pub fn payload(&self, i: usize) -> Vec<u8> {
        let end = self
            .starts
            .get(i + 1)
            .copied()
            .unwrap_or(self.resources.len());
        let mut out = envelope_prefix(&self.head.run.run_id, i + 1, self.chunks());
        for (n, r) in self.resources[self.starts[i]..end].iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut out, r).expect("records serialize");
        }
        out.push(b']');
        if i == 0 {
            out.extend_from_slice(b",\"report\":");
            serde_json::to_writer(&mut out, &self.head).expect("the report serializes");
        }
        out.push(b'}');
        out
    }
}

/// `{"kind":...,"chunk":i,"chunks":n,"resources":[`, ready for the records.
fn envelope_prefix(run_id: &str, chunk: usize, chunks: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAX_ASYNC_PAYLOAD_BYTES.min(64 * 1024));
    write!(
        out,
        "{{\"kind\":{},\"schema_version\":{SCHEMA_VERSION},\"run_id\":{},\"chunk\":{chunk},\"chunks\":{chunks},\"resources\":[",
        serde_json::Value::from(PAYLOAD_KIND),
        serde_json::Value::from(run_id),
    )
    .expect("writing to a Vec cannot fail");
    out
}

/// Every payload at once; the sink itself writes them one at a time.
pub fn chunk_payloads(report: &Report, limit: usize) -> Result<Vec<Vec<u8>>, SinkError> {
    let plan = ChunkPlan::new(report, limit)?;
    Ok((0..plan.chunks()).map(|i| plan.payload(i)).collect())
}

#[async_trait::async_trait]
impl Sink for DownstreamSink {
    fn name(&self) -> &'static str {
        "downstream"
    }

    async fn deliver(&self, report: &Report, ctx: &RunContext) -> Result<Delivery, SinkError> {
        if self.functions.is_empty() {
            return Ok(Delivery::nothing("no downstream functions configured"));
        }
        let plan = ChunkPlan::new(report, self.max_payload_bytes)?;
        // Chunk by chunk, each to every function still receiving: one payload in memory.
        let mut failures: Vec<(usize, String)> = Vec::new();
        for i in 0..plan.chunks() {
            let payload = plan.payload(i);
            for (f, function) in self.functions.iter().enumerate() {
                if failures.iter().any(|(failed, _)| *failed == f) {
                    continue; // the rest of this function's chunks would be useless
                }
                let sent = self
                    .client
                    .invoke()
                    .function_name(function)
                    .invocation_type(InvocationType::Event)
                    .payload(Blob::new(payload.clone()))
                    .customize()
                    .config_override(
                        aws_sdk_lambda::Config::builder()
                            .timeout_config(timeouts_until(ctx.cutoff)),
                    )
                    .send()
                    .await;
                if let Err(e) = sent {
                    let err = SinkError::from_sdk("Invoke", &e);
                    failures.push((f, format!("{function} chunk {}: {err}", i + 1)));
                }
            }
        }
        let failures: Vec<String> = failures.into_iter().map(|(_, m)| m).collect();
        if failures.is_empty() {
            Ok(Delivery::sent(format!(
                "{} chunk(s) sent to each of {} function(s): {}",
                plan.chunks(),
                self.functions.len(),
                self.functions.join(", ")
            )))
        } else {
            Err(SinkError {
                operation: "Invoke".into(),
                code: None,
                message: format!(
                    "{} of {} function(s) failed: {}",
                    failures.len(),
                    self.functions.len(),
                    failures.join("; ")
                ),
            })
        }
    }
}
