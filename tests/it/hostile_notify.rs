//! `[[notify]]` endpoints a hostile or careless hand controls, tried
//! against the emulator and loopback servers: a URL kept in SSM that
//! `greenlight` would refuse in the config, a webhook that redirects the
//! notice elsewhere; an alarm reason written for Slack to render; and two
//! `rollback` or `promote` runs at once. None may get the
//! notice (or the token in the URL) anywhere but the URL configured, tell
//! an event twice or one that did not happen, nor change the release:
//! each test reads the alias back.

use std::time::Duration;

use crate::harness::loopback::{Received, recorder, serve_bodies};
use crate::harness::{Project, Run, default_config, sdk, spawned};

/// The token in every webhook URL: it must never be printed.
const TOKEN: &str = "t0ken-hostile-notify";

/// A config that releases at once and tells `notify`.
fn config(notify: &str) -> String {
    format!("{}\n[release]\nsteps = []\n{notify}\n", default_config())
}

/// The `event` of each notice `received` got, oldest first.
pub(crate) fn events(received: &Received) -> Vec<String> {
    received
        .lock()
        .expect("the requests")
        .iter()
        .map(|(_, body)| {
            let notice: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
            notice["event"].as_str().expect("event").to_owned()
        })
        .collect()
}

/// Ships version 1, then version 2 (`--output json`), which must be
/// released; the second run.
fn release_two(p: &Project) -> Run {
    p.run(&["ship"]).success();
    p.change_code("v2");
    let run = p.run(&["ship", "--output", "json"]).success();
    assert_eq!(run.json()["outcome"], "released", "{}", run.stdout);
    assert_eq!(p.live_version(), "2");
    run
}

/// A project releasing in `steps` with the alarm `orders-errors` as a
/// gate, telling `notify`: version 2 shipped to the first step, the alarm
/// OK.
fn alarmed_canary(steps: &str, notify: &str) -> Project {
    let p = Project::with_config(&format!(
        "{}\n[release]\nsteps = {steps}\nbake = \"1h\"\nalarms = [\"orders-errors\"]\n{notify}\n",
        default_config()
    ));
    p.create_alarm("orders-errors");
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    p
}

/// A URL read from SSM at run time is held to what the config is: plain
/// `http://` to another machine would send the token in clear, so the
/// entry is left out with a warning (no try made) and the release goes on.
#[test]
fn a_url_read_from_ssm_that_the_config_would_refuse_is_left_out() {
    let p = Project::with_config(&config("[[notify]]\nwebhook = { ssm = \"/ops/hook\" }\n"));
    sdk::put_parameter(&p, "/ops/hook", &format!("http://192.0.2.1/hooks/{TOKEN}"));
    let run = release_two(&p);
    let doc = run.json();
    let warnings = doc["notify_warnings"].to_string();
    assert!(
        warnings.contains(
            "notify[0] will not be told: the URL read for it, http://192.0.2.1/****: plain http"
        ),
        "{warnings}"
    );
    assert!(
        !warnings.contains("was not told"),
        "no try made: {warnings}"
    );
    assert!(!run.all_output().contains(TOKEN), "{}", run.all_output());
}

/// A webhook that answers with a redirect is not followed: the notice is
/// posted only where the config says (a redirect may lead to another host,
/// or to plain `http://`). The answer is a failure like any other non-2xx.
#[test]
fn a_webhook_that_redirects_is_not_followed() {
    let (elsewhere, stolen) = recorder("200 OK");
    // The loopback server writes the status line as given: the redirect's
    // `location` header rides on it. `localhost` is another host than the
    // webhook's 127.0.0.1.
    let port = elsewhere.rsplit(':').next().expect("a port").to_owned();
    let location = format!("307 Temporary Redirect\r\nlocation: http://localhost:{port}/stolen");
    let hook = serve_bodies(move |_, _| (location.clone(), b"moved".to_vec()));
    let p = Project::with_config(&config(&format!(
        "[[notify]]\nwebhook = \"{hook}/hooks/{TOKEN}\"\n"
    )));
    let run = release_two(&p);
    let doc = run.json();
    let told = stolen.lock().expect("the requests").clone();
    assert!(told.is_empty(), "the redirect was followed: {told:?}");
    let warnings = doc["notify_warnings"].to_string();
    assert!(
        warnings.contains("was not told of released: it answered HTTP 307"),
        "{warnings}"
    );
    assert!(!run.all_output().contains(TOKEN), "{}", run.all_output());
}

