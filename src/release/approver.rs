//! Who approves a release (`greenlight approve`): the person or CI actor
//! (`GITHUB_ACTOR`, else `USER`) and the AWS caller identity
//! (STS `GetCallerIdentity`, which needs no permission).

use aws_config::SdkConfig;

use crate::secrets::Redactor;
use crate::ui::Ui;

/// The approver: a name from the environment (outside text) and the
/// caller's ARN as STS gave it.
#[derive(Debug, Clone, Default)]
pub struct Approver {
    /// `GITHUB_ACTOR`, else `USER`, else `unknown`.
    name: String,
    /// The caller's ARN, when STS could tell it.
    arn: Option<String>,
    /// The only version whose release this approves (`approve --version
    /// N`); none: the release that waits, whichever version it is.
    version: Option<String>,
}

impl Approver {
    /// An approval of the release of `version` only, when given; who
    /// approves is read later ([`approver`], [`Approver::approving`]).
    pub fn of_version(version: Option<u64>) -> Self {
        Approver {
            version: version.map(|v| v.to_string()),
            ..Approver::default()
        }
    }

    /// This approver, approving what `asked` was for (its version).
    pub fn approving(self, asked: Approver) -> Self {
        Approver {
            version: asked.version,
            ..self
        }
    }

    /// The only version whose release this approves, if given.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The approver as the release record keeps it: the name, then the
    /// caller's ARN after a comma, e.g.
    /// `alice,arn:aws:sts::123456789012:assumed-role/deploy/gh`. Secret
    /// values in the name are masked with `redactor` first, then its
    /// commas become `-`, so the first comma is always the one before the
    /// ARN (a name cannot pass for another caller's ARN).
    pub fn recorded(&self, redactor: &Redactor) -> String {
        let name = redactor.redact(&self.name).replace(',', "-");
        match &self.arn {
            Some(arn) => format!("{name},{arn}"),
            None => name,
        }
    }
}

/// Reads the approver. A failed identity call is said under `-v`, never
/// an error: the approval stands on the conditional write.
pub async fn approver(sdk: &SdkConfig, ui: &Ui) -> Approver {
    let name = super::tell::who().unwrap_or_else(|| "unknown".to_owned());
    let arn = match aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(identity) => identity.arn().map(str::to_owned),
        Err(e) => {
            ui.detail(format_args!(
                "the AWS caller identity could not be read (STS GetCallerIdentity): {}",
                aws_sdk_sts::error::DisplayErrorContext(&e)
            ));
            None
        }
    };
    Approver {
        name,
        arn,
        version: None,
    }
}
