//! A bug (a panic) never leaves traffic moved: greenlight's own release and
//! promote code, called as a library against the emulator, with an SDK
//! interceptor that panics at one AWS call, as a bug next to that call
//! would. Once traffic has moved the panic takes the rollback path (exit 3)
//! and all of it is back where it was; before any move it is exit 1 with
//! nothing changed for users. (The alias-mode release has its unit test in
//! `src/release/engine/tests.rs`.) The release code listens for SIGINT and SIGTERM, so
//! once these tests have run, the test process takes those signals as
//! greenlight does (noted, not a fault: the suite sends signals only to
//! the greenlight processes it starts).

use std::collections::BTreeMap;
use std::time::Duration;

use greenlight::aws::Seams;
use greenlight::aws::lambda::{Lambda, WaitPolicy};
use greenlight::aws::route53::Dns;
use greenlight::aws::testing::PanicOn;
use greenlight::config::Config;
use greenlight::context::Ctx;
use greenlight::error::Error;
use greenlight::secrets::Redactor;
use greenlight::ui::{OutputFormat, Ui};

use crate::dns::{assert_weights, shipped};
use crate::harness::emulator::REGION;
use crate::harness::{Project, default_config};

/// What the injected bug says.
const BUG: &str = "greenlight failed unexpectedly (a bug: overflow adding duration to date)";

/// Runs `work` with greenlight's context for `p` (its config, against its
/// emulator, the alias users reach chosen as the commands choose it),
/// every call of `operation` panicking.
fn with_panic_on<T>(
    p: &Project,
    operation: &'static str,
    work: impl AsyncFnOnce(Ctx<'_>) -> greenlight::error::Result<T>,
) -> greenlight::error::Result<T> {
    let sdk = p.sdk_config(REGION);
    let lambda = aws_sdk_lambda::config::Builder::from(&sdk)
        .interceptor(PanicOn(operation))
        .build();
    let lambda = Lambda::new(
        aws_sdk_lambda::Client::from_conf(lambda),
        WaitPolicy::default(),
    );
    let route53 = aws_sdk_route53::config::Builder::from(&sdk)
        .interceptor(PanicOn(operation))
        .build();
    let seams = Seams {
        dns: Dns::new(
            aws_sdk_route53::Client::from_conf(route53),
            Duration::from_millis(100),
        ),
        ..Seams::of(&sdk, lambda)
    };
    let path = p.join("greenlight.toml");
    let text = std::fs::read_to_string(&path).expect("read the config");
    let config = Config::parse(&path, &text).expect("the config");
    let ui = Ui::new(OutputFormat::Json, 0, Redactor::default());
    let notify = greenlight::notify::Notifier::none();
    p.block_on(async {
        let base = Ctx::new(&config, &seams, &ui, &notify);
        let live = greenlight::release::dns::with_live_alias(&config, base).await?;
        work(Ctx {
            config: &live,
            ..base
        })
        .await
    })
}

/// The error a run that panicked ended in.
#[track_caller]
fn failed<T: std::fmt::Debug>(run: greenlight::error::Result<T>) -> Error {
    run.expect_err("the panic ends in an error")
}

/// The DNS release of `version`, waiting to the end.
async fn dns_release(
    ctx: Ctx<'_>,
    version: &str,
) -> greenlight::error::Result<greenlight::release::ReleaseReport> {
    let dns = ctx.config.dns.clone().expect("[dns]");
    greenlight::release::dns::release(
        ctx,
        greenlight::release::dns::Colours::Dns(&dns),
        version,
        true,
    )
    .await
}

/// The release of `version` in `zone` ended in `err` after a panic: exit
/// 3, all the weight back on blue (version 1), the rollback recorded there.
#[track_caller]
fn assert_back_on_blue(p: &Project, zone: &str, err: &Error, version: &str) {
    assert_eq!(err.exit_code(), 3, "{err}");
    assert_eq!(
        err.message,
        format!("release of version {version} rolled back to version 1: {BUG}")
    );
    assert_weights(p, zone, 100, 0);
    let blue = p.alias("blue").expect("alias blue").1;
    assert!(
        blue.starts_with(&format!(
            "greenlight: action=rollback version=1 previous={version}"
        )),
        "{blue}"
    );
}

#[test]
fn a_panic_in_a_dns_release_or_promote_never_leaves_weight_moved() {
    let p = Project::new();
    let zone = shipped(&p, "steps = [10, 50]\nbake = \"1h\"");
    p.change_code("v2");
    p.run(&["deploy"]).success();

    // At the first weight write: nothing moved, exit 1.
    let err = failed(with_panic_on(&p, "ChangeResourceRecordSets", async |ctx| {
        dns_release(ctx, "2").await
    }));
    assert_eq!(err.exit_code(), 1, "{err}");
    assert_eq!(
        err.message,
        format!(
            "the release of version 2 stopped before any traffic moved on api.example.com: {BUG}"
        )
    );
    assert_weights(&p, &zone, 100, 0);

    // A scheduled promote whose gates panic, the release at 10 %: all the
    // weight back on blue, exit 3.
    p.run(&["release", "--version", "2", "--no-wait"]).success();
    assert_weights(&p, &zone, 90, 10);
    p.end_bake("green");
    let err = failed(with_panic_on(&p, "Invoke", async |ctx| {
        greenlight::release::reading::promote(ctx, None).await
    }));
    assert_back_on_blue(&p, &zone, &err, "2");

    // A release whose gates panic after its first move (the smoke test
    // through green): the same.
    p.change_code("v3");
    p.run(&["deploy"]).success();
    let err = failed(with_panic_on(&p, "Invoke", async |ctx| {
        dns_release(ctx, "3").await
    }));
    assert_back_on_blue(&p, &zone, &err, "3");
}

#[test]
fn a_panic_in_promote_rolls_the_alias_back() {
    let p = Project::with_config(&format!(
        "{}\n[release]\nsteps = [10, 50]\nbake = \"1h\"\n",
        default_config()
    ));
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    assert_eq!(
        p.weights("live"),
        ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.1)]))
    );
    p.end_bake("live");

    let err = failed(with_panic_on(&p, "Invoke", async |ctx| {
        greenlight::release::reading::promote(ctx, None).await
    }));
    assert_eq!(err.exit_code(), 3, "{err}");
    assert_eq!(
        err.message,
        format!("release of version 2 rolled back to version 1: {BUG}")
    );
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
}