/// Two `rollback` runs at once: the one whose write lands second finds the
/// alias moved meanwhile, and moved by the other to where it was going. It
/// reports the rollback already made (exit 0), and tells nothing: no
/// `rollback_failed` ("a person must act") for a rollback that was made,
/// and `rolled_back` once, by the run that made it.
#[test]
fn two_rollbacks_at_once_tell_rolled_back_once_and_nothing_failed() {
    let (hook, webhook) = recorder("200 OK");
    let p = Project::with_config(&config(&format!(
        "[[notify]]\nwebhook = \"{hook}/hooks/{TOKEN}\"\n"
    )));
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.run(&["ship"]).success();
    assert_eq!(p.live_version(), "2");
    let proxy = p.proxy();
    proxy.hold("UpdateAlias", &[1]);
    let late = spawned(p.command_via(&proxy, &["rollback", "--output", "json"]));
    // The late run has read the alias and is about to write: the other
    // rolls back in full meanwhile.
    proxy.look_before_each("UpdateAlias", &[1], Duration::from_secs(90), |_| {
        p.run(&["rollback"]).success();
    });
    let out = late.wait_with_output().expect("the late rollback");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(doc["rollback"]["already_rolled_back"], true, "{doc}");
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
    let told = events(&webhook);
    assert_eq!(told, ["released", "rolled_back"]);
}

/// Two `promote` runs at once find the same alarm in ALARM: the one whose
/// restore lands second finds the release rolled back by the other. It
/// reports the rollback (exit 3), not that a person must act (exit 4), and
/// tells nothing: `rolled_back` once, by the run that made it.
#[test]
fn two_promotes_rolling_back_at_once_tell_nothing_failed() {
    let (hook, webhook) = recorder("200 OK");
    let p = alarmed_canary(
        "[10, 50]",
        &format!("[[notify]]\nwebhook = \"{hook}/hooks/{TOKEN}\""),
    );
    p.set_alarm(
        "orders-errors",
        aws_sdk_cloudwatch::types::StateValue::Alarm,
    );
    let proxy = p.proxy();
    proxy.hold("UpdateAlias", &[1]);
    let late = spawned(p.command_via(&proxy, &["promote", "--output", "json"]));
    proxy.look_before_each("UpdateAlias", &[1], Duration::from_secs(90), |_| {
        p.run(&["promote"]).code(3);
    });
    let out = late.wait_with_output().expect("the late promote");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
    let told = events(&webhook);
    assert_eq!(
        out.status.code(),
        Some(3),
        "rolled back: {stdout}\n{stderr}"
    );
    assert_eq!(told, ["started", "rolled_back"], "{stdout}\n{stderr}");
}

/// Outside text in a Slack notice (here an alarm's `StateReason`, which
/// anyone allowed `SetAlarmState` writes) is plain text there: Slack's
/// control characters escaped, so it can neither mention the channel nor
/// show a link under words of its choosing; and it reaches Slack as it is
/// shown, without greenlight's internal marks around it.
#[test]
fn an_alarm_reason_cannot_ping_a_slack_channel_or_hide_a_link() {
    let (slack_base, slack) = recorder("200 OK");
    let p = alarmed_canary(
        "[10]",
        &format!(
            "[[notify]]\nslack = \"{slack_base}/services/{TOKEN}\"\nevents = [\"rolled_back\"]"
        ),
    );
    p.block_on(
        sdk::cloudwatch(&p)
            .set_alarm_state()
            .alarm_name("orders-errors")
            .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
            .state_reason("<!channel> <https://evil.example/login|approve the release> & more")
            .send(),
    )
    .expect("set the alarm's state");
    p.end_bake("live");
    p.run(&["promote"]).code(3);
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
    let told = slack.lock().expect("the requests").clone();
    assert_eq!(told.len(), 1, "{told:?}");
    let notice: serde_json::Value = serde_json::from_str(&told[0].1).expect("a JSON body");
    let text = notice["text"].as_str().expect("a Slack text");
    assert!(
        text.contains(
            "&lt;!channel&gt; &lt;https://evil.example/login|approve the release&gt; &amp; more"
        ),
        "{text}"
    );
    assert!(!text.contains('<') && !text.contains('>'), "{text}");
    // greenlight's marks around outside text stay inside greenlight.
    let marks = |t: &str| t.chars().any(|c| ('\u{FDD0}'..='\u{FDEF}').contains(&c));
    assert!(!marks(&told[0].1), "{:?}", told[0].1);
}
