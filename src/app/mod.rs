//! The commands: each one runs pipeline stages in order and fills a [`Report`].
//!
//! `run` reads the config, sets up output and AWS, and runs each function's
//! command in two parts: [`prepare`] does what needs no AWS (the checks that
//! are exit 2 without reading AWS, the build, the package, the region), then
//! [`Ready::run`] the rest; a fleet does the first part for every function
//! before any starts the second ([`fleet::run`]). Every problem ends up in
//! the report as an [`Error`], whose class decides the exit code; nothing
//! here prints.

pub mod fleet;
pub mod init;
pub mod shared_packages;

use std::path::Path;

use crate::app::shared_packages::{Made, SharedPackages};
use crate::aws::lambda::Lambda;
use crate::aws::{self, AwsOptions, RegionalAws, Regions};
use crate::checks::{candidate, smoke};
use crate::cli::{Cli, Command};
use crate::config::{Config, PackageConfig};
use crate::context::Ctx;
use crate::deploy::Deployable;
use crate::deploy::env_values::{self, Fetched};
use crate::deploy::triggers;
use crate::error::{Error, Failure, Result};
use crate::lockstep::Member;
use crate::package;
use crate::package::build;
use crate::release::dry_run::{self, DryRun};
use crate::release::{dns, progress, prune, rollback, status, unexpected};
use crate::report::{PackageReport, Report};
use crate::secrets::Redactor;
use crate::ui::Ui;
use crate::{deploy, release};

/// Runs the command `cli` asks for and reports how it went: for the one
/// function of the config, or for each selected function of a
/// `[[functions]]` config ([`fleet::run`]).
pub async fn run(cli: &Cli) -> Report {
    match unexpected::catching(run_all(cli)).await {
        Ok(report) => report,
        Err(panic) => {
            let mut report = Report::new(cli.command.name());
            fail(&mut report, panicked(&panic));
            report
        }
    }
}

/// A panic outside the code that moves traffic (which rolls back on its
/// own, see [`unexpected`]): nothing was released, exit 1.
fn panicked(panic: &str) -> Error {
    Error::no_traffic_moved(unexpected::describe(panic)).with_hint(
        "no traffic was moved by this run; see `greenlight status`, and please report the bug",
    )
}

async fn run_all(cli: &Cli) -> Report {
    let mut report = Report::new(cli.command.name());
    if let Command::Init { .. } = &cli.command {
        if let Err(e) = init_command(cli, &mut report) {
            fail(&mut report, e);
        }
        return report;
    }
    let shared = Shared {
        regions: Regions::new(
            AwsOptions {
                region: cli.region.clone(),
                profile: cli.profile.clone(),
                endpoint_url: cli.endpoint_url.clone(),
                timeout: cli.aws_timeout,
            },
            cli.lambda_rate,
        ),
        packages: SharedPackages::default(),
        fetched: Fetched::default(),
        redactor: Redactor::default(),
    };
    let mut report = match Config::load_all(&cli.config)
        .and_then(|(configs, many)| fleet::select(cli, configs, many))
    {
        Err(e) => {
            fail(&mut report, e);
            report
        }
        Ok((mut configs, false)) if configs.len() == 1 => {
            run_one(cli, configs.remove(0), Company::Alone, &shared).await
        }
        Ok((configs, _)) => fleet::run(cli, configs, &shared).await,
    };
    report.redactor = shared.redactor;
    report
}

/// What the functions of one run share: AWS clients and pace per region,
/// and the packages made so far.
pub struct Shared {
    /// One AWS config and one Lambda pace per region.
    pub regions: Regions,
    /// Packages made once for functions with the same source.
    pub packages: SharedPackages,
    /// Environment values read from SSM and Secrets Manager so far.
    pub fetched: Fetched,
    /// The secret values of every function of the run: those of its
    /// configuration and those its versions hold. Outside text is masked
    /// with all of them wherever it is shown.
    pub redactor: Redactor,
}

/// Whether a function runs alone or as one of a fleet.
#[derive(Debug, Clone, Copy)]
pub enum Company<'a> {
    /// The config's only function.
    Alone,
    /// One of a `[[functions]]` fleet: progress lines carry its name; with
    /// `[release] together`, its place on the fleet's board.
    Fleet(Option<Member<'a>>),
}

