//! Checks made by another implementation than greenlight's: Python's
//! `hashlib` and `zipfile` (the emulator's interpreter, always there), so a
//! test never takes its expected hash or zip reading from the code under
//! test.

use std::path::Path;
use std::process::Command;

use super::emulator::python;

/// Runs `script` with `path` as its argument; returns its standard output.
#[track_caller]
fn run(script: &str, path: &Path) -> String {
    let out = Command::new(python())
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed on {}:\n{stdout}{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The SHA-256 of the file at `path`, by `hashlib`: (hex, base64). The
/// base64 form is Lambda's `CodeSha256`.
#[track_caller]
pub fn sha256(path: &Path) -> (String, String) {
    let script = "import base64, hashlib, sys\n\
                  d = hashlib.sha256(open(sys.argv[1], 'rb').read()).digest()\n\
                  print(d.hex(), base64.b64encode(d).decode())";
    let out = run(script, path);
    let (hex, base64) = out.trim().split_once(' ').expect("two hashes");
    (hex.to_owned(), base64.to_owned())
}

/// The entry names of the zip at `path`, by `zipfile`, after it has read
/// every entry back and checked its CRC (`testzip`).
#[track_caller]
pub fn zip_entries(path: &Path) -> Vec<String> {
    let script = "import sys, zipfile\n\
                  z = zipfile.ZipFile(sys.argv[1])\n\
                  bad = z.testzip()\n\
                  assert bad is None, f'bad entry {bad}'\n\
                  print('\\n'.join(z.namelist()))";
    run(script, path).lines().map(str::to_owned).collect()
}

/// Runs `script` (which makes a boto3 client with [`CLIENT`]) with the
/// emulator's `endpoint` and `args`; returns its standard output, trimmed.
#[track_caller]
fn boto3(what: &str, script: &str, endpoint: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .args(["-c", script, endpoint])
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The arguments of a boto3 client for the emulator whose endpoint is the
/// script's first argument.
const CLIENT: &str = "endpoint_url=sys.argv[1], region_name='us-east-1', \
                      aws_access_key_id='testing', aws_secret_access_key='testing'";

/// Creates the SQS queue `name` in the emulator at `endpoint` with boto3
/// (the emulator's own Python has it; greenlight needs no SQS client) and
/// returns its ARN, for an event source mapping.
#[track_caller]
pub fn create_queue(endpoint: &str, name: &str) -> String {
    let script = format!(
        "import sys, boto3\n\
         sqs = boto3.client('sqs', {CLIENT})\n\
         url = sqs.create_queue(QueueName=sys.argv[2])['QueueUrl']\n\
         print(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['QueueArn'])['Attributes']['QueueArn'])"
    );
    boto3(
        &format!("creating queue {name}"),
        &script,
        endpoint,
        &[name],
    )
}

/// Two subnets of the default VPC of the emulator at `endpoint`, in two
/// Availability Zones (a load balancer needs them), by boto3: greenlight
/// needs no EC2 client.
#[track_caller]
pub fn default_subnets(endpoint: &str) -> Vec<String> {
    let script = format!(
        "import sys, boto3\n\
         ec2 = boto3.client('ec2', {CLIENT})\n\
         found = ec2.describe_subnets(Filters=[{{'Name': 'default-for-az', 'Values': ['true']}}])['Subnets']\n\
         print(' '.join(s['SubnetId'] for s in sorted(found, key=lambda s: s['AvailabilityZone'])[:2]))"
    );
    boto3("reading the default subnets", &script, endpoint, &[])
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Creates the SNS topic `name` in the emulator at `endpoint`, with an SQS
/// queue of the same name subscribed to it (raw delivery: each message as
/// published), by boto3; returns the topic's ARN and the queue's URL.
#[track_caller]
pub fn topic_with_queue(endpoint: &str, name: &str) -> (String, String) {
    let script = format!(
        "import sys, boto3\n\
         sns = boto3.client('sns', {CLIENT})\n\
         sqs = boto3.client('sqs', {CLIENT})\n\
         topic = sns.create_topic(Name=sys.argv[2])['TopicArn']\n\
         url = sqs.create_queue(QueueName=sys.argv[2])['QueueUrl']\n\
         arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['QueueArn'])['Attributes']['QueueArn']\n\
         sns.subscribe(TopicArn=topic, Protocol='sqs', Endpoint=arn, Attributes={{'RawMessageDelivery': 'true'}})\n\
         print(topic, url)"
    );
    let out = boto3(
        &format!("creating topic {name}"),
        &script,
        endpoint,
        &[name],
    );
    let (topic, url) = out.split_once(' ').expect("a topic and a queue");
    (topic.to_owned(), url.to_owned())
}

/// Every message waiting in the SQS queue at `url` (emptied), oldest
/// first, by boto3.
#[track_caller]
pub fn drain_queue(endpoint: &str, url: &str) -> Vec<String> {
    let script = format!(
        "import sys, json, boto3\n\
         sqs = boto3.client('sqs', {CLIENT})\n\
         found = []\n\
         while True:\n\
         \x20   got = sqs.receive_message(QueueUrl=sys.argv[2], MaxNumberOfMessages=10).get('Messages', [])\n\
         \x20   if not got: break\n\
         \x20   for m in got:\n\
         \x20       found.append(m['Body'])\n\
         \x20       sqs.delete_message(QueueUrl=sys.argv[2], ReceiptHandle=m['ReceiptHandle'])\n\
         print(json.dumps(found))"
    );
    let out = boto3("reading the queue", &script, endpoint, &[url]);
    serde_json::from_str(&out).expect("a JSON list of messages")
}
