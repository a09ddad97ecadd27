//! One monitoring pass: plan scopes, scan them concurrently, calculate, build the report.

use crate::app::config::{AccountSelection, Config, IpamRegions, RegionSelection, SourceMode};
use crate::app::event::RunSettings;
use crate::app::memory::{recall, Remembered};
use crate::domain::calculator::{self, remember, RunMark};
use crate::domain::inventory::{
    Inventory, IpamInventory, IpamRead, ScanError, Scope, ScopeInventory,
};
use crate::domain::report::{Report, ScopeOutcome};
use crate::source::accounts::UNKNOWN_ACCOUNT;
use crate::source::NetworkSource;
use crate::store::StateStore;
use futures::stream::{self, StreamExt};
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

/// Time kept back from the Lambda deadline for calculating and the sinks: a quarter of
/// what is left, at most this much.
pub const MAX_SINK_RESERVE: Duration = Duration::from_secs(30);

/// When scanning must stop for the rest of the run to finish before `deadline`.
pub fn scan_cutoff(deadline: Instant, now: Instant) -> Instant {
    let left = deadline.saturating_duration_since(now);
    deadline - (left / 4).min(MAX_SINK_RESERVE)
}

/// One pass. With a state `store`, the records are compared with the last run's state
/// and the state to save is returned with the report.
pub async fn monitor<S: NetworkSource>(
    source: &S,
    config: &Config,
    settings: &RunSettings,
    run_id: String,
    started: SystemTime,
    deadline: Option<Instant>,
    store: Option<&dyn StateStore>,
) -> (Report, Option<Remembered>) {
    let mut inv = Inventory::default();
    let cutoff = deadline.map(|d| scan_cutoff(d, Instant::now()));

    // Planning is bounded too: a call that has not answered by half of the scanning
    // window is given up (it normally takes a second), so a hanging endpoint costs
    // the run that account's scopes, never the others', the report or the alert.
    let plan_cutoff = cutoff.map(|at| {
        let now = Instant::now();
        now + at.saturating_duration_since(now) / 2
    });
    let own_region = config.own_region.clone().unwrap_or_default();
    let own = before(plan_cutoff, source.own_account_id())
        .await
        .unwrap_or_else(|| Err(too_late(UNKNOWN_ACCOUNT, &own_region, "GetCallerIdentity")));
    let own = match own {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e.message, "could not tell the function's own account id");
            inv.errors.push(e);
            UNKNOWN_ACCOUNT.to_string()
        }
    };
    // EC2 scopes (accounts × regions) and IPAM scopes (the IPAM account × its home
    // regions) are planned at once: IPAM is read wherever it lives, whatever REGIONS
    // says, and in `ipam` mode nothing else is.
    let ec2_planning = async {
        if config.source_mode == SourceMode::Ipam {
            return (Vec::new(), Vec::new());
        }
        let mut errors = Vec::new();
        let accounts = plan_accounts(source, config, &own, plan_cutoff, &mut errors).await;
        // Each account's regions at once (each may assume a role first), in account order.
        let regions: Vec<_> = stream::iter(&accounts)
            .map(|account| before(plan_cutoff, plan_regions(source, config, settings, account)))
            .buffered(config.max_concurrency.max(1))
            .collect()
            .await;
        let mut scopes = Vec::new();
        for (account, regions) in accounts.iter().zip(regions) {
            let regions =
                regions.unwrap_or_else(|| Err(too_late(account, &own_region, "DescribeRegions")));
            match regions {
                Ok(regions) => scopes.extend(regions.into_iter().map(|region| Scope {
                    account_id: account.clone(),
                    region,
                })),
                Err(e) => {
                    tracing::error!(account = %account, error = %e.message, "could not list regions");
                    errors.push(e);
                }
            }
        }
        (scopes, errors)
    };
    let ipam_account = config.ipam_account.clone().unwrap_or_else(|| own.clone());
    let ipam_planning = async {
        let regions = match &config.ipam_regions {
            IpamRegions::List(list) => Ok(list.clone()),
            IpamRegions::Discover => {
                // DescribeRegions needs some region to ask; us-east-1 always exists.
                let ask = config.own_region.as_deref().unwrap_or("us-east-1");
                before(plan_cutoff, source.enabled_regions(&ipam_account, ask))
                    .await
                    .unwrap_or_else(|| Err(too_late(&ipam_account, ask, "DescribeRegions")))
            }
        };
        regions.map(|regions| {
            regions
                .into_iter()
                .map(|region| Scope {
                    account_id: ipam_account.clone(),
                    region,
                })
                .collect::<Vec<_>>()
        })
    };
    let ((ec2_scopes, ec2_errors), ipam_scopes) = tokio::join!(ec2_planning, ipam_planning);
    inv.errors.extend(ec2_errors);
    let ipam_scopes = match ipam_scopes {
        Ok(scopes) => scopes,
        Err(e) => {
            // Whether and where an IPAM is homed is unknown: "unmanaged" cannot be told.
            tracing::error!(account = %ipam_account, error = %e.message, "could not list the IPAM account's regions");
            planning_failed(&mut inv, e);
            Vec::new()
        }
    };
    inv.ipam_records = config.source_mode != SourceMode::Ec2;
    // REGIONS limits the report whatever the source: IPAM's records too (`all`: every
    // region IPAM knows).
    inv.ipam_record_regions = match &settings.regions {
        RegionSelection::All => None,
        RegionSelection::List(list) => Some(list.clone()),
        RegionSelection::Own => Some(config.own_region.iter().cloned().collect()),
    };

    let jobs = ec2_scopes
        .iter()
        .cloned()
        .map(Job::Network)
        .chain(ipam_scopes.iter().cloned().map(Job::Ipam));
    let scans = stream::iter(jobs)
        .map(|job| async move {
            match job {
                Job::Network(scope) => {
                    let found = source.scan_until(&scope, cutoff).await;
                    Done::Network(scope, found)
                }
                Job::Ipam(scope) => {
                    let found = source.scan_ipam(&scope).await;
                    Done::Ipam(scope, found)
                }
            }
        })
        .buffer_unordered(config.max_concurrency.max(1));
    // Before the deadline, stop taking results: what finished is kept, what did not
    // is reported as not reached, and the sinks still get their time.
    let mut results: Vec<Done> = match cutoff {
        Some(at) => {
            scans
                .take_until(tokio::time::sleep_until(at.into()))
                .collect()
                .await
        }
        None => scans.collect().await,
    };
    // Completion order varies; the report must not.
    results.sort_by(|a, b| a.key().cmp(&b.key()));

    // A scope is ok when every part planned for it was read in full.
    let mut ok: BTreeMap<Scope, bool> = BTreeMap::new();
    let mut reached_network = HashSet::new();
    let mut reached_ipam = HashSet::new();
    for done in results {
        match done {
            Done::Ipam(scope, found) => {
                reached_ipam.insert(scope.clone());
                let read = match found {
                    // A discovered region where no IPAM is homed is not a scope of the
                    // run: it is neither listed nor counted.
                    Ok(found) if found.ipam_ids.is_empty() && found.errors.is_empty() => {
                        inv.add_ipam(scope, found);
                        continue;
                    }
                    Ok(found) => {
                        for e in &found.errors {
                            tracing::error!(scope = %scope, operation = %e.operation, code = ?e.code, error = %e.message, "IPAM call failed");
                        }
                        if !found.ipam_ids.is_empty() {
                            tracing::info!(scope = %scope, ipams = ?found.ipam_ids, pools = found.pools.len(), resource_cidrs = found.resource_cidrs.len(), "IPAM scanned");
                        }
                        let complete = found.errors.is_empty();
                        inv.add_ipam(scope.clone(), found);
                        complete
                    }
                    Err(e) => {
                        tracing::error!(scope = %scope, operation = %e.operation, code = ?e.code, error = %e.message, "IPAM scan failed");
                        inv.ipam_failed(scope.clone(), e);
                        false
                    }
                };
                *ok.entry(scope).or_insert(true) &= read;
            }
            Done::Network(scope, found) => {
                reached_network.insert(scope.clone());
                let read = match found {
                    Ok(found) => {
                        tracing::info!(scope = %scope, vpcs = found.vpcs.len(), subnets = found.subnets.len(), "scope scanned");
                        inv.add_scope(scope.clone(), found);
                        true
                    }
                    Err(e) => {
                        tracing::error!(scope = %scope, operation = %e.operation, code = ?e.code, error = %e.message, "scope failed");
                        inv.errors.push(e);
                        false
                    }
                };
                *ok.entry(scope).or_insert(true) &= read;
            }
        }
    }
    for scope in ec2_scopes.iter().filter(|s| !reached_network.contains(*s)) {
        tracing::error!(scope = %scope, "not scanned before the deadline");
        inv.errors.push(not_reached(scope, "Scan"));
        ok.insert(scope.clone(), false);
    }
    for scope in ipam_scopes.iter().filter(|s| !reached_ipam.contains(*s)) {
        tracing::error!(scope = %scope, "IPAM not read before the deadline");
        inv.errors.push(not_reached(scope, "ScanIpam"));
        inv.ipam_not_reached(scope.clone());
        ok.insert(scope.clone(), false);
    }
    let outcomes: Vec<ScopeOutcome> = ok
        .into_iter()
        .map(|(scope, ok)| ScopeOutcome { scope, ok })
        .collect();
    if inv.ipam_incomplete() {
        tracing::warn!("an IPAM scope failed or was not reached: a CIDR without an allocation is reported as managed unknown");
    } else if inv.ipam_reads.iter().all(|(_, r)| *r == IpamRead::NoIpam) {
        tracing::info!("no IPAM found in the scanned regions: every CIDR is unmanaged");
    }

    let errors = inv.errors.clone();
    // Where IPAM's records stand in for EC2 (an account and region IPAM lists
    // resources in, read in full), a resource IPAM no longer lists is gone.
    let ipam_covered: HashSet<(String, String)> = if inv.ipam_records && !inv.ipam_incomplete() {
        inv.resource_cidrs
            .iter()
            .filter_map(|r| {
                Some((
                    r.resource_owner.as_ref()?.to_string(),
                    r.resource_region.as_ref()?.to_string(),
                ))
            })
            .collect()
    } else {
        HashSet::new()
    };
    let mut calculated = calculator::calculate_with(
        inv,
        &settings.thresholds,
        settings.threshold_source,
        &settings.suppressions,
    );
    // Read only now: the raw inventory is gone, so it and the old state never share
    // the memory (at 100k resources that is the difference between 135 and 128 MB).
    let recalled = match store {
        Some(store) => Some(recall(store, deadline).await),
        None => None,
    };
    let remembered = recalled.map(|recalled| {
        let previous = recalled.previous();
        for w in &previous.warnings {
            tracing::warn!(warning = %w, "state");
        }
        let read: HashSet<(&str, &str)> = outcomes
            .iter()
            .filter(|o| o.ok)
            .map(|o| (o.scope.account_id.as_str(), o.scope.region.as_str()))
            .collect();
        let mark = RunMark {
            now: started.into(),
            run_id: &run_id,
            request_id: Some(&run_id),
        };
        let state = remember(
            &mut calculated,
            previous.state,
            |account, region| {
                read.contains(&(account, region))
                    || ipam_covered.contains(&(account.to_string(), region.to_string()))
            },
            mark,
            &config.history,
        );
        if let Some(h) = calculated.history.as_mut() {
            h.warnings = previous.warnings;
        }
        Remembered {
            state,
            save_over: previous.save_over,
        }
    });
    let report = Report::new(
        run_id,
        started,
        settings.thresholds,
        settings.threshold_source,
        outcomes,
        errors,
        calculated,
    );
    (report, remembered)
}

