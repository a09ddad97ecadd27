//! Address maps: what a scope's address sweep found in each subnet it mapped (the
//! interfaces, their addresses and prefixes, the CIDR reservations), and the map made
//! of it ([`address_map`], in `map.rs`). The source turns each subnet's
//! findings into its map as the sweep returns, so a run keeps one small map per
//! subnet rather than every interface of the organization.

mod map;

pub use map::address_map;

use crate::domain::holder::Holder;
use crate::domain::text::Text;
use ipnet::{IpNet, Ipv4Net};
use serde::Serialize;
use std::net::Ipv4Addr;

/// One network interface, as much as the address map needs: who holds it, whether it
/// is attached to anything, and the addresses it takes from its subnet.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkInterface {
    pub id: Text,
    pub holder: Holder,
    /// Status `available`: attached to nothing, yet its addresses stay taken until
    /// someone deletes it.
    pub detached: bool,
    /// Primary and secondary private IPv4 addresses.
    pub ipv4_addresses: Vec<Ipv4Addr>,
    /// Delegated IPv4 prefixes (/28 for VPC CNI prefix delegation).
    pub ipv4_prefixes: Vec<Ipv4Net>,
    pub ipv6_addresses: u32,
    pub ipv6_prefixes: u32,
}

/// A subnet CIDR reservation (GetSubnetCidrReservations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CidrReservation {
    pub cidr: Ipv4Net,
    pub kind: ReservationKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationKind {
    /// Only assigned by hand: no interface or prefix gets an address from it.
    Explicit,
    /// AWS assigns delegated prefixes from it: still free for /28 prefixes.
    Prefix,
}

/// Everything one subnet's address map is made of. Only the subnet's owner sees every
/// interface in it, so only the owner's scope sends one.
#[derive(Debug, Clone, PartialEq)]
pub struct SubnetAddresses {
    pub subnet_id: Text,
    pub interfaces: Vec<NetworkInterface>,
    /// `None`: not read (only subnets tagged for an EKS cluster are, one call each),
    /// or the call failed (its error is in the scope's errors).
    pub reservations: Option<Vec<CidrReservation>>,
    /// Problems found while reading the interfaces (a malformed address skipped...).
    pub warnings: Vec<String>,
}

/// A mapped subnet, as the scope's sweep hands it over.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedSubnet {
    pub subnet_id: Text,
    /// `None`: selected, but the sweep failed or ran out of time (see `warnings`).
    pub map: Option<AddressMap>,
    /// What was skipped while reading its interfaces and reservations.
    pub warnings: Vec<String>,
}

/// A subnet's IPv4 addresses by who holds them, and the room left for the aligned /28
/// blocks EKS prefix delegation needs (free addresses can be scattered one by one).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AddressMap {
    /// Free aligned /28 blocks: no interface address, assigned prefix, explicit
    /// reservation or AWS-reserved address inside.
    pub free_prefixes: u32,
    /// The largest free aligned block left; `null` when none is.
    pub largest_free_block: Option<IpNet>,
    pub interfaces: u32,
    /// Private IPv4 addresses on the subnet's interfaces.
    pub ipv4_addresses: u32,
    /// Delegated IPv4 prefixes on them.
    pub ipv4_prefixes: u32,
    pub ipv6_addresses: u32,
    pub ipv6_prefixes: u32,
    /// Addresses in explicit CIDR reservations; `null` when the reservations were not
    /// read (only subnets tagged for an EKS cluster are).
    pub reserved_addresses: Option<u32>,
    /// One entry per holder that has an interface here, in holder order.
    pub holders: Vec<HolderUsage>,
    /// Interfaces attached to nothing (status `available`) and what they hold.
    pub detached: Usage,
}

/// Interfaces and the IPv4 addresses they take: one per private address, 16 per /28
/// prefix (the prefix's whole size).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub interfaces: u32,
    pub addresses_held: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HolderUsage {
    pub holder: Holder,
    #[serde(flatten)]
    pub usage: Usage,
}
