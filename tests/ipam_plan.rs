//! Where IPAM is read from and what becomes of it, on a hand-written source (pure flow):
//! the IPAM's home region outside REGIONS, IPAM_REGIONS sparing the discovery, the
//! IPAM account's role denied, the deadline before the IPAM scope, and IPAM-only runs
//! that cover accounts no role was assumed in.

use ipam_monitor::app::config::{Config, FailOn, IpamRegions, RegionSelection, SourceMode};
use ipam_monitor::app::handler::{App, HandlerError, RunOutput};
use ipam_monitor::domain::inventory::{
    IpamInventory, IpamPool, PoolAllocation, ResourceCidr, ScanError, Scope, ScopeInventory,
    Subnet, Tags, Vpc,
};
use ipam_monitor::domain::report::{RecordSource, ResourceRecord};
use ipam_monitor::domain::thresholds::Status;
use ipam_monitor::source::NetworkSource;
use ipam_monitor::store::{Loaded, StateStore, StoreError, Version};
use serde_json::json;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const OWN: &str = "111111111111";
const SCANNED: &str = "xx-scanned-1";
const HOME: &str = "xx-home-1";

#[derive(Default)]
struct IpamFake {
    /// The IPAM account's role cannot be assumed.
    deny_ipam_account: Option<&'static str>,
    /// The IPAM scope never answers.
    hang_ipam: bool,
    /// Resource CIDRs of other accounts the IPAM lists.
    foreign: Vec<ResourceCidr>,
    calls: Mutex<Vec<String>>,
}

impl IpamFake {
    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

fn denied(account: &str, region: &str) -> ScanError {
    ScanError {
        account_id: account.into(),
        region: region.into(),
        operation: "AssumeRole".into(),
        code: Some("AccessDenied".into()),
        message: "not authorized to perform sts:AssumeRole".into(),
    }
}

impl NetworkSource for IpamFake {
    async fn own_account_id(&self) -> Result<String, ScanError> {
        Ok(OWN.into())
    }

    async fn enabled_regions(&self, account: &str, _: &str) -> Result<Vec<String>, ScanError> {
        self.log(format!("DescribeRegions {account}"));
        Ok(vec![SCANNED.into(), HOME.into()])
    }

    async fn scan(&self, scope: &Scope) -> Result<ScopeInventory, ScanError> {
        self.log(format!("scan {scope}"));
        let vpc = "vpc-0000000000000000a";
        Ok(ScopeInventory {
            vpcs: vec![Vpc {
                id: vpc.into(),
                account_id: scope.account_id.as_str().into(),
                region: scope.region.as_str().into(),
                is_default: false,
                ipv4_blocks: vec!["10.1.0.0/16".parse().unwrap()],
                ipv6_blocks: vec![],
                tags: Tags::new(),
                warnings: vec![],
            }],
            subnets: vec![Subnet {
                id: "subnet-0000000000000000a".into(),
                vpc_id: vpc.into(),
                account_id: scope.account_id.as_str().into(),
                region: scope.region.as_str().into(),
                availability_zone: "a".into(),
                ipv4_cidr: Some("10.1.0.0/24".parse().unwrap()),
                ipv6_cidrs: vec![],
                available_ips: Some(151),
                tags: Tags::new(),
                warnings: vec![],
            }],
            connectivity: Default::default(),
            addresses: Default::default(),
        })
    }

