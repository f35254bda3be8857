//! The seam to where environment values may be kept outside the config:
//! SSM Parameter Store and Secrets Manager. Reads only.
//!
//! A parameter or secret is read in the region it lives in: the function's,
//! or the one its ARN names (a client for that region is made once and
//! kept). AWS calls: `ssm:GetParameters` (decrypted, at most 10 names a
//! call, the API's limit) and `secretsmanager:GetSecretValue`. Values are
//! secrets: the SDK's own `Debug` of both answers masks them, and nothing
//! here prints or logs one.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_ssm::types::Parameter;

use crate::aws::PerRegion;
use crate::aws::sdk_errors::aws_error;
use crate::error::Result;

/// The most names one `GetParameters` call takes.
pub const PARAMETERS_PER_CALL: usize = 10;

/// One region's two clients.
type Clients = (aws_sdk_ssm::Client, aws_sdk_secretsmanager::Client);

/// SSM Parameter Store and Secrets Manager, in any region.
#[derive(Debug)]
pub struct SecretStore {
    sdk: SdkConfig,
    clients: PerRegion<Clients>,
}

impl SecretStore {
    /// The two services with the credentials, endpoint and settings of
    /// `sdk` (its region is the home region: see [`SecretStore::home`]).
    pub fn new(sdk: &SdkConfig) -> Self {
        SecretStore {
            sdk: sdk.clone(),
            clients: PerRegion::default(),
        }
    }

    /// The region of the configuration the store was made with: where a
    /// name that is not an ARN is read.
    pub fn home(&self) -> String {
        self.sdk
            .region()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The clients for `region`, made on first use.
    fn clients(&self, region: &str) -> Clients {
        self.clients.get(region, |region| {
            let ssm = aws_sdk_ssm::config::Builder::from(&self.sdk)
                .region(region.clone())
                .build();
            let secrets = aws_sdk_secretsmanager::config::Builder::from(&self.sdk)
                .region(region)
                .build();
            (
                aws_sdk_ssm::Client::from_conf(ssm),
                aws_sdk_secretsmanager::Client::from_conf(secrets),
            )
        })
    }

    /// The decrypted values of the parameters `names` (names, ARNs, with an
    /// optional `:version` or `:label`) in `region`, by the name asked for;
    /// a name missing from the answer does not exist. One call per 10 names.
    pub async fn parameters(
        &self,
        region: &str,
        names: &[String],
    ) -> Result<BTreeMap<String, String>> {
        let (ssm, _) = self.clients(region);
        let mut found = BTreeMap::new();
        for batch in names.chunks(PARAMETERS_PER_CALL) {
            let out = ssm
                .get_parameters()
                .set_names(Some(batch.to_vec()))
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| {
                    aws_error(
                        format!("read parameters from SSM Parameter Store in {region}"),
                        e,
                    )
                })?;
            for asked in batch {
                let answer = out.parameters().iter().find(|p| answers(p, asked));
                if let Some(value) = answer.and_then(Parameter::value) {
                    found.insert(asked.clone(), value.to_owned());
                }
            }
        }
        Ok(found)
    }

    /// The text of the secret `id` (a name or an ARN) in `region`, its
    /// current version; `None` when there is no such secret, or it holds
    /// only binary data.
    pub async fn secret(&self, region: &str, id: &str) -> Result<Option<String>> {
        let (_, secrets) = self.clients(region);
        match secrets.get_secret_value().secret_id(id).send().await {
            Ok(out) => Ok(out.secret_string().map(str::to_owned)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws_error(
                format!("read secret {id} from Secrets Manager in {region}"),
                e,
            )),
        }
    }
}

/// The region a parameter or secret `id` lives in: the one its ARN names
/// (`arn:aws:ssm:eu-west-1:…`, `arn:aws:secretsmanager:eu-west-1:…`), or
/// `home` for a plain name.
pub fn region_of(id: &str, home: &str) -> String {
    match id.strip_prefix("arn:").map(|rest| rest.split(':').nth(2)) {
        Some(Some(region)) if !region.is_empty() => region.to_owned(),
        _ => home.to_owned(),
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
    fn an_arn_names_its_own_region() {
        let home = "us-east-1";
        assert_eq!(
            region_of("arn:aws:ssm:eu-west-1:123456789012:parameter/db", home),
            "eu-west-1"
        );
        assert_eq!(
            region_of(
                "arn:aws:secretsmanager:ap-south-1:123456789012:secret:s-AbCdEf",
                home
            ),
            "ap-south-1"
        );
        assert_eq!(region_of("/orders/db", home), home);
        assert_eq!(region_of("orders/stripe", home), home);
    }

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
