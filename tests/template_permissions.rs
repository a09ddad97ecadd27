//! The SAM template grants exactly what the code calls, and nothing broader.
//!
//! The AWS operations are discovered from `src/` at test time: every `.operation()`
//! call in a file that uses an `aws-sdk-*` crate, where `operation` is one of that
//! crate's operations (the crate's own `src/operation/` directory, found through
//! `cargo metadata`). A new SDK call without its permission in `template.yaml` fails
//! here, and so does a permission no code needs. The template is read as JSON through
//! the venv's PyYAML (the crate has no YAML dependency), with CloudFormation's short
//! tags (`!Ref`, `!Sub`, `!If`...) turned into their long form.

mod common;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Operations that need no IAM permission.
const NO_PERMISSION_NEEDED: &[&str] = &["sts:GetCallerIdentity"];

/// Operations whose IAM action has another name than the operation.
const ACTION_OF_OPERATION: &[(&str, &str)] = &[
    ("lambda:Invoke", "lambda:InvokeFunction"),
    ("lambda:InvokeWithResponseStream", "lambda:InvokeFunction"),
];

/// Used by the Lambda service with the function's role, not by the code: writing the
/// function's log group and sending failed asynchronous runs to the failure queue.
/// Each must name a resource of this template, never `*`.
const RUNTIME_ACTIONS: &[(&str, &str)] = &[
    ("logs:CreateLogStream", "AWS::Logs::LogGroup"),
    ("logs:PutLogEvents", "AWS::Logs::LogGroup"),
    ("sqs:SendMessage", "AWS::SQS::Queue"),
];

/// Actions an SDK call needs beside its own, and the call: publishing to a topic
/// encrypted with a customer-managed key needs that key's data-key actions, and
/// GetObject of a missing key answers 404 (not 403) only with ListBucket.
const IMPLIED_ACTIONS: &[(&str, &str)] = &[
    ("kms:GenerateDataKey", "sns:Publish"),
    ("kms:Decrypt", "sns:Publish"),
    ("s3:ListBucket", "s3:GetObject"),
];

/// Environment variables the code reads that Lambda itself sets.
fn set_by_lambda(var: &str) -> bool {
    var == "AWS_REGION" || var.starts_with("AWS_LAMBDA_")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------- the template

const YAML_TO_JSON: &str = r#"
import json, sys, yaml

class Loader(yaml.SafeLoader):
    pass

def short_form(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    key = suffix if suffix in ("Ref", "Condition") else "Fn::" + suffix
    return {key: value}

Loader.add_multi_constructor("!", short_form)
with open(sys.argv[1]) as f:
    json.dump(yaml.load(f, Loader=Loader), sys.stdout)
"#;

fn template() -> Value {
    let out = Command::new(common::python())
        .args(["-c", YAML_TO_JSON])
        .arg(root().join("template.yaml"))
        .output()
        .expect("run the venv's python");
    assert!(
        out.status.success(),
        "template.yaml does not parse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("template as JSON")
}

fn resources_of<'a>(t: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    t["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

fn the_function(t: &Value) -> (&str, &Value) {
    let fns = resources_of(t, "AWS::Serverless::Function");
    assert_eq!(fns.len(), 1, "one function in the template");
    fns[0]
}

/// A policy statement and the template condition it depends on, if any.
#[derive(Debug)]
struct Statement<'a> {
    condition: Option<&'a str>,
    body: &'a Value,
}

fn is_no_value(v: &Value) -> bool {
    v.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue")
}

/// Statements of a policy document, both branches of every `Fn::If`.
fn flatten<'a>(v: &'a Value, condition: Option<&'a str>, out: &mut Vec<Statement<'a>>) {
    if let Some(list) = v.as_array() {
        for s in list {
            flatten(s, condition, out);
        }
    } else if let Some(branches) = v.get("Fn::If").and_then(Value::as_array) {
        let cond = branches[0].as_str();
        flatten(&branches[1], cond, out);
        flatten(&branches[2], condition, out);
    } else if !is_no_value(v) {
        out.push(Statement { condition, body: v });
    }
}

/// Every statement granted to the function's role.
fn role_statements(t: &Value) -> Vec<Statement<'_>> {
    let (_, function) = the_function(t);
    let props = &function["Properties"];
    assert!(
        props.get("Policies").is_none(),
        "the function's permissions live in its explicit role, not in SAM Policies"
    );
    let role_id = props["Role"]["Fn::GetAtt"][0]
        .as_str()
        .expect("Role: !GetAtt <role in this template>.Arn");
    let role = &t["Resources"][role_id];
    assert_eq!(role["Type"], "AWS::IAM::Role");
    assert!(
        role["Properties"].get("ManagedPolicyArns").is_none(),
        "no managed policies: they grant actions this test cannot see"
    );
    let mut out = Vec::new();
    for p in role["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
    {
        flatten(&p["PolicyDocument"]["Statement"], None, &mut out);
    }
    let managed = resources_of(t, "AWS::IAM::ManagedPolicy");
    assert!(
        managed.is_empty(),
        "managed policies {managed:?}: keep the function's permissions inline in its role"
    );
    for (_, p) in resources_of(t, "AWS::IAM::Policy") {
        let roles = p["Properties"]["Roles"].to_string();
        if roles.contains(&format!("\"{role_id}\"")) {
            flatten(
                &p["Properties"]["PolicyDocument"]["Statement"],
                None,
                &mut out,
            );
        }
    }
    assert!(!out.is_empty(), "the role grants nothing");
    out
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn actions<'a>(s: &Statement<'a>) -> Vec<&'a str> {
    strings(&s.body["Action"])
}

