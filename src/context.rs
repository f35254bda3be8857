//! The context every stage receives: the checked configuration, the AWS
//! seams, the progress printer, the notifications and, in a fleet that
//! releases together, the function's place on the fleet's board; in a dry
//! run, the plan its writes and waits are recorded in instead of made (and
//! nothing is notified).
//!
//! May import: the configuration, the AWS seams, `ui`, `lockstep`, `notify`
//! and the base modules; never a stage.

use std::fmt::Display;
use std::sync::Mutex;

use crate::aws::Seams;
use crate::aws::cloudwatch::CloudWatch;
use crate::aws::elbv2::Elbv2;
use crate::aws::lambda::Lambda;
use crate::aws::route53::Dns;
use crate::aws::s3::Artifacts;
use crate::config::Config;
use crate::lockstep::Member;
use crate::notify::Notifier;
use crate::planned::DryRun;
use crate::ui::Ui;

/// What every pipeline stage works with.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The checked configuration.
    pub config: &'a Config,
    /// The Lambda seam.
    pub lambda: &'a Lambda,
    /// The CloudWatch seam: alarms and metrics.
    pub cloudwatch: &'a CloudWatch,
    /// The S3 seam, for packages that go through a bucket.
    pub artifacts: &'a Artifacts,
    /// The Route 53 seam, for `[dns]` releases.
    pub dns: &'a Dns,
    /// The ELBv2 seam, for `[alb]` releases (the load balancer is in the
    /// function's region: it invokes functions of its own region only).
    pub elbv2: &'a Elbv2,
    /// Progress output.
    pub ui: &'a Ui,
    /// Who hears of the release's events (`[[notify]]`).
    pub notify: &'a Notifier,
    /// This function's place on the fleet's board when the functions
    /// release together (`[release] together`).
    pub fleet: Option<Member<'a>>,
    /// In a dry run (`plan`, `--dry-run`): where the writes are recorded
    /// instead of made, and the waits instead of waited.
    pub dry: Option<&'a Mutex<DryRun>>,
}

impl<'a> Ctx<'a> {
    /// The context of one function run alone (not in a fleet that releases
    /// together), writing for real, over `seams`, telling `notify`.
    pub fn new(config: &'a Config, seams: &'a Seams, ui: &'a Ui, notify: &'a Notifier) -> Self {
        Ctx {
            config,
            lambda: &seams.lambda,
            cloudwatch: &seams.cloudwatch,
            artifacts: &seams.artifacts,
            dns: &seams.dns,
            elbv2: &seams.elbv2,
            ui,
            notify,
            fleet: None,
            dry: None,
        }
    }

    /// The function name.
    pub fn function(&self) -> &str {
        &self.config.function.name
    }

    /// The alias name.
    pub fn alias(&self) -> &str {
        &self.config.function.alias
    }

    /// True in a dry run: nothing is written, nothing waited for.
    pub fn is_dry(&self) -> bool {
        self.dry.is_some()
    }

    /// In a dry run, records the write `call` would make and returns true
    /// (the caller then skips it); otherwise false.
    pub fn dry_write(&self, call: &str, detail: impl Display) -> bool {
        self.record(|plan| plan.write(call, detail))
    }

    /// In a dry run, records a step that writes nothing (a wait, a check)
    /// and returns true; otherwise false.
    pub fn dry_then(&self, detail: impl Display) -> bool {
        self.record(|plan| plan.then(detail))
    }

    /// Runs `add` on the dry run's plan, if this is one.
    pub fn record(&self, add: impl FnOnce(&mut DryRun)) -> bool {
        let Some(plan) = self.dry else {
            return false;
        };
        add(&mut plan
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
        true
    }
}