/// Runs the command for one function.
pub async fn run_one(cli: &Cli, config: Config, company: Company<'_>, shared: &Shared) -> Report {
    let ready = match prepare(cli, config, company, shared).await {
        Prepared::Ended(report) => return *report,
        Prepared::Ready(ready) => ready,
    };
    // `ship` learns together with its first reads (no round trip more).
    if matches!(ready.job, Job::Ship(..)) && !cli.command.is_dry_run() {
        return ready.run(cli).await;
    }
    match ready.learn_secrets().await {
        Prepared::Ended(report) => *report,
        Prepared::Ready(ready) => ready.run(cli).await,
    }
}

/// One function's command after the part that needs no AWS ([`prepare`]).
pub enum Prepared<'a> {
    /// It ended there: `package` did all it had to, or something failed (a
    /// configuration error, a build); the report says which.
    Ended(Box<Report>),
    /// Its next step calls AWS.
    Ready(Box<Ready<'a>>),
}

/// A function's command with everything it needs that does not come from
/// AWS: its configuration checked for the command, its package built and
/// zipped, its region's AWS configuration loaded.
pub struct Ready<'a> {
    config: Config,
    company: Company<'a>,
    job: Job,
    sdk: RegionalAws,
    ui: Ui,
    /// The run's secret values, to learn this function's into.
    redactor: Redactor,
    /// Whether this function's versions' values are learned already
    /// ([`Ready::learn_secrets`]).
    learned: bool,
    /// The report so far (the package section).
    report: Report,
}

/// The part of one function's command that needs no AWS: every exit-2
/// check that can be made without reading AWS, the build and the package.
/// A fleet runs this for every function before any of them calls AWS.
pub async fn prepare<'a>(
    cli: &Cli,
    mut config: Config,
    company: Company<'a>,
    shared: &Shared,
) -> Prepared<'a> {
    let mut report = Report::new(cli.command.name());
    report.function = Some(config.function.name.clone());
    report.alias = Some(config.function.alias.clone());
    let made = unexpected::catching(async {
        let read = resolve_environment(cli, &mut config, shared).await?;
        if let Some(environment) = &config.function.settings.environment {
            shared.redactor.learn(environment);
        }
        let ui = ui_for(cli, &config, company, &shared.redactor);
        if let Some(read) = read {
            ui.detail(read);
        }
        let made = local_part(cli, &config, &ui, shared, &mut report).await?;
        Ok(made.map(|(job, sdk)| (job, sdk, ui)))
    })
    .await;
    let redactor = shared.redactor.clone();
    let error = match made {
        Ok(Ok(Some((job, sdk, ui)))) => {
            return Prepared::Ready(Box::new(Ready {
                config,
                company,
                job,
                sdk,
                ui,
                redactor,
                learned: false,
                report,
            }));
        }
        Ok(Ok(None)) => return Prepared::Ended(Box::new(report)),
        Ok(Err(e)) => e,
        Err(panic) => panicked(&panic),
    };
    fail(&mut report, error);
    Prepared::Ended(Box::new(report))
}

impl<'a> Ready<'a> {
    /// Learns the environment values `$LATEST` and every published version
    /// of the function hold (one `ListVersionsByFunction` call per 50
    /// versions), so that text coming back from any of them (a response,
    /// a body, an error) is masked, values the configuration does not
    /// give included: references `test`, `release` and `promote` do not
    /// resolve, `environment_keep` values, values a version published
    /// earlier still holds. A fleet learns every function's before any
    /// function goes on, so each one's output is masked with all of them.
    /// The same list gives `test` and `release` their default version.
    pub async fn learn_secrets(mut self: Box<Self>) -> Prepared<'a> {
        let (sdk, paces) = &self.sdk;
        let lambda = aws::lambda(sdk, paces.clone());
        match learn_values(&lambda, &self.config.function.name, &self.redactor).await {
            Ok(newest) => {
                if let (Job::Test(version) | Job::Release(version, _), Some(newest)) =
                    (&mut self.job, newest)
                {
                    version.get_or_insert_with(|| newest.to_string());
                }
                self.learned = true;
                Prepared::Ready(self)
            }
            Err(e) => Prepared::Ended(Box::new(self.not_run(e))),
        }
    }

    /// Runs the rest of the command, the part that calls AWS, and reports
    /// how the whole of it went.
    pub async fn run(self: Box<Self>, cli: &Cli) -> Report {
        let Ready {
            config,
            company,
            job,
            sdk: (sdk, paces),
            ui,
            learned,
            mut report,
            ..
        } = *self;
        let fleet = match company {
            Company::Alone => None,
            Company::Fleet(member) => member,
        };
        let lambda = aws::lambda(&sdk, paces);
        let cloudwatch = aws::cloudwatch(&sdk);
        let artifacts = aws::artifacts(&sdk);
        let dns = aws::dns(&sdk);
        let ctx = Ctx {
            config: &config,
            lambda: &lambda,
            cloudwatch: &cloudwatch,
            artifacts: &artifacts,
            dns: &dns,
            ui: &ui,
            fleet,
        };
        match unexpected::catching(aws_part(cli, ctx, job, learned, &mut report)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => fail(&mut report, e),
            Err(panic) => fail(&mut report, panicked(&panic)),
        }
        report
    }

    /// The report of a function not run because of `why` (another
    /// function's configuration error).
    pub fn not_run(self: Box<Self>, why: Error) -> Report {
        let mut report = self.report;
        fail(&mut report, why);
        report
    }
}

