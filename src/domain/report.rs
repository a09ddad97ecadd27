//! The versioned JSON report: the contract downstream consumers parse.
//! Any change of shape bumps `SCHEMA_VERSION` and the README's schema section.

use crate::domain::addresses::AddressMap;
use crate::domain::cidr::Family;
use crate::domain::inventory::{ScanError, Scope};
use crate::domain::text::Text;
pub use crate::domain::thresholds::round_percent;
use crate::domain::thresholds::{Reason, Status, ThresholdSource, Thresholds};
use ipnet::IpNet;
use serde::{Serialize, Serializer};
use std::fmt;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const SCHEMA_VERSION: u32 = 6;

/// The report of one run. Serialized as one flat object in this order:
/// `run`'s fields, `scan`'s, `resources`, `outcome`'s. The parts exist so that the
/// downstream chunk ([`ReportHead`]) and the run summary serialize them without
/// copying fields.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub run: RunStamp,
    #[serde(flatten)]
    pub scan: ScanInfo,
    /// Worst first: CRITICAL, then WARNING, then OK; by utilization within a status.
    pub resources: Vec<ResourceRecord>,
    #[serde(flatten)]
    pub outcome: RunOutcome,
}

/// Which run a report (or a summary of it) belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunStamp {
    pub schema_version: u32,
    pub run_id: String,
    /// When the run started.
    pub generated_at: Timestamp,
}

/// What the run scanned, and with which thresholds.
#[derive(Debug, Clone, Serialize)]
pub struct ScanInfo {
    /// The thresholds of the run before any per-resource tag override.
    pub thresholds: Thresholds,
    pub threshold_source: ThresholdSource,
    /// Every planned scope, in scope order, and whether it was scanned completely.
    pub scopes: Vec<ScopeOutcome>,
}

/// What the run found besides the per-resource records.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    pub overlaps: Vec<OverlapGroup>,
    pub errors: Vec<ScanError>,
    pub summary: Summary,
    /// What changed since the last run; `null` when no state bucket is configured.
    pub history: Option<RunHistory>,
    /// The subnets of each EKS cluster by availability zone; empty when no subnet is
    /// tagged for a cluster.
    pub eks_clusters: Vec<EksCluster>,
}

/// The report without its resources: a flat object with the report's other fields in
/// the report's order.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ReportHead<'a> {
    #[serde(flatten)]
    pub run: &'a RunStamp,
    #[serde(flatten)]
    pub scan: &'a ScanInfo,
    #[serde(flatten)]
    pub outcome: &'a RunOutcome,
}

impl Report {
    /// The report of run `run_id` started at `started`: `schema_version` is this
    /// build's, and the summary's scope and error counts are taken from `scopes` and
    /// `errors`.
    pub fn new(
        run_id: String,
        started: SystemTime,
        thresholds: Thresholds,
        threshold_source: ThresholdSource,
        scopes: Vec<ScopeOutcome>,
        errors: Vec<ScanError>,
        calculated: Calculated,
    ) -> Report {
        let Calculated {
            resources,
            overlaps,
            mut summary,
            history,
            eks_clusters,
        } = calculated;
        summary.scopes_scanned = scopes.iter().filter(|s| s.ok).count();
        summary.scopes_failed = scopes.len() - summary.scopes_scanned;
        summary.errors = errors.len();
        Report {
            run: RunStamp {
                schema_version: SCHEMA_VERSION,
                run_id,
                generated_at: Timestamp::from(started),
            },
            scan: ScanInfo {
                thresholds,
                threshold_source,
                scopes,
            },
            resources,
            outcome: RunOutcome {
                overlaps,
                errors,
                summary,
                history,
                eks_clusters,
            },
        }
    }

    pub fn head(&self) -> ReportHead<'_> {
        ReportHead {
            run: &self.run,
            scan: &self.scan,
            outcome: &self.outcome,
        }
    }
}

/// A UTC time in whole seconds since the Unix epoch (earlier times read as the epoch).
/// Serialized and displayed as RFC 3339, `2026-11-23T12:00:00Z`; every output of a run
/// (report, metric timestamps, alert) names the same second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix_seconds: u64,
}

impl Timestamp {
    pub fn from_unix_seconds(unix_seconds: u64) -> Timestamp {
        Timestamp { unix_seconds }
    }

    pub fn unix_seconds(self) -> u64 {
        self.unix_seconds
    }

