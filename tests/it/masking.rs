//! Secret values never reach the output (issue 22): text from outside
//! greenlight (a response, an HTTP body, a command's output) is masked with
//! the values the versions really hold, in every form a response carries
//! them, before it is cut, and only there: greenlight's own words stay.
//! Against the emulator, with text, JSON, the annotations and the job
//! summary all read.

use std::collections::BTreeMap;

use serde_json::json;

use crate::ci_summary::on_github;
use crate::env_values::{environment, terraform_sets};
use crate::harness::{FUNCTION, Project, ROLE, Run, SECRET, loopback};

/// Held by version 2 through a reference `test` does not resolve; with
/// what JSON escapes (`"`, `\`, `/`, beyond ASCII).
const TOKEN: &str = "tok\"en/ä\\9f3c-unique";
/// Held through `environment_keep`: Terraform set it, the config never names its value.
const KEPT: &str = "kept-by-terraform-4e1d";
/// A value under 4 characters, masked only as a whole token.
const PIN: &str = "123";
/// A value that is also a word greenlight uses.
const WORD: &str = "version";

/// The forms [`TOKEN`] and [`KEPT`] may take, in part or whole, none of
/// which may be printed.
const NEVER: [&str; 8] = [
    "tok\"en",
    "tok\\\"en",
    "\\u00e4\\\\9f3c",
    "ä\\\\9f3c",
    "9f3c-unique",
    "kept-by-terraform",
    "xkept-",
    "4e1d0",
];

/// Serves `/raw` (500, a JSON body echoing every value as serde writes
/// it), `/escaped` (500, [`TOKEN`] as PHP writes it: `\/`, `\u00e4`) and
/// `/cut` (500, [`KEPT`] across the 300th character).
fn server() -> String {
    loopback::serve(|path| {
        let body = match path {
            "/raw" => json!({
                "token": TOKEN, "tf": KEPT, "pin": PIN, "word": WORD, "tag": "v10", "n": 1234
            })
            .to_string(),
            "/escaped" => r#"{"t":"tok\"en\/\u00e4\\9f3c-unique"}"#.to_owned(),
            "/cut" => format!("{}{KEPT} and more", "x".repeat(295)),
            _ => "{}".to_owned(),
        };
        ("500 Internal Server Error".to_owned(), body.into_bytes())
    })
}

/// The default function, its environment from references and a kept
/// variable, with a smoke test per page of [`server`] and one command.
fn config(base: &str) -> String {
    let default = crate::harness::default_config();
    let (function, _) = default.split_once("[[smoke]]").expect("a smoke test");
    let function = function
        .replace(
            &format!("API_TOKEN = \"{SECRET}\""),
            r#"API_TOKEN = { env = "CI_TOKEN" }, PIN = { env = "CI_PIN" }, WORD = { env = "CI_WORD" }"#,
        )
        .replacen(
            "[function]\n",
            "[function]\nenvironment_keep = [\"TF_SECRET\"]\n",
            1,
        );
    let checks: String = ["raw", "escaped", "cut"]
        .iter()
        .map(|page| {
            format!("[[smoke]]\nname = \"{page}\"\nhttp = {{ url = \"{base}/{page}\" }}\n\n")
        })
        .collect();
    format!("{function}{checks}[[smoke]]\nname = \"tail\"\nrun = \"sh tail.sh\"\n")
}

/// `greenlight ARGS` with the CI secrets set, as a deploy job has them.
fn with_ci_secrets(p: &Project, args: &[&str]) -> Run {
    p.command(args)
        .env("CI_TOKEN", TOKEN)
        .env("CI_PIN", PIN)
        .env("CI_WORD", WORD)
        .output()
        .expect("run greenlight")
        .into()
}

#[track_caller]
fn assert_hidden(what: &str, text: &str) {
    for never in NEVER {
        assert!(!text.contains(never), "{what} shows {never:?}:\n{text}");
    }
}

