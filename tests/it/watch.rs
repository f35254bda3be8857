//! The watcher (README "Scheduled canaries without a runner"): release
//! snapshots in S3 kept in step with the release on the emulator.

use std::collections::BTreeMap;

use crate::harness::emulator::REGION;
use crate::harness::{FUNCTION, Project, SECRET, default_config};

/// The bucket the tests' `[watch]` names.
pub const BUCKET: &str = "ops-watch";

/// The snapshot key of the test function's release.
pub fn snapshot_key() -> String {
    format!("greenlight/{REGION}/{FUNCTION}/live")
}

/// A project with a canary `[release]`, `[watch]` on [`BUCKET`], version 1
/// live and new code; `extra` goes into `[release]`.
pub fn watched_project(extra: &str) -> Project {
    let p = Project::with_config(&format!(
        "{}\n[release]\nsteps = [10, 50]\nbake = \"1h\"\n{extra}\n[watch]\nbucket = \"{BUCKET}\"\n",
        default_config()
    ));
    p.create_bucket(BUCKET);
    p.run(&["ship"]).success();
    p.change_code("v2");
    p
}

fn share(version: &str, share: f64) -> BTreeMap<String, f64> {
    BTreeMap::from([(version.to_owned(), share)])
}

#[test]
fn ship_no_wait_writes_a_snapshot_without_secrets_and_the_last_promote_deletes_it() {
    let p = watched_project("");
    assert_eq!(
        p.s3_keys(BUCKET),
        Vec::<String>::new(),
        "a finished ship leaves none"
    );
    let started = p
        .run(&["ship", "--no-wait", "--output", "json"])
        .success()
        .json();
    assert_eq!(started["outcome"], "in_progress");
    assert_eq!(
        started["snapshot"]["location"],
        format!("s3://{BUCKET}/{}", snapshot_key())
    );
    assert_eq!(started["snapshot"]["action"], "written");
    let snapshot = p.s3_text(BUCKET, &snapshot_key()).expect("the snapshot");
    assert!(!snapshot.contains(SECRET), "{snapshot}");
    assert!(!snapshot.contains("API_TOKEN"), "{snapshot}");
    assert!(!snapshot.contains("LOG_LEVEL"), "{snapshot}");
    assert!(!snapshot.contains("[package]"), "{snapshot}");
    assert!(
        snapshot.contains(&format!("region = \"{REGION}\"")),
        "{snapshot}"
    );
    assert!(snapshot.contains("steps = [10, 50]"), "{snapshot}");

    // A promote that leaves the release in progress keeps it.
    p.end_bake("live");
    p.run(&["promote"]).success();
    assert_eq!(p.weights("live"), ("1".to_owned(), share("2", 0.5)));
    assert!(p.s3_text(BUCKET, &snapshot_key()).is_some());

    p.end_bake("live");
    let last = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(last["outcome"], "released");
    assert_eq!(last["snapshot"]["action"], "deleted");
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
    assert_eq!(p.s3_keys(BUCKET), Vec::<String>::new());
}

#[test]
fn rollback_deletes_the_snapshot() {
    let p = watched_project("");
    p.run(&["ship", "--no-wait"]).success();
    assert_eq!(p.s3_keys(BUCKET), [snapshot_key()]);
    p.run(&["rollback"]).success();
    assert_eq!(p.weights("live"), ("1".to_owned(), BTreeMap::new()));
    assert_eq!(p.s3_keys(BUCKET), Vec::<String>::new());
}

#[test]
fn a_snapshot_that_cannot_be_written_is_reported_beside_the_release() {
    // No bucket: the release still starts, and the report says the
    // watcher has nothing to go on.
    let q = Project::with_config(&format!(
        "{}\n[release]\nsteps = [10]\nbake = \"1h\"\n[watch]\nbucket = \"missing-bucket\"\n",
        default_config()
    ));
    q.run(&["ship"]).success();
    q.change_code("v2");
    let started = q
        .run(&["ship", "--no-wait", "--output", "json"])
        .success()
        .json();
    assert_eq!(started["outcome"], "in_progress");
    assert_eq!(started["snapshot"]["action"], "written");
    assert!(
        started["snapshot"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("missing-bucket")),
        "{started}"
    );
    assert_eq!(q.weights("live"), ("1".to_owned(), share("2", 0.1)));
}
