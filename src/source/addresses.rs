//! The address sweep of one scope (`ADDRESS_MAP`): who holds each subnet's addresses.
//! DescribeNetworkInterfaces is paginated once per scope (never once per subnet);
//! GetSubnetCidrReservations, which takes one subnet per call, is asked only for
//! subnets tagged for an EKS cluster, where the /28 headroom matters.

use super::map::sdk_error;
use crate::domain::addresses::{
    address_map, CidrReservation, MappedSubnet, NetworkInterface, ReservationKind, SubnetAddresses,
};
use crate::domain::cidr;
use crate::domain::holder::Holder;
use crate::domain::inventory::{AddressSweep, ScanError, Scope, Subnet};
use crate::domain::text::Text;
use aws_sdk_ec2::types::{Filter, SubnetCidrReservationType};
use aws_sdk_ec2::Client;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// The largest page DescribeNetworkInterfaces and GetSubnetCidrReservations accept.
const PAGE_SIZE: i32 = 1000;
/// Subnet ids per `subnet-id` filter: EC2 caps the values of one filter at 200.
const FILTER_VALUES: usize = 200;

/// Which subnets get an address map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddressMapMode {
    /// None: no call at all.
    #[default]
    Off,
    /// Subnets tagged for an EKS cluster: interfaces filtered by their ids, no call
    /// in a scope without one.
    Eks,
    /// Every subnet: one unfiltered sweep per scope.
    All,
}

/// When a scope's address sweep must give up, for a scan cut at `cutoff`: a tenth of
/// the time left before it (at most 2 s), so that the scope's VPCs and subnets, read
/// before the sweep, arrive in time to be kept.
pub fn sweep_deadline(cutoff: Instant) -> Instant {
    let left = cutoff.saturating_duration_since(Instant::now());
    cutoff - (left / 10).min(Duration::from_secs(2))
}

/// Maps the subnets `mode` selects among `subnets` (the scope's own, just listed).
/// Only a subnet's owner sees every interface in it, so subnets shared into the scope
/// through AWS RAM are left to their owner's scope. A sweep that fails, or is not done
/// by `until`, leaves the selected subnets with their address counts and no map: each
/// gets an entry without one (saying why), and the error is in the sweep.
pub async fn sweep(
    client: &Client,
    scope: &Scope,
    subnets: &[Subnet],
    mode: AddressMapMode,
    until: Option<Instant>,
) -> AddressSweep {
    let chosen: Vec<&Subnet> = subnets
        .iter()
        .filter(|s| selected(s, scope, mode))
        .collect();
    let mut found = AddressSweep::default();
    if chosen.is_empty() {
        return found;
    }
    let read = map_subnets(client, scope, &chosen, mode);
    let read = match until {
        Some(at) => tokio::time::timeout_at(at.into(), read)
            .await
            .unwrap_or_else(|_| Err(too_slow(scope))),
        None => read.await,
    };
    match read {
        Ok((maps, errors)) => {
            found.subnets = maps;
            found.errors = errors;
        }
        Err(e) => {
            tracing::warn!(scope = %scope, error = %e.message, "address sweep failed: subnets keep their address counts, without a map");
            let why = format!("address map not read: {} failed (see errors)", e.operation);
            found.subnets = chosen
                .iter()
                .map(|s| MappedSubnet {
                    subnet_id: s.id.clone(),
                    map: None,
                    warnings: vec![why.clone()],
                })
                .collect();
            found.errors.push(e);
        }
    }
    found
}

/// The error of a sweep the scan's deadline cut.
fn too_slow(scope: &Scope) -> ScanError {
    ScanError {
        account_id: scope.account_id.clone(),
        region: scope.region.clone(),
        operation: "DescribeNetworkInterfaces".into(),
        code: Some("DeadlineExceeded".into()),
        message: "the address sweep was not done in the time the scan had; the subnets keep their address counts, without a map".into(),
    }
}