#[test]
fn test_masks_the_values_the_version_holds_in_every_form_before_cutting_and_only_outside_text() {
    let p = Project::with_config(&config(&server()));
    // The command's output ends 597 characters after the value, so a cut
    // at 600 from the end would go through it.
    p.write(
        "tail.sh",
        &format!("printf 'start {KEPT}%0597d\\n' 0\nexit 1\n"),
    );
    with_ci_secrets(&p, &["deploy"]).success();
    // Terraform adds its variable on $LATEST; the next version keeps it.
    terraform_sets(&p, "$LATEST", &[("TF_SECRET", KEPT)]);
    p.change_code("v2");
    with_ci_secrets(&p, &["deploy"]).success();
    let held = environment(&p, FUNCTION, "2");
    assert_eq!(
        (held["API_TOKEN"].as_str(), held["TF_SECRET"].as_str()),
        (TOKEN, KEPT)
    );

    // `test` runs in a job of its own, without the CI secrets.
    let summary = p.join("summary.md");
    let run = on_github(&p, &summary, &["test"]).code(1);
    let page = std::fs::read_to_string(&summary).expect("the summary");
    for (what, text) in [
        ("stdout", &run.stdout),
        ("stderr", &run.stderr),
        ("the summary", &page),
    ] {
        assert_hidden(what, text);
    }
    let json = p.run(&["test", "--output", "json"]).code(1);
    assert_hidden("--output json", &json.stdout);
    let doc = json.json();
    let failures: Vec<&str> = doc["smoke"]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["failure"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(failures.len(), 4, "{doc}");
    // Short values and a common word are masked as whole tokens of the
    // response, and greenlight's own words stay as they are.
    assert!(
        failures[0].contains(r#""pin":"****""#)
            && failures[0].contains(r#""word":"****""#)
            && failures[0].contains(r#""tag":"v10""#)
            && failures[0].contains(r#""n":1234"#),
        "{}",
        failures[0]
    );
    assert!(
        failures[1].ends_with(r#"body was {"t":"****"}"#),
        "{}",
        failures[1]
    );
    assert!(
        failures[2].ends_with(&format!("body was {}**** …", "x".repeat(295))),
        "masked before the cut: {}",
        failures[2]
    );
    assert!(
        failures[3].starts_with("`sh tail.sh` exited 1: …") && failures[3].ends_with("0000"),
        "{}",
        failures[3]
    );
    let message = doc["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("smoke test `raw` failed against version 2: "),
        "{message}"
    );
    assert!(
        run.stderr
            .contains("error: smoke test `raw` failed against version 2: "),
        "{}",
        run.stderr
    );
    assert!(
        page.contains("| error | smoke test `raw` failed against version 2: "),
        "{page}"
    );
    assert_eq!(p.live_version(), "1", "`test` moves nothing");

    // `ship` learns the kept value from $LATEST as it reads.
    p.change_code("v3");
    let shipped = with_ci_secrets(&p, &["ship"]).code(1);
    assert_hidden("ship", &shipped.all_output());
    assert!(
        shipped.stderr.contains(r#""tf":"****""#),
        "{}",
        shipped.stderr
    );
    assert_eq!(environment(&p, FUNCTION, "3")["TF_SECRET"], KEPT);
    assert_eq!(p.live_version(), "1");
}

#[test]
fn a_fleet_masks_each_functions_output_with_every_functions_values() {
    const BILLING: &str = "billing-secret-77aa";
    let base = loopback::serve(|path| match path {
        "/billing" => (
            "500 Internal Server Error".to_owned(),
            format!("upstream said {BILLING}").into_bytes(),
        ),
        _ => ("200 OK".to_owned(), b"ok".to_vec()),
    });
    let entry = |name: &str, value: &str, url: &str| {
        format!(
            "[[functions]]\nname = \"{name}\"\nruntime = \"python3.12\"\nhandler = \"index.handler\"\nrole = \"{ROLE}\"\nenvironment = {{ KEY = \"{value}\" }}\nsmoke = [{{ name = \"upstream\", http = {{ url = \"{base}{url}\" }} }}]\n\n"
        )
    };
    let p = Project::with_config(&format!(
        "[package]\nsource = \"app\"\n\n{}{}",
        entry("orders", "orders-own-value-1", "/billing"),
        entry("billing", BILLING, "/ok"),
    ));
    let summary = p.join("summary.md");
    let run = on_github(&p, &summary, &["ship"]).code(1);
    let page = std::fs::read_to_string(&summary).expect("the summary");
    let json = p.run(&["test", "--output", "json"]).code(1);
    for text in [&run.stdout, &run.stderr, &page, &json.stdout] {
        assert!(!text.contains(BILLING), "{text}");
        assert!(text.contains("upstream said ****"), "{text}");
    }
    assert_eq!(
        p.alias_of("billing", "live").expect("billing's alias").0,
        "1"
    );
    assert_eq!(environment(&p, "billing", "1")["KEY"], BILLING);
}

#[test]
fn promote_masks_what_the_stable_version_holds() {
    const OLD: &str = "old-token-5c2e";
    let release = "[release]\nsteps = [10]\nbake = \"1h\"\n";
    let p = Project::with_config(&format!(
        "{}\n{release}",
        crate::harness::default_config().replace(SECRET, OLD)
    ));
    p.run(&["ship"]).success();
    // Version 2 takes its token from CI: `promote` never sees it, nor OLD.
    p.write(
        "greenlight.toml",
        &format!(
            "{}\n{release}",
            crate::harness::default_config()
                .replace(&format!("\"{}\"", SECRET), "{ env = \"CI_TOKEN\" }")
        ),
    );
    p.change_code("v2");
    let deployed: Run = p
        .command(&["deploy"])
        .env("CI_TOKEN", "new-token-91b0")
        .output()
        .expect("deploy")
        .into();
    deployed.success();
    p.run(&["release", "--version", "2", "--no-wait"]).success();
    assert_eq!(
        p.weights("live"),
        ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.1)]))
    );

    p.end_bake("live");
    // Through the alias the stable version answers, with its token.
    p.emulator
        .queue_invoke_results(&[json!({"errorMessage": format!("token {OLD} refused")})]);
    let promoted = p.run(&["promote"]).code(3);
    assert!(
        !promoted.all_output().contains(OLD),
        "{}",
        promoted.all_output()
    );
    assert!(
        promoted.all_output().contains("token **** refused"),
        "{}",
        promoted.all_output()
    );
    assert_eq!(p.weights("live"), ("1".to_owned(), BTreeMap::new()));
}
