//! The state store in an S3 bucket:
//! - `<prefix>state/state.json.gz`: the memory, read once and written once per run
//!   with a conditional write (If-Match its ETag, or If-None-Match when new);
//! - `<prefix>reports/dt=YYYY-MM-DD/<run_id>.jsonl.gz`: one JSON line per resource;
//! - `<prefix>runs/dt=YYYY-MM-DD/<run_id>.json.gz`: the rest of the report.
//!
//! The `dt=` folders are Hive-style partitions, so Athena reads the archive by date.

use super::codec::{archive_records, archive_run};
use super::{Loaded, StateStore, StoreError, Version};
use crate::aws::error::{code_and_message, AwsError};
use crate::domain::report::Report;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub struct S3Store {
    pub client: Client,
    pub bucket: String,
    /// Ends with `/` or is empty.
    pub prefix: String,
}

impl S3Store {
    /// A client for `sdk`; path-style addressing when an endpoint is set (a local
    /// emulator has no per-bucket host names).
    pub fn new(sdk: &aws_config::SdkConfig, bucket: String, prefix: String) -> S3Store {
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(sdk.endpoint_url().is_some())
            .build();
        S3Store {
            client: Client::from_conf(config),
            bucket,
            prefix,
        }
    }

    pub fn state_key(&self) -> String {
        format!("{}state/state.json.gz", self.prefix)
    }

    /// The keys of a report's two archive objects: records, then the run.
    pub fn archive_keys(&self, report: &Report) -> (String, String) {
        let stamp = report.run.generated_at.to_string();
        let day = &stamp[..10];
        let run = file_name(&report.run.run_id);
        (
            format!("{}reports/dt={day}/{run}.jsonl.gz", self.prefix),
            format!("{}runs/dt={day}/{run}.json.gz", self.prefix),
        )
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error("PutObject", &e))
    }
}

/// A run id as a file name: anything but letters, digits, `-` and `_` becomes `_`.
fn file_name(run_id: &str) -> String {
    run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn aws_error<E>(operation: &str, err: &AwsError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (code, message) = code_and_message(err);
    // 412: the ETag no longer matches; 409: a concurrent conditional write won.
    let status = err.raw_response().map(|r| r.status().as_u16());
    if matches!(status, Some(412 | 409))
        || matches!(
            code.as_deref(),
            Some("PreconditionFailed" | "ConditionalRequestConflict")
        )
    {
        return StoreError::Conflict {
            operation: operation.to_string(),
        };
    }
    StoreError::Aws {
        operation: operation.to_string(),
        code,
        message,
    }
}

#[async_trait::async_trait]
impl StateStore for S3Store {
    async fn load(&self) -> Result<Loaded, StoreError> {
        let got = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.state_key())
            .send()
            .await;
        let out = match got {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                return Ok(Loaded {
                    bytes: None,
                    version: Version::Absent,
                })
            }
            Err(e) => return Err(aws_error("GetObject", &e)),
        };
        let etag = out.e_tag().map(str::to_string);
        let bytes = out.body.collect().await.map_err(|e| StoreError::Aws {
            operation: "GetObject".into(),
            code: None,
            message: format!("reading the state object's body: {e}"),
        })?;
        Ok(Loaded {
            bytes: Some(bytes.into_bytes().to_vec()),
            // Without an ETag nothing can be checked; S3 always sends one.
            version: etag.map_or(Version::Absent, Version::Etag),
        })
    }

    async fn save(&self, bytes: Vec<u8>, expected: &Version) -> Result<(), StoreError> {
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.state_key())
            .content_type("application/gzip")
            .body(ByteStream::from(bytes));
        let put = match expected {
            Version::Absent => put.if_none_match("*"),
            Version::Etag(etag) => put.if_match(etag),
        };
        put.send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error("PutObject", &e))
    }

    fn archive_location(&self, report: &Report) -> String {
        let (records, _) = self.archive_keys(report);
        format!("s3://{}/{records}", self.bucket)
    }

    async fn archive(&self, report: &Report) -> Result<String, StoreError> {
        let (records_key, run_key) = self.archive_keys(report);
        self.put(&records_key, archive_records(report), "application/gzip")
            .await?;
        self.put(&run_key, archive_run(report), "application/gzip")
            .await?;
        Ok(self.archive_location(report))
    }
}
