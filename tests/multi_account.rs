//! One run across three accounts in two regions against the emulator: the member
//! accounts are entered with STS AssumeRole (moto gives each account its own state).

mod common;

use aws_sdk_ec2::config::Credentials;
use common::Emulator;
use ipam_monitor::app::config::{AccountSelection, Config, FailOn, RegionSelection};
use ipam_monitor::app::handler::{App, HandlerError};
use ipam_monitor::domain::report::{Report, ResourceType};
use ipam_monitor::source::ec2::Ec2Source;
use serde_json::json;

const OWN: &str = "123456789012";
const MEMBER_A: &str = "222222222222";
const MEMBER_B: &str = "333333333333";
const ROLE: &str = "IpamMonitorMember";

/// An EC2 client acting in `account` (the own account, or through the member role).
async fn ec2_in(emu: &Emulator, account: &str, region: &str) -> aws_sdk_ec2::Client {
    let sdk = emu.sdk_config(region).await;
    if account == OWN {
        return aws_sdk_ec2::Client::new(&sdk);
    }
    let out = aws_sdk_sts::Client::new(&sdk)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/{ROLE}"))
        .role_session_name("seed")
        .send()
        .await
        .expect("AssumeRole in the emulator");
    let c = out.credentials().unwrap();
    let creds = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "seed",
    );
    let conf = aws_sdk_ec2::config::Builder::from(&sdk)
        .credentials_provider(creds)
        .build();
    aws_sdk_ec2::Client::from_conf(conf)
}

/// A VPC with one subnet and `used` addresses taken by an ENI's secondary IPs.
async fn seed_vpc(
    ec2: &aws_sdk_ec2::Client,
    vpc_cidr: &str,
    subnet_cidr: &str,
    name: &str,
    used: i32,
) {
    let vpc = ec2.create_vpc().cidr_block(vpc_cidr).send().await.unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let tag = aws_sdk_ec2::types::Tag::builder()
        .key("Name")
        .value(name)
        .build();
    ec2.create_tags()
        .resources(&vpc_id)
        .tags(tag.clone())
        .send()
        .await
        .unwrap();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block(subnet_cidr)
        .send()
        .await
        .unwrap();
    let subnet_id = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    ec2.create_tags()
        .resources(&subnet_id)
        .tags(tag)
        .send()
        .await
        .unwrap();
    if used > 0 {
        ec2.create_network_interface()
            .subnet_id(&subnet_id)
            .secondary_private_ip_address_count(used - 1)
            .send()
            .await
            .unwrap();
    }
}

fn config(accounts: AccountSelection) -> Config {
    Config {
        regions: RegionSelection::List(vec!["us-east-1".into(), "eu-west-1".into()]),
        own_region: Some("us-east-1".into()),
        accounts,
        member_role_name: Some(ROLE.into()),
        // These tests read scope errors from the failed invocation.
        fail_on: FailOn::Any,
        ..Config::default()
    }
}

async fn run(emu: &Emulator, config: Config) -> Result<Report, Box<HandlerError>> {
    let sdk = emu.sdk_config("us-east-1").await;
    let app = App {
        store: None,
        source: Ec2Source::new(&sdk, config.member_role_name.clone()),
        config,
        sinks: vec![],
    };
    match app.run(&json!({}), "org-run".into()).await {
        Ok(out) => Ok(out.report),
        Err(e) => Err(Box::new(e)),
    }
}

async fn seed_three_accounts(emu: &Emulator) {
    seed_vpc(
        &ec2_in(emu, OWN, "us-east-1").await,
        "10.0.0.0/16",
        "10.0.1.0/24",
        "own-core",
        200,
    )
    .await;
    seed_vpc(
        &ec2_in(emu, MEMBER_A, "eu-west-1").await,
        "10.0.128.0/20",
        "10.0.128.0/28",
        "a-eu",
        10,
    )
    .await;
    seed_vpc(
        &ec2_in(emu, MEMBER_B, "us-east-1").await,
        "172.20.0.0/16",
        "172.20.0.0/26",
        "b-app",
        0,
    )
    .await;
}

