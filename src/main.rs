//! Lambda bootstrap: logging, configuration and clients once per cold start.

use ipam_monitor::app::config::Config;
use ipam_monitor::app::handler::App;
use ipam_monitor::app::wiring::{sinks_from_config, store_from_config};
use ipam_monitor::source::ec2::Ec2Source;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    ipam_monitor::app::telemetry::init(true);
    // A bad setting fails the cold start with a message naming the variable.
    let config =
        Config::from_env().inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    let sdk = ipam_monitor::aws::setup::sdk_config(config.retry).await;
    let app = App {
        source: Ec2Source::new(&sdk, config.member_role_name.clone())
            .with_address_map(config.address_map),
        sinks: sinks_from_config(&config, &sdk),
        store: store_from_config(&config, &sdk),
        config,
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        app.handle(event).await
    }))
    .await
}