    pub fn system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.unix_seconds)
    }
}

impl From<SystemTime> for Timestamp {
    /// Drops the fraction of a second.
    fn from(t: SystemTime) -> Timestamp {
        Timestamp::from_unix_seconds(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        humantime::format_rfc3339_seconds(self.system_time()).fmt(f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What the calculator makes of an inventory: the report's records, worst first, the
/// overlap groups and the counts.
pub struct Calculated {
    pub resources: Vec<ResourceRecord>,
    pub overlaps: Vec<OverlapGroup>,
    pub summary: Summary,
    /// Set when the run remembers (a previous state was an input).
    pub history: Option<RunHistory>,
    pub eks_clusters: Vec<EksCluster>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ScopeOutcome {
    #[serde(flatten)]
    pub scope: Scope,
    pub ok: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    Subnet,
    Vpc,
    IpamPool,
}

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Subnet => "subnet",
            ResourceType::Vpc => "vpc",
            ResourceType::IpamPool => "ipam_pool",
        }
    }
}

/// What `used`/`total` of a record measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Addresses in use out of usable addresses (subnets).
    Addresses,
    /// Address space covered by subnets or allocations out of the CIDR space (VPCs).
    Allocation,
    /// Nothing AWS reports can be measured (IPv6-only subnet, unreadable CIDR).
    None,
}

/// The unit of `total`, `usable`, `used` and `free`. IPv6 is counted in /64 blocks so
/// figures stay readable and fit a JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    #[serde(rename = "address")]
    Address,
    #[serde(rename = "/64")]
    Slash64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppliedThresholds {
    pub warning_percent: f64,
    pub critical_percent: f64,
    pub min_free_addresses: Option<u64>,
    pub min_free_block: Option<u8>,
    pub min_free_prefixes: Option<u16>,
    pub source: ThresholdSource,
}

/// Who or what acknowledged a resource or an overlap: it stays in the report and
/// leaves the alert and the breach counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// `tag ipam-monitor:suppress`, `SUPPRESS_ACCOUNTS`, `ACCEPTED_OVERLAPS`.
    pub by: String,
    pub reason: String,
}

/// Where a record's figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordSource {
    /// DescribeVpcs/DescribeSubnets in the resource's account and region.
    Ec2,
    /// IPAM alone: GetIpamResourceCidrs' `IpUsage`, or the IPAM pool itself.
    Ipam,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceRecord {
    pub resource_type: ResourceType,
    pub resource_id: Text,
    pub name: Option<Text>,
    pub account_id: Text,
    pub region: Text,
    pub vpc_id: Option<Text>,
    pub availability_zone: Option<Text>,
    /// Every CIDR of the resource, IPv4 first.
    pub cidrs: Vec<IpNet>,
    /// The family `total`...`utilization_percent` are about.
    pub address_family: Family,
    /// Whether an IPAM allocation covers this resource; `null` until IPAM is scanned.
    pub managed: Option<bool>,
    pub measure: Measure,
    pub unit: Unit,
    pub total: u128,
    pub usable: u128,
    pub used: u128,
    pub free: u128,
    /// `used / usable * 100`, two decimals; `null` when it cannot be measured.
    pub utilization_percent: Option<f64>,
    pub status: Status,
    /// Which rules gave the status, with their figures; empty for OK. A boxed slice
    /// and a box: most records have neither, and every byte counts 111,000 times.
    pub reasons: Box<[Reason]>,
    /// Set when the resource is acknowledged: its status stands, but it does not alert.
    pub suppressed: Option<Box<Suppression>>,
    pub thresholds: AppliedThresholds,
    /// Status since when, what changed since the last alert, the trend; `null` when no
    /// state bucket is configured. Boxed: 8 bytes for records without it.
    pub history: Option<Box<RecordHistory>>,
    /// The largest aggregated free block ("can a new /24 still fit?"); VPCs and pools.
    pub largest_free_block: Option<IpNet>,
    /// Free space as aggregated CIDR blocks, in address order; VPCs and pools.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub free_blocks: Vec<IpNet>,
    /// Per CIDR block figures; VPCs and pools.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cidr_blocks: Vec<BlockUsage>,
    /// What only this kind of resource has.
    #[serde(flatten)]
    pub kind: KindDetails,
    pub warnings: Vec<String>,
}

