//! The local AWS emulator for integration tests: `emulator/launch.py` on a free
//! loopback port, one process per test (moto keeps one state per process), stopped
//! by PID when the test ends.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct Emulator {
    pub url: String,
    child: Child,
}

/// The project's venv Python, or `IPAM_MONITOR_PYTHON` when set.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("IPAM_MONITOR_PYTHON") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run `make venv` (installs moto and the emulator's dependencies)",
        p.display()
    );
    p
}

impl Emulator {
    /// Starts the emulator, seeded with `seed` (e.g. "demo"), and waits until it answers.
    pub fn start(seed: Option<&str>) -> Emulator {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut cmd = Command::new(python());
        cmd.arg(root.join("emulator/launch.py"))
            .arg("--exit-on-stdin-eof")
            // The emulator also exits if this test process dies and the pipe closes.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(s) = seed {
            cmd.args(["--seed", s]);
        }
        let mut child = cmd.spawn().expect("start emulator/launch.py");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the emulator's READY line");
        let Some(url) = line.trim().strip_prefix("READY ").map(str::to_owned) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("emulator did not start: {line:?}");
        };
        Emulator { url, child }
    }

    /// SDK configuration pointing at the emulator with fake credentials.
    pub async fn sdk_config(&self, region: &str) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(aws_config::Region::new(region.to_string()))
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                "testing", "testing", None, None, "emulator",
            ))
            .load()
            .await
    }

    /// Environment for a child process (the local runner) to use the emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // Stop by PID: this child and nothing else.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Emulator {
    /// A plain HTTP request to the emulator's control endpoints (no HTTP client crate
    /// needed): returns the response body.
    pub fn control(&self, method: &str, path: &str) -> String {
        self.control_with_body(method, path, "")
    }

    /// As `control`, sending `body` (JSON) with the request.
    pub fn control_with_body(&self, method: &str, path: &str, body: &str) -> String {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).expect("connect to emulator");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
        assert!(
            head.starts_with("HTTP/1.1 2") || head.starts_with("HTTP/1.0 2"),
            "{head}"
        );
        body.to_string()
    }

    /// Requests the emulator served, per `service:Operation`, since the last reset.
    pub fn request_counts(&self) -> std::collections::HashMap<String, u64> {
        serde_json::from_str(&self.control("GET", "/_emulator/requests")).expect("counts JSON")
    }

    /// The IPAM fixture the emulator answers from.
    pub fn ipam_fixture(&self) -> serde_json::Value {
        serde_json::from_str(&self.control("GET", "/_emulator/ipam")).expect("fixture JSON")
    }

    pub fn set_ipam_fixture(&self, fixture: &serde_json::Value) {
        self.control_with_body("POST", "/_emulator/ipam", &fixture.to_string());
    }

    pub fn reset_request_counts(&self) {
        self.control("POST", "/_emulator/requests/reset");
    }
}

/// The record a report has for the resource named `name` (its Name tag).
pub fn by_name<'a>(
    r: &'a ipam_monitor::domain::report::Report,
    name: &str,
) -> &'a ipam_monitor::domain::report::ResourceRecord {
    r.resources
        .iter()
        .find(|x| x.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("{name} not in report"))
}