/// Learns into `redactor` the environment values `$LATEST` and every
/// published version of function `name` hold (one `ListVersionsByFunction`
/// call per 50 versions); returns the newest published version's number.
async fn learn_values(lambda: &Lambda, name: &str, redactor: &Redactor) -> Result<Option<u64>> {
    let versions = lambda.all_versions(name).await?;
    for version in &versions {
        redactor.learn(&version.environment);
    }
    Ok(versions
        .iter()
        .filter_map(|v| v.version.parse::<u64>().ok())
        .max())
}

/// The output of one function's command.
fn ui_for(cli: &Cli, config: &Config, company: Company<'_>, redactor: &Redactor) -> Ui {
    let verbosity = cli.verbose as i8 - cli.quiet as i8;
    let ui = Ui::new(cli.output, verbosity, redactor.clone());
    match company {
        Company::Alone => ui,
        Company::Fleet(_) => ui.for_function(&config.function.name),
    }
}

/// For the commands that deploy the environment (`deploy`, `ship`, `plan`,
/// dry runs too): reads the values it refers to ([`env_values::resolve`]),
/// before anything is built or written.
async fn resolve_environment(
    cli: &Cli,
    config: &mut Config,
    shared: &Shared,
) -> Result<Option<String>> {
    let deploys = matches!(
        cli.command,
        Command::Deploy { .. } | Command::Ship { .. } | Command::Plan { .. }
    );
    if !deploys || config.function.environment_refs.is_empty() {
        return Ok(None);
    }
    let (sdk, _) = shared
        .regions
        .get(config.function.region.as_deref())
        .await?;
    let region = sdk.region().map(ToString::to_string).unwrap_or_default();
    let origin = config.origin();
    let store = aws::secret_store(&sdk);
    env_values::resolve(
        &mut config.function,
        &origin,
        &store,
        &region,
        &shared.fetched,
    )
    .await
    .map(Some)
}

/// Files `e` as the report's error and outcome.
fn fail(report: &mut Report, e: Error) {
    let smoke_failed = report.smoke.as_ref().is_some_and(|s| !s.passed());
    let outcome = match e.failure {
        Failure::Usage => "usage_error",
        Failure::NoTrafficMoved if smoke_failed => "smoke_failed",
        Failure::NoTrafficMoved => "failed",
        Failure::Conflict => "conflict",
        Failure::RolledBack => "rolled_back",
        Failure::NeedsOperator => "rollback_failed",
        Failure::Held => "held",
    };
    report.fail(outcome, e);
}

/// `init`: writes the starter files; reads no config.
fn init_command(cli: &Cli, report: &mut Report) -> Result<()> {
    if let Command::Init {
        flavour,
        name,
        arm64,
        force,
    } = &cli.command
    {
        let dir = cli
            .config
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = name.clone().unwrap_or_else(|| default_name(dir));
        let written = init::init(dir, &name, *flavour, *arm64, *force)?;
        report.function = Some(name);
        report.written = written.iter().map(|p| p.display().to_string()).collect();
        report.outcome = "initialised".to_owned();
    }
    Ok(())
}