    async fn scan_ipam(&self, scope: &Scope) -> Result<IpamInventory, ScanError> {
        self.log(format!("scan_ipam {scope}"));
        if self.deny_ipam_account == Some(scope.account_id.as_str()) {
            return Err(denied(&scope.account_id, &scope.region));
        }
        if scope.region != HOME {
            return Ok(IpamInventory::default());
        }
        if self.hang_ipam {
            std::future::pending::<()>().await;
        }
        Ok(IpamInventory {
            ipam_ids: vec!["ipam-1".into()],
            pools: vec![IpamPool {
                id: "ipam-pool-1".into(),
                ipam_id: "ipam-1".into(),
                scope_id: "ipam-scope-1".into(),
                scope_type: "private".into(),
                parent_pool_id: None,
                locale: None,
                depth: Some(1),
                account_id: scope.account_id.clone(),
                region: scope.region.clone(),
                description: None,
                tags: Tags::new(),
                cidrs: vec!["10.0.0.0/8".parse().unwrap()],
                allocations: vec![PoolAllocation {
                    cidr: "10.1.0.0/16".parse().unwrap(),
                    resource_type: "vpc".into(),
                    resource_id: Some("vpc-0000000000000000a".into()),
                    resource_region: Some(SCANNED.into()),
                    resource_owner: Some(OWN.into()),
                }],
                warnings: vec![],
            }],
            resource_cidrs: self.foreign.clone(),
            errors: vec![],
        })
    }
}

fn config() -> Config {
    Config {
        regions: RegionSelection::List(vec![SCANNED.into()]),
        own_region: Some(SCANNED.into()),
        fail_on: FailOn::Never,
        ..Config::default()
    }
}

async fn run(source: IpamFake, config: Config) -> (RunOutput, IpamFake) {
    let app = App {
        store: None,
        source,
        sinks: vec![],
        config,
    };
    let out = app.run(&json!({}), "r".into()).await;
    let out = match out {
        Ok(out) => out,
        Err(HandlerError::Incomplete { output, .. }) => *output,
        Err(e) => panic!("{e}"),
    };
    (out, app.source)
}

fn record<'a>(out: &'a RunOutput, id: &str) -> &'a ResourceRecord {
    out.report
        .resources
        .iter()
        .find(|r| r.resource_id == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

fn listed(
    kind: &str,
    id: &str,
    owner: &str,
    region: &str,
    cidr: &str,
    usage: Option<f64>,
) -> ResourceCidr {
    ResourceCidr {
        resource_id: id.into(),
        name: Some(format!("{id}-name").into()),
        resource_type: kind.into(),
        resource_region: Some(region.into()),
        resource_owner: Some(owner.into()),
        vpc_id: Some("vpc-0000000000000000f".into()),
        pool_id: None,
        cidr: cidr.parse().unwrap(),
        ip_usage: usage,
        compliance_status: None,
        overlap_status: None,
        management_state: Some("unmanaged".into()),
    }
}

#[tokio::test]
async fn the_ipam_is_found_in_its_home_region_outside_regions() {
    let (out, source) = run(IpamFake::default(), config()).await;
    let vpc = record(&out, "vpc-0000000000000000a");
    assert_eq!(
        vpc.managed,
        Some(true),
        "the home region's allocation covers it"
    );
    assert!(out
        .report
        .resources
        .iter()
        .any(|r| r.resource_id == "ipam-pool-1"));
    // Discovery: one DescribeRegions in the own account, one IPAM read per region;
    // VPCs and subnets only where REGIONS says.
    let calls = source.calls();
    assert!(calls.contains(&format!("DescribeRegions {OWN}")));
    assert!(calls.contains(&format!("scan_ipam {OWN}/{HOME}")));
    assert!(calls.contains(&format!("scan {OWN}/{SCANNED}")));
    assert!(!calls.contains(&format!("scan {OWN}/{HOME}")), "{calls:?}");

    // Naming the home region spares the discovery.
    let named = Config {
        ipam_regions: IpamRegions::List(vec![HOME.into()]),
        ..config()
    };
    let (out, source) = run(IpamFake::default(), named).await;
    assert_eq!(record(&out, "vpc-0000000000000000a").managed, Some(true));
    let calls = source.calls();
    assert!(
        !calls.iter().any(|c| c.starts_with("DescribeRegions")),
        "{calls:?}"
    );
    assert_eq!(
        calls.iter().filter(|c| c.starts_with("scan_ipam")).count(),
        1,
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_denied_ipam_account_leaves_managed_unknown_and_says_so() {
    let fake = IpamFake {
        deny_ipam_account: Some("222222222222"),
        ..IpamFake::default()
    };
    let cfg = Config {
        ipam_account: Some("222222222222".into()),
        ipam_regions: IpamRegions::List(vec![HOME.into()]),
        member_role_name: Some("ipam-monitor-member".into()),
        ..config()
    };
    let (out, _) = run(fake, cfg).await;
    assert_eq!(record(&out, "vpc-0000000000000000a").managed, None);
    let e = &out.report.outcome.errors;
    assert!(
        e.iter().any(|e| e.account_id == "222222222222"
            && e.region == HOME
            && e.operation == "AssumeRole"
            && e.code.as_deref() == Some("AccessDenied")),
        "{e:?}"
    );
    let scope = out
        .report
        .scan
        .scopes
        .iter()
        .find(|s| s.scope.account_id == "222222222222")
        .expect("the IPAM scope is listed");
    assert!(!scope.ok);
}

#[tokio::test]
async fn a_deadline_before_the_ipam_scope_leaves_managed_unknown() {
    let fake = IpamFake {
        hang_ipam: true,
        ..IpamFake::default()
    };
    let app = App {
        store: None,
        source: fake,
        sinks: vec![],
        config: config(),
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    let out = app
        .run_until(&json!({}), "r".into(), Some(deadline))
        .await
        .expect("scope errors do not fail the run by default");
    assert_eq!(record(&out, "vpc-0000000000000000a").managed, None);
    assert!(
        out.report.outcome.errors.iter().any(|e| e.region == HOME
            && e.operation == "ScanIpam"
            && e.code.as_deref() == Some("DeadlineExceeded")),
        "{:?}",
        out.report.outcome.errors
    );
    assert!(
        Instant::now() < deadline,
        "the run answered before the deadline"
    );
}

#[tokio::test]
async fn ipam_only_covers_other_accounts_without_scanning_or_assuming_anything() {
    // Account 333 in xx-far-1: a VPC (10.20.0.0/16, plus an IPv6 /56) with two subnets:
    // 10.20.0.0/24 at IpUsage 0.9 and 10.20.1.0/24 not yet measured by IPAM.
    let far = "xx-far-1";
    let other = "333333333333";
    let fake = IpamFake {
        foreign: vec![
            listed(
                "vpc",
                "vpc-0000000000000000f",
                other,
                far,
                "10.20.0.0/16",
                Some(0.0078),
            ),
            listed(
                "vpc",
                "vpc-0000000000000000f",
                other,
                far,
                "2600:1f00::/56",
                Some(0.01),
            ),
            listed(
                "subnet",
                "subnet-000000000000000f1",
                other,
                far,
                "10.20.0.0/24",
                Some(0.9),
            ),
            listed(
                "subnet",
                "subnet-000000000000000f1",
                other,
                far,
                "2600:1f00::/64",
                None,
            ),
            listed(
                "subnet",
                "subnet-000000000000000f2",
                other,
                far,
                "10.20.1.0/24",
                None,
            ),
            // A public-scope entry: not a VPC or subnet, not a record.
            listed(
                "eip",
                "eipalloc-1",
                other,
                far,
                "198.51.100.7/32",
                Some(1.0),
            ),
        ],
        ..IpamFake::default()
    };
    let cfg = Config {
        source_mode: SourceMode::Ipam,
        ipam_regions: IpamRegions::List(vec![HOME.into()]),
        regions: RegionSelection::All,
        ..config()
    };
    let (out, source) = run(fake, cfg).await;
    let calls = source.calls();
    assert_eq!(
        calls,
        [format!("scan_ipam {OWN}/{HOME}")],
        "nothing but IPAM"
    );

    // The subnet by hand: /24 = 256, usable 251, used round(0.9 × 251) = round(225.9)
    // = 226, free 25, 226/251 = 90.04 %: WARNING.
    let s = record(&out, "subnet-000000000000000f1");
    assert_eq!(s.source(), RecordSource::Ipam);
    assert_eq!((s.account_id.as_str(), s.region.as_str()), (other, far));
    assert_eq!(s.name.as_deref(), Some("subnet-000000000000000f1-name"));
    assert_eq!((s.total, s.usable, s.used, s.free), (256, 251, 226, 25));
    assert_eq!(s.utilization_percent, Some(90.04));
    assert_eq!(s.status, Status::Warning);
    assert_eq!(s.cidrs.len(), 2, "the IPv6 /64 is listed with it");
    assert_eq!(s.managed, Some(false), "as its VPC");

    // No IpUsage yet: nothing to measure, UNKNOWN (never OK), with a warning.
    let u = record(&out, "subnet-000000000000000f2");
    assert_eq!(u.status, Status::Unknown);
    assert!(
        u.warnings.iter().any(|w| w.contains("no IpUsage")),
        "{:?}",
        u.warnings
    );

    // The VPC: its figures are its measured subnets' (256 / 251 / 226 / 25), its
    // allocation its subnets' CIDRs (2 × 256 of 65,536 = 0.78 %), not managed (no
    // allocation to it, and the one IPAM was read in full).
    let v = record(&out, "vpc-0000000000000000f");
    assert_eq!(v.source(), RecordSource::Ipam);
    assert_eq!((v.total, v.usable, v.used, v.free), (256, 251, 226, 25));
    assert_eq!(v.status, Status::Warning);
    assert_eq!(v.allocation().unwrap().allocation_percent, Some(0.78));
    assert_eq!(v.cidrs.len(), 2);
    assert_eq!(v.managed, Some(false));
    assert!(out
        .report
        .resources
        .iter()
        .all(|r| r.resource_id != "eipalloc-1"));
    assert!(out.report.scan.scopes.iter().all(|s| s.ok));
}

#[tokio::test]
async fn ec2_figures_win_and_ipam_never_adds_what_ec2_scanned_away() {
    // IPAM lists the scanned subnet at 0.2 (EC2: 100 of 251 = 39.84 %) and a subnet
    // in the scanned scope that EC2 does not have (deleted since IPAM looked).
    let fake = IpamFake {
        foreign: vec![
            listed(
                "subnet",
                "subnet-0000000000000000a",
                OWN,
                SCANNED,
                "10.1.0.0/24",
                Some(0.2),
            ),
            listed(
                "subnet",
                "subnet-00000000000000dead",
                OWN,
                SCANNED,
                "10.1.9.0/24",
                Some(0.5),
            ),
        ],
        ..IpamFake::default()
    };
    let (out, _) = run(fake, config()).await;
    let s = record(&out, "subnet-0000000000000000a");
    assert_eq!(s.source(), RecordSource::Ec2);
    assert_eq!(s.used, 100);
    let seen = s.ipam_observed().expect("IPAM's view is kept beside ours");
    assert_eq!(seen.ip_usage_percent, Some(20.0));
    assert!(seen.disagrees, "39.84 vs 20: more than 10 points apart");
    assert!(out
        .report
        .resources
        .iter()
        .all(|r| r.resource_id != "subnet-00000000000000dead"));

    // EC2 mode: IPAM never makes a record.
    let fake = IpamFake {
        foreign: vec![listed(
            "subnet",
            "subnet-000000000000000f1",
            "333333333333",
            "xx-far-1",
            "10.20.0.0/24",
            Some(0.9),
        )],
        ..IpamFake::default()
    };
    let cfg = Config {
        source_mode: SourceMode::Ec2,
        ..config()
    };
    let (out, _) = run(fake, cfg).await;
    assert!(out
        .report
        .resources
        .iter()
        .all(|r| r.source() == RecordSource::Ec2
            || r.resource_type == ipam_monitor::domain::report::ResourceType::IpamPool));
}

/// The run's memory in process (a pure flow test): one object, versioned by a counter;
/// clones share it, so runs of one test see each other's state.
#[derive(Clone, Default)]
struct MemoryStore {
    object: std::sync::Arc<Mutex<Option<Saved>>>,
}

/// The object's bytes and version.
type Saved = (Vec<u8>, u64);

#[async_trait::async_trait]
impl StateStore for MemoryStore {
    async fn load(&self) -> Result<Loaded, StoreError> {
        let object = self.object.lock().unwrap();
        Ok(match &*object {
            Some((bytes, v)) => Loaded {
                bytes: Some(bytes.clone()),
                version: Version::Etag(v.to_string()),
            },
            None => Loaded {
                bytes: None,
                version: Version::Absent,
            },
        })
    }
    async fn save(&self, bytes: Vec<u8>, _: &Version) -> Result<(), StoreError> {
        let mut object = self.object.lock().unwrap();
        let next = object.as_ref().map_or(1, |(_, v)| v + 1);
        *object = Some((bytes, next));
        Ok(())
    }
    fn archive_location(&self, _: &ipam_monitor::domain::report::Report) -> String {
        "memory".into()
    }
    async fn archive(
        &self,
        _: &ipam_monitor::domain::report::Report,
    ) -> Result<String, StoreError> {
        Ok("memory".into())
    }
}

#[tokio::test]
async fn a_resource_ipam_stops_listing_is_told_gone_only_when_ipam_was_read() {
    let far = "xx-far-1";
    let other = "333333333333";
    let breach = || {
        listed(
            "subnet",
            "subnet-000000000000000f1",
            other,
            far,
            "10.20.0.0/24",
            Some(0.97),
        )
    };
    let neighbour = || {
        listed(
            "subnet",
            "subnet-000000000000000f3",
            other,
            far,
            "10.20.3.0/24",
            Some(0.1),
        )
    };
    let cfg = || Config {
        source_mode: SourceMode::Ipam,
        ipam_regions: IpamRegions::List(vec![HOME.into()]),
        regions: RegionSelection::All,
        ..config()
    };
    let store = MemoryStore::default();
    let run_with = |foreign: Vec<ResourceCidr>, deny: bool| {
        let store = store.clone();
        async move {
            let app = App {
                store: Some(Box::new(store)),
                source: IpamFake {
                    foreign,
                    deny_ipam_account: deny.then_some(OWN),
                    ..IpamFake::default()
                },
                sinks: vec![],
                config: cfg(),
            };
            match app.run(&json!({}), "r".into()).await {
                Ok(out) => out,
                Err(HandlerError::Incomplete { output, .. }) => *output,
                Err(e) => panic!("{e}"),
            }
        }
    };
    let first = run_with(vec![breach(), neighbour()], false).await;
    assert_eq!(
        record(&first, "subnet-000000000000000f1").status,
        Status::Critical
    );

    // IPAM could not be read: nothing is known gone.
    let blind = run_with(vec![], true).await;
    assert!(blind
        .report
        .outcome
        .history
        .as_ref()
        .unwrap()
        .gone
        .is_empty());

    // IPAM read in full, still listing the account and region, but not the subnet.
    let later = run_with(vec![neighbour()], false).await;
    let gone: Vec<&str> = later
        .report
        .outcome
        .history
        .as_ref()
        .unwrap()
        .gone
        .iter()
        .map(|g| g.key.as_str())
        .collect();
    assert_eq!(
        gone,
        [format!("subnet/{other}/{far}/subnet-000000000000000f1")]
    );
}