/// A resource's past, as the state remembered it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordHistory {
    /// When the resource got its current status (this run, for a new resource).
    pub status_since: Timestamp,
    /// What the alert says of it this run; `null` when nothing changed.
    pub change: Option<Change>,
    /// Percentage points a day over the stored samples, two decimals; `null` with too
    /// little history. f32 (exact enough for two decimals): 111,000 records keep one.
    pub growth_points_per_day: Option<f32>,
    /// Days until 100 % at that growth, one decimal; `null` when flat, shrinking or too
    /// little history.
    pub days_to_exhaustion: Option<f32>,
    /// Samples the trend is computed from.
    pub samples: u8,
}

/// What the alert tells of a resource, relative to the last alert that was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// In breach, and the last alert said it was not (or never spoke of it).
    NewCritical,
    NewWarning,
    /// WARNING then, CRITICAL now.
    Escalated,
    /// Still in breach, unchanged since the reminder interval.
    Reminder,
    /// CRITICAL then, WARNING now.
    Eased,
    /// In breach then, OK now (past the recovery margin).
    Recovered,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::NewCritical => "new_critical",
            Change::NewWarning => "new_warning",
            Change::Escalated => "escalated",
            Change::Reminder => "reminder",
            Change::Eased => "eased",
            Change::Recovered => "recovered",
        }
    }
}

