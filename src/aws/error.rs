//! AWS SDK errors reduced to what a report needs: the AWS error code and a message.

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What every SDK call of any AWS service fails with (the same type in each SDK crate).
pub type AwsError<E> = SdkError<E, HttpResponse>;

/// The AWS error code (e.g. `AccessDenied`, `Throttling`) when AWS gave one, and a
/// message: AWS's own; the HTTP status when the answer carried no AWS error at all (a
/// proxy's 502 page, say), so on-call reads the status and not a dump of the response;
/// or the whole error chain for transport failures (timeouts, refused connections).
pub fn code_and_message<E>(err: &AwsError<E>) -> (Option<String>, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code().map(str::to_owned);
    let message = match (err.message(), err) {
        (Some(m), _) => m.to_owned(),
        (None, SdkError::ServiceError(se)) if code.is_none() => format!(
            "HTTP {} answer without an AWS error code or message",
            se.raw().status().as_u16()
        ),
        _ => DisplayErrorContext(err).to_string(),
    };
    (code, message)
}