/// One unit of scanning work: a scope's VPCs and subnets, or its IPAMs.
enum Job {
    Network(Scope),
    Ipam(Scope),
}

enum Done {
    Network(Scope, Result<ScopeInventory, ScanError>),
    Ipam(Scope, Result<IpamInventory, ScanError>),
}

impl Done {
    /// Scope order, the network part first.
    fn key(&self) -> (&Scope, u8) {
        match self {
            Done::Network(s, _) => (s, 0),
            Done::Ipam(s, _) => (s, 1),
        }
    }
}

/// A planned part of `scope` cut by the deadline.
fn not_reached(scope: &Scope, operation: &str) -> ScanError {
    ScanError {
        account_id: scope.account_id.clone(),
        region: scope.region.clone(),
        operation: operation.into(),
        code: Some("DeadlineExceeded".into()),
        message:
            "not scanned: stopped before the Lambda deadline to leave time for the report and sinks"
                .into(),
    }
}

/// `step`, unless `cutoff` comes first (`None` then).
async fn before<T>(cutoff: Option<Instant>, step: impl Future<Output = T>) -> Option<T> {
    match cutoff {
        Some(at) => tokio::time::timeout_at(at.into(), step).await.ok(),
        None => Some(step.await),
    }
}

/// A planning call that had not answered when scanning had to stop.
fn too_late(account: &str, region: &str, operation: &str) -> ScanError {
    ScanError {
        account_id: account.to_string(),
        region: region.to_string(),
        operation: operation.to_string(),
        code: Some("DeadlineExceeded".into()),
        message: "no answer in the time planning has before the Lambda deadline; the run went on without it".into(),
    }
}

