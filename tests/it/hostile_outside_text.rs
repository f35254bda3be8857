//! Outside text a hostile user can write, tried through the release build
//! against the emulator: an alarm's `StateReason` (anyone who may call
//! `SetAlarmState` writes it), a lone carriage return in a response, a
//! release record edited by hand. None of it may show a secret, start a
//! workflow command on GitHub Actions, or render Markdown on the run page;
//! and none of it changes what greenlight does to the alias.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::StateValue;

use crate::ci_summary::{assert_only_own_commands, on_github, workflow_commands};
use crate::harness::{FUNCTION, Project, Run, SECRET, default_config, loopback, sdk};
use crate::release_records::describe_live;

/// What a hostile text carries: a secret the function holds, a line that
/// would stop the runner reading commands, a forged annotation in the older
/// form, and after a lone carriage return (a line break for Markdown and
/// the runner alike) an image.
fn hostile() -> String {
    format!(
        "crossed by {SECRET}\n::stop-commands::pwned\n##[error]forged\r![i](https://e.example/i.png)"
    )
}

/// Asserts that none of `texts` shows the secret, and that the summary
/// `page` holds no carriage return and the image only in a code span.
#[track_caller]
fn assert_safe(texts: &[&str], page: &str) {
    for text in texts {
        assert!(!text.contains(SECRET), "a secret is shown:\n{text}");
    }
    assert!(
        !page.contains('\r'),
        "a carriage return in the summary:\n{page:?}"
    );
    assert!(
        page.contains("` ![i](https://e.example/i.png) `"),
        "the image outside a code span:\n{page}"
    );
}

#[test]
fn an_alarms_state_reason_is_masked_and_never_a_workflow_command() {
    let release = "[release]\nsteps = [10]\nbake = \"1h\"\nalarms = [\"orders-errors\"]\ninsufficient_data = \"ok\"\n";
    let p = Project::with_config(&format!("{}\n{release}", default_config()));
    p.create_alarm("orders-errors");
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    assert_eq!(
        p.weights("live"),
        ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.1)]))
    );
    p.block_on(
        sdk::cloudwatch(&p)
            .set_alarm_state()
            .alarm_name("orders-errors")
            .state_value(StateValue::Alarm)
            .state_reason(hostile())
            .send(),
    )
    .expect("set the alarm's state");
    p.end_bake("live");

    let summary = p.join("summary.md");
    let run = on_github(&p, &summary, &["promote"]).code(3);
    assert_only_own_commands(&run.all_output());
    assert!(
        run.stderr
            .contains("crossed by ****\n\\::stop-commands::pwned\n#\\#[error]forged"),
        "{}",
        run.stderr
    );
    let page = std::fs::read_to_string(&summary).expect("the summary");
    assert_safe(&[&run.stdout, &run.stderr, &page], &page);
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");

    // `status` shows the reason in its JSON, masked and escaped.
    let status = on_github(&p, &summary, &["status", "--output", "json"]).success();
    assert_eq!(
        workflow_commands(&status.all_output()),
        Vec::<String>::new()
    );
    assert!(!status.stdout.contains(SECRET), "{}", status.stdout);
    let reason = &status.json()["status"]["alarms"][0]["reason"];
    assert_eq!(
        reason.as_str(),
        Some(
            "crossed by ****\n::stop-commands::pwned\n#\\#[error]forged\r![i](https://e.example/i.png)"
        )
    );
}

#[test]
fn a_lone_carriage_return_in_a_response_never_ends_a_row_of_the_summary() {
    let base = loopback::serve(|_| {
        (
            "500 Internal Server Error".to_owned(),
            hostile().into_bytes(),
        )
    });
    let p = Project::with_config(&format!(
        "{}\n[[smoke]]\nname = \"hostile\"\nhttp = {{ url = \"{base}/\" }}\n",
        default_config()
    ));
    p.run(&["deploy"]).success();
    let summary = p.join("summary.md");
    let run = on_github(&p, &summary, &["test"]).code(1);
    assert_only_own_commands(&run.all_output());
    let page = std::fs::read_to_string(&summary).expect("the summary");
    assert_safe(&[&run.stdout, &run.stderr, &page], &page);
    // Each row of the table stays one line.
    let rows: Vec<&str> = page
        .lines()
        .filter(|l| l.starts_with("| smoke |"))
        .collect();
    assert_eq!(rows.len(), 1, "{page}");
    assert!(rows[0].ends_with(" |"), "{page}");
    assert_eq!(p.live_version(), "1");
}

/// Runs `args` on GitHub Actions and asserts that the only workflow
/// commands it printed are greenlight's own annotation of a failure.
#[track_caller]
fn only_own_commands(p: &Project, args: &[&str]) -> Run {
    let run = on_github(p, &p.join("summary.md"), args);
    match run.code {
        0 => assert_eq!(workflow_commands(&run.all_output()), Vec::<String>::new()),
        _ => assert_only_own_commands(&run.all_output()),
    }
    run
}

#[test]
fn a_release_record_edited_by_hand_never_puts_its_text_in_a_ci_log() {
    let p = Project::with_config(&format!(
        "{}\n[release]\nsteps = [10]\nbake = \"1h\"\n",
        default_config()
    ));
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    p.end_bake("live");
    p.run(&["promote"]).success();
    p.change_code("v3");
    p.run(&["ship", "--no-wait"]).success();
    let weights = p.weights("live");
    assert_eq!(
        weights,
        ("2".to_owned(), BTreeMap::from([("3".to_owned(), 0.1)]))
    );
    for description in [
        "greenlight: action=canary version=3 previous=2 step=0 steps=10 bake=3600s at=##[error]forged",
        "greenlight: action=canary version=3 previous=##[error]forged step=0 steps=10 bake=3600s at=2000-01-01T00:00:00Z",
    ] {
        describe_live(&p, description);
        for args in [&["status"][..], &["promote"], &["rollback", "--dry-run"]] {
            let run = only_own_commands(&p, args);
            assert!(
                !run.all_output().contains("forged"),
                "{args:?}: {}",
                run.all_output()
            );
        }
        assert_eq!(p.weights("live"), weights, "nothing moved");
    }
    describe_live(
        &p,
        "greenlight: action=release version=2 previous=##[error]forged at=2000-01-01T00:00:00Z",
    );
    p.aws(async |c| {
        c.update_alias()
            .function_name(FUNCTION)
            .name("live")
            .function_version("2")
            .routing_config(aws_sdk_lambda::types::AliasRoutingConfiguration::builder().build())
            .send()
            .await
    })
    .expect("end the split");
    for args in [&["status"][..], &["rollback"]] {
        let run = only_own_commands(&p, args);
        assert!(
            !run.all_output().contains("forged"),
            "{args:?}: {}",
            run.all_output()
        );
    }
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
}
