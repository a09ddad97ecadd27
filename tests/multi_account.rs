//! One run across three accounts in two regions against the emulator: the member
//! accounts are entered with STS AssumeRole (moto gives each account its own state).

mod common;

use aws_sdk_ec2::config::Credentials;
use common::Emulator;
use ipam_monitor::app::config::{AccountSelection, Config, RegionSelection};
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
        ..Config::default()
    }
}

async fn run(emu: &Emulator, config: Config) -> Result<Report, Box<HandlerError>> {
    let sdk = emu.sdk_config("us-east-1").await;
    let app = App {
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
    assert_eq!(
        (b.account_id.as_str(), b.used, b.total),
        (MEMBER_B, 64, 65_536)
    );

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
