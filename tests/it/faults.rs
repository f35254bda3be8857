//! Faults between greenlight and AWS, injected by a proxy in front of the
//! emulator (`harness::fault_proxy`): random faults a ship must ride out,
//! persistent faults at each step that must end in a consistent state with
//! the right exit code, processes killed mid-call, and two releases racing
//! for one alias. After every case the faults are lifted and a plain `ship`
//! must converge with no manual clean-up.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use crate::harness::{Fault, FaultProxy, Project, Run, Upstream, default_config};

const DEADLINE: Duration = Duration::from_secs(60);

/// A canary with two alias moves (50 %, then 100 %), an alarm gate and a
/// smoke test that gets a few tries, with version 1 live.
fn project() -> Project {
    project_releasing("steps = [50]")
}

/// [`project`] with `steps` as the release's steps.
fn project_releasing(steps: &str) -> Project {
    let config = default_config().replace(
        "expect = { probe = \"ok\" }\n",
        "expect = { probe = \"ok\" }\ntimeout = \"4s\"\nretries = 2\nretry_delay = \"100ms\"\n",
    );
    let p = Project::with_config(&format!(
        "{config}\n[release]\n{steps}\nbake = \"1s\"\nalarms = [\"orders-errors\"]\n"
    ));
    p.create_alarm("orders-errors");
    p.run(&["ship"]).success();
    p
}

/// Runs greenlight through `proxy` with `attempts` tries per AWS call.
fn run(p: &Project, proxy: &FaultProxy, attempts: u32, args: &[&str]) -> Run {
    p.command_via(proxy, args)
        .env("AWS_MAX_ATTEMPTS", attempts.to_string())
        .output()
        .expect("run greenlight")
        .into()
}

/// The CodeSha256 of the code in the project folder now.
fn local_sha(p: &Project) -> String {
    let packaged = p.run(&["package", "--output", "json"]).success().json();
    packaged["package"]["code_sha256"]
        .as_str()
        .expect("code_sha256")
        .to_owned()
}

/// The CodeSha256 of the version `live` serves alone (no weights).
#[track_caller]
fn settled_sha(p: &Project) -> String {
    let (version, weights) = p.weights("live");
    assert_eq!(weights, BTreeMap::new(), "the alias has weights left");
    p.version_config(&version).code_sha256.unwrap_or_default()
}

/// The alias: its main version and its description (release record).
fn alias(p: &Project) -> (String, String) {
    p.alias("live").expect("alias live")
}

/// What a stopped run must have left of the alias.
#[derive(Debug, Clone, Copy)]
enum Left {
    /// Exactly the alias before it: the stable version alone, same record
    /// (exit 1, or killed before any alias write).
    Unchanged,
    /// The stable version alone again, recorded as a rollback (exit 3).
    RolledBack,
    /// The canary's 50 % on the newest version, a release in progress that
    /// `status` reads (exit 4, or killed after the first alias write).
    Split,
    /// The newest version alone, recorded as released (killed after the
    /// last alias write).
    Released,
}

impl Left {
    /// What a `ship` that stopped with `exit` leaves.
    fn after_exit(exit: i32) -> Left {
        match exit {
            1 => Left::Unchanged,
            3 => Left::RolledBack,
            4 => Left::Split,
            other => panic!("no expectation for exit {other}"),
        }
    }
}

