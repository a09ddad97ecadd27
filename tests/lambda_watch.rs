//! The Lambda binary under `cargo lambda watch` (a local Lambda Runtime API) against the
//! emulator with the demo estate: each sample event in events/ gets a run summary, and
//! a bad event gets an error that names the field. The same as `make invoke`.
//!
//! `cargo lambda watch` runs in its own process group and is stopped by that group's
//! id (it starts `cargo run`, which starts the function): nothing is left behind.

mod common;

use common::Emulator;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the demo seed delivers (emulator/seed.py); env.json names the same targets.
const DEMO_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ipam-alerts";
const DEMO_CONSUMER: &str = "ipam-report-consumer";
/// The first invocation waits for `cargo run`: a no-op build when target/ is fresh,
/// a full one otherwise.
const FIRST_ANSWER_TIMEOUT: Duration = Duration::from_secs(600);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The function's settings as SAM's env.json gives them to the template's function.
fn env_json_settings() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("env.json")).expect("env.json");
    let doc: Value = serde_json::from_str(&text).expect("env.json is JSON");
    let vars = doc["IpamMonitorFunction"]
        .as_object()
        .expect("env.json: IpamMonitorFunction");
    vars.iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string values").to_string()))
        .collect()
}

/// `cargo lambda watch` in its own process group, stopped (the whole group) on drop.
struct Watch {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Watch {
    fn start(emu: &Emulator, log: &Path) -> Watch {
        let port = free_port();
        let venv_bin = root().join(".venv/bin");
        let cargo_lambda = venv_bin.join("cargo-lambda");
        assert!(
            cargo_lambda.exists(),
            "{} is missing: run `make venv`",
            cargo_lambda.display()
        );
        let path = format!(
            "{}:{}",
            venv_bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = std::fs::File::create(log).expect("watch log");
        let mut cmd = Command::new(cargo_lambda);
        cmd.args(["lambda", "watch", "--ignore-changes", "--bin", "bootstrap"])
            .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(port.to_string())
            .current_dir(root())
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .process_group(0);
        // `cargo test`'s own CARGO_* variables are not the function's build settings.
        for (k, _) in std::env::vars() {
            if k.starts_with("CARGO_") && k != "CARGO_HOME" && k != "CARGO_TARGET_DIR" {
                cmd.env_remove(k);
            }
        }
        for (k, v) in env_json_settings() {
            cmd.env(k, v);
        }
        for (k, v) in emu.env() {
            cmd.env(k, v);
        }
        // The demo estate's regions and sink targets, whatever env.json says.
        cmd.env("REGIONS", "us-east-1,eu-west-1")
            .env("SNS_TOPIC_ARN", DEMO_TOPIC)
            .env("DOWNSTREAM_FUNCTIONS", DEMO_CONSUMER);
        let child = cmd.spawn().expect("start cargo lambda watch");
        let watch = Watch {
            child,
            port,
            log: log.to_path_buf(),
        };
        watch.wait_listening();
        watch
    }

    fn wait_listening(&self) {
        let until = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < until,
                "cargo lambda watch did not listen on {}:\n{}",
                self.port,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Invokes the function through the Lambda Invoke API that `cargo lambda watch`
    /// serves: (HTTP status, body).
    fn invoke(&self, payload: &[u8], timeout: Duration) -> (u16, Value) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(timeout)).unwrap();
        write!(
            s,
            "POST /2015-03-31/functions/_/invocations HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            payload.len()
        )
        .unwrap();
        s.write_all(payload).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)
            .unwrap_or_else(|e| panic!("no answer ({e}); watch log:\n{}", self.log_text()));
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("status code");
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        };
        let json = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {body}"));
        (status, json)
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn signal_group(pgid: u32, signal: &str) -> bool {
    Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Drop for Watch {
    fn drop(&mut self) {
        // The group's id is the leader's pid: cargo-lambda, cargo run and the function.
        let pgid = self.child.id();
        signal_group(pgid, "-TERM");
        let until = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(100));
        }
        // Anything of the group still alive (a child that ignored TERM) is killed.
        if signal_group(pgid, "-0") {
            signal_group(pgid, "-KILL");
        }
        let _ = self.child.wait();
    }
}

/// This run's temporary files, removed however the test ends.
struct TempFiles(Vec<PathBuf>);

impl Drop for TempFiles {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ipam-monitor-{}-{name}", std::process::id()))
}

fn event_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("events"))
        .expect("events/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 2,
        "events/ holds the sample events: {files:?}"
    );
    files
}