/// What this run remembered and what changed since the last one.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunHistory {
    /// The run whose state this one read; `null` on a first run.
    pub previous_run: Option<PreviousRun>,
    /// This invocation has the request id of the run that wrote the state: a Lambda
    /// retry, whose alert was already sent.
    pub retried_request: bool,
    /// On a retry: the sinks the first attempt delivered, which this one skips.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub already_delivered: Vec<String>,
    pub changes: ChangeCounts,
    /// Resources the last alert called in breach that no longer exist.
    pub gone: Vec<GoneResource>,
    /// Why the previous state could not be used, or was not saved.
    pub warnings: Vec<String>,
    /// Where this run's report is archived (`s3://...`), when it is.
    pub archive: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviousRun {
    pub run_id: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangeCounts {
    pub new_critical: usize,
    pub new_warning: usize,
    pub escalated: usize,
    pub reminder: usize,
    pub eased: usize,
    pub recovered: usize,
    /// Routing overlaps the last alert did not name.
    pub new_conflicts: usize,
}

impl ChangeCounts {
    pub fn add(&mut self, change: Change) {
        match change {
            Change::NewCritical => self.new_critical += 1,
            Change::NewWarning => self.new_warning += 1,
            Change::Escalated => self.escalated += 1,
            Change::Reminder => self.reminder += 1,
            Change::Eased => self.eased += 1,
            Change::Recovered => self.recovered += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.new_critical
            + self.new_warning
            + self.escalated
            + self.reminder
            + self.eased
            + self.recovered
            + self.new_conflicts
    }
}

/// A resource that was in breach at the last alert and is gone from a scope this run
/// read completely (deleted): told as recovered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoneResource {
    /// `kind/account/region/id`.
    pub key: String,
    pub last_status: Status,
}

/// The part of a record only one kind of resource has, written inline in the record.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
/// Each variant also says where the record's figures come from (`source`): kept here,
/// in room the largest variant leaves, so that a record stays under 512 bytes.
pub enum KindDetails {
    Subnet {
        /// `ec2`, or `ipam` for a subnet only IPAM knows (measured from its IpUsage).
        source: RecordSource,
        /// IPAM's own figures for the subnet's IPv4 CIDR (GetIpamResourceCidrs). Not
        /// boxed: with an IPAM nearly every subnet has them.
        #[serde(skip_serializing_if = "Option::is_none")]
        ipam_observed: Option<IpamObservation>,
        /// EKS cluster tags and the address map. Boxed: few subnets have either, and
        /// the largest variant sets the size of every record.
        #[serde(flatten)]
        addressing: Option<Box<Addressing>>,
    },
    Vpc {
        source: RecordSource,
        /// A planning fact: how much of the VPC's IPv4 space subnets cover (per block
        /// in `cidr_blocks`, with IPAM's figures).
        allocation: VpcAllocation,
    },
    IpamPool {
        /// Always `ipam`.
        source: RecordSource,
        /// Where the pool sits in IPAM. Boxed: pools are few, and the largest variant
        /// sets the size of every record.
        pool: Box<PoolDetails>,
    },
}

impl ResourceRecord {
    pub fn allocation(&self) -> Option<&VpcAllocation> {
        match &self.kind {
            KindDetails::Vpc { allocation, .. } => Some(allocation),
            _ => None,
        }
    }

    /// Where the record's figures come from.
    pub fn source(&self) -> RecordSource {
        match &self.kind {
            KindDetails::Subnet { source, .. }
            | KindDetails::Vpc { source, .. }
            | KindDetails::IpamPool { source, .. } => *source,
        }
    }

    pub fn set_source(&mut self, to: RecordSource) {
        match &mut self.kind {
            KindDetails::Subnet { source, .. }
            | KindDetails::Vpc { source, .. }
            | KindDetails::IpamPool { source, .. } => *source = to,
        }
    }

    /// In breach and not acknowledged: what the alert lists and the counts count.
    pub fn alerts(&self) -> bool {
        self.status.is_breach() && self.suppressed.is_none()
    }

    pub fn pool(&self) -> Option<&PoolDetails> {
        match &self.kind {
            KindDetails::IpamPool { pool, .. } => Some(pool),
            _ => None,
        }
    }

    fn addressing(&self) -> Option<&Addressing> {
        match &self.kind {
            KindDetails::Subnet { addressing, .. } => addressing.as_deref(),
            _ => None,
        }
    }

    pub fn address_map(&self) -> Option<&AddressMap> {
        self.addressing()?.address_map.as_ref()
    }

    /// The subnet was to be mapped and was not, this run.
    pub fn map_unread(&self) -> bool {
        self.addressing().is_some_and(|a| a.map_unread)
    }

    /// The EKS clusters a subnet is tagged for.
    pub fn eks_clusters(&self) -> &[Text] {
        self.addressing().map_or(&[], |a| &a.eks_clusters)
    }

    /// IPAM's figures for a subnet; a VPC's are in its `cidr_blocks`.
    pub fn ipam_observed(&self) -> Option<&IpamObservation> {
        match &self.kind {
            KindDetails::Subnet { ipam_observed, .. } => ipam_observed.as_ref(),
            _ => None,
        }
    }
}

/// What a subnet tagged for EKS or mapped by its owner's sweep has beside its counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Addressing {
    /// The EKS clusters the subnet is tagged for (`kubernetes.io/cluster/<name>`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub eks_clusters: Vec<Text>,
    /// Who holds the subnet's addresses and the room left for /28 prefixes; absent
    /// when the subnet was not mapped (`ADDRESS_MAP`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_map: Option<AddressMap>,
    /// The subnet was to be mapped and its sweep failed or ran out of time (the
    /// warnings say which): its /28 headroom is unknown this run, not recovered.
    #[serde(skip)]
    pub map_unread: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PoolDetails {
    pub ipam_id: String,
    pub scope_id: String,
    /// `private` or `public`.
    pub scope_type: String,
    pub parent_pool_id: Option<String>,
    pub locale: Option<String>,
    pub depth: Option<i32>,
    pub allocations: usize,
}

/// What IPAM itself says about a resource CIDR, next to our own figure.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IpamObservation {
    pub ipam_pool_id: Option<Text>,
    /// IPAM's `IpUsage` as a percentage, two decimals. f32 (exact enough for two
    /// decimals): with an IPAM nearly every subnet record keeps one.
    pub ip_usage_percent: Option<f32>,
    pub compliance_status: Option<Text>,
    pub overlap_status: Option<Text>,
    pub management_state: Option<Text>,
    /// True when IPAM's usage and ours differ by more than 10 percentage points.
    pub disagrees: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BlockUsage {
    pub cidr: IpNet,
    pub address_family: Family,
    pub unit: Unit,
    pub total: u128,
    pub allocated: u128,
    pub free: u128,
    pub allocation_percent: f64,
    pub largest_free_block: Option<IpNet>,
    /// Whether an IPAM allocation for this VPC covers the block (`null`: unknown,
    /// because an IPAM call failed); VPC blocks only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipam_pool_id: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipam_observed: Option<IpamObservation>,
}

/// One EKS cluster's subnets (tagged `kubernetes.io/cluster/<name>`) in one account
/// and region, by availability zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EksCluster {
    pub cluster: Text,
    pub account_id: Text,
    pub region: Text,
    /// The worst status of the cluster's subnets.
    pub status: Status,
    /// In zone order.
    pub zones: Vec<EksZone>,
}

