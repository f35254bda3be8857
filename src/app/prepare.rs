//! Preparing one function's run before any AWS call that changes anything:
//! the environment values read, the local part (checks, build, package)
//! done, the run's secrets learned; then [`Ready::run`] runs its AWS part.

use crate::app::commands::{Job, aws_part, local_part};
use crate::app::notifications::{learn_urls, notifier};
use crate::app::stages::{learn_values, newest};
use crate::app::{Company, Shared, fail, panicked};
use crate::aws::{self, RegionalAws};
use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::context::Ctx;
use crate::deploy::env_values;
use crate::error::{Error, Result};
use crate::release::unexpected;
use crate::report::Report;
use crate::secrets::Redactor;
use crate::ui::Ui;

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
    pub(super) job: Job,
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
        learn_urls(&config, &shared.redactor);
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
    /// The same list gives `test` and `release` their default version, and
    /// `history` its versions (read once).
    pub async fn learn_secrets(mut self: Box<Self>) -> Prepared<'a> {
        let (sdk, paces) = &self.sdk;
        let lambda = aws::lambda(sdk, paces.clone());
        match learn_values(&lambda, &self.config.function.name, &self.redactor).await {
            Ok(listed) => {
                match (&mut self.job, newest(&listed)) {
                    (Job::Test(version) | Job::Release(version, _), Some(newest)) => {
                        version.get_or_insert_with(|| newest.to_string());
                    }
                    // `history` tells the versions this listing holds.
                    (Job::History(_, versions), _) => *versions = Some(listed),
                    _ => {}
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
            redactor,
        } = *self;
        let fleet = match company {
            Company::Alone => None,
            Company::Fleet(member) => member,
        };
        let seams = aws::Seams::of(&sdk, aws::lambda(&sdk, paces));
        let notify = notifier(cli, &config, &sdk, &redactor, &ui).await;
        let ctx = Ctx {
            fleet,
            ..Ctx::new(&config, &seams, &ui, &notify)
        };
        match unexpected::catching(aws_part(cli, ctx, job, learned, &mut report)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => fail(&mut report, e),
            Err(panic) => fail(&mut report, panicked(&panic)),
        }
        report.notify_warnings.extend(notify.warnings());
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

/// The output of one function's command.
pub(super) fn ui_for(cli: &Cli, config: &Config, company: Company<'_>, redactor: &Redactor) -> Ui {
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
pub(super) async fn resolve_environment(
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
