//! `[[notify]]` endpoints a hostile or careless hand controls, tried
//! against the emulator and loopback servers: a URL kept in SSM that
//! `greenlight` would refuse in the config, a webhook that redirects the
//! notice elsewhere. Neither may get the notice (or the token in the URL)
//! anywhere but the URL configured, nor change the release: each test
//! reads the alias back.

use crate::harness::loopback::{recorder, serve_bodies};
use crate::harness::{Project, default_config, sdk};

/// The token in every webhook URL: it must never be printed.
const TOKEN: &str = "t0ken-hostile-notify";

/// A config that releases at once and tells `notify`.
fn config(notify: &str) -> String {
    format!("{}\n[release]\nsteps = []\n{notify}\n", default_config())
}

/// A URL read from SSM at run time is held to what the config is: plain
/// `http://` to another machine would send the token in clear, so the
/// entry is left out with a warning (no try made) and the release goes on.
#[test]
fn a_url_read_from_ssm_that_the_config_would_refuse_is_left_out() {
    let p = Project::with_config(&config("[[notify]]\nwebhook = { ssm = \"/ops/hook\" }\n"));
    sdk::put_parameter(&p, "/ops/hook", &format!("http://192.0.2.1/hooks/{TOKEN}"));
    p.run(&["ship"]).success();
    p.change_code("v2");
    let run = p.run(&["ship", "--output", "json"]).success();
    let doc = run.json();
    assert_eq!(doc["outcome"], "released", "{doc}");
    assert_eq!(p.live_version(), "2");
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
    p.run(&["ship"]).success();
    p.change_code("v2");
    let run = p.run(&["ship", "--output", "json"]).success();
    let doc = run.json();
    assert_eq!(doc["outcome"], "released", "{doc}");
    assert_eq!(p.live_version(), "2");
    let told = stolen.lock().expect("the requests").clone();
    assert!(told.is_empty(), "the redirect was followed: {told:?}");
    let warnings = doc["notify_warnings"].to_string();
    assert!(
        warnings.contains("was not told of released: it answered HTTP 307"),
        "{warnings}"
    );
    assert!(!run.all_output().contains(TOKEN), "{}", run.all_output());
}
