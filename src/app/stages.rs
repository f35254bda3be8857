//! The stages of `deploy` and `ship`: package (or reuse a fleet's shared
//! package), deploy, smoke tests, release, and the record of what users get.

use std::path::Path;

use crate::app::shared_packages::{Made, SharedPackages};
use crate::aws::lambda::{FunctionState, Lambda};
use crate::checks::{candidate, smoke};
use crate::config::{Config, PackageConfig};
use crate::context::Ctx;
use crate::deploy::Deployable;
use crate::error::{Error, Failure, Result};
use crate::package;
use crate::package::build;
use crate::release::dns;
use crate::report::{PackageReport, Report};
use crate::secrets::Redactor;
use crate::ui::Ui;
use crate::{deploy, release};

/// `ship`: deploy, then smoke-test the new version, then release it. The
/// release's own checks (alarms, the alias's state and rules, a release in
/// progress) run on reads before the deploy writes anything.
///
/// The alias is read together with the deploy's first read, and the
/// release starts from what the checks found there (no second read of the
/// alias or of the new version; its `RevisionId` guards the first move), so
/// an all-at-once ship waits on few sequential AWS round trips (see
/// BENCHMARKS.md).
///
/// With `learn`, the values the function's versions hold are learned
/// ([`learn_values`]) together with those first reads, before anything
/// could bring outside text.
pub(super) async fn ship(
    ctx: Ctx<'_>,
    code: &Deployable,
    wait: bool,
    learn: bool,
    report: &mut Report,
) -> Result<()> {
    let alias_now = async {
        match &ctx.config.dns {
            None => ctx
                .lambda
                .alias(ctx.function(), ctx.alias())
                .await
                .map(Some),
            Some(_) => Ok(None),
        }
    };
    let learned = async {
        if learn {
            learn_values(ctx.lambda, ctx.function(), ctx.ui.redactor()).await?;
        }
        Ok(())
    };
    let (decided, alias_now, (), ()) = tokio::try_join!(
        deploy::decide(ctx, code),
        alias_now,
        candidate::check(ctx),
        learned
    )?;
    let checked = match (
        release::Candidate::after(&decided, &ctx.config.function.settings),
        alias_now,
    ) {
        (Some(candidate), Some(current)) => {
            Some(release::prepare_on(ctx, candidate, current).await?)
        }
        (Some(candidate), None) => {
            release::preflight(ctx, candidate).await?;
            None
        }
        (None, _) => None,
    };
    // Pinning moves the alias, so what the checks read is then out of date.
    let checked = checked.filter(|_| !decided.pin);
    let deployed = deploy_stage(ctx, code, decided, report).await?;
    if deployed.unchanged {
        return Ok(());
    }
    smoke_stage(ctx, &deployed.version, report).await?;
    release_stage(ctx, &deployed.version, wait, checked, report).await
}

/// The package stage for a deploy: made once per source in a fleet.
pub(super) fn shared_package(
    config: &Config,
    command: &str,
    packages: &SharedPackages,
    ui: &Ui,
    report: &mut Report,
) -> Result<Deployable> {
    let settings = config.require_package(command)?;
    let (made, first) = packages.get_or_make(settings, &config.function.name, || {
        package_stage(settings, None, ui)
    });
    let made = made?;
    deploy::check_direct_upload(settings, &made.code)?;
    if let Some(first) = &first {
        ui.step(format_args!("using the package made for {first}"));
    }
    if let Some(package) = made.report {
        report.package = Some(PackageReport {
            shared_with: first,
            ..package
        });
        report.outcome = "packaged".to_owned();
    }
    Ok(made.code)
}