/// The alias is as `left` says, given the alias `before` the run: never
/// a split greenlight cannot explain, nor a version it did not mean.
#[track_caller]
fn assert_left(p: &Project, left: Left, before: &(String, String)) {
    let (stable, record) = before;
    let newest = p.versions().last().cloned().expect("a version");
    let (version, weights) = p.weights("live");
    let (_, description) = alias(p);
    let starts = |prefix: String| {
        assert!(
            description.starts_with(&prefix),
            "{left:?}: {prefix:?} in {description:?}"
        );
    };
    match left {
        Left::Unchanged => {
            assert_eq!((&version, &weights), (stable, &BTreeMap::new()));
            assert_eq!(&description, record, "the alias was written");
        }
        Left::RolledBack => {
            assert_eq!((&version, &weights), (stable, &BTreeMap::new()));
            starts(format!("greenlight: action=rollback version={stable} "));
        }
        Left::Split => {
            assert_eq!(version, *stable);
            assert_eq!(weights, BTreeMap::from([(newest.clone(), 0.5)]));
            starts(format!(
                "greenlight: action=canary version={newest} previous={stable} "
            ));
            let status = p.run(&["status", "--output", "json"]).success().json();
            assert_eq!(status["status"]["in_progress"]["percent"], 50, "{status}");
        }
        Left::Released => {
            assert_eq!((version, weights), (newest.clone(), BTreeMap::new()));
            starts(format!(
                "greenlight: action=release version={newest} previous={stable} "
            ));
        }
    }
}

/// Lifts the faults and ships again: the new code must end up live alone.
#[track_caller]
fn converges(p: &Project, proxy: &FaultProxy) {
    proxy.clear();
    p.run(&["ship"]).success();
    assert_eq!(settled_sha(p), local_sha(p));
}

#[test]
fn a_ship_completes_with_30_percent_of_calls_faulted_at_random() {
    let p = project();
    let proxy = p.proxy();
    for seed in [7, 1_234, 98_765] {
        p.change_code(&format!("seed {seed}"));
        let before = proxy.faults();
        proxy.random(0.3, seed, &Fault::TRANSIENT);
        let shipped = run(&p, &proxy, 8, &["ship"]);
        proxy.clear();
        assert_eq!(
            shipped.code,
            0,
            "seed {seed}:\n{}\n{:?}",
            shipped.stderr,
            proxy.log()
        );
        assert_eq!(settled_sha(&p), local_sha(&p), "seed {seed}");
        let faulted = proxy.faults() - before;
        assert!(faulted >= 3, "seed {seed}: only {faulted} faults injected");
    }
    let kinds: std::collections::BTreeSet<String> = proxy
        .log()
        .iter()
        .filter_map(|s| s.fault.map(|f| format!("{f:?}")))
        .collect();
    assert_eq!(kinds.len(), Fault::TRANSIENT.len(), "{kinds:?}");
}

/// One persistent fault: calls of `op` after the first `skip` all fail.
struct Case {
    op: &'static str,
    skip: usize,
    /// What the step is, for messages.
    step: &'static str,
    /// The exit code `ship` must stop with.
    exit: i32,
}

const CASES: [Case; 12] = [
    Case {
        op: "GetFunctionConfiguration",
        skip: 0,
        step: "reading the function",
        exit: 1,
    },
    Case {
        op: "UpdateFunctionCode",
        skip: 0,
        step: "the upload",
        exit: 1,
    },
    Case {
        op: "GetFunctionConfiguration",
        skip: 1,
        step: "the wait for the update",
        exit: 1,
    },
    Case {
        op: "PublishVersion",
        skip: 0,
        step: "publishing",
        exit: 1,
    },
    Case {
        op: "Invoke",
        skip: 0,
        step: "the smoke test of the new version",
        exit: 1,
    },
    Case {
        op: "GetAlias",
        skip: 0,
        step: "reading the alias",
        exit: 1,
    },
    Case {
        op: "DescribeAlarms",
        skip: 0,
        step: "the alarm check before the deploy",
        exit: 1,
    },
    Case {
        op: "DescribeAlarms",
        skip: 1,
        step: "the alarm check before moving",
        exit: 1,
    },
    Case {
        op: "UpdateAlias",
        skip: 0,
        step: "the first alias write",
        exit: 1,
    },
    Case {
        op: "DescribeAlarms",
        skip: 2,
        step: "a gate check after the first move",
        exit: 3,
    },
    Case {
        op: "Invoke",
        skip: 1,
        step: "the smoke test through the alias",
        exit: 3,
    },
    Case {
        op: "UpdateAlias",
        skip: 1,
        step: "the move to 100 % and the rollback write",
        exit: 4,
    },
];