/// The own account first, then the configured or organization accounts, once each,
/// without the excluded ones (the own account is always scanned).
async fn plan_accounts<S: NetworkSource>(
    source: &S,
    config: &Config,
    own: &str,
    cutoff: Option<Instant>,
    errors: &mut Vec<ScanError>,
) -> Vec<String> {
    let mut accounts = vec![own.to_string()];
    let others = match &config.accounts {
        AccountSelection::Own => Vec::new(),
        AccountSelection::List(list) => list.clone(),
        AccountSelection::Organization => {
            let listed = before(cutoff, source.organization_accounts()).await;
            let region = config.own_region.as_deref().unwrap_or_default();
            match listed.unwrap_or_else(|| Err(too_late(own, region, "ListAccounts"))) {
                Ok(ids) => ids,
                Err(e) => {
                    tracing::error!(error = %e.message, "could not list the organization's accounts");
                    errors.push(e);
                    Vec::new()
                }
            }
        }
    };
    for a in others {
        if !accounts.contains(&a) && !config.excluded_accounts.contains(&a) {
            accounts.push(a);
        }
    }
    accounts
}

/// The regions to scan in `account`.
async fn plan_regions<S: NetworkSource>(
    source: &S,
    config: &Config,
    settings: &RunSettings,
    account: &str,
) -> Result<Vec<String>, ScanError> {
    let own = config.own_region.clone();
    match &settings.regions {
        RegionSelection::List(list) => Ok(list.clone()),
        RegionSelection::Own => Ok(own.into_iter().collect()),
        RegionSelection::All => {
            // DescribeRegions needs some region to ask; us-east-1 always exists.
            let ask = own.unwrap_or_else(|| "us-east-1".to_string());
            source.enabled_regions(account, &ask).await
        }
    }
}

/// Listing the IPAM account's regions failed: whether and where an IPAM is homed is
/// unknown. Its IPAM state is recorded as failed under the account and region the
/// failed call names.
fn planning_failed(inv: &mut Inventory, e: ScanError) {
    let scope = Scope {
        account_id: e.account_id.clone(),
        region: e.region.clone(),
    };
    inv.ipam_failed(scope, e);
}