/// Reads the interfaces of the `chosen` subnets and, for those tagged for a cluster,
/// their CIDR reservations, and maps each subnet. A failed reservation call costs
/// only that subnet's reservations (its error is returned beside the maps).
async fn map_subnets(
    client: &Client,
    scope: &Scope,
    chosen: &[&Subnet],
    mode: AddressMapMode,
) -> Result<(Vec<MappedSubnet>, Vec<ScanError>), ScanError> {
    let ids: Vec<&str> = chosen.iter().map(|s| s.id.as_str()).collect();
    let mut by_subnet = interfaces(client, scope, &ids, mode).await?;
    let mut maps = Vec::with_capacity(chosen.len());
    let mut errors = Vec::new();
    for s in chosen {
        let (interfaces, mut warnings) = by_subnet.remove(s.id.as_str()).unwrap_or_default();
        let reservations = if s.tags.eks_clusters().next().is_some() {
            match reservations(client, scope, &s.id, &mut warnings).await {
                Ok(r) => Some(r),
                Err(e) => {
                    warnings.push(format!(
                        "CIDR reservations not read: {} failed (see errors); explicit reservations count as free",
                        e.operation
                    ));
                    errors.push(e);
                    None
                }
            }
        } else {
            None
        };
        let Some(IpNet::V4(cidr)) = s.ipv4_cidr else {
            continue; // `selected` chose IPv4 subnets only
        };
        let found_here = SubnetAddresses {
            subnet_id: s.id.clone(),
            interfaces,
            reservations,
            warnings,
        };
        // The interfaces go once the map is made: an organization's would not fit.
        maps.push(MappedSubnet {
            map: Some(address_map(&cidr, &found_here)),
            subnet_id: found_here.subnet_id,
            warnings: found_here.warnings,
        });
    }
    Ok((maps, errors))
}

/// Whether `mode` maps subnet `s` from this scope.
fn selected(s: &Subnet, scope: &Scope, mode: AddressMapMode) -> bool {
    let mappable = !s.id.is_empty() && s.ipv4_cidr.is_some() && *s.account_id == scope.account_id;
    match mode {
        AddressMapMode::Off => false,
        AddressMapMode::Eks => mappable && s.tags.eks_clusters().next().is_some(),
        AddressMapMode::All => mappable,
    }
}

/// Interfaces and the warnings about them, by subnet id.
type BySubnet = HashMap<Text, (Vec<NetworkInterface>, Vec<String>)>;

/// Every interface in the subnets `ids`: filtered by them in EKS mode (a few calls),
/// one unfiltered sweep otherwise (interfaces of other subnets are dropped as read).
async fn interfaces(
    client: &Client,
    scope: &Scope,
    ids: &[&str],
    mode: AddressMapMode,
) -> Result<BySubnet, ScanError> {
    let mut by_subnet: BySubnet = ids
        .iter()
        .map(|id| (Text::from(*id), Default::default()))
        .collect();
    let filters: Vec<Option<Filter>> = match mode {
        AddressMapMode::Eks => ids
            .chunks(FILTER_VALUES)
            .map(|chunk| {
                let values = chunk.iter().map(|id| id.to_string()).collect();
                Some(
                    Filter::builder()
                        .name("subnet-id")
                        .set_values(Some(values))
                        .build(),
                )
            })
            .collect(),
        _ => vec![None],
    };
    for filter in filters {
        let mut pages = client
            .describe_network_interfaces()
            .max_results(PAGE_SIZE)
            .set_filters(filter.map(|f| vec![f]))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                sdk_error(
                    &scope.account_id,
                    &scope.region,
                    "DescribeNetworkInterfaces",
                    e,
                )
            })?;
            for eni in page.network_interfaces() {
                let subnet = eni.subnet_id().unwrap_or_default();
                if let Some((list, warnings)) = by_subnet.get_mut(subnet) {
                    list.push(map_interface(eni, warnings));
                }
            }
        }
    }
    Ok(by_subnet)
}