/// Runs the build command, then zips the source (to `out` too, when given).
pub(super) fn package_stage(settings: &PackageConfig, out: Option<&Path>, ui: &Ui) -> Result<Made> {
    if let Some(command) = &settings.build {
        build::run(command, &settings.dir, ui)?;
    }
    if let Some(uri) = &settings.image_uri {
        ui.step(format_args!("using image {uri}"));
        return Ok(Made {
            code: Deployable::Image(uri.clone()),
            report: None,
        });
    }
    ui.step(format_args!("packaging {}", settings.source.display()));
    let artifact = package::package(settings, out, ui)?;
    Ok(Made {
        report: Some(PackageReport {
            path: out.map(|p| p.display().to_string()),
            size: artifact.bytes.len() as u64,
            files: artifact.files,
            code_sha256: artifact.code_sha256.clone(),
            shared_with: None,
        }),
        code: Deployable::Zip(artifact),
    })
}

pub(super) fn package_to_file(
    config: &Config,
    out: Option<&Path>,
    ui: &Ui,
    report: &mut Report,
) -> Result<()> {
    let settings = config.require_package("package")?;
    if let Some(uri) = &settings.image_uri {
        return Err(Error::usage(format!(
            "{}: there is no zip to build: [package] deploys the container image {uri}",
            config.origin()
        ))
        .with_hint("build and push the image yourself (docker build, docker push); `greenlight deploy` deploys it"));
    }
    let path = out.map(Path::to_path_buf).unwrap_or_else(|| {
        let dir = config.path.parent().unwrap_or(Path::new(""));
        dir.join(package::OUTPUT_DIR)
            .join(format!("{}.zip", config.function.name))
    });
    report.package = package_stage(settings, Some(&path), ui)?.report;
    report.outcome = "packaged".to_owned();
    Ok(())
}

pub(super) async fn deploy_stage(
    ctx: Ctx<'_>,
    code: &Deployable,
    decided: deploy::Decided,
    report: &mut Report,
) -> Result<deploy::DeployReport> {
    report.triggers = decided.triggers.clone();
    let deployed = deploy::apply(ctx, code, decided).await?;
    if !deployed.unchanged {
        candidate::point(ctx, &deployed.version).await?;
    }
    if let (Some(colours), false) = (
        dns::Colours::of(ctx.config),
        deployed.unchanged || deployed.created,
    ) {
        dns::stage(ctx, colours, &deployed.version).await?;
    }
    report.outcome = if deployed.unchanged {
        "nothing_to_deploy"
    } else {
        "deployed"
    }
    .to_owned();
    report.deploy = Some(deployed.clone());
    Ok(deployed)
}

pub(super) async fn smoke_stage(ctx: Ctx<'_>, version: &str, report: &mut Report) -> Result<()> {
    ctx.ui.step(format_args!(
        "running {} against version {version}",
        crate::ui::count(ctx.config.smoke.len(), "smoke test")
    ));
    let checked = smoke::run(ctx, &smoke::Target::version(ctx, version)).await;
    let failed = checked.first_failure().cloned();
    report.smoke = Some(checked);
    report.outcome = "smoke_passed".to_owned();
    let Some(failed) = failed else { return Ok(()) };
    let traffic = match &report.deploy {
        Some(d) if d.created => format!(
            "version {version} is the function's first; alias {} was created on it",
            ctx.alias()
        ),
        Some(_) => format!(
            "version {version} was published but received no traffic; alias {} is unchanged",
            ctx.alias()
        ),
        // `test` changes nothing, but the version may be one users get.
        None => what_users_get(ctx, version).await,
    };
    Err(Error::no_traffic_moved(format!(
        "smoke test `{}` failed against version {version}: {}",
        failed.name,
        failed.failure.as_deref().unwrap_or("failed")
    ))
    .with_hint(traffic))
}

