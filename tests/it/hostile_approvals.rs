//! Hostile tests of release control (round 5): `greenlight approve` in
//! fleets released together, approvers whose names try to break or forge
//! the release record, races with `promote` and `rollback`, and what
//! `status` and `history` say while a release waits. Each test reads the
//! alias (weights and record) back from the emulator.

use std::collections::BTreeMap;

use crate::fleet::{SERVICE, each_function, together, together_in_two_steps};
use crate::harness::Project;

/// `function`'s alias `live`: version 1 with version 2 at `share`.
fn at(share: f64) -> (String, BTreeMap<String, f64>) {
    ("1".to_owned(), BTreeMap::from([("2".to_owned(), share)]))
}

/// `p`'s together service with `approval = [100]` added to its config.
fn with_approval(p: Project) -> Project {
    let config = std::fs::read_to_string(p.join("greenlight.toml")).expect("the config");
    p.write(
        "greenlight.toml",
        &config.replace("together = true", "together = true\napproval = [100]"),
    );
    p
}

/// The together service (api, worker, jobs; `steps = [50]`) with
/// `approval = [100]`, version 1 live, and new code for api and worker
/// only: jobs has nothing to release.
fn together_without_jobs() -> Project {
    let p = together("1");
    p.write(
        "jobs/index.py",
        "def handler(event, context):\n    return event\n",
    );
    with_approval(p)
}

#[test]
fn together_approve_moves_the_waiting_functions_when_one_has_nothing_in_progress() {
    let p = together_without_jobs();
    p.run(&["ship", "--no-wait"]).success();
    for function in ["api", "worker"] {
        assert_eq!(p.weights_of(function, "live"), at(0.5), "{function}");
        p.end_bake_of(function, "live");
    }
    let held = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(
        each_function(&held, "outcome")[..2],
        [("api", "held"), ("worker", "held")],
        "{held}"
    );
    let approved = p.run(&["approve", "--output", "json"]).code(1).json();
    assert_eq!(
        each_function(&approved, "outcome"),
        [
            ("api", "released"),
            ("worker", "released"),
            ("jobs", "nothing_in_progress")
        ],
        "{approved}"
    );
    for function in SERVICE {
        assert_eq!(
            p.weights_of(function, "live"),
            (
                if function == "jobs" { "1" } else { "2" }.to_owned(),
                BTreeMap::new()
            ),
            "{function}"
        );
    }
}

#[test]
fn together_approve_rolls_nothing_back_when_a_function_left_behind_needs_no_approval() {
    let p = with_approval(together_in_two_steps());
    p.run(&["ship", "--no-wait"]).success();
    for function in SERVICE {
        p.end_bake_of(function, "live");
    }
    // As if a crash came after api's and worker's moves to 50 % and
    // before jobs': jobs' next move (to 50 %) needs no approval.
    p.run(&["promote", "--only", "api", "--only", "worker"])
        .success();
    for function in ["api", "worker"] {
        assert_eq!(p.weights_of(function, "live"), at(0.5), "{function}");
        p.end_bake_of(function, "live");
    }
    let approved = p.run(&["approve", "--output", "json"]).code(1).json();
    let outcomes = each_function(&approved, "outcome");
    assert_eq!(
        outcomes,
        [
            ("api", "in_progress"),
            ("worker", "in_progress"),
            ("jobs", "failed")
        ],
        "{approved}"
    );
    for function in ["api", "worker"] {
        assert_eq!(p.weights_of(function, "live"), at(0.5), "{function}");
        let (_, record) = p.alias_of(function, "live").expect("alias");
        assert!(record.contains(" approved=1 "), "{function}: {record}");
    }
    assert_eq!(p.weights_of("jobs", "live"), at(0.1));
    // The next promote brings jobs level; api and worker wait for it.
    p.run(&["promote"]).success();
    for function in SERVICE {
        assert_eq!(p.weights_of(function, "live"), at(0.5), "{function}");
    }
}
