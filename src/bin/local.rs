//! Runs one monitoring pass outside Lambda and prints a table and the JSON report.
//!
//! Usage: ipam-monitor-local [--event FILE] [--json]
//! Settings come from the same environment variables as the Lambda function;
//! AWS_ENDPOINT_URL points it at the local emulator.

use ipam_monitor::app::config::Config;
use ipam_monitor::app::handler::{App, HandlerError};
use ipam_monitor::app::wiring::{sinks_from_config, store_from_config};
use ipam_monitor::source::ec2::Ec2Source;
use serde_json::Value;
use std::process::ExitCode;

struct Args {
    event: Option<String>,
    json_only: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        event: None,
        json_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--event" => args.event = Some(it.next().ok_or("--event needs a file path")?),
            "--json" => args.json_only = true,
            "-h" | "--help" => {
                return Err("usage: ipam-monitor-local [--event FILE] [--json]".into())
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: ipam-monitor-local [--event FILE] [--json]"
                ))
            }
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    ipam_monitor::app::telemetry::init(false);
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(64);
        }
    };
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(78);
        }
    };
    let payload: Value = match &args.event {
        None => Value::Null,
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(v) => v,
            Err(e) => {
                eprintln!("cannot read event file {path}: {e}");
                return ExitCode::from(66);
            }
        },
    };
    let sdk = ipam_monitor::aws::setup::sdk_config(config.retry).await;
    let app = App {
        source: Ec2Source::new(&sdk, config.member_role_name.clone())
            .with_address_map(config.address_map),
        sinks: sinks_from_config(&config, &sdk),
        store: store_from_config(&config, &sdk),
        config,
    };
    let run_id = format!("local-{}", uuid::Uuid::new_v4());
    let (output, code) = match app.run(&payload, run_id).await {
        Ok(output) => (output, ExitCode::SUCCESS),
        Err(HandlerError::Incomplete { output, .. }) => (*output, ExitCode::from(2)),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(65);
        }
    };
    if !args.json_only {
        println!("{}", ipam_monitor::app::table::render(&output.report));
        if let Some(m) = &output.metrics {
            println!("Metrics: {m}\n");
        }
    }
    let json = serde_json::to_string_pretty(&output.report).expect("report serializes");
    println!("{json}");
    if !args.json_only {
        println!("\nSinks:");
        for s in &output.sinks {
            let status = format!("{:?}", s.status).to_lowercase();
            println!("  {:<10} {status:<9} {}", s.sink, s.detail);
        }
        if output.sinks.is_empty() {
            println!(
                "  none configured (METRICS_MODE=off, no SNS_TOPIC_ARN, no DOWNSTREAM_FUNCTIONS)"
            );
        }
    }
    code
}
