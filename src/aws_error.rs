//! AWS SDK errors reduced to what a report needs: the AWS error code and a message.

use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The AWS error code (e.g. `AccessDenied`, `Throttling`) when AWS gave one, and a
/// message: AWS's own, or the whole error chain for transport failures.
pub fn code_and_message<E>(err: &E) -> (Option<String>, String)
where
    E: ProvideErrorMetadata + std::error::Error,
{
    let code = err.code().map(str::to_owned);
    let message = err
        .message()
        .map(str::to_owned)
        .unwrap_or_else(|| DisplayErrorContext(err).to_string());
    (code, message)
}
