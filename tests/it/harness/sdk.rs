//! SDK clients for tests that act as another party (a person, another
//! tool) through a fault proxy, beside the project's own clients.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::{Credentials, SharedCredentialsProvider};

use std::io::Write;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecordSet};

use super::emulator::REGION;
use super::project::{FUNCTION, Project};

/// The SDK settings for `endpoint` (the emulator, or a proxy in front).
fn config_for(endpoint: &str) -> aws_config::SdkConfig {
    config_in(endpoint, REGION)
}

/// [`config_for`] in another region: SDK settings for the emulator (or a
/// proxy) at `endpoint` in `region`, with its test credentials.
pub fn config_in(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "tests",
        )))
        .build()
}

/// A Lambda client that sends its requests to `endpoint` (e.g. a proxy).
pub fn lambda_via(endpoint: &str) -> Client {
    Client::new(&config_for(endpoint))
}

/// A Route 53 client for the project's emulator.
pub fn route53(p: &Project) -> aws_sdk_route53::Client {
    aws_sdk_route53::Client::new(&config_for(&p.emulator.endpoint))
}

/// Every record set named `name` in `zone`, as Route 53 holds it.
pub fn record_sets(p: &Project, zone: &str, name: &str) -> Vec<ResourceRecordSet> {
    let out = block_on(
        route53(p)
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .send(),
    )
    .expect("list records");
    out.resource_record_sets()
        .iter()
        .filter(|r| r.name().trim_end_matches('.') == name)
        .cloned()
        .collect()
}

/// Sets the blue and green weights of the pair `name` by hand, keeping
/// every other field, as a person editing the zone would.
pub fn set_dns_weights(p: &Project, zone: &str, name: &str, blue: i64, green: i64) {
    let sets = record_sets(p, zone, name)
        .into_iter()
        .map(|mut set| {
            set.weight = Some(if set.set_identifier() == Some("blue") {
                blue
            } else {
                green
            });
            set
        })
        .collect();
    upsert(p, zone, sets);
}

/// Writes `sets` as they are (UPSERT), as a person editing the zone would.
pub fn upsert(p: &Project, zone: &str, sets: Vec<ResourceRecordSet>) {
    let changes = sets
        .into_iter()
        .map(|set| {
            Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(set)
                .build()
                .expect("change")
        })
        .collect();
    let batch = ChangeBatch::builder()
        .set_changes(Some(changes))
        .build()
        .expect("batch");
    block_on(
        route53(p)
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(batch)
            .send(),
    )
    .expect("change records");
}

/// Runs one SDK call to completion.
pub fn block_on<T>(call: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(call)
}

/// A zip holding one `index.py` that starts with `# marker`.
pub fn zip_of(marker: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("index.py", zip::write::SimpleFileOptions::default())
        .expect("zip entry");
    write!(
        zip,
        "# {marker}\ndef handler(event, context):\n    return event\n"
    )
    .expect("zip write");
    zip.finish().expect("zip").into_inner()
}

/// Uploads code marked `marker` to the function's `$LATEST`, as another
/// tool (or a person in the console) would.
pub fn upload(p: &Project, marker: &str) {
    let zip = zip_of(marker);
    p.aws(async |c| {
        c.update_function_code()
            .function_name(FUNCTION)
            .zip_file(Blob::new(zip))
            .send()
            .await
    })
    .expect("upload code");
}

/// An SSM client for the project's emulator.
pub fn ssm(p: &Project) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&config_for(&p.emulator.endpoint))
}

/// A CloudWatch client for the project's emulator.
pub fn cloudwatch(p: &Project) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&config_for(&p.emulator.endpoint))
}

/// Stores `value` as the SecureString parameter `name` (overwriting it),
/// as a person or another tool would.
pub fn put_parameter(p: &Project, name: &str, value: &str) {
    put_parameter_in(p, REGION, name, value);
}

/// [`put_parameter`] in `region`.
pub fn put_parameter_in(p: &Project, region: &str, name: &str, value: &str) {
    let ssm = aws_sdk_ssm::Client::new(&config_in(&p.emulator.endpoint, region));
    block_on(
        ssm.put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send(),
    )
    .expect("put parameter");
}

/// Creates the Secrets Manager secret `name` holding `text`.
pub fn create_secret(p: &Project, name: &str, text: &str) {
    create_secret_in(p, REGION, name, text);
}

/// [`create_secret`] in `region`; returns the secret's ARN.
pub fn create_secret_in(p: &Project, region: &str, name: &str, text: &str) -> String {
    let secrets = aws_sdk_secretsmanager::Client::new(&config_in(&p.emulator.endpoint, region));
    let out = block_on(
        secrets
            .create_secret()
            .name(name)
            .secret_string(text)
            .send(),
    )
    .expect("create secret");
    out.arn().expect("secret ARN").to_owned()
}

/// Moves the label `label` of parameter `name` to its `version`.
pub fn label_parameter(p: &Project, name: &str, version: i64, label: &str) {
    block_on(
        ssm(p)
            .label_parameter_version()
            .name(name)
            .parameter_version(version)
            .labels(label)
            .send(),
    )
    .expect("label parameter");
}
