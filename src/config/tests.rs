//! The configuration as a whole: every table read and checked from a file's text.

use super::function::is_role_arn;
use super::*;
use proptest::prelude::*;
use std::time::Duration;

fn parse(text: &str) -> Result<Config> {
    Config::parse(Path::new("dir/greenlight.toml"), text)
}

fn message(text: &str) -> String {
    parse(text).expect_err("config should be rejected").message
}

/// A `[release]` table, after a blank line, of `steps` baking `bake`.
pub(super) fn release_table(steps: std::ops::RangeInclusive<u8>, bake: &str) -> String {
    let steps: Vec<String> = steps.map(|s| s.to_string()).collect();
    format!(
        "\n[release]\nsteps = [{}]\nbake = \"{bake}\"\n",
        steps.join(", ")
    )
}

#[test]
fn a_plan_whose_release_record_could_outgrow_256_characters_is_refused() {
    // As the README says: 24 two-digit steps baking 5m, steps 1 to 27
    // baking 1h; one more is refused at the line of `steps`.
    let with = |steps, bake: &str| {
        format!(
            "[function]\nname = \"orders\"\n{}",
            release_table(steps, bake)
        )
    };
    // With `approval` the record keeps a digit per move: 15 two-digit
    // steps baking 5m, steps 1 to 17 baking 1h.
    let plain = [(10..=33, "5m"), (1..=27, "1h")];
    let approved = [(10..=24, "5m"), (1..=17, "1h")];
    for (approval, and, cases) in [
        ("", "", plain),
        ("approval = [100]\n", " and their approvals", approved),
    ] {
        for (fits, bake) in cases {
            let table = |steps| format!("{}{approval}", with(steps, bake));
            parse(&table(fits.clone())).expect("fits");
            let why = message(&table(*fits.start()..=fits.end() + 1));
            assert!(
                why.starts_with("dir/greenlight.toml:5:9: `release.steps` = ["),
                "{why}"
            );
            assert!(
                why.contains(&format!(
                    " characters with these {} steps{and} (7-digit",
                    fits.len() + 1
                )),
                "{why}"
            );
            assert!(
                why.ends_with(&format!("list fewer steps (the first {} fit)", fits.len())),
                "{why}"
            );
        }
    }
    // A preset is named likewise: Linear1PercentEvery… has 99 steps.
    let why = message(
        "[function]\nname = \"orders\"\n\n[release]\npreset = \"Linear1PercentEvery1Minute\"\n",
    );
    assert!(
        why.starts_with(
            "dir/greenlight.toml:5:10: `release.preset` = \"Linear1PercentEvery1Minute\""
        ),
        "{why}"
    );
}

#[test]
fn full_example_parses_with_defaults() {
    let cfg = parse(
        r#"
[function]
name = "orders"
runtime = "python3.12"
handler = "index.handler"
role = "arn:aws:iam::123456789012:role/orders"
memory = 256
timeout = 10
environment = { LOG_LEVEL = "info" }

[package]
source = "app"

[[smoke]]
name = "echo"
payload = { probe = "ok" }
expect = { probe = "ok" }
"#,
    )
    .expect("valid config");
    assert_eq!(cfg.function.alias, "live");
    assert_eq!(cfg.function.settings.memory, Some(256));
    assert_eq!(cfg.package.expect("package").source, Path::new("dir/app"));
    assert_eq!(cfg.smoke[0].timeout, DEFAULT_SMOKE_TIMEOUT);
    assert!(
        matches!(&cfg.smoke[0].check, Check::Invoke { expect: Some(e), .. } if *e == serde_json::json!({"probe": "ok"})),
        "{:?}",
        cfg.smoke[0].check
    );
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let msg = message("[function]\nname = \"a\"\nmemroy = 5\n");
    assert!(
        msg.starts_with("dir/greenlight.toml:3:1: unknown field `memroy`"),
        "{msg}"
    );
    assert!(msg.contains("function.memroy"), "{msg}");
}

#[test]
fn wrong_type_names_the_key() {
    let msg = message("[function]\nname = \"a\"\nmemory = \"big\"\n");
    assert!(msg.contains("function.memory"), "{msg}");
}

