//! Acknowledgements: what the team already knows about leaves the alert. A resource
//! is acknowledged by its `ipam-monitor:suppress` tag or by its account being listed;
//! an overlap by naming one of its VPCs or a CIDR around it. Either stays in the
//! report, marked with who acknowledged it.

use crate::domain::cidr;
use crate::domain::inventory::Tags;
use crate::domain::report::Suppression;
use crate::domain::thresholds::TAG_SUPPRESS;
use ipnet::IpNet;

/// What the configuration (or the event) acknowledges.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Suppressions {
    /// Accounts whose resources never alert (lab, sandbox).
    pub accounts: Vec<String>,
    /// Overlaps the team accepts.
    pub accepted_overlaps: Vec<AcceptedOverlap>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptedOverlap {
    /// Every overlap this VPC takes part in.
    Vpc(String),
    /// Overlaps between blocks that both lie inside this CIDR.
    Cidr(IpNet),
}

pub const BY_TAG: &str = "tag ipam-monitor:suppress";
pub const BY_ACCOUNTS: &str = "SUPPRESS_ACCOUNTS";
pub const BY_ACCEPTED_OVERLAPS: &str = "ACCEPTED_OVERLAPS";

impl Suppressions {
    /// These and `more`, each entry once.
    pub fn with(&self, more: &Suppressions) -> Suppressions {
        let mut all = self.clone();
        for a in &more.accounts {
            if !all.accounts.contains(a) {
                all.accounts.push(a.clone());
            }
        }
        for o in &more.accepted_overlaps {
            if !all.accepted_overlaps.contains(o) {
                all.accepted_overlaps.push(o.clone());
            }
        }
        all
    }

    /// A resource's tag wins over its account: the tag says why.
    pub fn resource(&self, tags: &Tags, account_id: &str) -> Option<Suppression> {
        if let Some(why) = tags.get(TAG_SUPPRESS) {
            let reason = if why.trim().is_empty() {
                "(no reason given)".to_string()
            } else {
                why.to_string()
            };
            return Some(Suppression {
                by: BY_TAG.into(),
                reason,
            });
        }
        self.accounts
            .iter()
            .any(|a| a == account_id)
            .then(|| Suppression {
                by: BY_ACCOUNTS.into(),
                reason: format!("account {account_id} is listed"),
            })
    }

    /// The entry that accepts the overlap of VPC `a`'s block `a_cidr` with VPC `b`'s
    /// block `b_cidr`, if any.
    pub fn accepting(
        &self,
        (a, a_cidr): (&str, &IpNet),
        (b, b_cidr): (&str, &IpNet),
    ) -> Option<&AcceptedOverlap> {
        self.accepted_overlaps.iter().find(|e| match e {
            AcceptedOverlap::Vpc(id) => id == a || id == b,
            AcceptedOverlap::Cidr(net) => {
                cidr::contains(net, a_cidr) && cidr::contains(net, b_cidr)
            }
        })
    }
}

impl std::fmt::Display for AcceptedOverlap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AcceptedOverlap::Vpc(id) => f.write_str(id),
            AcceptedOverlap::Cidr(net) => net.fmt(f),
        }
    }
}