fn named<'a>(
    r: &'a Report,
    name: &str,
    kind: ResourceType,
) -> &'a ipam_monitor::domain::report::ResourceRecord {
    r.resources
        .iter()
        .find(|x| x.name.as_deref() == Some(name) && x.resource_type == kind)
        .unwrap_or_else(|| panic!("{name} missing"))
}

#[tokio::test]
async fn one_report_covers_three_accounts_in_two_regions() {
    let emu = Emulator::start(None);
    seed_three_accounts(&emu).await;
    emu.reset_request_counts();
    let r = run(
        &emu,
        config(AccountSelection::List(vec![
            MEMBER_A.into(),
            MEMBER_B.into(),
        ])),
    )
    .await
    .expect("every scope answers");

    // Each member account is entered once for the run, though four scans (two regions,
    // VPC and IPAM halves) use its credentials.
    let counts = emu.request_counts();
    assert_eq!(counts.get("sts:AssumeRole"), Some(&2), "{counts:?}");

    let scopes: Vec<(String, String)> = r
        .scan
        .scopes
        .iter()
        .map(|s| (s.scope.account_id.clone(), s.scope.region.clone()))
        .collect();
    assert_eq!(scopes.len(), 6, "{scopes:?}");
    assert!(r.scan.scopes.iter().all(|s| s.ok));

    // Each resource is labelled with the account it lives in.
    let own = named(&r, "own-core", ResourceType::Subnet);
    assert_eq!(
        (own.account_id.as_str(), own.used, own.usable),
        (OWN, 200, 251)
    );
    let a = named(&r, "a-eu", ResourceType::Subnet);
    assert_eq!(
        (a.account_id.as_str(), a.region.as_str(), a.used, a.usable),
        (MEMBER_A, "eu-west-1", 10, 11)
    );
    let b = named(&r, "b-app", ResourceType::Vpc);
    assert_eq!((b.account_id.as_str(), b.used, b.total), (MEMBER_B, 0, 64));
    let space = b.allocation().unwrap();
    assert_eq!((space.allocated, space.total), (64, 65_536));

    // The overlap across accounts and regions: own-core (us-east-1) holds a-eu (eu-west-1).
    let g = r
        .outcome
        .overlaps
        .iter()
        .find(|g| g.cidr == "10.0.0.0/16".parse().unwrap())
        .expect("cross-account overlap found");
    let members: Vec<(&str, &str)> = g
        .members
        .iter()
        .map(|m| (m.account_id.as_str(), m.region.as_str()))
        .collect();
    assert_eq!(members, [(OWN, "us-east-1"), (MEMBER_A, "eu-west-1")]);
    // Every account's default VPC (172.31.0.0/16 in each region) overlaps the others.
    let defaults = r
        .outcome
        .overlaps
        .iter()
        .find(|g| g.cidr == "172.31.0.0/16".parse().unwrap())
        .unwrap();
    assert_eq!(defaults.members.len(), 6);
}

#[tokio::test]
async fn a_denied_member_role_fails_that_account_only() {
    let emu = Emulator::start(None);
    seed_three_accounts(&emu).await;
    emu.set_ipam_fixture(&json!({"deny": [format!("AssumeRole:{MEMBER_B}")]}));
    let err = run(
        &emu,
        config(AccountSelection::List(vec![
            MEMBER_A.into(),
            MEMBER_B.into(),
        ])),
    )
    .await
    .expect_err("a denied account makes the run incomplete");
    let HandlerError::Incomplete { output, .. } = *err else {
        panic!("expected an incomplete run");
    };
    let r = output.report;
    // Both halves (VPCs and IPAM) of both of B's regions report the denial.
    assert!(!r.outcome.errors.is_empty());
    for e in &r.outcome.errors {
        assert_eq!(
            (
                e.account_id.as_str(),
                e.operation.as_str(),
                e.code.as_deref()
            ),
            (MEMBER_B, "AssumeRole", Some("AccessDenied")),
            "{e:?}"
        );
        assert!(
            e.message
                .contains(&format!("arn:aws:iam::{MEMBER_B}:role/{ROLE}")),
            "{}",
            e.message
        );
    }
    let failed: Vec<&str> = r
        .scan
        .scopes
        .iter()
        .filter(|s| !s.ok)
        .map(|s| s.scope.account_id.as_str())
        .collect();
    assert_eq!(failed, [MEMBER_B, MEMBER_B]);
    // Nothing of the other accounts is lost.
    assert_eq!(named(&r, "own-core", ResourceType::Subnet).used, 200);
    assert_eq!(named(&r, "a-eu", ResourceType::Subnet).used, 10);
    assert!(r.resources.iter().all(|x| x.account_id != MEMBER_B));
}