/// Every case with `fault`: the run stops with the case's exit code, the
/// alias is consistent, and lifting the fault lets `ship` converge.
fn every_step_with(fault: Fault) {
    let p = project();
    let proxy = p.proxy();
    for (i, case) in CASES.iter().enumerate() {
        p.change_code(&format!("{fault:?} {i}"));
        proxy.rule(case.op, proxy.calls(case.op) + case.skip, None, fault);
        let before = alias(&p);
        let stopped = run(&p, &proxy, 2, &["ship"]);
        let context = format!(
            "{fault:?} at {} ({} #{})",
            case.step,
            case.op,
            case.skip + 1
        );
        assert_eq!(stopped.code, case.exit, "{context}:\n{}", stopped.stderr);
        assert!(!stopped.all_output().contains("panicked"), "{context}");
        if case.exit == 4 {
            for needle in ["rollback failed", "greenlight rollback"] {
                assert!(
                    stopped.stderr.contains(needle),
                    "{context}:\n{}",
                    stopped.stderr
                );
            }
        }
        assert_left(&p, Left::after_exit(case.exit), &before);
        converges(&p, &proxy);
    }
}

#[test]
fn throttling_at_every_step_stops_cleanly() {
    every_step_with(Fault::Throttle);
}

#[test]
fn server_errors_at_every_step_stop_cleanly() {
    every_step_with(Fault::ServerError);
}

#[test]
fn unavailability_at_every_step_stops_cleanly() {
    every_step_with(Fault::Unavailable);
}

#[test]
fn dropped_connections_at_every_step_stop_cleanly() {
    every_step_with(Fault::Reset);
}

#[test]
fn hung_calls_at_every_step_time_out_and_stop_cleanly() {
    every_step_with(Fault::Hang);
}

#[test]
fn a_failed_rollback_write_exits_4_and_both_promote_and_rollback_resolve_it() {
    let p = project();
    let proxy = p.proxy();
    for (i, finish) in ["rollback", "promote"].into_iter().enumerate() {
        p.change_code(&format!("finish with {finish}"));
        // The gate check after the first move fails, and so does the
        // rollback write that follows it.
        let version = (i + 2).to_string();
        // (Its alarms are read before the deploy, before the first move,
        // then at each gate check.)
        proxy.rule(
            "DescribeAlarms",
            proxy.calls("DescribeAlarms") + 2,
            None,
            Fault::ServerError,
        );
        proxy.rule(
            "UpdateAlias",
            proxy.calls("UpdateAlias") + 1,
            None,
            Fault::ServerError,
        );
        let stopped = run(&p, &proxy, 2, &["ship"]);
        assert_eq!(stopped.code, 4, "{}", stopped.stderr);
        assert!(
            stopped.stderr.contains("rollback failed"),
            "{}",
            stopped.stderr
        );
        let split = p.weights("live");
        assert_eq!(
            split.1,
            BTreeMap::from([(version.clone(), 0.5)]),
            "{split:?}"
        );
        proxy.clear();
        p.end_bake("live");
        p.run(&[finish]).success();
        let expected = if finish == "rollback" {
            split.0
        } else {
            version
        };
        assert_eq!(p.weights("live"), (expected, BTreeMap::new()));
    }
}

#[test]
fn an_update_in_progress_conflict_is_waited_out() {
    let p = project();
    let proxy = p.proxy();
    p.change_code("conflict");
    proxy.rule("UpdateFunctionCode", 0, Some(2), Fault::Conflict);
    let shipped = run(&p, &proxy, 2, &["ship"]);
    assert_eq!(shipped.code, 0, "{}", shipped.stderr);
    assert_eq!(proxy.calls("UpdateFunctionCode"), 3);
    assert_eq!(settled_sha(&p), local_sha(&p));
}