/// A cluster's subnets in one availability zone: pods and nodes scheduled there can
/// only use these, so a cluster fails when one zone runs out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EksZone {
    pub availability_zone: Text,
    pub subnets: usize,
    /// Free IPv4 addresses over the zone's measured subnets.
    pub free_addresses: u128,
    /// Free aligned /28 blocks over the zone's subnets; `null` unless every one of
    /// them has an address map.
    pub free_prefixes: Option<u32>,
    /// Interfaces attached to nothing, over the mapped subnets.
    pub detached_interfaces: u32,
    pub status: Status,
}

/// A VPC's IPv4 space covered by subnets: "is there room for a new subnet?".
#[derive(Debug, Clone, Serialize)]
pub struct VpcAllocation {
    pub total: u128,
    pub allocated: u128,
    pub free: u128,
    pub allocation_percent: Option<f64>,
}

/// CIDR blocks of different VPCs that share addresses. `cidr` is the outermost block
/// of the group; every member overlaps at least one other member.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OverlapGroup {
    pub cidr: IpNet,
    /// Whether the overlapping VPCs can route to each other.
    pub routing: OverlapRouting,
    /// Set when every conflict is acknowledged (`ACCEPTED_OVERLAPS`).
    pub suppressed: Option<Suppression>,
    pub members: Vec<OverlapMember>,
    /// The pairs of overlapping members that can route to each other.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<OverlapConflict>,
    /// What the alert says of this conflict (`new_warning` or `reminder`); only with
    /// a state bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
}

/// Two VPCs whose blocks overlap and that can route to each other.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OverlapConflict {
    pub vpc_ids: [Text; 2],
    pub cidrs: [IpNet; 2],
    /// The Transit Gateway domain (`tgw-...`) or VPC peering (`pcx-...`) they share.
    pub via: Text,
    /// The `ACCEPTED_OVERLAPS` entry that acknowledges this pair, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_by: Option<String>,
}

impl OverlapGroup {
    /// A conflict nobody acknowledged: what the alert lists.
    pub fn alerts(&self) -> bool {
        self.routing == OverlapRouting::Conflict && self.suppressed.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OverlapRouting {
    /// Two overlapping VPCs can route to each other (one Transit Gateway domain, or a
    /// peering): traffic to the shared addresses cannot reach both. Alerts.
    Conflict,
    /// No two overlapping VPCs are connected: reuse that cannot collide. Report only.
    Isolated,
    /// A member's connectivity could not be read (see `errors`). Report only.
    Unknown,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OverlapMember {
    pub resource_id: Text,
    pub account_id: Text,
    pub region: Text,
    pub cidr: IpNet,
    /// The Transit Gateway domain the VPC is attached to, named by its smallest
    /// gateway id; `null` when no gateway connects it (it may still be peered).
    pub routing_domain: Option<Text>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Summary {
    pub resources: usize,
    pub vpcs: usize,
    pub subnets: usize,
    pub ipam_pools: usize,
    /// VPC CIDR blocks an IPAM allocation covers, and those none does.
    pub managed_cidrs: usize,
    pub unmanaged_cidrs: usize,
    /// Resources where IPAM's usage and ours differ by more than 10 points.
    pub ipam_disagreements: usize,
    /// `ok + unknown + warning + critical + suppressed = resources`.
    pub ok: usize,
    /// Resources that should be measurable and were not (status UNKNOWN).
    pub unknown: usize,
    /// WARNING and CRITICAL count resources that are not suppressed.
    pub warning: usize,
    pub critical: usize,
    pub in_breach: usize,
    /// Acknowledged resources, whatever their status.
    pub suppressed: usize,
    pub overlap_groups: usize,
    /// Overlap groups whose VPCs can route to each other, not acknowledged.
    pub overlap_conflicts: usize,
    pub resources_with_warnings: usize,
    pub scopes_scanned: usize,
    pub scopes_failed: usize,
    pub errors: usize,
}

/// Counts the bytes serde_json would write, without keeping them.
struct ByteCount(usize);

impl Write for ByteCount {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len();
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The serialized length of `value`.
pub fn json_len(value: &impl Serialize) -> usize {
    let mut n = ByteCount(0);
    serde_json::to_writer(&mut n, value).expect("report values serialize");
    n.0
}