/// [`prepare`]'s work: the job with what it needs that does not come from
/// AWS, and its region's AWS configuration; `None` when that was the whole
/// command (`package`).
async fn local_part(
    cli: &Cli,
    config: &Config,
    ui: &Ui,
    shared: &Shared,
    report: &mut Report,
) -> Result<Option<(Job, RegionalAws)>> {
    let packages = &shared.packages;
    let command = cli.command.name();
    let job = match &cli.command {
        Command::Package { out } => {
            package_to_file(config, out.as_deref(), ui, report)?;
            return Ok(None);
        }
        Command::Deploy { .. } => {
            Job::Deploy(shared_package(config, command, packages, ui, report)?)
        }
        Command::Ship { no_wait, .. } | Command::Plan { no_wait } => Job::Ship(
            shared_package(config, command, packages, ui, report)?,
            !no_wait,
        ),
        Command::Test { version } => Job::Test(version.clone()),
        Command::Release {
            version, no_wait, ..
        } => Job::Release(version.clone(), !no_wait),
        Command::Promote { .. } => Job::Promote,
        Command::Rollback { .. } => Job::Rollback,
        Command::Status => Job::Status,
        Command::Prune { keep, dry_run } => Job::Prune(*keep, *dry_run),
        Command::Completions { .. } | Command::Man | Command::Init { .. } => {
            return Err(Error::usage("this command reads no config"));
        }
    };
    let regional = shared
        .regions
        .get(config.function.region.as_deref())
        .await?;
    report.region = regional.0.region().map(ToString::to_string);
    Ok(Some((job, regional)))
}

/// [`Ready::run`]'s work: the job, from its first AWS call on.
/// `learned`: whether the function's versions' values are learned already.
async fn aws_part(
    cli: &Cli,
    base: Ctx<'_>,
    job: Job,
    learned: bool,
    report: &mut Report,
) -> Result<()> {
    let lambda = base.lambda;
    // In DNS mode the alias users reach is the live colour's. `status`
    // reports records it cannot read as its problem instead of failing.
    let config = match dns::with_live_alias(base.config, base).await {
        Ok(live) => live,
        Err(_) if matches!(job, Job::Status) => base.config.clone(),
        Err(e) => return Err(e),
    };
    report.alias = Some(config.function.alias.clone());
    let ctx = Ctx {
        config: &config,
        ..base
    };

    if cli.command.is_dry_run() {
        return plan_only(ctx, job, cli.command.name(), report).await;
    }
    match job {
        Job::Deploy(code) => {
            let (decided, ()) =
                tokio::try_join!(deploy::decide(ctx, &code), candidate::check(ctx))?;
            deploy_stage(ctx, &code, decided, report).await.map(|_| ())
        }
        Job::Ship(code, wait) => ship(ctx, &code, wait, !learned, report).await,
        Job::Test(version) => {
            let version = version_or_latest(lambda, &config, version).await?;
            candidate::warn(ctx);
            candidate::point(ctx, &version).await?;
            smoke_stage(ctx, &version, report).await
        }
        Job::Release(version, wait) => {
            let (version, ()) = tokio::try_join!(
                version_or_latest(lambda, &config, version),
                candidate::check(ctx)
            )?;
            release_stage(ctx, &version, wait, None, report).await
        }
        Job::Promote => match promote(ctx).await? {
            None => {
                report.outcome = "nothing_in_progress".to_owned();
                Ok(())
            }
            Some(step) => record_release(step, false, report),
        },
        Job::Rollback => {
            let done = match &ctx.config.dns {
                Some(dns) => dns::rollback(ctx, dns).await?,
                None => rollback::rollback(ctx).await?,
            };
            report.outcome = if done.already_rolled_back {
                "already_rolled_back"
            } else {
                "rolled_back"
            }
            .to_owned();
            report.rollback = Some(done);
            Ok(())
        }
        Job::Status => {
            let (status, triggers) = tokio::join!(status::status(ctx), triggers::check(ctx));
            report.status = Some(status?);
            report.triggers =
                Some(triggers).filter(|_| report.status.as_ref().is_some_and(|s| s.exists));
            Ok(())
        }
        Job::Prune(keep, dry_run) => {
            report.prune = Some(prune::prune(ctx, keep, dry_run).await?);
            report.outcome = if dry_run { "dry_run" } else { "pruned" }.to_owned();
            Ok(())
        }
    }
}

/// `promote`: one step of the release in progress, on the alias or in DNS.
async fn promote(ctx: Ctx<'_>) -> Result<Option<release::ReleaseReport>> {
    match &ctx.config.dns {
        Some(dns) => dns::promote(ctx, dns).await,
        None => progress::promote(ctx).await,
    }
}