/// Starts `ship` through `proxy` and SIGKILLs it in the middle of its
/// call of `op` after the next `skip`: once the emulator has applied that
/// call (its answer never comes).
fn ship_killed_at(p: &Project, proxy: &FaultProxy, op: &str, skip: usize) {
    ship_killed(p, proxy, op, skip, Fault::HangAfterForward);
}

/// [`ship_killed_at`], but killed while that call hangs in the proxy,
/// before it reaches the emulator (it never does).
fn ship_killed_before(p: &Project, proxy: &FaultProxy, op: &str, skip: usize) {
    ship_killed(p, proxy, op, skip, Fault::Hang);
}

fn ship_killed(p: &Project, proxy: &FaultProxy, op: &str, skip: usize, fault: Fault) {
    let at = proxy.calls(op) + skip;
    proxy.rule(op, at, None, fault);
    let mut child = p
        .command_via(proxy, &["ship"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    if fault == Fault::Hang {
        proxy.wait_for_calls(op, at + 1, DEADLINE);
    } else {
        proxy.wait_for_forwarded(op, at + 1, DEADLINE);
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert_eq!(
        proxy
            .log()
            .iter()
            .filter(|c| c.op == op)
            .nth(at)
            .map(|c| c.fault),
        Some(Some(fault)),
        "the call killed in was call {} of {op}",
        at + 1
    );
}

#[test]
fn sigkill_mid_call_at_each_step_then_ship_converges() {
    let p = project();
    let proxy = p.proxy();
    // The call reaches AWS, then its caller dies before the answer: the
    // alias holds what the writes applied so far made of it.
    let steps = [
        ("UpdateFunctionCode", 0, Left::Unchanged),
        ("GetFunctionConfiguration", 1, Left::Unchanged),
        ("PublishVersion", 0, Left::Unchanged),
        ("Invoke", 0, Left::Unchanged),
        ("UpdateAlias", 0, Left::Split),
        ("UpdateAlias", 1, Left::Released),
    ];
    for (i, (op, skip, left)) in steps.into_iter().enumerate() {
        p.change_code(&format!("killed at {op} {i}"));
        let before = alias(&p);
        ship_killed_at(&p, &proxy, op, skip);
        assert_left(&p, left, &before);
        converges(&p, &proxy);
    }
}

#[test]
fn sigkill_during_an_all_at_once_release_leaves_one_version_that_ship_or_rollback_converge() {
    let p = project_releasing("steps = []");
    let proxy = p.proxy();
    // Killed before its one alias write reaches AWS: the old version alone,
    // as it was; `ship` releases the new one.
    p.change_code("killed before the write");
    let before = alias(&p);
    ship_killed_before(&p, &proxy, "UpdateAlias", 0);
    assert_left(&p, Left::Unchanged, &before);
    converges(&p, &proxy);

    // Killed once the write is in: the new version alone, recorded with the
    // version before it, to which `rollback` returns.
    p.change_code("killed after the write");
    let before = alias(&p);
    ship_killed_at(&p, &proxy, "UpdateAlias", 0);
    assert_left(&p, Left::Released, &before);
    p.run(&["rollback"]).success();
    assert_left(&p, Left::RolledBack, &before);
    converges(&p, &proxy);
}

#[test]
fn s3_slow_down_on_the_package_upload_is_retried() {
    let p = Project::new();
    crate::package::use_a_bucket(&p, "");
    let proxy = p.proxy();
    // S3's 503 SlowDown, twice, on the PUT of the package.
    proxy.rule("S3PUT", 0, Some(2), Fault::Throttle);
    let shipped = run(&p, &proxy, 8, &["ship"]);
    assert_eq!(shipped.code, 0, "{}", shipped.stderr);
    let puts: Vec<(Option<Fault>, Upstream)> = proxy
        .log()
        .into_iter()
        .filter(|c| c.op == "S3PUT")
        .map(|c| (c.fault, c.upstream))
        .collect();
    assert_eq!(
        puts,
        [
            (Some(Fault::Throttle), Upstream::NotForwarded),
            (Some(Fault::Throttle), Upstream::NotForwarded),
            (None, Upstream::Answered(200)),
        ]
    );
    // The whole body came through on the third try: Lambda runs the zip.
    crate::package::assert_uploaded_once(&p, "");
    assert_eq!(p.live_version(), "1");
}

#[test]
fn of_two_releases_racing_for_the_alias_exactly_one_wins() {
    let p = project();
    let proxy = p.proxy();
    let mut versions = Vec::new();
    for marker in ["a", "b"] {
        p.change_code(marker);
        let deployed = p.run(&["deploy", "--output", "json"]).success().json();
        versions.push(
            deployed["deploy"]["version"]
                .as_str()
                .expect("version")
                .to_owned(),
        );
    }
    // Both read the alias, then their first writes meet at the barrier.
    proxy.barrier("UpdateAlias", 2);
    let children: Vec<_> = versions
        .iter()
        .map(|v| {
            p.command_via(&proxy, &["release", "--version", v, "--no-wait"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait").into())
        .collect();
    let mut codes: Vec<i32> = runs.iter().map(|r| r.code).collect();
    codes.sort_unstable();
    assert_eq!(codes, [0, 1], "{runs:#?}");
    let (winner, loser) = if runs[0].code == 0 { (0, 1) } else { (1, 0) };
    assert!(
        runs[loser]
            .stderr
            .contains("was changed by someone else meanwhile"),
        "{}",
        runs[loser].stderr
    );
    // One write each: the loser wrote nothing after its refused write.
    assert_eq!(proxy.calls("UpdateAlias"), 2);
    let (main, weights) = p.weights("live");
    assert_eq!(main, "1");
    assert_eq!(weights, BTreeMap::from([(versions[winner].clone(), 0.5)]));
}

#[test]
fn route53_throttling_is_ridden_out_and_a_failed_weight_restore_exits_4() {
    let p = Project::new();
    let zone = crate::dns::shipped(&p, "steps = [10]\nbake = \"1s\"");
    let proxy = p.proxy();
    p.change_code("v2");
    proxy.rule(
        "ChangeResourceRecordSets",
        0,
        Some(2),
        Fault::PriorRequestNotComplete,
    );
    proxy.rule("GetChange", 0, Some(2), Fault::Throttle);
    let shipped = run(&p, &proxy, 8, &["ship"]);
    assert_eq!(shipped.code, 0, "{}", shipped.stderr);
    crate::dns::assert_weights(&p, &zone, 0, 100);

    // The weight change after the first step fails for good: the restore
    // of the weights fails too, so exit 4 names the weights to set.
    p.change_code("v3");
    let after_first = proxy.calls("ChangeResourceRecordSets") + 1;
    proxy.rule(
        "ChangeResourceRecordSets",
        after_first,
        None,
        Fault::ServerError,
    );
    let stopped = run(&p, &proxy, 2, &["ship"]);
    assert_eq!(stopped.code, 4, "{}", stopped.stderr);
    assert!(
        stopped.stderr.contains("rollback failed"),
        "{}",
        stopped.stderr
    );
    crate::dns::assert_weights(&p, &zone, 10, 90);
    proxy.clear();
    p.run(&["rollback"]).success();
    crate::dns::assert_weights(&p, &zone, 0, 100);
}

#[test]
fn a_dns_release_killed_between_its_last_weights_and_its_record_can_be_rolled_back() {
    let p = Project::new();
    let zone = crate::dns::shipped(&p, "steps = [10]\nbake = \"1s\"");
    let proxy = p.proxy();
    p.change_code("v2");
    // The second weight change (to 100 %) reaches Route 53; then the
    // process dies before it records the finished release.
    ship_killed_at(&p, &proxy, "ChangeResourceRecordSets", 1);
    crate::dns::assert_weights(&p, &zone, 0, 100);
    let status = p.run(&["status"]).success();
    assert!(!status.stdout.contains("problem"), "{}", status.stdout);
    p.run(&["rollback"]).success();
    crate::dns::assert_weights(&p, &zone, 100, 0);
}
