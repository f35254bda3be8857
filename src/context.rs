//! The context every stage receives: the checked configuration, the AWS
//! seams, the progress printer, the notifications and, in a fleet that
//! releases together, the function's place on the fleet's board.
//!
//! May import: the configuration, the AWS seams, `ui`, `lockstep`, `notify`
//! and the base modules; never a stage.

use crate::aws::cloudwatch::CloudWatch;
use crate::aws::elbv2::Elbv2;
use crate::aws::lambda::Lambda;
use crate::aws::route53::Dns;
use crate::aws::s3::Artifacts;
use crate::config::Config;
use crate::lockstep::Member;
use crate::notify::Notifier;
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
}

impl Ctx<'_> {
    /// The function name.
    pub fn function(&self) -> &str {
        &self.config.function.name
    }

    /// The alias name.
    pub fn alias(&self) -> &str {
        &self.config.function.alias
    }
}
