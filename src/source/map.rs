//! Mapping shared by the source adapters: AWS SDK errors into scope errors, CIDR
//! text into networks, and the tags this tool keeps.

use crate::domain::cidr::{self, Family};
use crate::domain::inventory::{ScanError, Tags, EKS_CLUSTER_TAG_PREFIX, NAME_TAG};
use crate::domain::thresholds::TAG_PREFIX;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::Tag;
use ipnet::IpNet;

/// Parses a CIDR from an AWS answer; a bad one becomes a warning on the resource. A
/// field that holds one family (`CidrBlock`: IPv4) refuses the other the same way.
pub fn push_cidr(
    text: Option<&str>,
    field: &str,
    family: Option<Family>,
    out: &mut Vec<IpNet>,
    warnings: &mut Vec<String>,
) {
    match text.map(cidr::parse) {
        Some(Ok(net)) if family.is_some_and(|f| f != Family::of(&net)) => {
            let expected = match family {
                Some(Family::Ipv6) => "IPv6",
                _ => "IPv4",
            };
            warnings.push(format!("{field}: {net} is not an {expected} CIDR; skipped"));
        }
        Some(Ok(net)) => out.push(net),
        Some(Err(e)) => warnings.push(format!("{field}: {e}; skipped")),
        None => warnings.push(format!("{field}: missing in the AWS answer")),
    }
}

/// Whether a CIDR association is address space of its resource: associated (or no
/// state given) counts, the known other states do not, and a state this tool does not
/// know yet counts, with a warning, rather than the block being lost.
pub fn association_counts(state: Option<&str>, field: &str, warnings: &mut Vec<String>) -> bool {
    match state {
        None | Some("associated") => true,
        Some("associating" | "disassociating" | "disassociated" | "failing" | "failed") => false,
        Some(other) => {
            warnings.push(format!(
                "{field}: association state {other:?} is unknown to this tool; counted as associated"
            ));
            true
        }
    }
}

/// The tags this tool reads: `Name`, its own `ipam-monitor:*` keys and EKS cluster
/// keys. Resources often carry dozens of others (stacks, cost centres), which nothing
/// here uses and which would dominate the inventory's memory at organization scale.
pub fn tags(tags: &[Tag]) -> Tags {
    tags.iter()
        .filter(|t| {
            t.key().is_some_and(|k| {
                k == NAME_TAG || k.starts_with(TAG_PREFIX) || k.starts_with(EKS_CLUSTER_TAG_PREFIX)
            })
        })
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// Turns any SDK error into a scope error with the AWS error code when there is one.
pub fn sdk_error<E>(
    account_id: &str,
    region: &str,
    operation: &str,
    err: crate::aws::error::AwsError<E>,
) -> ScanError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (code, message) = crate::aws::error::code_and_message(&err);
    ScanError {
        account_id: account_id.to_string(),
        region: region.to_string(),
        operation: operation.to_string(),
        code,
        message,
    }
}