/// A literal resource that is, or contains, a wildcard.
fn wildcard_resource(s: &Statement) -> bool {
    strings(&s.body["Resource"]).iter().any(|r| r.contains('*'))
}

/// A template condition (`Fn::Equals`/`Not`/`And`/`Or`, `Condition`) with these
/// parameter values, every other parameter at its default.
fn holds(t: &Value, cond: &Value, params: &[(&str, &str)]) -> bool {
    let value = |v: &Value| -> String {
        match v.get("Ref").and_then(Value::as_str) {
            Some(p) => params
                .iter()
                .find(|(k, _)| *k == p)
                .map(|(_, v)| v.to_string())
                .unwrap_or_else(|| match &t["Parameters"][p]["Default"] {
                    Value::String(s) => s.clone(),
                    Value::Null => panic!("{p}: not a parameter with a default"),
                    other => other.to_string(),
                }),
            None => v.as_str().expect("a string or a Ref").to_string(),
        }
    };
    let all = |k: &str| cond[k].as_array().expect("a list");
    if let Some(name) = cond.get("Condition").and_then(Value::as_str) {
        holds(t, &t["Conditions"][name], params)
    } else if cond.get("Fn::Equals").is_some() {
        value(&all("Fn::Equals")[0]) == value(&all("Fn::Equals")[1])
    } else if cond.get("Fn::Not").is_some() {
        !holds(t, &all("Fn::Not")[0], params)
    } else if cond.get("Fn::And").is_some() {
        all("Fn::And").iter().all(|c| holds(t, c, params))
    } else if cond.get("Fn::Or").is_some() {
        all("Fn::Or").iter().any(|c| holds(t, c, params))
    } else {
        panic!("condition {cond}")
    }
}

/// The actions the role is granted with these parameter values.
fn granted_with(t: &Value, params: &[(&str, &str)]) -> BTreeSet<String> {
    role_statements(t)
        .iter()
        .filter(|s| {
            s.condition
                .is_none_or(|c| holds(t, &serde_json::json!({ "Condition": c }), params))
        })
        .flat_map(|s| actions(s).into_iter().map(str::to_string))
        .collect()
}

fn env_vars(t: &Value) -> &serde_json::Map<String, Value> {
    the_function(t).1["Properties"]["Environment"]["Variables"]
        .as_object()
        .expect("Environment.Variables")
}

/// The parameter behind an environment variable (`VAR: !Ref Param`).
fn env_param<'a>(t: &'a Value, var: &str) -> &'a str {
    env_vars(t)[var]["Ref"]
        .as_str()
        .unwrap_or_else(|| panic!("{var} is !Ref <parameter>"))
}

// ---------------------------------------------------------------- the code

