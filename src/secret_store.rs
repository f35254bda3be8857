//! The seam to where environment values may be kept outside the config:
//! SSM Parameter Store and Secrets Manager. Reads only.
//!
//! AWS calls: `ssm:GetParameters` (decrypted, at most 10 names a call, the
//! API's limit) and `secretsmanager:GetSecretValue`. Values are secrets:
//! the SDK's own `Debug` of both answers masks them, and nothing here
//! prints or logs one.

use std::collections::BTreeMap;

use aws_sdk_ssm::types::Parameter;

use crate::error::Result;
use crate::lambda::aws_error;

/// The most names one `GetParameters` call takes.
pub const PARAMETERS_PER_CALL: usize = 10;

/// SSM Parameter Store and Secrets Manager in one region.
#[derive(Debug, Clone)]
pub struct SecretStore {
    ssm: aws_sdk_ssm::Client,
    secrets: aws_sdk_secretsmanager::Client,
}

impl SecretStore {
    /// Wraps the two clients.
    pub fn new(ssm: aws_sdk_ssm::Client, secrets: aws_sdk_secretsmanager::Client) -> Self {
        SecretStore { ssm, secrets }
    }

    /// The decrypted values of the parameters `names` (names, ARNs, with an
    /// optional `:version` or `:label`), by the name asked for; a name
    /// missing from the answer does not exist. One call per 10 names.
    pub async fn parameters(&self, names: &[String]) -> Result<BTreeMap<String, String>> {
        let mut found = BTreeMap::new();
        for batch in names.chunks(PARAMETERS_PER_CALL) {
            let out = self
                .ssm
                .get_parameters()
                .set_names(Some(batch.to_vec()))
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| aws_error("read parameters from SSM Parameter Store", e))?;
            for asked in batch {
                let answer = out.parameters().iter().find(|p| answers(p, asked));
                if let Some(value) = answer.and_then(Parameter::value) {
                    found.insert(asked.clone(), value.to_owned());
                }
            }
        }
        Ok(found)
    }

    /// The text of the secret `id` (a name or an ARN), its current version;
    /// `None` when there is no such secret, or it holds only binary data.
    pub async fn secret(&self, id: &str) -> Result<Option<String>> {
        match self.secrets.get_secret_value().secret_id(id).send().await {
            Ok(out) => Ok(out.secret_string().map(str::to_owned)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws_error(
                format!("read secret {id} from Secrets Manager"),
                e,
            )),
        }
    }
}

/// Whether `p` is the parameter asked for as `asked`: by name or ARN, with
/// the selector (`:3`, `:label`) it was asked with.
fn answers(p: &Parameter, asked: &str) -> bool {
    let selector = p.selector().unwrap_or_default();
    [p.name(), p.arn()]
        .into_iter()
        .flatten()
        .any(|id| asked.strip_prefix(id) == Some(selector))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_answers_by_name_or_arn_with_its_selector() {
        let arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/orders/db";
        let plain = Parameter::builder().name("/orders/db").arn(arn).build();
        assert!(answers(&plain, "/orders/db"));
        assert!(answers(&plain, arn));
        assert!(!answers(&plain, "/orders/db:2"));
        assert!(!answers(&plain, "/orders/dbx"));
        let second = Parameter::builder()
            .name("/orders/db")
            .selector(":2")
            .build();
        assert!(answers(&second, "/orders/db:2"));
        assert!(!answers(&second, "/orders/db"));
    }
}