/// For a failed `test`: whether users get `version` through the alias. The
/// read is bounded (a few seconds): it only words the hint, and AWS that does
/// not answer must not hold up the report of the failure.
pub(super) async fn what_users_get(ctx: Ctx<'_>, version: &str) -> String {
    let alias = ctx.alias();
    let read = ctx.lambda.alias(ctx.function(), alias);
    match tokio::time::timeout(std::time::Duration::from_secs(5), read).await {
        Ok(Ok(Some(served))) if served.version == version => format!(
            "version {version} is the one alias {alias} serves: users are on it; nothing was changed"
        ),
        Ok(Ok(Some(served))) if served.weights.contains_key(version) => format!(
            "version {version} takes {:.0} % of alias {alias}'s traffic (a release in progress): users reach it; nothing was changed; `greenlight rollback` stops the release",
            served.weights[version] * 100.0
        ),
        Ok(Ok(_)) => {
            format!("version {version} gets no traffic from alias {alias}; nothing was changed")
        }
        Ok(Err(_)) | Err(_) => format!("the test changed nothing; alias {alias} is as it was"),
    }
}

/// Releases `version`; `checked` is what `ship`'s checks before its deploy
/// found on the alias, to start from.
pub(super) async fn release_stage<'a>(
    ctx: Ctx<'a>,
    version: &str,
    wait: bool,
    checked: Option<release::Start<'a>>,
    report: &mut Report,
) -> Result<()> {
    let released = match dns::Colours::of(ctx.config) {
        Some(colours) => dns::release(ctx, colours, version, wait).await?,
        None => release::release_deployed(ctx, version, wait, checked).await?,
    };
    record_release(released, wait, report)
}

/// Files a release (or promote) report; a rollback becomes the exit-3 error,
/// and a release that was to `wait` but is held for want of traffic the
/// exit-5 one. (A held `promote` is a normal pause: the next run retries.)
pub(super) fn record_release(
    released: release::ReleaseReport,
    wait: bool,
    report: &mut Report,
) -> Result<()> {
    let version = released.version.clone();
    let rolled_back = released.rolled_back.clone();
    let held = released.in_progress.as_ref().and_then(|p| p.held.clone());
    // A `promote` that finds the release waiting for approval reports the
    // hold; a waiting `ship`/`release` stops there, in progress (exit 0).
    let approval = released
        .in_progress
        .as_ref()
        .is_some_and(|p| p.waiting_for_approval.is_some());
    report.outcome = if released.already_live {
        "already_live"
    } else if held.is_some() || (approval && !wait) {
        "held"
    } else if released.in_progress.is_some() {
        "in_progress"
    } else if released.moves.is_empty() && released.settle_left_secs.is_some() {
        "settling"
    } else {
        "released"
    }
    .to_owned();
    report.release = Some(released);
    if let Some(why) = held.filter(|_| wait) {
        return Err(Error::new(
            Failure::Held,
            format!("release of version {version} is held: {why}"),
        )
        .with_hint(
            "traffic stays at this step; `greenlight promote` continues once there is traffic to judge, `greenlight rollback` undoes it",
        ));
    }
    match rolled_back {
        None => Ok(()),
        Some(why) => Err(Error::new(
            Failure::RolledBack,
            format!("release of version {version} rolled back: {why}"),
        )
        .with_hint("traffic is back on the previous version; fix the code and ship again")),
    }
}

/// Learns into `redactor` the environment values `$LATEST` and every
/// published version of function `name` hold (one `ListVersionsByFunction`
/// call per 50 versions); returns the listing ([`newest`] names the newest
/// published version in it), so a command that needs it reads it once.
pub(super) async fn learn_values(
    lambda: &Lambda,
    name: &str,
    redactor: &Redactor,
) -> Result<Vec<FunctionState>> {
    let versions = lambda.all_versions(name).await?;
    for version in &versions {
        redactor.learn(&version.environment);
    }
    Ok(versions)
}

/// The newest published version's number in `versions`.
pub(super) fn newest(versions: &[FunctionState]) -> Option<u64> {
    versions
        .iter()
        .filter_map(|v| v.version.parse::<u64>().ok())
        .max()
}
