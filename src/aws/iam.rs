//! The seam to IAM, for the watcher's own roles (`greenlight watch
//! install/remove`): a role with a trust policy and one inline policy,
//! created or brought up to date, read, and deleted. AWS calls: `GetRole`,
//! `CreateRole`, `UpdateAssumeRolePolicy`, `PutRolePolicy`,
//! `DeleteRolePolicy`, `DeleteRole`. Safe to repeat.

use aws_sdk_iam::Client;

use crate::aws::sdk_errors::aws_error;
use crate::error::Result;

/// IAM, as greenlight uses it.
#[derive(Debug, Clone)]
pub struct Iam {
    client: Client,
}

impl Iam {
    /// Wraps an SDK client.
    pub fn new(client: Client) -> Self {
        Iam { client }
    }

    /// The description of role `name` (empty when it has none); `None`
    /// when there is no such role.
    pub async fn role_description(&self, name: &str) -> Result<Option<String>> {
        match self.client.get_role().role_name(name).send().await {
            Ok(found) => Ok(Some(
                found
                    .role()
                    .and_then(|r| r.description())
                    .unwrap_or_default()
                    .to_owned(),
            )),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws_error(format!("read role {name}"), e)),
        }
    }

    /// Makes role `name` exist with the trust policy `trust` and the inline
    /// policy `policy_name` = `policy` (both JSON), replacing what they held;
    /// a role it creates gets `description`. Returns its ARN and whether it
    /// was created.
    pub async fn ensure_role(
        &self,
        name: &str,
        description: &str,
        trust: &str,
        policy_name: &str,
        policy: &str,
    ) -> Result<(String, bool)> {
        let found = self.client.get_role().role_name(name).send().await;
        let (arn, created) = match found {
            Ok(found) => {
                self.client
                    .update_assume_role_policy()
                    .role_name(name)
                    .policy_document(trust)
                    .send()
                    .await
                    .map_err(|e| aws_error(format!("update the trust policy of role {name}"), e))?;
                (found.role().map(|r| r.arn().to_owned()), false)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                let made = self
                    .client
                    .create_role()
                    .role_name(name)
                    .assume_role_policy_document(trust)
                    .description(description)
                    .send()
                    .await
                    .map_err(|e| aws_error(format!("create role {name}"), e))?;
                (made.role().map(|r| r.arn().to_owned()), true)
            }
            Err(e) => return Err(aws_error(format!("read role {name}"), e)),
        };
        self.client
            .put_role_policy()
            .role_name(name)
            .policy_name(policy_name)
            .policy_document(policy)
            .send()
            .await
            .map_err(|e| aws_error(format!("put policy {policy_name} on role {name}"), e))?;
        Ok((arn.unwrap_or_default(), created))
    }

    /// Deletes role `name` and its inline policy `policy_name`; whether the
    /// role was there.
    pub async fn delete_role(&self, name: &str, policy_name: &str) -> Result<bool> {
        let policy = self
            .client
            .delete_role_policy()
            .role_name(name)
            .policy_name(policy_name)
            .send()
            .await;
        match policy {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) => {}
            Err(e) => {
                return Err(aws_error(
                    format!("delete policy {policy_name} of role {name}"),
                    e,
                ));
            }
        }
        match self.client.delete_role().role_name(name).send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(aws_error(format!("delete role {name}"), e)),
        }
    }
}