#[test]
fn values_lambda_would_reject_are_refused() {
    let cases = [
        ("name = \"bad name\"", "function.name"),
        ("name = \"a\"\nalias = \"$LATEST\"", "function.alias"),
        ("name = \"a\"\nalias = \"42\"", "function.alias"),
        ("name = \"a\"\nmemory = 64", "function.memory"),
        ("name = \"a\"\ntimeout = 901", "function.timeout"),
        ("name = \"a\"\nrole = \"orders\"", "function.role"),
        (
            "name = \"a\"\nenvironment = { \"1X\" = \"v\" }",
            "function.environment.1X",
        ),
    ];
    for (body, key) in cases {
        let msg = message(&format!("[function]\n{body}\n"));
        assert!(msg.contains(&format!("`{key}`")), "{body}: {msg}");
    }
}

#[test]
fn smoke_names_must_be_unique_and_timeouts_durations() {
    let base = "[function]\nname = \"a\"\n";
    let dup = message(&format!(
        "{base}[[smoke]]\nname = \"x\"\n[[smoke]]\nname = \"x\"\n"
    ));
    assert!(dup.contains("smoke[1].name"), "{dup}");
    let bad = message(&format!(
        "{base}[[smoke]]\nname = \"x\"\ntimeout = \"soon\"\n"
    ));
    assert!(bad.contains("smoke[0].timeout"), "{bad}");
}

#[test]
fn smoke_tests_are_one_kind_each_with_checked_http_fields() {
    let base = "[function]\nname = \"a\"\n[[smoke]]\nname = \"x\"\n";
    let cfg = parse(&format!(
        "{base}http = {{ url = \"https://example.com/health?v={{version}}\", method = \"post\", status = 204, max_latency = \"500ms\" }}\nretries = 2\nretry_delay = \"1s\"\n"
    ))
    .expect("http test");
    let Check::Http(http) = &cfg.smoke[0].check else {
        panic!("an http test: {:?}", cfg.smoke[0].check);
    };
    assert_eq!((http.method.as_str(), http.status), ("POST", 204));
    assert_eq!(http.max_latency, Some(Duration::from_millis(500)));
    assert_eq!(cfg.smoke[0].retries, 2);
    let cases = [
        ("http = { url = \"ftp://x\" }", "smoke[0].http.url"),
        (
            "http = { url = \"http://x\", status = 700 }",
            "smoke[0].http.status",
        ),
        (
            "http = { url = \"http://x\", method = \"BREW\" }",
            "smoke[0].http.method",
        ),
        (
            "http = { url = \"http://x\", max_latency = \"fast\" }",
            "smoke[0].http.max_latency",
        ),
        (
            "http = { url = \"http://x\" }\nrun = \"true\"",
            "smoke[0].run",
        ),
        ("run = \"true\"\npayload = {}", "smoke[0].payload"),
        ("run = \" \"", "smoke[0].run"),
        ("retry_delay = \"0s\"", "smoke[0].retry_delay"),
    ];
    for (body, key) in cases {
        let msg = message(&format!("{base}{body}\n"));
        assert!(msg.contains(&format!("`{key}`")), "{body}: {msg}");
    }
}

#[test]
fn snap_start_and_ready_timeout_are_checked() {
    let cfg = parse("[function]\nname = \"a\"\nsnap_start = true\nready_timeout = \"20m\"\n")
        .expect("valid");
    assert_eq!(cfg.function.settings.extra.snap_start, Some(true));
    assert_eq!(cfg.function.ready_timeout, Duration::from_secs(20 * 60));
    let default = parse("[function]\nname = \"a\"\n").expect("valid");
    assert_eq!(default.function.settings.extra.snap_start, None);
    assert_eq!(default.function.ready_timeout, DEFAULT_READY_TIMEOUT);
    let refused = [
        ("snap_start = \"yes\"\n", "function.snap_start"),
        (
            "ready_timeout = \"2h\"\n",
            "`function.ready_timeout` = \"2h\": a duration from 1s to 1h",
        ),
        ("ready_timeout = \"0s\"\n", "`function.ready_timeout`"),
        (
            "snap_start = true\n[package]\nimage_uri = \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1\"\n",
            "`function.snap_start` = true: Lambda has no SnapStart for container images",
        ),
    ];
    for (body, wanted) in refused {
        let msg = message(&format!("[function]\nname = \"a\"\n{body}"));
        assert!(msg.contains(wanted), "{body}: {msg}");
    }
}

