//! Who we are and how we get into other accounts: STS GetCallerIdentity, Organizations
//! ListAccounts, and AssumeRole into member accounts with credentials cached per account.

use super::map::sdk_error;
use crate::aws::partition::partition;
use crate::domain::inventory::ScanError;
use aws_sdk_ec2::config::Credentials;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::OnceCell;

/// Assumed-role credentials are reused while they have at least this much life left,
/// longer than any one invocation (Lambda's timeout is at most 15 minutes).
const MIN_REMAINING: Duration = Duration::from_secs(20 * 60);
const SESSION_NAME: &str = "ipam-monitor";

/// Stands in for the account id when STS could not tell it; the EC2 answers still
/// carry each resource's real owner.
pub const UNKNOWN_ACCOUNT: &str = "unknown";

pub struct AccountAccess {
    sts: aws_sdk_sts::Client,
    organizations: aws_sdk_organizations::Client,
    member_role: Option<String>,
    own: OnceCell<String>,
    /// One slot per member account. The map's lock is held only to find the slot, so
    /// an AssumeRole in flight for one account never holds up another; the scopes of
    /// one account wait on its slot and share a single AssumeRole.
    cache: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Credentials>>>>>,
}

impl AccountAccess {
    pub fn new(sdk: &aws_config::SdkConfig, member_role: Option<String>) -> AccountAccess {
        AccountAccess {
            sts: aws_sdk_sts::Client::new(sdk),
            organizations: aws_sdk_organizations::Client::new(sdk),
            member_role,
            own: OnceCell::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn region(&self) -> String {
        self.sts
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default()
    }

    /// The account of the function's own credentials (asked once, then remembered).
    pub async fn own_account_id(&self) -> Result<String, ScanError> {
        let region = self.region();
        self.own
            .get_or_try_init(|| async {
                let out = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| sdk_error("", &region, "GetCallerIdentity", e))?;
                out.account.ok_or_else(|| ScanError {
                    account_id: String::new(),
                    region: region.clone(),
                    operation: "GetCallerIdentity".into(),
                    code: None,
                    message: "STS returned no account id".into(),
                })
            })
            .await
            .cloned()
    }

    /// Every ACTIVE account of the organization.
    pub async fn organization_accounts(&self) -> Result<Vec<String>, ScanError> {
        let region = self.region();
        let mut ids = Vec::new();
        let mut pages = self.organizations.list_accounts().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("", &region, "ListAccounts", e))?;
            for a in page.accounts() {
                let active = a.state().is_none_or(|s| s.as_str() == "ACTIVE");
                if let (true, Some(id)) = (active, a.id()) {
                    ids.push(id.to_string());
                }
            }
        }
        Ok(ids)
    }

    /// Credentials for `account`: `None` for the function's own account (its own
    /// credentials), assumed-role credentials for any other.
    pub async fn credentials_for(&self, account: &str) -> Result<Option<Credentials>, ScanError> {
        // With the own account unknown (STS failed) only its placeholder means "own".
        let is_own = self
            .own
            .get()
            .map_or(account == UNKNOWN_ACCOUNT, |own| own == account);
        if is_own {
            return Ok(None);
        }
        let region = self.region();
        let Some(role) = &self.member_role else {
            return Err(ScanError {
                account_id: account.to_string(),
                region,
                operation: "AssumeRole".into(),
                code: None,
                message: "no MEMBER_ROLE_NAME configured to enter this account".into(),
            });
        };
        let slot = {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(cache.entry(account.to_string()).or_default())
        };
        let mut slot = slot.lock().await;
        if let Some(c) = slot.as_ref() {
            let fresh = c
                .expiry()
                .is_none_or(|e| e > SystemTime::now() + MIN_REMAINING);
            if fresh {
                return Ok(Some(c.clone()));
            }
        }
        let arn = format!("arn:{}:iam::{account}:role/{role}", partition(&region));
        let out = self
            .sts
            .assume_role()
            .role_arn(&arn)
            .role_session_name(SESSION_NAME)
            .send()
            .await
            .map_err(|e| {
                let mut se = sdk_error(account, &region, "AssumeRole", e);
                se.message = format!("{arn}: {}", se.message);
                se
            })?;
        let c = out.credentials().ok_or_else(|| ScanError {
            account_id: account.to_string(),
            region: region.clone(),
            operation: "AssumeRole".into(),
            code: None,
            message: format!("{arn}: STS returned no credentials"),
        })?;
        let creds = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            SystemTime::try_from(*c.expiration()).ok(),
            "AssumeRole",
        );
        *slot = Some(creds.clone());
        Ok(Some(creds))
    }
}
