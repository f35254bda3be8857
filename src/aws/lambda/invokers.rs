//! What else invokes the function: its event source mappings, its
//! unqualified function URL and its own resource-based policy.

use aws_sdk_lambda::operation::get_function_url_config::GetFunctionUrlConfigError;
use aws_sdk_lambda::operation::get_policy::GetPolicyError;

use super::{Lambda, found};
use crate::aws::sdk_errors::aws_error;
use crate::error::Result;

/// An event source mapping: a queue or stream Lambda polls to invoke the function.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSourceMapping {
    /// Its identifier.
    pub uuid: String,
    /// The ARN of the queue or stream it reads.
    pub source: String,
    /// The function ARN it invokes; qualified for a version or an alias.
    pub function_arn: String,
}

impl Lambda {
    /// The function's event source mappings (queues, streams), each with
    /// the function ARN it invokes: qualified when it invokes a version or
    /// an alias.
    pub async fn event_source_mappings(&self, name: &str) -> Result<Vec<EventSourceMapping>> {
        let mut pages = self
            .client
            .list_event_source_mappings()
            .function_name(name)
            .into_paginator()
            .send();
        let mut mappings = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                aws_error(
                    format!("list the event source mappings of function {name}"),
                    e,
                )
            })?;
            mappings.extend(
                page.event_source_mappings()
                    .iter()
                    .map(|m| EventSourceMapping {
                        uuid: m.uuid().unwrap_or_default().to_owned(),
                        source: m.event_source_arn().unwrap_or_default().to_owned(),
                        function_arn: m.function_arn().unwrap_or_default().to_owned(),
                    }),
            );
        }
        Ok(mappings)
    }

    /// The URL of the function's unqualified function URL (one that invokes
    /// `$LATEST`), or `None` when it has none.
    pub async fn unqualified_url(&self, name: &str) -> Result<Option<String>> {
        let read = self
            .client
            .get_function_url_config()
            .function_name(name)
            .send()
            .await;
        let not_found = |e: &GetFunctionUrlConfigError| e.is_resource_not_found_exception();
        let action = || format!("read the function URL of function {name}");
        Ok(found(read, not_found, action)?.map(|out| out.function_url))
    }

    /// The statements of the function's own resource-based policy (the
    /// unqualified function's, not a version's or an alias's), as JSON;
    /// none when it has no policy.
    pub async fn unqualified_policy(&self, name: &str) -> Result<Vec<serde_json::Value>> {
        let read = self.client.get_policy().function_name(name).send().await;
        let not_found = |e: &GetPolicyError| e.is_resource_not_found_exception();
        let action = || format!("read the resource-based policy of function {name}");
        let policy = found(read, not_found, action)?.and_then(|out| out.policy);
        let statements = policy
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .map(|doc| match doc.get("Statement") {
                Some(serde_json::Value::Array(list)) => list.clone(),
                Some(one) => vec![one.clone()],
                None => Vec::new(),
            })
            .unwrap_or_default();
        Ok(statements)
    }
}