/// One interface as the address map needs it; an unreadable address or prefix is
/// skipped with a warning on the subnet.
fn map_interface(
    eni: &aws_sdk_ec2::types::NetworkInterface,
    warnings: &mut Vec<String>,
) -> NetworkInterface {
    let id = eni.network_interface_id().unwrap_or_default();
    let mut ipv4_addresses = Vec::with_capacity(eni.private_ip_addresses().len().max(1));
    let listed = eni
        .private_ip_addresses()
        .iter()
        .map(|a| a.private_ip_address());
    // Older answers give only the primary address at the top level.
    let primary_only = eni
        .private_ip_addresses()
        .is_empty()
        .then(|| eni.private_ip_address());
    for text in listed.chain(primary_only).flatten() {
        match text.trim().parse::<Ipv4Addr>() {
            Ok(a) => ipv4_addresses.push(a),
            Err(_) => warnings.push(format!(
                "interface {id}: PrivateIpAddress {text:?} is not an IPv4 address; skipped"
            )),
        }
    }
    let mut ipv4_prefixes = Vec::new();
    for text in eni.ipv4_prefixes().iter().filter_map(|p| p.ipv4_prefix()) {
        match cidr::parse(text) {
            Ok(IpNet::V4(net)) => ipv4_prefixes.push(net),
            Ok(_) => warnings.push(format!(
                "interface {id}: Ipv4Prefix {text:?} is not an IPv4 prefix; skipped"
            )),
            Err(e) => warnings.push(format!("interface {id}: Ipv4Prefix: {e}; skipped")),
        }
    }
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    NetworkInterface {
        id: id.into(),
        holder: Holder::classify(
            eni.interface_type().map(|t| t.as_str()).unwrap_or_default(),
            eni.description().unwrap_or_default(),
            eni.requester_id(),
            eni.attachment().and_then(|a| a.instance_id()).is_some(),
        ),
        detached: eni.status().is_some_and(|s| s.as_str() == "available"),
        ipv4_addresses,
        ipv4_prefixes,
        ipv6_addresses: count(eni.ipv6_addresses().len()),
        ipv6_prefixes: count(eni.ipv6_prefixes().len()),
    }
}

/// The subnet's IPv4 CIDR reservations, every page; an unreadable one is skipped with
/// a warning on the subnet.
async fn reservations(
    client: &Client,
    scope: &Scope,
    subnet_id: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<CidrReservation>, ScanError> {
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    let mut seen_tokens = std::collections::HashSet::new();
    loop {
        let page = client
            .get_subnet_cidr_reservations()
            .subnet_id(subnet_id)
            .max_results(PAGE_SIZE)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                sdk_error(
                    &scope.account_id,
                    &scope.region,
                    "GetSubnetCidrReservations",
                    e,
                )
            })?;
        for r in page.subnet_ipv4_cidr_reservations() {
            let cidr = match r.cidr().map(cidr::parse) {
                Some(Ok(IpNet::V4(net))) => net,
                Some(Ok(net)) => {
                    warnings.push(format!("CIDR reservation {net} is not IPv4; skipped"));
                    continue;
                }
                Some(Err(e)) => {
                    warnings.push(format!("CIDR reservation: {e}; skipped"));
                    continue;
                }
                None => {
                    warnings.push("CIDR reservation without a Cidr; skipped".into());
                    continue;
                }
            };
            // An explicit reservation, or a type this tool does not know, keeps its
            // addresses from prefixes: counting it as taken never overstates headroom.
            let kind = match r.reservation_type() {
                Some(SubnetCidrReservationType::Prefix) => ReservationKind::Prefix,
                _ => ReservationKind::Explicit,
            };
            found.push(CidrReservation { cidr, kind });
        }
        match page.next_token() {
            // A token that repeats would page forever.
            Some(t) if !t.is_empty() && seen_tokens.insert(t.to_string()) => {
                token = Some(t.to_string())
            }
            Some(t) if !t.is_empty() => {
                warnings.push(format!(
                    "GetSubnetCidrReservations repeated its NextToken {t:?}; paging stopped"
                ));
                return Ok(found);
            }
            _ => return Ok(found),
        }
    }
}