/// `--dry-run` and `plan`: the writes `job` would make, making none.
async fn plan_only(ctx: Ctx<'_>, job: Job, command: &str, report: &mut Report) -> Result<()> {
    let mut plan = DryRun::new(command);
    let planned = match job {
        Job::Deploy(code) => dry_run::deploy(ctx, &code, &mut plan).await.map(|_| ()),
        Job::Ship(code, wait) => dry_run::ship(ctx, &code, wait, &mut plan).await,
        Job::Release(version, wait) => {
            match version_or_latest(ctx.lambda, ctx.config, version).await {
                Ok(version) => {
                    let candidate = release::Candidate::Published(&version);
                    dry_run::release(ctx, candidate, wait, &mut plan).await
                }
                Err(e) => Err(e),
            }
        }
        Job::Promote => dry_run::promote(ctx, &mut plan).await,
        Job::Rollback => dry_run::rollback(ctx, &mut plan).await,
        Job::Test(_) | Job::Status | Job::Prune(..) => {
            Err(Error::usage(format!("`{command}` has no dry run")))
        }
    };
    report.dry_run = Some(plan);
    report.outcome = "dry_run".to_owned();
    planned
}

/// A command with everything it needs that does not come from AWS.
enum Job {
    Deploy(Deployable),
    /// The code, and whether to wait for the whole release.
    Ship(Deployable, bool),
    Test(Option<String>),
    /// The version, and whether to wait for the whole release.
    Release(Option<String>, bool),
    Promote,
    Rollback,
    Status,
    /// How many versions to keep, and whether this is a dry run.
    Prune(usize, bool),
}

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
async fn ship(
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
fn shared_package(
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
fn package_stage(settings: &PackageConfig, out: Option<&Path>, ui: &Ui) -> Result<Made> {
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

fn package_to_file(
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

async fn deploy_stage(
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
    if let (Some(dns), false) = (&ctx.config.dns, deployed.unchanged || deployed.created) {
        dns::stage(ctx, dns, &deployed.version).await?;
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

async fn smoke_stage(ctx: Ctx<'_>, version: &str, report: &mut Report) -> Result<()> {
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
async fn what_users_get(ctx: Ctx<'_>, version: &str) -> String {
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
async fn release_stage<'a>(
    ctx: Ctx<'a>,
    version: &str,
    wait: bool,
    checked: Option<release::Start<'a>>,
    report: &mut Report,
) -> Result<()> {
    let released = match &ctx.config.dns {
        Some(dns) => dns::release(ctx, dns, version, wait).await?,
        None => release::release_deployed(ctx, version, wait, checked).await?,
    };
    record_release(released, wait, report)
}

/// Files a release (or promote) report; a rollback becomes the exit-3 error,
/// and a release that was to `wait` but is held for want of traffic the
/// exit-5 one. (A held `promote` is a normal pause: the next run retries.)
fn record_release(released: release::ReleaseReport, wait: bool, report: &mut Report) -> Result<()> {
    let version = released.version.clone();
    let rolled_back = released.rolled_back.clone();
    let held = released.in_progress.as_ref().and_then(|p| p.held.clone());
    report.outcome = if released.already_live {
        "already_live"
    } else if held.is_some() {
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

/// A function name from a folder's name: letters, digits, '-' and '_' kept.
fn default_name(dir: &Path) -> String {
    let folder = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let name: String = folder
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() {
        "my-function".to_owned()
    } else {
        name
    }
}

/// `version`, or the newest published version when none is given.
async fn version_or_latest(
    lambda: &Lambda,
    config: &Config,
    version: Option<String>,
) -> Result<String> {
    if let Some(v) = version {
        return Ok(v);
    }
    let name = &config.function.name;
    // Lambda's answer for a function that does not exist (an error, or
    // no versions) is told apart from one with no versions yet.
    let newest = match lambda.versions(name).await {
        Ok(mut versions) => versions.pop().map(|v| v.version),
        Err(e) => return Err(lambda.missing(name).await?.unwrap_or(e)),
    };
    match newest {
        Some(version) => Ok(version),
        None => Err(lambda.missing(name).await?.unwrap_or_else(|| {
            Error::no_traffic_moved(format!("function {name} has no published version"))
                .with_hint("run `greenlight deploy` first")
        })),
    }
}