/// `aws-sdk-*` normal dependencies of this crate and their source directories.
fn sdk_crates() -> BTreeMap<String, PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // The host's dependencies only: other platforms' crates are not downloaded.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc).arg("-vV").output().expect("rustc -vV");
    let host = String::from_utf8_lossy(&version.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc's host triple");
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(root())
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let manifest = root().join("Cargo.toml");
    let me = packages
        .iter()
        .find(|p| Path::new(p["manifest_path"].as_str().unwrap_or_default()) == manifest)
        .expect("this crate in cargo metadata");
    let resolved: BTreeMap<&str, &str> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve")
        .iter()
        .find(|n| n["id"] == me["id"])
        .expect("this crate's resolve node")["deps"]
        .as_array()
        .expect("deps")
        .iter()
        .filter_map(|d| Some((d["name"].as_str()?, d["pkg"].as_str()?)))
        .collect();
    let mut crates = BTreeMap::new();
    for dep in me["dependencies"].as_array().expect("dependencies") {
        let name = dep["name"].as_str().unwrap_or_default();
        // Only what the Lambda itself links: not dev-dependencies (test helpers).
        if !name.starts_with("aws-sdk-") || !dep["kind"].is_null() {
            continue;
        }
        let pkg_id = resolved[name.replace('-', "_").as_str()];
        let pkg = packages
            .iter()
            .find(|p| p["id"] == pkg_id)
            .expect("resolved package");
        let dir = Path::new(pkg["manifest_path"].as_str().expect("manifest_path"))
            .parent()
            .expect("crate dir")
            .to_path_buf();
        crates.insert(name.to_string(), dir);
    }
    assert!(crates.contains_key("aws-sdk-ec2"), "{crates:?}");
    crates
}

/// The IAM service prefix of an SDK crate.
fn iam_prefix(krate: &str) -> String {
    let service = krate.trim_start_matches("aws-sdk-");
    match service {
        "cloudwatchlogs" => "logs",
        "eventbridge" => "events",
        "sfn" => "states",
        "elasticloadbalancingv2" => "elasticloadbalancing",
        other => other,
    }
    .to_string()
}