#[tokio::test]
async fn organization_accounts_are_listed_and_scanned() {
    let emu = Emulator::start(None);
    let sdk = emu.sdk_config("us-east-1").await;
    let org = aws_sdk_organizations::Client::new(&sdk);
    org.create_organization().send().await.unwrap();
    let created = org
        .create_account()
        .account_name("member")
        .email("member@example.com")
        .send()
        .await
        .unwrap();
    let member = created
        .create_account_status()
        .unwrap()
        .account_id()
        .unwrap()
        .to_string();
    seed_vpc(
        &ec2_in(&emu, &member, "us-east-1").await,
        "10.50.0.0/16",
        "10.50.0.0/24",
        "org-member",
        0,
    )
    .await;

    let r = run(&emu, config(AccountSelection::Organization))
        .await
        .expect("every scope answers");
    let accounts: std::collections::BTreeSet<&str> = r
        .scan
        .scopes
        .iter()
        .map(|s| s.scope.account_id.as_str())
        .collect();
    assert_eq!(accounts, [OWN, member.as_str()].into_iter().collect());
    assert_eq!(
        named(&r, "org-member", ResourceType::Vpc).account_id,
        member
    );
}

/// The id of the VPC tagged `name` in `ec2`'s account and region.
async fn vpc_named(ec2: &aws_sdk_ec2::Client, name: &str) -> String {
    let out = ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:Name")
                .values(name)
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.vpcs()[0].vpc_id().unwrap().to_string()
}

/// An IPAM homed in MEMBER_B's us-east-1 (a delegated IPAM account), whose one pool
/// allocates own-core's 10.0.0.0/16 in the own account.
fn member_b_ipam(own_core: &str) -> serde_json::Value {
    let arn = |kind: &str, id: &str| format!("arn:aws:ec2::{MEMBER_B}:{kind}/{id}");
    let owned = json!({
        "OwnerId": MEMBER_B,
        "IpamArn": arn("ipam", "ipam-0b"),
        "IpamRegion": "us-east-1",
    });
    let with = |extra: serde_json::Value| {
        let mut item = owned.clone();
        item.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        item
    };
    json!({
        "ipams": [with(json!({
            "IpamId": "ipam-0b",
            "PrivateDefaultScopeId": "ipam-scope-0b",
            "OperatingRegions": [{"RegionName": "us-east-1"}, {"RegionName": "eu-west-1"}],
        }))],
        "scopes": [with(json!({
            "IpamScopeId": "ipam-scope-0b",
            "IpamScopeArn": arn("ipam-scope", "ipam-scope-0b"),
            "IpamScopeType": "private",
            "IsDefault": true,
        }))],
        "pools": [with(json!({
            "IpamPoolId": "ipam-pool-0b",
            "IpamPoolArn": arn("ipam-pool", "ipam-pool-0b"),
            "IpamScopeArn": arn("ipam-scope", "ipam-scope-0b"),
            "IpamScopeType": "private",
            "AddressFamily": "ipv4",
            "PoolDepth": 1,
            "State": "create-complete",
            "Tags": [{"Key": "Name", "Value": "org-ipv4"}],
        }))],
        "poolCidrs": {"ipam-pool-0b": [{"Cidr": "10.0.0.0/8", "State": "provisioned"}]},
        "poolAllocations": {"ipam-pool-0b": [{
            "Cidr": "10.0.0.0/16",
            "IpamPoolAllocationId": "ipam-pool-alloc-0b",
            "ResourceType": "vpc",
            "ResourceId": own_core,
            "ResourceOwner": OWN,
            "ResourceRegion": "us-east-1",
        }]},
    })
}

