//! An approval given while `ship` bakes a step: when the bake is over, the
//! waiting ship finds it in the release record and moves on at once,
//! rather than stopping "waiting for approval" (alias and `[dns]`
//! releases). A smoke command holds each process at its first gate check
//! after the move until the test lets it go, so the order of the two
//! processes is certain however slow the machine. Each test reads the
//! split and the record back.

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use crate::harness::{Project, Run, default_config, spawned};

/// A smoke test that, for a process whose `HOLD_AT` names a path, holds
/// the first gate check through the alias (not the candidate version)
/// until `$HOLD_AT.go` exists, writing `$HOLD_AT.held` meanwhile.
const GATE: &str = r#"[[smoke]]
name = "gate"
run = "test -z \"$HOLD_AT\" || test \"$GREENLIGHT_QUALIFIER\" != \"$GREENLIGHT_ALIAS\" || test -e \"$HOLD_AT.go\" || { touch \"$HOLD_AT.held\"; while ! test -e \"$HOLD_AT.go\"; do sleep 0.05; done; }"
timeout = "10m"
"#;

/// How long a test waits for a process to reach its gate.
const DEADLINE: Duration = Duration::from_secs(120);

/// `config` with the [`GATE`] smoke test before its `[release]` table.
fn gated(config: &str) -> String {
    config.replacen("\n[release]\n", &format!("\n{GATE}\n[release]\n"), 1)
}

/// `command` (as approver `alice` when approving) held at its gate under
/// `at` ([`GATE`]), started; returns once it is held there.
fn held_at(p: &Project, mut command: Command, at: &Path) -> Child {
    command
        .env("HOLD_AT", at)
        .env_remove("GITHUB_ACTOR")
        .env("USER", "alice");
    let child = spawned(command);
    let held = at.with_extension("held");
    p.wait_for("the gate check", DEADLINE, || held.exists());
    child
}

/// Lets the process held under `at` go, and waits for its end.
fn let_go(child: Child, at: &Path) -> Run {
    std::fs::write(at.with_extension("go"), "").expect("write the go file");
    child.wait_with_output().expect("wait").into()
}

/// Ships version 2 with `ship --output json` held at its first gate check
/// after the move to 10 %, runs `approve` (held after writing its
/// approval) meanwhile, then lets the ship go and then the approve;
/// `moved` asserts the split at 10 % and `record` reads the release record.
/// Returns how the ship and the approve ended.
fn approved_during_the_bake(
    p: &Project,
    moved: impl Fn(),
    record: impl Fn() -> String,
) -> (Run, Run) {
    p.change_code("v2");
    let (ship_at, approve_at) = (p.join("ship"), p.join("approve"));
    let ship = held_at(p, p.command(&["ship", "--output", "json"]), &ship_at);
    moved();
    let approve = held_at(p, p.command(&["approve"]), &approve_at);
    let approved = record();
    assert!(approved.contains(" approved=0 "), "{approved}");
    assert!(approved.contains(" by=alice,"), "{approved}");
    moved();
    let shipped = let_go(ship, &ship_at);
    let approve = let_go(approve, &approve_at);
    (shipped, approve)
}

/// The ship moved on at the approval and finished; the approve, whose own
/// move came second, stopped at the change (`conflict`, as the router says
/// it) without writing.
fn assert_ship_moved_on(shipped: &Run, approve: &Run, conflict: &str) {
    assert_eq!(shipped.code, 0, "{}", shipped.all_output());
    let report = shipped.json();
    assert_eq!(report["outcome"], "released", "{report}");
    // The ship made both moves itself.
    assert_eq!(report["release"]["moves"], serde_json::json!([10, 100]));
    assert_eq!(approve.code, 1, "{}", approve.all_output());
    assert!(approve.stderr.contains(conflict), "{}", approve.stderr);
}

/// Green's alias serves version 2 with the record of its release.
#[track_caller]
fn assert_green_released(p: &Project) {
    let (version, record) = p.alias("green").expect("green alias");
    assert_eq!(version, "2");
    assert!(
        record.starts_with("greenlight: action=release version=2 previous=1"),
        "{record}"
    );
}

#[test]
fn a_waiting_ship_moves_on_at_an_approval_given_during_its_bake() {
    let release = "steps = [10]\nbake = \"1s\"\napproval = [100]";
    let p = Project::with_config(&gated(&format!(
        "{}\n[release]\n{release}\n",
        default_config()
    )));
    p.run(&["ship"]).success();
    let at_ten = ("1".to_owned(), [("2".to_owned(), 0.1)].into());
    let (shipped, approve) = approved_during_the_bake(
        &p,
        || assert_eq!(p.weights("live"), at_ten),
        || p.alias("live").expect("alias").1,
    );
    assert_ship_moved_on(&shipped, &approve, "was changed by someone else meanwhile");
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}

#[test]
fn a_waiting_dns_ship_moves_on_at_an_approval_given_during_its_bake() {
    let p = Project::new();
    let release = "steps = [10]\nbake = \"1s\"\napproval = [100]";
    let zone = crate::dns::shipped(&p, release);
    p.write(
        "greenlight.toml",
        &gated(&crate::dns::dns_config(&zone, release)),
    );
    let (shipped, approve) = approved_during_the_bake(
        &p,
        || crate::dns::assert_weights(&p, &zone, 90, 10),
        || p.alias("green").expect("green alias").1,
    );
    assert_ship_moved_on(&shipped, &approve, "were changed by someone else meanwhile");
    crate::dns::assert_weights(&p, &zone, 0, 100);
    assert_green_released(&p);
}

#[test]
fn a_waiting_ship_behind_a_load_balancer_moves_on_at_an_approval_given_during_its_bake() {
    let release = "steps = [10]\nbake = \"1s\"\napproval = [100]";
    let (p, alb) = crate::alb::behind_a_load_balancer([100, 0], release);
    let config = std::fs::read_to_string(p.join("greenlight.toml")).expect("the config");
    p.write("greenlight.toml", &gated(&config));
    let (shipped, approve) = approved_during_the_bake(
        &p,
        || crate::alb::assert_weights(&p, &alb, 90, 10),
        || p.alias("green").expect("green alias").1,
    );
    assert_ship_moved_on(
        &shipped,
        &approve,
        "weights were changed outside greenlight",
    );
    crate::alb::assert_weights(&p, &alb, 0, 100);
    assert_green_released(&p);
}