/// The operation's wire name, as the SDK itself records it (`Metadata::new("DescribeVpcs", ..)`).
fn operation_name(crate_dir: &Path, op: &str) -> String {
    let text = std::fs::read_to_string(crate_dir.join("src/operation").join(format!("{op}.rs")))
        .unwrap_or_default();
    text.split_once("Metadata::new(")
        .and_then(|(_, rest)| rest.trim_start().strip_prefix('"'))
        .and_then(|rest| rest.split_once('"'))
        .map(|(name, _)| name.to_string())
        .unwrap_or_else(|| {
            op.split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect()
        })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code without `//` comments (doc comments name operations in prose).
fn code_of(path: &Path) -> String {
    std::fs::read_to_string(path)
        .expect("read source")
        .lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `.name()` call (no arguments: how SDK operations start a request).
fn zero_arg_calls(code: &str) -> BTreeSet<String> {
    let mut calls = BTreeSet::new();
    let b = code.as_bytes();
    for (i, _) in code.match_indices('.') {
        let ident: String = code[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let after = i + 1 + ident.len();
        if !ident.is_empty() && b.get(after) == Some(&b'(') && b.get(after + 1) == Some(&b')') {
            calls.insert(ident);
        }
    }
    calls
}

/// `service:Action` for every SDK operation called in src/, with the files calling it.
fn actions_called_in_src() -> BTreeMap<String, BTreeSet<String>> {
    let crates = sdk_crates();
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let code = code_of(file);
        let calls = zero_arg_calls(&code);
        let rel = file
            .strip_prefix(root())
            .unwrap_or(file)
            .display()
            .to_string();
        for (krate, dir) in &crates {
            if !code.contains(&krate.replace('-', "_")) {
                continue;
            }
            for call in &calls {
                if dir
                    .join("src/operation")
                    .join(format!("{call}.rs"))
                    .is_file()
                {
                    let operation = format!("{}:{}", iam_prefix(krate), operation_name(dir, call));
                    let action = ACTION_OF_OPERATION
                        .iter()
                        .find(|(op, _)| *op == operation)
                        .map_or(operation, |(_, a)| a.to_string());
                    found.entry(action).or_default().insert(rel.clone());
                }
            }
        }
    }
    found
}

/// Environment variables the code reads: `pub const ENV_*: &str = "..."` and literal
/// `var("...")`, `var_os("...")`, `try_from_env("...")` calls.
fn env_vars_read_in_src() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut vars = BTreeSet::new();
    for file in &files {
        let code = code_of(file);
        for line in code.lines() {
            let t = line.trim();
            if t.starts_with("pub const ENV_") && t.contains(": &str = \"") {
                if let Some(v) = t.split('"').nth(1) {
                    vars.insert(v.to_string());
                }
            }
        }
        for call in ["var(\"", "var_os(\"", "try_from_env(\""] {
            for (i, _) in code.match_indices(call) {
                if let Some(v) = code[i + call.len()..].split('"').next() {
                    vars.insert(v.to_string());
                }
            }
        }
    }
    vars.retain(|v| !set_by_lambda(v));
    vars
}

// ---------------------------------------------------------------- the checks

#[test]
fn every_sdk_call_in_src_has_its_permission_and_nothing_more() {
    let t = template();
    let statements = role_statements(&t);
    let called = actions_called_in_src();
    // Sanity: the scan sees the calls every build has.
    for a in ["ec2:DescribeVpcs", "ec2:DescribeSubnets"] {
        assert!(
            called.contains_key(a),
            "scan of src/ missed {a}: {called:?}"
        );
    }
    let needed: BTreeSet<String> = called
        .keys()
        .filter(|a| !NO_PERMISSION_NEEDED.contains(&a.as_str()))
        .map(|a| a.to_ascii_lowercase())
        .collect();

    let mut granted: BTreeMap<String, &str> = BTreeMap::new();
    for s in &statements {
        assert_eq!(s.body["Effect"], "Allow", "{}", s.body);
        for key in ["NotAction", "NotResource", "NotPrincipal"] {
            assert!(s.body.get(key).is_none(), "{key} in {}", s.body);
        }
        for a in actions(s) {
            granted.insert(a.to_ascii_lowercase(), a);
        }
    }

    let missing: Vec<String> = called
        .iter()
        .filter(|(a, _)| needed.contains(&a.to_ascii_lowercase()))
        .filter(|(a, _)| !granted.contains_key(&a.to_ascii_lowercase()))
        .map(|(a, files)| {
            format!(
                "{a} (called in {})",
                files.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    assert!(
        missing.is_empty(),
        "src/ calls these without a permission in template.yaml (IpamMonitorRole): {missing:#?}"
    );

    let runtime: BTreeSet<String> = RUNTIME_ACTIONS
        .iter()
        .map(|(a, _)| a.to_ascii_lowercase())
        .collect();
    let implied: BTreeSet<String> = IMPLIED_ACTIONS
        .iter()
        .filter(|(_, by)| needed.contains(&by.to_ascii_lowercase()))
        .map(|(a, _)| a.to_ascii_lowercase())
        .collect();
    let extra: Vec<&str> = granted
        .iter()
        .filter(|(a, _)| !needed.contains(*a) && !runtime.contains(*a) && !implied.contains(*a))
        .map(|(_, a)| *a)
        .collect();
    assert!(
        extra.is_empty(),
        "template.yaml grants actions no code in src/ calls: {extra:?} (src/ calls {:?})",
        called.keys().collect::<Vec<_>>()
    );
}

#[test]
fn no_wildcard_actions_and_wildcard_resources_only_where_aws_allows_no_other() {
    let t = template();
    for s in role_statements(&t) {
        for a in actions(&s) {
            assert!(!a.contains('*'), "wildcard action {a}");
            assert!(a.contains(':'), "action without a service: {a}");
        }
        if !wildcard_resource(&s) {
            continue;
        }
        // Describe/Get/List calls of EC2 and Organizations support no resource-level
        // permissions, and PutMetricData is narrowed by its namespace condition.
        for a in actions(&s) {
            let (service, action) = a.split_once(':').expect("service:Action");
            let ok = match service {
                "ec2" => action.starts_with("Describe") || action.starts_with("Get"),
                "organizations" => action.starts_with("List") || action.starts_with("Describe"),
                "cloudwatch" => action == "PutMetricData",
                "sts" => action == "AssumeRole", // any account, one role name: checked below
                _ => false,
            };
            assert!(ok, "{a} on a wildcard resource: {}", s.body);
        }
    }
}

#[test]
fn put_metric_data_only_in_the_configured_namespace() {
    let t = template();
    let namespace_param = env_param(&t, "METRIC_NAMESPACE");
    let statements = role_statements(&t);
    let puts: Vec<_> = statements
        .iter()
        .filter(|s| actions(s).contains(&"cloudwatch:PutMetricData"))
        .collect();
    assert!(!puts.is_empty(), "no PutMetricData statement");
    for s in puts {
        assert_eq!(
            actions(s),
            ["cloudwatch:PutMetricData"],
            "PutMetricData stands alone (its condition must not narrow other actions)"
        );
        assert_eq!(
            s.body["Condition"]["StringEquals"]["cloudwatch:namespace"]["Ref"], namespace_param,
            "PutMetricData is conditioned on cloudwatch:namespace = the namespace the function uses: {}",
            s.body
        );
        // Granted only when the function publishes through the API.
        let cond = s
            .condition
            .expect("PutMetricData only under a condition (metrics mode api)");
        let def = t["Conditions"][cond].to_string();
        assert!(
            def.contains("MetricsMode") && def.contains("api"),
            "{cond}: {def}"
        );
    }
}

#[test]
fn publish_invoke_and_assume_role_name_only_the_configured_targets() {
    let t = template();
    let statements = role_statements(&t);
    let with = |action: &str| -> Vec<&Statement> {
        statements
            .iter()
            .filter(|s| actions(s).contains(&action))
            .collect()
    };

    // sns:Publish: the topic in SNS_TOPIC_ARN, nothing else.
    let topic_env = &env_vars(&t)["SNS_TOPIC_ARN"];
    let topic = topic_env["Fn::If"][1].clone();
    assert!(
        !topic.is_null(),
        "SNS_TOPIC_ARN: !If [HasTopic, <topic>, \"\"]"
    );
    for s in with("sns:Publish") {
        assert!(
            !wildcard_resource(s),
            "sns:Publish on a wildcard: {}",
            s.body
        );
        assert_eq!(
            s.body["Resource"], topic,
            "sns:Publish names the configured topic"
        );
        assert_eq!(s.condition, topic_env["Fn::If"][0].as_str());
    }

    // lambda:InvokeFunction: the functions in DOWNSTREAM_FUNCTIONS, nothing else.
    let functions_param = env_param(&t, "DOWNSTREAM_FUNCTIONS");
    let invokes = with("lambda:InvokeFunction");
    assert!(!invokes.is_empty());
    for s in invokes {
        assert!(
            !wildcard_resource(s),
            "InvokeFunction on a wildcard: {}",
            s.body
        );
        assert_eq!(
            s.body["Resource"]["Fn::Split"][1]["Ref"], functions_param,
            "InvokeFunction names exactly the configured functions: {}",
            s.body
        );
        assert!(
            s.condition.is_some(),
            "granted only when functions are configured"
        );
    }

    // sts:AssumeRole: only the member role named in MEMBER_ROLE_NAME.
    let role_param = env_param(&t, "MEMBER_ROLE_NAME");
    for s in with("sts:AssumeRole") {
        let arn = s.body["Resource"]["Fn::Sub"].as_str().unwrap_or_default();
        assert!(
            arn.ends_with(&format!(":role/${{{role_param}}}")),
            "AssumeRole only on roles named by {role_param}: {}",
            s.body
        );
        assert!(
            s.condition.is_some(),
            "granted only when a member role is set"
        );
        // A role in any account is narrowed to the function's own organization or to
        // the listed accounts; otherwise the ARN names its one account.
        if arn.contains(":iam::*:") {
            let eq = &s.body["Condition"]["StringEquals"];
            let own_org = eq["aws:ResourceOrgID"] == "${aws:PrincipalOrgID}";
            let listed =
                eq["aws:ResourceAccount"]["Fn::Split"][1]["Ref"] == env_param(&t, "ACCOUNTS");
            assert!(
                own_org || listed,
                "AssumeRole into any account only within the organization or the listed accounts: {}",
                s.body
            );
        }
    }

    // What the Lambda service writes with the role: this stack's own resources.
    for (action, kind) in RUNTIME_ACTIONS {
        for s in with(action) {
            let target = s.body["Resource"]["Fn::GetAtt"][0]
                .as_str()
                .unwrap_or_default();
            assert_eq!(
                t["Resources"][target]["Type"], *kind,
                "{action} only on this stack's {kind}: {}",
                s.body
            );
        }
    }
}

#[test]
fn member_roles_and_the_account_list_only_where_a_source_needs_them() {
    let t = template();
    let p = |name: &str| env_param(&t, name).to_string();
    let (mode, accounts, role, ipam_account) = (
        p("SOURCE_MODE"),
        p("ACCOUNTS"),
        p("MEMBER_ROLE_NAME"),
        p("IPAM_ACCOUNT"),
    );
    let enters = |params: &[(&str, &str)]| {
        let granted = granted_with(&t, params);
        (
            granted.contains("sts:AssumeRole"),
            granted.contains("organizations:ListAccounts"),
            granted.contains("ec2:DescribeSubnets"),
        )
    };
    let (mode, accounts, role, ipam_account) = (
        mode.as_str(),
        accounts.as_str(),
        role.as_str(),
        ipam_account.as_str(),
    );
    // Defaults (both): the organization's accounts through their member role.
    let org = [(accounts, "organization"), (role, "member")];
    assert_eq!(enters(&org), (true, true, true));
    // IPAM alone, from the function's own account: no role, no account list, no VPC
    // or subnet Describe, whatever Accounts says.
    let ipam_here = [(accounts, "organization"), (role, "member"), (mode, "ipam")];
    assert_eq!(enters(&ipam_here), (false, false, false));
    // IPAM alone from another account: that account's role only.
    let ipam_elsewhere = [
        (accounts, "organization"),
        (role, "member"),
        (mode, "ipam"),
        (ipam_account, "123456789012"),
    ];
    assert_eq!(enters(&ipam_elsewhere), (true, false, false));
    // A list of accounts: their roles, no Organizations call.
    let listed = [(accounts, "123456789012,210987654321"), (role, "member")];
    assert_eq!(enters(&listed), (true, false, true));
    // This account only: no role.
    assert_eq!(enters(&[(role, "member")]), (false, false, true));
}

#[test]
fn address_map_calls_only_when_address_maps_are_on() {
    let t = template();
    let (map, mode) = (env_param(&t, "ADDRESS_MAP"), env_param(&t, "SOURCE_MODE"));
    let maps = |params: &[(&str, &str)]| {
        let granted = granted_with(&t, params);
        (
            granted.contains("ec2:DescribeNetworkInterfaces"),
            granted.contains("ec2:GetSubnetCidrReservations"),
        )
    };
    // Off by default: no interface is read.
    assert_eq!(maps(&[]), (false, false));
    assert_eq!(maps(&[(map, "eks")]), (true, true));
    assert_eq!(maps(&[(map, "all")]), (true, true));
    // IPAM alone makes no EC2 listing, so no sweep either.
    assert_eq!(maps(&[(map, "all"), (mode, "ipam")]), (false, false));
}

#[test]
fn every_setting_the_code_reads_is_a_parameter_wired_to_the_environment() {
    let t = template();
    let read = env_vars_read_in_src();
    for v in ["WARNING_THRESHOLD_PERCENT", "REGIONS", "RUST_LOG"] {
        assert!(read.contains(v), "scan of src/ missed {v}: {read:?}");
    }
    let vars = env_vars(&t);
    let wired: BTreeSet<String> = vars.keys().cloned().collect();
    let missing: Vec<_> = read.difference(&wired).collect();
    assert!(
        missing.is_empty(),
        "not in the function's environment: {missing:?}"
    );
    let unknown: Vec<_> = wired.difference(&read).collect();
    assert!(unknown.is_empty(), "no code reads these: {unknown:?}");
    let params = t["Parameters"].as_object().expect("Parameters");
    for (var, value) in vars {
        let text = value.to_string();
        let refs_param = params.keys().any(|p| text.contains(&format!("\"{p}\"")));
        assert!(refs_param, "{var} is not set from a parameter: {value}");
    }
}

#[test]
fn nothing_is_named_so_that_two_stacks_would_collide() {
    let t = template();
    const PHYSICAL_NAMES: &[&str] = &[
        "FunctionName",
        "TopicName",
        "QueueName",
        "LogGroupName",
        "DashboardName",
        "AlarmName",
        "Name",
    ];
    for (id, r) in t["Resources"].as_object().unwrap() {
        assert!(
            r["Properties"].get("RoleName").is_none(),
            "{id}: no RoleName, so CAPABILITY_IAM suffices"
        );
        for key in PHYSICAL_NAMES {
            if let Some(v) = r["Properties"].get(*key) {
                assert!(
                    v.to_string().contains("AWS::StackName"),
                    "{id}.{key} = {v}: derive it from the stack name or leave it out"
                );
            }
        }
    }
}

#[test]
fn function_shape() {
    let t = template();
    let (_, f) = the_function(&t);
    assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda");
    assert_eq!(f["Metadata"]["BuildProperties"]["Binary"], "bootstrap");
    let p = &f["Properties"];
    assert_eq!(p["Runtime"], "provided.al2023");
    assert_eq!(p["Handler"], "bootstrap");
    let arch = p["Architectures"][0]["Ref"]
        .as_str()
        .expect("Architectures: [!Ref ...]");
    assert_eq!(t["Parameters"][arch]["Default"], "arm64");
    assert_eq!(
        t["Parameters"][arch]["AllowedValues"],
        serde_json::json!(["arm64", "x86_64"])
    );
    // The log group the function writes to is its own /aws/lambda/<name>.
    let group = p["LoggingConfig"]["LogGroup"]["Ref"]
        .as_str()
        .expect("LoggingConfig.LogGroup");
    let g = &t["Resources"][group];
    assert_eq!(g["Type"], "AWS::Logs::LogGroup");
    assert_eq!(p["FunctionName"]["Ref"], "AWS::StackName");
    assert_eq!(
        g["Properties"]["LogGroupName"]["Fn::Sub"],
        "/aws/lambda/${AWS::StackName}"
    );
    assert!(g["Properties"]["RetentionInDays"]["Ref"].is_string());
    // Scheduled runs that fail end up somewhere.
    let on_failure = &p["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
    assert_eq!(on_failure["Type"], "SQS");
    let schedule = p["Events"]
        .as_object()
        .unwrap()
        .values()
        .find(|e| e["Type"] == "Schedule")
        .expect("a Schedule event");
    assert!(schedule["Properties"]["Schedule"]["Ref"].is_string());
    let timeout = &t["Parameters"][p["Timeout"]["Ref"].as_str().expect("Timeout param")];
    assert!(timeout["MaxValue"].as_u64().unwrap() <= 900);
}

#[test]
fn env_json_is_sam_format_for_the_function_with_placeholders_only() {
    let t = template();
    let (function_id, _) = the_function(&t);
    let text = std::fs::read_to_string(root().join("env.json")).expect("env.json");
    let doc: Value = serde_json::from_str(&text).expect("env.json is JSON");
    let settings = doc[function_id]
        .as_object()
        .unwrap_or_else(|| panic!("env.json is keyed by the function's logical id {function_id}"));
    let wired = env_vars(&t);
    for (k, v) in settings {
        assert!(
            wired.contains_key(k),
            "env.json sets {k}, which the template does not declare"
        );
        assert!(v.is_string(), "{k}: SAM takes strings");
    }
    // Placeholders only: AWS's documentation account, no other account id.
    for word in text.split(|c: char| !c.is_ascii_digit()) {
        assert!(
            word.len() != 12 || word == "123456789012",
            "env.json holds an account id {word}: use 123456789012"
        );
    }
}

#[test]
fn one_run_at_a_time_undeliverable_events_kept_and_the_topic_key_granted_only_when_set() {
    let t = template();
    let (_, function) = the_function(&t);
    let props = &function["Properties"];
    assert_eq!(props["ReservedConcurrentExecutions"], 1);
    let schedule = &props["Events"]["Schedule"]["Properties"];
    assert_eq!(schedule["DeadLetterConfig"]["Type"], "SQS", "{schedule}");

    // The key statement exists only with a key, and names exactly that key.
    let kms: Vec<_> = role_statements(&t)
        .into_iter()
        .filter(|s| actions(s).iter().any(|a| a.starts_with("kms:")))
        .collect();
    assert_eq!(kms.len(), 1, "{kms:?}");
    assert_eq!(kms[0].condition, Some("PublishToEncryptedTopic"));
    assert_eq!(kms[0].body["Resource"]["Ref"], "AlertTopicKmsKeyArn");
    let mut kms_actions = actions(&kms[0]);
    kms_actions.sort();
    assert_eq!(kms_actions, ["kms:Decrypt", "kms:GenerateDataKey"]);
    let topic = &t["Resources"]["AlertTopic"]["Properties"]["KmsMasterKeyId"]["Fn::If"];
    assert_eq!(topic[0], "EncryptTopic");
    assert_eq!(topic[1]["Ref"], "AlertTopicKmsKeyArn");

    let levels = &t["Parameters"]["LogLevel"]["AllowedValues"];
    assert_eq!(
        levels,
        &serde_json::json!(["error", "warn", "info", "debug", "trace"])
    );
}
