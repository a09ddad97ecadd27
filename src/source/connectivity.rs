//! The connectivity sweep of one scope: Transit Gateway VPC attachments, Transit
//! Gateway peerings and VPC peerings, each paginated once per scope. It tells the
//! calculator which VPCs can route to each other, so that only overlaps between them
//! alert. A failed sweep is recorded and costs only the overlap classification.

use super::map::sdk_error;
use crate::domain::inventory::{Connectivity, Endpoint, Link, ScanError, Scope};
use crate::domain::text::Text;
use aws_sdk_ec2::Client;

/// The largest page these Describe calls accept.
const PAGE_SIZE: i32 = 1000;

/// Whether a connection in this state carries traffic, or is about to: only gone or
/// refused ones do not count.
pub fn live(state: &str) -> bool {
    !matches!(
        state,
        "deleted" | "deleting" | "failed" | "failing" | "rejected" | "rejecting" | "expired"
    )
}

pub async fn sweep(client: &Client, scope: &Scope) -> Connectivity {
    match links(client, scope).await {
        Ok(links) => Connectivity::Read(links),
        Err(e) => {
            tracing::warn!(scope = %scope, error = %e.message, "connectivity sweep failed: overlaps of this scope's VPCs are unclassified");
            Connectivity::Failed(e)
        }
    }
}

async fn links(client: &Client, scope: &Scope) -> Result<Vec<Link>, ScanError> {
    let here = |region: Option<&str>| Text::from(region.unwrap_or(&scope.region));
    let mut links = Vec::new();

    let mut pages = client
        .describe_transit_gateway_vpc_attachments()
        .max_results(PAGE_SIZE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            sdk_error(
                &scope.account_id,
                &scope.region,
                "DescribeTransitGatewayVpcAttachments",
                e,
            )
        })?;
        for a in page.transit_gateway_vpc_attachments() {
            let state = a.state().map(|s| s.as_str()).unwrap_or_default();
            let (Some(id), Some(tgw), Some(vpc)) = (
                a.transit_gateway_attachment_id(),
                a.transit_gateway_id(),
                a.vpc_id(),
            ) else {
                continue;
            };
            if live(state) {
                links.push(Link {
                    id: id.into(),
                    ends: [
                        Endpoint::Vpc {
                            region: here(None),
                            id: vpc.into(),
                        },
                        Endpoint::TransitGateway(tgw.into()),
                    ],
                });
            }
        }
    }

    let mut pages = client
        .describe_transit_gateway_peering_attachments()
        .max_results(PAGE_SIZE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            sdk_error(
                &scope.account_id,
                &scope.region,
                "DescribeTransitGatewayPeeringAttachments",
                e,
            )
        })?;
        for a in page.transit_gateway_peering_attachments() {
            let state = a.state().map(|s| s.as_str()).unwrap_or_default();
            let tgw = |info: Option<&aws_sdk_ec2::types::PeeringTgwInfo>| {
                info.and_then(|i| i.transit_gateway_id()).map(Text::from)
            };
            let (Some(id), Some(a_tgw), Some(b_tgw)) = (
                a.transit_gateway_attachment_id(),
                tgw(a.requester_tgw_info()),
                tgw(a.accepter_tgw_info()),
            ) else {
                continue;
            };
            if live(state) {
                links.push(Link {
                    id: id.into(),
                    ends: [
                        Endpoint::TransitGateway(a_tgw),
                        Endpoint::TransitGateway(b_tgw),
                    ],
                });
            }
        }
    }

    let mut pages = client
        .describe_vpc_peering_connections()
        .max_results(PAGE_SIZE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            sdk_error(
                &scope.account_id,
                &scope.region,
                "DescribeVpcPeeringConnections",
                e,
            )
        })?;
        for p in page.vpc_peering_connections() {
            let state = p
                .status()
                .and_then(|s| s.code())
                .map(|c| c.as_str())
                .unwrap_or_default();
            let vpc = |info: Option<&aws_sdk_ec2::types::VpcPeeringConnectionVpcInfo>| {
                let info = info?;
                Some(Endpoint::Vpc {
                    region: here(info.region()),
                    id: info.vpc_id()?.into(),
                })
            };
            let (Some(id), Some(a), Some(b)) = (
                p.vpc_peering_connection_id(),
                vpc(p.requester_vpc_info()),
                vpc(p.accepter_vpc_info()),
            ) else {
                continue;
            };
            if live(state) {
                links.push(Link {
                    id: id.into(),
                    ends: [a, b],
                });
            }
        }
    }
    Ok(links)
}