#[tokio::test]
async fn a_denied_ipam_account_leaves_unallocated_cidrs_unknown() {
    let emu = Emulator::start(None);
    seed_three_accounts(&emu).await;
    let own_core = vpc_named(&ec2_in(&emu, OWN, "us-east-1").await, "own-core").await;
    let mut fixture = member_b_ipam(&own_core);
    emu.set_ipam_fixture(&fixture);
    let accounts = || AccountSelection::List(vec![MEMBER_A.into(), MEMBER_B.into()]);
    // The IPAM is delegated to MEMBER_B: it is read there, through the member role.
    let config = |accounts| Config {
        ipam_account: Some(MEMBER_B.into()),
        ..config(accounts)
    };

    // Read from MEMBER_B, the IPAM proves own-core managed and every other VPC not.
    let r = run(&emu, config(accounts()))
        .await
        .expect("every scope answers");
    assert_eq!(r.outcome.summary.ipam_pools, 1);
    assert_eq!(named(&r, "own-core", ResourceType::Vpc).managed, Some(true));
    assert_eq!(named(&r, "a-eu", ResourceType::Vpc).managed, Some(false));
    assert_eq!(named(&r, "b-app", ResourceType::Vpc).managed, Some(false));

    // AssumeRole into MEMBER_B refused: no IPAM call is made there, so no VPC CIDR
    // without an allocation (here: none has one) is proven unmanaged.
    fixture["deny"] = json!([format!("AssumeRole:{MEMBER_B}")]);
    emu.set_ipam_fixture(&fixture);
    let err = run(&emu, config(accounts()))
        .await
        .expect_err("a denied account makes the run incomplete");
    let HandlerError::Incomplete { output, .. } = *err else {
        panic!("expected an incomplete run");
    };
    let r = output.report;
    assert_eq!(r.outcome.summary.ipam_pools, 0);
    assert!(
        r.outcome.errors.iter().any(|e| (
            e.account_id.as_str(),
            e.region.as_str(),
            e.operation.as_str()
        ) == (MEMBER_B, "us-east-1", "AssumeRole")),
        "{:?}",
        r.outcome.errors
    );
    let vpcs_and_subnets: Vec<_> = r
        .resources
        .iter()
        .filter(|x| x.resource_type != ResourceType::IpamPool)
        .collect();
    // The seeded VPCs and subnets of the own account and A, and their default VPCs'.
    assert_eq!(named(&r, "own-core", ResourceType::Vpc).managed, None);
    assert_eq!(named(&r, "a-eu", ResourceType::Subnet).managed, None);
    assert!(vpcs_and_subnets.len() > 4, "{}", vpcs_and_subnets.len());
    for x in vpcs_and_subnets {
        assert_eq!(x.managed, None, "{} {:?}", x.resource_id, x.name);
        assert!(x.cidr_blocks.iter().all(|b| b.managed.is_none()), "{x:?}");
    }
    assert_eq!(
        (
            r.outcome.summary.managed_cidrs,
            r.outcome.summary.unmanaged_cidrs
        ),
        (0, 0)
    );
}

fn fault(emu: &Emulator, operation: &str, count: u32, status: u16, code: &str) {
    emu.control_with_body(
        "POST",
        "/_emulator/faults",
        &json!({"operation": operation, "count": count, "status": status,
                "code": code, "message": "injected"})
        .to_string(),
    );
}

#[tokio::test]
async fn sts_throttling_that_clears_is_retried_and_loses_nothing() {
    let emu = Emulator::start(None);
    seed_three_accounts(&emu).await;
    emu.reset_request_counts();
    fault(&emu, "sts:AssumeRole", 1, 400, "Throttling");
    let r = run(
        &emu,
        config(AccountSelection::List(vec![
            MEMBER_A.into(),
            MEMBER_B.into(),
        ])),
    )
    .await
    .expect("a throttled AssumeRole is retried");
    assert!(r.outcome.errors.is_empty(), "{:?}", r.outcome.errors);
    assert!(r.scan.scopes.iter().all(|s| s.ok));
    // One role per member account, once each, and the throttled attempt again.
    assert_eq!(emu.request_counts().get("sts:AssumeRole"), Some(&3));
    assert_eq!(named(&r, "a-eu", ResourceType::Subnet).used, 10);
}