#[test]
fn durations_and_retries_are_bounded() {
    let function = "[function]\nname = \"a\"\n";
    let smoke = format!("{function}[[smoke]]\nname = \"x\"\n");
    let release = format!("{function}[release]\n");
    let accepted = [
        format!("{release}steps = [10]\nbake = \"14days\"\nmax_hold = \"14days\"\n"),
        format!("{release}preset = \"Canary10Percent20160Minutes\"\n"),
        format!("{release}max_hold = \"0s\"\n"),
        format!("{smoke}timeout = \"1h\"\nretry_delay = \"1h\"\nretries = 10\n"),
        format!("{smoke}http = {{ url = \"http://x\", max_latency = \"1h\" }}\n"),
        format!("{release}metrics = [{{ name = \"p99-duration\", max = \"15m\" }}]\n"),
    ];
    for text in accepted {
        parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    }
    let refused = [
        (
            format!("{release}steps = [10]\nbake = \"10000y\"\n"),
            "`release.bake` = \"10000y\": a duration from 1s to 14 days",
        ),
        (
            format!("{release}steps = [10]\nbake = \"14days 1s\"\n"),
            "CloudWatch keeps 1-minute Lambda metrics for 15 days",
        ),
        (
            format!("{release}steps = [10]\nbake = \"999ms\"\n"),
            "`release.bake`",
        ),
        (
            format!("{release}preset = \"Canary10Percent9999999999999Minutes\"\n"),
            "`release.preset` = \"Canary10Percent9999999999999Minutes\": a preset bakes 1 to 20160 minutes (14 days): CloudWatch",
        ),
        (
            format!("{release}preset = \"Linear10PercentEvery20161Minutes\"\n"),
            "`release.preset`",
        ),
        (
            format!("{release}max_hold = \"15days\"\n"),
            "`release.max_hold` = \"15days\": a duration of at most 14 days",
        ),
        (
            format!("{smoke}timeout = \"2h\"\n"),
            "`smoke[0].timeout` = \"2h\": a duration above 0 and at most 1h",
        ),
        (
            format!("{smoke}retry_delay = \"61m\"\n"),
            "`smoke[0].retry_delay`",
        ),
        (
            format!("{smoke}retries = 11\n"),
            "`smoke[0].retries` = 11: give 0 to 10 attempts after a failed one",
        ),
        (
            format!("{smoke}http = {{ url = \"http://x\", max_latency = \"3601s\" }}\n"),
            "`smoke[0].http.max_latency` = \"3601s\"",
        ),
        (
            format!("{release}metrics = [{{ name = \"p99-duration\", max = \"16m\" }}]\n"),
            "`release.metrics[0].max` = \"16m\": a duration such as \"800ms\" or \"2s\", at most 15m (Lambda's longest timeout)",
        ),
    ];
    for (text, wanted) in refused {
        let error = parse(&text).expect_err(&text);
        assert_eq!(error.exit_code(), 2);
        assert!(error.message.contains(wanted), "{text}: {}", error.message);
    }
}

