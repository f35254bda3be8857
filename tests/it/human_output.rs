//! The text people read, reviewed as snapshots (`tests/it/snapshots/`): the
//! main flows from a first ship to a rollback. Durations are the only thing
//! filtered out. To accept a deliberate change: `INSTA_UPDATE=always cargo
//! test human_output`, then review the diff of the `.snap` files.

use serde_json::json;

use crate::harness::Project;

/// Both streams of one run, as the terminal shows them (minus progress bars,
/// which are drawn only on a terminal).
fn screen(run: &crate::harness::Run) -> String {
    format!(
        "$ exit {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

fn check(name: &str, run: &crate::harness::Run) {
    insta::with_settings!({
        filters => vec![
            (r"\d+ ms\b", "[N] ms"),
            (r"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d{4})", "[TIME]"),
        ],
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(name, screen(run));
    });
}

#[test]
fn the_main_flows_read_well() {
    let p = Project::new();
    check("1_first_ship_creates_the_function", &p.run(&["ship"]));
    check("2_nothing_to_deploy", &p.run(&["deploy"]));

    p.change_code("v2");
    check("3_plan", &p.run(&["plan"]));
    check("4_ship_a_new_version", &p.run(&["ship"]));

    p.change_code("broken");
    p.emulator
        .queue_invoke_results(&[json!({"errorMessage": "boom", "errorType": "Exception"})]);
    check("5_smoke_test_fails_before_traffic_moves", &p.run(&["ship"]));

    p.change_code("flaky");
    p.emulator
        .queue_invoke_results(&[json!({"probe": "ok"}), json!({"probe": "degraded"})]);
    check(
        "6_check_through_the_alias_fails_and_rolls_back",
        &p.run(&["ship"]),
    );

    check("7_status", &p.run(&["status"]));
    check("8_rollback_again_is_a_no_op", &p.run(&["rollback"]));
    check("9_promote_with_nothing_in_progress", &p.run(&["promote"]));
}
