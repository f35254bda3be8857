//! Who approves a release (`greenlight approve`): the person or CI actor
//! (`GITHUB_ACTOR`, else `USER`) and the AWS caller identity
//! (STS `GetCallerIdentity`, which needs no permission).

use aws_config::SdkConfig;

use crate::ui::Ui;

/// The approver as the release record keeps it: the name, then the
/// caller's ARN after a comma, e.g.
/// `alice,arn:aws:sts::123456789012:assumed-role/deploy/gh`. Either may
/// be missing (`unknown` for the name); a failed identity call is said,
/// never an error: the approval stands on the conditional write.
pub async fn approver(sdk: &SdkConfig, ui: &Ui) -> String {
    let name = super::tell::who().unwrap_or_else(|| "unknown".to_owned());
    match aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(identity) => match identity.arn() {
            Some(arn) => format!("{name},{arn}"),
            None => name,
        },
        Err(e) => {
            ui.detail(format_args!(
                "the AWS caller identity could not be read (STS GetCallerIdentity): {}",
                aws_sdk_sts::error::DisplayErrorContext(&e)
            ));
            name
        }
    }
}