#[test]
fn http_placeholders_must_be_known_and_endpoint_needs_dns() {
    let base = "[function]\nname = \"a\"\n[[smoke]]\nname = \"x\"\n";
    let dns = "[dns]\nzone_id = \"Z1\"\nname = \"api.example.com\"\n[dns.blue]\nvalue = \"b.example.com\"\nalias = \"blue\"\n[dns.green]\nvalue = \"g.example.com\"\nalias = \"green\"\n";
    let every = "https://{endpoint}/{function}/{qualifier}?v={version}&a={alias}&r={region}";
    let http = |fields: &str| format!("{base}http = {{ url = \"{every}\", {fields} }}\n");
    let filled = http(
        r#"headers = { X-Version = "{version}" }, body = '{"at": "{region}", "q": "{ id }"}'"#,
    );
    parse(&format!("{filled}{dns}")).unwrap_or_else(|e| panic!("{e}"));

    let known = "the known ones are {function}, {version}, {alias}, {qualifier}, {region}, {endpoint}, {candidate}";
    for (text, wanted) in [
        (
            format!("{base}http = {{ url = \"https://x/{{bogus}}\" }}\n"),
            format!(
                "`smoke[0].http.url` = \"https://x/{{bogus}}\": unknown placeholder {{bogus}}; {known}"
            ),
        ),
        (
            format!(
                "{}{dns}",
                http(r#"headers = { Authorization = "Bearer {token}" }"#)
            ),
            format!(
                "`smoke[0].http.headers.Authorization` = (text): unknown placeholder {{token}}; {known}"
            ),
        ),
        (
            format!("{}{dns}", http(r#"body = '{"v": "{versoin}"}'"#)),
            format!("`smoke[0].http.body` = (text): unknown placeholder {{versoin}}; {known}"),
        ),
        (
            filled,
            format!(
                "`smoke[0].http.url` = \"{every}\": {{endpoint}} is the endpoint of the DNS colour under test, and this config has no [dns] table"
            ),
        ),
    ] {
        let error = parse(&text).expect_err(&text);
        assert_eq!(error.exit_code(), 2);
        assert_eq!(error.message, format!("dir/greenlight.toml: {wanted}"));
        assert!(
            !error.message.contains("Bearer"),
            "header values are not shown"
        );
    }
}

#[test]
fn a_file_that_is_not_utf8_is_named_with_the_byte() {
    let error = utf8("g.toml", b"[function]\nname = \"caf\xe9\"\n".to_vec()).expect_err("latin-1");
    assert_eq!(error.exit_code(), 2);
    assert_eq!(
        error.message,
        "g.toml:2:12: the file is not UTF-8 text: byte 0xe9 at offset 22 is not valid UTF-8"
    );
    assert!(
        error
            .hint
            .is_some_and(|h| h.starts_with("save the file as UTF-8"))
    );
    assert_eq!(utf8("g.toml", b"a = 1".to_vec()).expect("utf-8"), "a = 1");
}

#[test]
fn environment_values_never_appear_in_errors() {
    let err = parse("[function]\nname = \"a\"\nenvironment = { \"bad-key\" = \"topsecret\" }\n")
        .expect_err("bad key");
    assert!(!err.to_string().contains("topsecret"));
}

#[test]
fn release_steps_bake_alarms_and_presets() {
    let base = "[function]\nname = \"a\"\n[release]\n";
    let cfg = parse(&format!(
        "{base}steps = [10, 50]\nbake = \"30s\"\nalarms = [\"errors\"]\n"
    ))
    .expect("valid");
    assert_eq!(cfg.release.plan.steps, vec![10, 50]);
    assert_eq!(cfg.release.plan.bake, Duration::from_secs(30));
    assert_eq!(cfg.release.alarms, vec!["errors".to_owned()]);
    let preset = parse(&format!("{base}preset = \"Canary10Percent5Minutes\"\n")).expect("valid");
    assert_eq!(preset.release.plan.steps, vec![10]);
    assert!(
        parse("[function]\nname = \"a\"\n")
            .expect("valid")
            .release
            .plan
            .is_all_at_once()
    );

    for (body, key) in [
        ("steps = [50, 10]", "release.steps"),
        ("steps = [10, 100]", "release.steps"),
        ("steps = [10]\nbake = \"soon\"", "release.bake"),
        ("preset = \"Fast\"", "release.preset"),
        ("alarms = [\"a\", \"a\"]", "release.alarms[1]"),
    ] {
        let msg = message(&format!("{base}{body}\n"));
        assert!(msg.contains(&format!("`{key}`")), "{body}: {msg}");
    }
    let both = message(&format!("{base}preset = \"AllAtOnce\"\nsteps = [10]\n"));
    assert!(both.contains("cannot be combined"), "{both}");
}

#[test]
fn the_candidate_is_an_alias_of_its_own_and_needed_by_its_placeholder() {
    let base = "[function]\nname = \"a\"\n";
    let smoke = "[[smoke]]\nname = \"url\"\nhttp = { url = \"https://x.example/{candidate}\" }\n";
    let cfg = parse(&format!("{base}{smoke}[release]\ncandidate = \"next\"\n")).expect("valid");
    assert_eq!(cfg.release.candidate.as_deref(), Some("next"));
    let live = message(&format!("{base}[release]\ncandidate = \"live\"\n"));
    assert!(
        live.contains("`release.candidate` = \"live\": alias live carries users' traffic"),
        "{live}"
    );
    let bad = message(&format!("{base}[release]\ncandidate = \"42\"\n"));
    assert!(
        bad.contains("`release.candidate` = \"42\": an alias is"),
        "{bad}"
    );
    let dns = "[dns]\nzone_id = \"Z1\"\nname = \"api.example.com\"\n[dns.blue]\nvalue = \"b.example.com\"\nalias = \"blue\"\n[dns.green]\nvalue = \"g.example.com\"\nalias = \"green\"\n";
    let colour = message(&format!("{base}{dns}[release]\ncandidate = \"green\"\n"));
    assert!(
        colour.contains("alias green carries users' traffic"),
        "{colour}"
    );
    let missing = message(&format!("{base}{smoke}"));
    assert!(
        missing.contains(
            "{candidate} is the candidate alias, and this config sets no release.candidate"
        ),
        "{missing}"
    );
}

#[test]
fn shipped_configs_are_valid() {
    for (path, text) in [
        (
            "examples/hello/greenlight.toml",
            include_str!("../../examples/hello/greenlight.toml"),
        ),
        (
            "examples/hello/greenlight-broken.toml",
            include_str!("../../examples/hello/greenlight-broken.toml"),
        ),
    ] {
        Config::parse(Path::new(path), text).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn role_arns_are_recognised() {
    assert!(is_role_arn("arn:aws:iam::123456789012:role/x"));
    assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/path/x"));
    assert!(!is_role_arn("arn:aws:iam::12345:role/x"));
    assert!(!is_role_arn("arn:aws:iam::123456789012:user/x"));
}

/// The kept corpus (`tests/corpus/config`): inputs that once found, or
/// could find, edge cases. Each must be refused or accepted, never panic.
#[test]
fn the_corpus_parses_without_a_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/config");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = parse(&text) {
            assert_eq!(e.exit_code(), 2, "{}: {e}", path.display());
            assert!(e.message.lines().count() <= 2, "{}: {e}", path.display());
        }
        seen += 1;
    }
    assert!(seen >= 10, "the corpus is there: {seen} files");
}

/// A TOML value of any kind a user might type.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        "[a-zA-Z0-9_.$*/:{}\\[\\] -]{0,12}".prop_map(|s| format!("{s:?}")),
        prop::collection::vec(0_i64..=120, 0..4).prop_map(|v| format!("{v:?}")),
        Just("{ probe = \"ok\" }".to_owned()),
        Just("\"5m\"".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any text: refused with exit 2 or accepted, never a panic.
    #[test]
    fn any_text_is_refused_or_accepted(text in "\\PC{0,200}") {
        if let Err(e) = parse(&text) {
            prop_assert_eq!(e.exit_code(), 2);
        }
    }

    /// Configs built from the real tables and keys (and some wrong ones)
    /// with values of every type: refused with exit 2 naming a key, or
    /// accepted with every documented invariant holding.
    #[test]
    fn structured_configs_keep_their_invariants(
        fields in prop::collection::vec(
            (
                prop::sample::select(vec!["function", "package", "release", "dns", "dns.blue", "smoke"]),
                prop::sample::select(vec![
                    "name", "alias", "memory", "timeout", "role", "source", "steps", "bake",
                    "preset", "alarms", "zone_id", "value", "type", "ttl", "payload", "http", "run", "retries",
                ]),
                value(),
            ),
            0..8,
        )
    ) {
        let mut text = String::from("[function]\nname = \"orders\"\n");
        for (table, key, value) in &fields {
            let header = if *table == "smoke" { "[[smoke]]\nname = \"s\"".to_owned() } else { format!("[{table}]") };
            text.push_str(&format!("{header}\n{key} = {value}\n"));
        }
        match parse(&text) {
            Err(e) => prop_assert_eq!(e.exit_code(), 2),
            Ok(cfg) => {
                prop_assert!(cfg.function.settings.memory.is_none_or(|m| (128..=10240).contains(&m)));
                prop_assert!(cfg.function.settings.timeout.is_none_or(|t| (1..=900).contains(&t)));
                let steps = &cfg.release.plan.steps;
                prop_assert!(steps.windows(2).all(|w| w[0] < w[1]));
                prop_assert!(steps.iter().all(|p| (1..=99).contains(p)));
                prop_assert!(cfg.function.alias != "$LATEST");
            }
        }
    }

    /// Any exclude glob: a usage error or a working matcher, never a panic.
    #[test]
    fn any_exclude_glob_is_refused_or_compiled(globs in prop::collection::vec("\\PC{0,16}", 0..4)) {
        if let Err(e) = exclusions(Path::new("app"), &globs) {
            prop_assert_eq!(e.exit_code(), 2);
        }
    }
}
