//! The report to downstream Lambda functions: asynchronous (`Event`) invokes, split
//! into numbered chunks when it is larger than the asynchronous payload limit.

use super::{Delivery, RunContext, Sink, SinkError};
use crate::report::{Report, SCHEMA_VERSION};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_sdk_lambda::Client;
use serde_json::{json, Value};

/// Lambda's asynchronous payload limit is 1 MB; chunks stay under this.
pub const MAX_ASYNC_PAYLOAD_BYTES: usize = 1_000_000;
pub const PAYLOAD_KIND: &str = "ipam-monitor.report";

pub struct DownstreamSink {
    pub client: Client,
    pub functions: Vec<String>,
    pub max_payload_bytes: usize,
}

/// Splits a report into payloads under `limit` bytes. Chunk 1 carries the report
/// without its resources; every chunk carries a slice of `resources` in order.
/// A consumer rebuilds the report by appending the chunks' resources in chunk order.
pub fn chunk_payloads(report: &Report, limit: usize) -> Result<Vec<Vec<u8>>, SinkError> {
    let too_big = |what: String| SinkError {
        operation: "chunk report".into(),
        code: None,
        message: format!("{what} alone exceeds the {limit}-byte payload limit"),
    };
    let mut head = serde_json::to_value(report).expect("report serializes");
    let resources = match head.as_object_mut().and_then(|o| o.remove("resources")) {
        Some(Value::Array(r)) => r,
        _ => Vec::new(),
    };
    let run_id = report.run_id.as_str();
    // Envelope overhead: the fixed fields with the widest chunk numbers.
    let envelope = |chunk: usize, chunks: usize, report: Option<&Value>, resources: &[Value]| {
        let mut v = json!({
            "kind": PAYLOAD_KIND,
            "schema_version": SCHEMA_VERSION,
            "run_id": run_id,
            "chunk": chunk,
            "chunks": chunks,
            "resources": resources,
        });
        if let Some(r) = report {
            v["report"] = r.clone();
        }
        v
    };
    let overhead = serde_json::to_vec(&envelope(999_999, 999_999, None, &[]))
        .expect("serializes")
        .len();
    let head_len = serde_json::to_vec(&head).expect("serializes").len() + ",\"report\":".len();
    if overhead + head_len > limit {
        return Err(too_big("the report without its resources".into()));
    }

    // Greedy packing by serialized size, in report order (worst first).
    let mut groups: Vec<Vec<Value>> = vec![Vec::new()];
    let mut used = overhead + head_len;
    for r in resources {
        let size = serde_json::to_vec(&r).expect("serializes").len() + 1;
        if overhead + size > limit {
            let id = r["resource_id"].as_str().unwrap_or("?").to_string();
            return Err(too_big(format!("resource {id}")));
        }
        if used + size > limit {
            groups.push(Vec::new());
            used = overhead;
        }
        used += size;
        groups.last_mut().expect("not empty").push(r);
    }
    let chunks = groups.len();
    Ok(groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let report = (i == 0).then_some(&head);
            serde_json::to_vec(&envelope(i + 1, chunks, report, g)).expect("serializes")
        })
        .collect())
}

#[async_trait::async_trait]
impl Sink for DownstreamSink {
    fn name(&self) -> &'static str {
        "downstream"
    }

    async fn deliver(&self, report: &Report, _ctx: &RunContext) -> Result<Delivery, SinkError> {
        if self.functions.is_empty() {
            return Ok(Delivery::nothing("no downstream functions configured"));
        }
        let payloads = chunk_payloads(report, self.max_payload_bytes)?;
        let mut failures = Vec::new();
        for function in &self.functions {
            for (i, p) in payloads.iter().enumerate() {
                let sent = self
                    .client
                    .invoke()
                    .function_name(function)
                    .invocation_type(InvocationType::Event)
                    .payload(Blob::new(p.clone()))
                    .send()
                    .await;
                if let Err(e) = sent {
                    let err = SinkError::from_sdk("Invoke", &e);
                    failures.push(format!("{function} chunk {}: {err}", i + 1));
                    break; // the rest of this function's chunks would be useless
                }
            }
        }
        if failures.is_empty() {
            Ok(Delivery::sent(format!(
                "{} chunk(s) sent to each of {} function(s): {}",
                payloads.len(),
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