#[tokio::test]
async fn sts_throttling_that_persists_fails_the_member_accounts_only() {
    let emu = Emulator::start(None);
    seed_three_accounts(&emu).await;
    fault(&emu, "sts:AssumeRole", 1_000, 400, "Throttling");
    let err = run(
        &emu,
        config(AccountSelection::List(vec![
            MEMBER_A.into(),
            MEMBER_B.into(),
        ])),
    )
    .await
    .expect_err("the member accounts could not be entered");
    let HandlerError::Incomplete { output, .. } = *err else {
        panic!("expected an incomplete run");
    };
    let r = output.report;
    assert!(!r.outcome.errors.is_empty());
    for e in &r.outcome.errors {
        assert_eq!(
            (e.operation.as_str(), e.code.as_deref()),
            ("AssumeRole", Some("Throttling")),
            "{e:?}"
        );
        assert_ne!(e.account_id, OWN);
    }
    let ok: Vec<&str> = r
        .scan
        .scopes
        .iter()
        .filter(|s| s.ok)
        .map(|s| s.scope.account_id.as_str())
        .collect();
    assert_eq!(ok, [OWN, OWN]);
    assert_eq!(named(&r, "own-core", ResourceType::Subnet).used, 200);
}

/// STS through the real client and its XML parsing, with an HTTP client that answers
/// every AssumeRole with credentials expiring `lifetimes[n]` from now (the n-th call,
/// the last one repeated), keyed `ASIA<n>`. Returns the account access and the count
/// of AssumeRole calls.
fn sts_answering(
    lifetimes: Vec<std::time::Duration>,
) -> (
    ipam_monitor::source::accounts::AccountAccess,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::date_time::{DateTime, Format};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::SystemTime;

    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let http = aws_smithy_http_client::test_util::infallible_client_fn(move |req| {
        let body = std::str::from_utf8(req.body().bytes().unwrap_or_default()).unwrap();
        assert!(
            body.contains("Action=AssumeRole"),
            "only AssumeRole: {body}"
        );
        let n = counted.fetch_add(1, Ordering::SeqCst);
        let life = lifetimes[n.min(lifetimes.len() - 1)];
        let expires = DateTime::from(SystemTime::now() + life)
            .fmt(Format::DateTime)
            .unwrap();
        let xml = format!(
            r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>ASIA{n}</AccessKeyId>
      <SecretAccessKey>secret{n}</SecretAccessKey>
      <SessionToken>token{n}</SessionToken>
      <Expiration>{expires}</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <AssumedRoleId>AROAEXAMPLE:ipam-monitor</AssumedRoleId>
      <Arn>arn:aws:sts::{MEMBER_A}:assumed-role/{ROLE}/ipam-monitor</Arn>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>req-{n}</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#
        );
        aws_smithy_runtime_api::http::Response::new(200.try_into().unwrap(), SdkBody::from(xml))
            .try_into_http1x()
            .unwrap()
    });
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            Credentials::new("AKID", "secret", None, None, "test"),
        ))
        .http_client(http)
        .build();
    let access = ipam_monitor::source::accounts::AccountAccess::new(&sdk, Some(ROLE.to_string()));
    (access, calls)
}

#[tokio::test]
async fn member_credentials_close_to_expiry_are_assumed_again_and_fresh_ones_reused() {
    use std::sync::atomic::Ordering;
    use std::time::Duration;
    // The first credentials expire in 5 minutes, inside the 20 minutes a use must have
    // left; the next ones last an hour.
    let (access, calls) =
        sts_answering(vec![Duration::from_secs(5 * 60), Duration::from_secs(3600)]);
    let key = |c: Option<Credentials>| c.expect("a member account").access_key_id().to_string();

    let first = access.credentials_for(MEMBER_A).await.unwrap();
    assert_eq!(key(first), "ASIA0");
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Too close to expiry: the next use assumes the role again.
    let second = access.credentials_for(MEMBER_A).await.unwrap();
    assert_eq!(key(second), "ASIA1");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "expiring credentials refreshed"
    );

    // An hour left: reused, no AssumeRole.
    let third = access.credentials_for(MEMBER_A).await.unwrap();
    assert_eq!(key(third), "ASIA1");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "fresh credentials reused");

    // Another account has its own credentials.
    let other = access.credentials_for(MEMBER_B).await.unwrap();
    assert_eq!(key(other), "ASIA2");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}
