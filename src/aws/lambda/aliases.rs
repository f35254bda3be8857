//! Aliases: read them, create one, point one at a version with a weighted
//! second version and the release record, conditionally on its RevisionId.

use std::collections::BTreeMap;

use aws_sdk_lambda::operation::get_alias::GetAliasError;
use aws_sdk_lambda::operation::get_provisioned_concurrency_config::GetProvisionedConcurrencyConfigError;
use aws_sdk_lambda::types::AliasRoutingConfiguration;

use super::{Lambda, found};
use crate::aws::sdk_errors::aws_error;
use crate::error::{Error, Failure, Result};

/// An alias and where it points.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AliasState {
    /// The version that takes the main share of traffic.
    pub version: String,
    /// Extra versions and their share of traffic (0.0 to 1.0).
    pub weights: BTreeMap<String, f64>,
    /// The alias description (greenlight keeps its release record here).
    pub description: String,
    /// For conditional updates.
    pub revision_id: Option<String>,
}

impl Lambda {
    /// The alias, or `None` if it does not exist.
    pub async fn alias(&self, name: &str, alias: &str) -> Result<Option<AliasState>> {
        let read = self
            .client
            .get_alias()
            .function_name(name)
            .name(alias)
            .send()
            .await;
        let not_found = |e: &GetAliasError| e.is_resource_not_found_exception();
        let action = || format!("read alias {name}:{alias}");
        Ok(found(read, not_found, action)?.map(|out| AliasState {
            version: out.function_version.unwrap_or_default(),
            weights: weights_of(out.routing_config.as_ref()),
            description: out.description.unwrap_or_default(),
            revision_id: out.revision_id,
        }))
    }

    /// The provisioned concurrency requested on `alias` (which Lambda
    /// splits between the alias's versions by weight), or `None` when the
    /// alias has none configured.
    pub async fn provisioned_concurrency(&self, name: &str, alias: &str) -> Result<Option<i32>> {
        let read = self
            .client
            .get_provisioned_concurrency_config()
            .function_name(name)
            .qualifier(alias)
            .send()
            .await;
        let not_found = GetProvisionedConcurrencyConfigError::is_provisioned_concurrency_config_not_found_exception;
        let action = || format!("read the provisioned concurrency of alias {name}:{alias}");
        Ok(found(read, not_found, action)?
            .and_then(|out| out.requested_provisioned_concurrent_executions)
            .filter(|n| *n > 0))
    }

    /// Creates `alias` on `version` with no extra weights.
    pub async fn create_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        description: &str,
    ) -> Result<()> {
        self.retry_on_conflict(
            name,
            |e| aws_error(format!("create alias {name}:{alias}"), e),
            aws_sdk_lambda::operation::create_alias::CreateAliasError::is_resource_conflict_exception,
            || {
                self.client
                    .create_alias()
                    .function_name(name)
                    .name(alias)
                    .function_version(version)
                    .description(description)
                    .send()
            },
        )
        .await?;
        Ok(())
    }

    /// Points `alias` at `version`, with `extra` (a version and its share of
    /// traffic, 0.0 to 1.0) or with no extra weights, and writes
    /// `description`, all in one call, only if the alias is still at
    /// `revision_id`. Returns the alias's new revision. A changed revision is
    /// a [`Failure::Conflict`].
    pub async fn point_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        extra: Option<(&str, f64)>,
        description: &str,
        revision_id: Option<&str>,
    ) -> Result<Option<String>> {
        let update = || {
            self.update_alias(name, alias, version, extra, description)
                .set_revision_id(revision_id.map(str::to_owned))
                .send()
        };
        let conflict = aws_sdk_lambda::operation::update_alias::UpdateAliasError::is_resource_conflict_exception;
        let out = self
            .retry_on_conflict(name, |e| {
                let changed = e
                    .as_service_error()
                    .is_some_and(|e| e.is_precondition_failed_exception());
                let err = aws_error(format!("move alias {name}:{alias}"), e);
                if changed {
                    Error {
                        failure: Failure::Conflict,
                        message: format!(
                            "alias {alias} of function {name} was changed by someone else meanwhile; stopped without writing further"
                        ),
                        ..err
                    }
                    .with_hint("another greenlight run or a person is moving it; see `greenlight status`")
                } else {
                    err
                }
            }, conflict, update)
            .await?;
        Ok(out.revision_id)
    }

    /// An `UpdateAlias` request pointing `alias` at `version`, with `extra`
    /// (a version and its share) or no extra weights, and `description`.
    fn update_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        extra: Option<(&str, f64)>,
        description: &str,
    ) -> aws_sdk_lambda::operation::update_alias::builders::UpdateAliasFluentBuilder {
        let weights = extra.map(|(v, w)| (v.to_owned(), w)).into_iter().collect();
        let routing = AliasRoutingConfiguration::builder()
            .set_additional_version_weights(Some(weights))
            .build();
        self.client
            .update_alias()
            .function_name(name)
            .name(alias)
            .function_version(version)
            .description(description)
            .routing_config(routing)
    }

    /// Every alias of the function, with where it points.
    pub async fn aliases(&self, name: &str) -> Result<Vec<(String, AliasState)>> {
        let mut pages = self
            .client
            .list_aliases()
            .function_name(name)
            .into_paginator()
            .send();
        let mut aliases = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| aws_error(format!("list aliases of function {name}"), e))?;
            aliases.extend(page.aliases().iter().map(|a| {
                (
                    a.name().unwrap_or_default().to_owned(),
                    AliasState {
                        version: a.function_version().unwrap_or_default().to_owned(),
                        weights: weights_of(a.routing_config()),
                        description: a.description().unwrap_or_default().to_owned(),
                        revision_id: a.revision_id().map(str::to_owned),
                    },
                )
            }));
        }
        Ok(aliases)
    }
}

fn weights_of(routing: Option<&AliasRoutingConfiguration>) -> BTreeMap<String, f64> {
    routing
        .and_then(|r| r.additional_version_weights())
        .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default()
}