/// A run summary for the demo estate: every resource, every sink as the event asks.
fn check_summary(file: &Path, event: &Value, status: u16, answer: &Value) {
    let name = file.file_name().unwrap().to_string_lossy();
    let message = answer["errorMessage"].as_str().unwrap_or_default();
    assert!(
        !message.contains("DeadlineExceeded"),
        "{name}: every scope was cut at the deadline. cargo lambda watch (1.9.x) sends \
         Lambda-Runtime-Deadline-Ms: 600000, a budget rather than milliseconds since the \
         epoch, so a handler that reads it as an epoch time sees a deadline in 1970: \
         {answer:#}"
    );
    assert_eq!(status, 200, "{name}: {answer:#}");
    assert_eq!(
        answer["schema_version"],
        ipam_monitor::domain::report::SCHEMA_VERSION,
        "{name}"
    );
    let s = &answer["summary"];
    assert_eq!(s["vpcs"], 5, "{name}: {s}");
    assert_eq!(s["subnets"], 14, "{name}: {s}");
    // env.json maps EKS subnets: the demo cluster's tight zone has one free /28
    // (emulator/seed.py, EKS_FREE_28S).
    let zone = &answer["report"]["eks_clusters"][0]["zones"][0];
    assert_eq!(zone["availability_zone"], "us-east-1a", "{name}: {zone}");
    assert_eq!(zone["free_prefixes"], 1, "{name}: {zone}");
    let resources = ["vpcs", "subnets", "ipam_pools"]
        .iter()
        .map(|k| s[*k].as_u64().unwrap_or(0))
        .sum::<u64>();
    assert_eq!(s["resources"], resources, "{name}: {s}");
    assert_eq!(s["scopes_scanned"], 2, "{name}: {s}");
    assert_eq!(answer["errors"], serde_json::json!([]), "{name}");

    let dry_run = event["dry_run"].as_bool().unwrap_or(false);
    assert_eq!(answer["dry_run"], dry_run, "{name}");
    let want = if dry_run { "skipped" } else { "delivered" };
    let sinks = answer["sinks"].as_array().expect("sinks");
    let names: Vec<&str> = sinks.iter().filter_map(|x| x["sink"].as_str()).collect();
    // env.json names the emulator's state bucket: a real run also archives its report
    // and saves its state; a dry run changes nothing.
    if dry_run {
        assert_eq!(names, ["cloudwatch", "sns", "downstream"], "{name}");
    } else {
        assert_eq!(
            names,
            ["cloudwatch", "sns", "downstream", "archive", "state"],
            "{name}"
        );
        let archive = answer["history"]["archive"].as_str().unwrap_or_default();
        assert!(
            archive.starts_with("s3://ipam-monitor-state/ipam-monitor/reports/dt="),
            "{name}: {}",
            answer["history"]
        );
    }
    // Alerts tell changes: a run that follows another with nothing new stays silent.
    let changes: u64 = answer["history"]["changes"]
        .as_object()
        .map(|c| c.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    for sink in sinks {
        if sink["sink"] == "sns" && !dry_run && changes == 0 {
            assert_eq!(sink["status"], "skipped", "{name}: {sink}");
            assert!(answer["history"]["previous_run"].is_object(), "{name}");
            continue;
        }
        assert_eq!(sink["status"], want, "{name}: {sink}");
    }

    // Thresholds in the event override the configuration for this run.
    let report = &answer["report"];
    if let Some(w) = event.get("warning_percent") {
        assert_eq!(report["threshold_source"], "event", "{name}");
        assert_eq!(
            report["thresholds"]["warning_percent"].as_f64(),
            w.as_f64(),
            "{name}"
        );
    } else {
        assert_eq!(report["threshold_source"], "config", "{name}");
    }
}

#[test]
fn the_function_answers_every_sample_event_under_cargo_lambda_watch() {
    let emu = Emulator::start(Some("demo"));
    let log = temp_path("watch.log");
    let bad_event = temp_path("bad-event.json");
    // Declared before the watch, so dropped after it: the log outlives its writer.
    let _temp = TempFiles(vec![log.clone(), bad_event.clone()]);
    std::fs::write(&bad_event, br#"{"warning_percent":"abc"}"#).unwrap();
    let watch = Watch::start(&emu, &log);

    for (i, file) in event_files().iter().enumerate() {
        let payload = std::fs::read(file).expect("event file");
        let event: Value = serde_json::from_slice(&payload).expect("event is JSON");
        let timeout = if i == 0 {
            FIRST_ANSWER_TIMEOUT
        } else {
            ANSWER_TIMEOUT
        };
        let (status, answer) = watch.invoke(&payload, timeout);
        check_summary(file, &event, status, &answer);
    }

    // A bad event, through `cargo lambda invoke --data-file` as `make invoke` does.
    let out = Command::new(root().join(".venv/bin/cargo-lambda"))
        .args(["lambda", "invoke", "--invoke-address", "127.0.0.1"])
        .arg("--invoke-port")
        .arg(watch.port.to_string())
        .arg("--data-file")
        .arg(&bad_event)
        .output()
        .expect("cargo lambda invoke");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a bad event is an error: {text}");
    assert!(text.contains("BadEvent"), "{text}");
    assert!(
        text.contains("warning_percent") && text.contains("abc"),
        "the error names the field and the value: {text}"
    );

    let pgid = watch.child.id();
    let watch_log = watch.log_text();
    drop(watch);
    assert!(
        !signal_group(pgid, "-0"),
        "processes of cargo lambda watch's group {pgid} survived"
    );
    // Same features as `cargo build --all-targets`: the SDK is not compiled again.
    assert!(
        !watch_log.contains("Compiling aws-"),
        "cargo lambda watch rebuilt the AWS SDK: keep the features of build and watch equal\n{watch_log}"
    );
}
