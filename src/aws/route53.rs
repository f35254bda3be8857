//! The seam to Route 53, for DNS releases: read the weighted record pair,
//! set its weights in one change, create it, and wait until a change is
//! INSYNC. Throttling (`Throttling`, `PriorRequestNotComplete`) is retried by
//! the SDK's standard retry with backoff (more attempts than the default,
//! see [`crate::aws`]).

use std::time::Duration;

use aws_sdk_route53::Client;
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord,
    ResourceRecordSet, RrType,
};

use crate::aws::sdk_errors::aws_error;
use crate::error::{Error, Failure, Result};

/// How long a change may take to reach every Route 53 server.
const INSYNC_DEADLINE: Duration = Duration::from_secs(600);

/// A record set's name as Route 53 knows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordName<'a> {
    /// The hosted zone.
    pub zone_id: &'a str,
    /// The record name, without the trailing dot.
    pub name: &'a str,
    /// `CNAME`, `A` or `AAAA`.
    pub record_type: &'a str,
}

/// One weighted record greenlight creates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewRecord<'a> {
    /// Its SetIdentifier.
    pub set_identifier: &'a str,
    /// The CNAME target, or the alias target's DNS name.
    pub value: &'a str,
    /// For `A`/`AAAA` alias records: the target's hosted zone.
    pub target_zone_id: Option<&'a str>,
    /// Its weight.
    pub weight: i64,
}

/// One record of the pair as Route 53 holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedRecord {
    /// The SetIdentifier (`blue`, `green`, or something else found there).
    pub set_identifier: String,
    /// The weight; `None` when the record is not weighted.
    pub weight: Option<i64>,
    /// The CNAME target or the alias target's DNS name.
    pub value: String,
    /// The TTL (alias records have none).
    pub ttl: Option<i64>,
    record: ResourceRecordSet,
}

impl WeightedRecord {
    /// The traffic policy instance that manages the record, if one does.
    pub fn traffic_policy(&self) -> Option<&str> {
        self.record.traffic_policy_instance_id()
    }

    /// This record with only its weight changed: every other field (health
    /// check, TTL, values or alias target, anything Route 53 adds) is kept,
    /// because a write replaces the record with exactly what it holds.
    pub fn reweighted(&self, weight: i64) -> WeightedRecord {
        let mut record = self.record.clone();
        record.weight = Some(weight);
        WeightedRecord {
            weight: Some(weight),
            record,
            ..self.clone()
        }
    }
}

/// Reads and writes the weighted records.
#[derive(Debug, Clone)]
pub struct Dns {
    client: Client,
    poll: Duration,
}

impl Dns {
    /// Wraps an SDK client; `poll` is the pause between GetChange calls.
    pub fn new(client: Client, poll: Duration) -> Self {
        Dns { client, poll }
    }

    /// Every record set with the name and type of `dns` (any SetIdentifier).
    pub async fn records(&self, dns: &RecordName<'_>) -> Result<Vec<WeightedRecord>> {
        let out = self
            .client
            .list_resource_record_sets()
            .hosted_zone_id(dns.zone_id)
            .start_record_name(dns.name)
            .start_record_type(RrType::from(dns.record_type))
            .max_items(20)
            .send()
            .await
            .map_err(|e| {
                let missing_zone = e
                    .as_service_error()
                    .is_some_and(|e| e.is_no_such_hosted_zone());
                let error = aws_error(
                    format!("read the {} records of {}", dns.record_type, dns.name),
                    e,
                );
                if missing_zone {
                    error.with_hint(format!(
                        "check dns.zone_id ({}): no such hosted zone in this account",
                        dns.zone_id
                    ))
                } else {
                    error
                }
            })?;
        let wanted = |r: &ResourceRecordSet| {
            r.name()
                .trim_end_matches('.')
                .eq_ignore_ascii_case(dns.name)
                && r.r#type().as_str() == dns.record_type
        };
        Ok(out
            .resource_record_sets()
            .iter()
            .filter(|r| wanted(r))
            .map(|r| WeightedRecord {
                set_identifier: r.set_identifier().unwrap_or_default().to_owned(),
                weight: r.weight(),
                value: r
                    .alias_target()
                    .map(|a| a.dns_name().to_owned())
                    .or_else(|| r.resource_records().first().map(|v| v.value().to_owned()))
                    .unwrap_or_default()
                    .trim_end_matches('.')
                    .to_owned(),
                ttl: r.ttl(),
                record: r.clone(),
            })
            .collect())
    }

    /// Sets each record's weight, all in one change that holds only if
    /// every record is still exactly as read: for each, a DELETE of the
    /// record as it was and a CREATE of it reweighted. Route 53 applies a
    /// batch whole or not at all, and refuses a DELETE whose values differ
    /// from the record's, so a runner whose view is stale (another runner
    /// or a person changed the pair) writes nothing: a [`Failure::Conflict`]
    /// (exit 1). Returns the change id and the records as they are now.
    pub async fn set_weights(
        &self,
        dns: &RecordName<'_>,
        weights: &[(&WeightedRecord, i64)],
        comment: &str,
    ) -> Result<(String, Vec<WeightedRecord>)> {
        let mut changes = Vec::new();
        let mut now = Vec::new();
        for (record, weight) in weights {
            let new = record.reweighted(*weight);
            changes.push(change(ChangeAction::Delete, record.record.clone()).map_err(build_error)?);
            changes.push(change(ChangeAction::Create, new.record.clone()).map_err(build_error)?);
            now.push(new);
        }
        let id = self.change(dns, changes, comment).await?;
        Ok((id, now))
    }

    /// Creates both `records` of `dns`, with `ttl` where they are not alias
    /// records.
    pub async fn create(
        &self,
        dns: &RecordName<'_>,
        ttl: i64,
        records: [NewRecord<'_>; 2],
        comment: &str,
    ) -> Result<String> {
        let mut changes = Vec::new();
        for record in &records {
            let set = new_record(dns, ttl, record).map_err(build_error)?;
            changes.push(change(ChangeAction::Upsert, set).map_err(build_error)?);
        }
        self.change(dns, changes, comment).await
    }

    /// Sends one change batch. A batch Route 53 refuses as invalid here
    /// means a DELETE no longer matches its record: someone changed the
    /// pair since it was read (exit 1, see [`Dns::set_weights`]).
    async fn change(
        &self,
        dns: &RecordName<'_>,
        changes: Vec<Change>,
        comment: &str,
    ) -> Result<String> {
        let batch = ChangeBatch::builder()
            .comment(comment)
            .set_changes(Some(changes))
            .build()
            .map_err(build_error)?;
        let out = self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(dns.zone_id)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| {
                let stale = e
                    .as_service_error()
                    .is_some_and(ChangeResourceRecordSetsError::is_invalid_change_batch);
                let err = aws_error(format!("change the weights of {}", dns.name), e);
                if !stale {
                    return err;
                }
                Error {
                    cause: err.cause,
                    ..changed_meanwhile(dns.name)
                }
            })?;
        Ok(out
            .change_info()
            .map(|c| c.id().to_owned())
            .unwrap_or_default())
    }

    /// Polls GetChange until the change is INSYNC (on every Route 53 server).
    pub async fn wait_insync(&self, change: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + INSYNC_DEADLINE;
        loop {
            let out = self
                .client
                .get_change()
                .id(change)
                .send()
                .await
                .map_err(|e| aws_error(format!("read the status of change {change}"), e))?;
            if out.change_info().map(|c| c.status()) == Some(&ChangeStatus::Insync) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::no_traffic_moved(format!(
                    "Route 53 change {change} is not INSYNC after {}",
                    humantime::format_duration(INSYNC_DEADLINE)
                )));
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}

/// The error of a runner whose view of the record pair of `name` is stale:
/// someone else changed it, so it stops without writing further (exit 1).
pub fn changed_meanwhile(name: &str) -> Error {
    Error::new(
        Failure::Conflict,
        format!(
            "the weighted records of {name} were changed by someone else meanwhile; stopped without writing further"
        ),
    )
    .with_hint("another greenlight run or a person is moving the weights; see `greenlight status`")
}

fn change(
    action: ChangeAction,
    set: ResourceRecordSet,
) -> std::result::Result<Change, aws_sdk_route53::error::BuildError> {
    Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
}

fn new_record(
    dns: &RecordName<'_>,
    ttl: i64,
    record: &NewRecord<'_>,
) -> std::result::Result<ResourceRecordSet, aws_sdk_route53::error::BuildError> {
    let set = ResourceRecordSet::builder()
        .name(dns.name)
        .r#type(RrType::from(dns.record_type))
        .set_identifier(record.set_identifier)
        .weight(record.weight);
    let set = match record.target_zone_id {
        Some(zone) => set.alias_target(
            AliasTarget::builder()
                .hosted_zone_id(zone)
                .dns_name(record.value)
                .evaluate_target_health(false)
                .build()?,
        ),
        None => set
            .ttl(ttl)
            .resource_records(ResourceRecord::builder().value(record.value).build()?),
    };
    set.build()
}

fn build_error(e: aws_sdk_route53::error::BuildError) -> Error {
    Error::usage("cannot build the Route 53 change").with_cause(e)
}

#[cfg(test)]
mod tests {
    //! Route 53 throttling, which moto never answers, injected with
    //! aws-smithy-mocks.

    use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsOutput;
    use aws_sdk_route53::types::ChangeInfo;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn error(code: &str) -> Option<String> {
        Some(format!(
            "<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>slow down</Message></Error><RequestId>1</RequestId></ErrorResponse>"
        ))
    }

    const DNS: RecordName<'static> = RecordName {
        zone_id: "Z1",
        name: "api.example.com",
        record_type: "CNAME",
    };

    #[tokio::test(start_paused = true)]
    async fn throttling_and_prior_request_not_complete_are_retried() {
        let change = mock!(aws_sdk_route53::Client::change_resource_record_sets)
            .sequence()
            .http_status(400, error("PriorRequestNotComplete"))
            .http_status(400, error("Throttling"))
            .output(|| {
                ChangeResourceRecordSetsOutput::builder()
                    .change_info(
                        ChangeInfo::builder()
                            .id("C1")
                            .status(ChangeStatus::Pending)
                            .submitted_at(aws_smithy_types::DateTime::from_secs(0))
                            .build()
                            .expect("change info"),
                    )
                    .build()
            })
            .build();
        let client = mock_client!(aws_sdk_route53, RuleMode::MatchAny, [&change], |c| c
            .retry_config(crate::aws::retries().expect("default retries"))
            .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new()));
        let dns_seam = Dns::new(client, Duration::from_millis(1));
        let blue = NewRecord {
            set_identifier: "blue",
            value: "blue.example.com",
            target_zone_id: None,
            weight: 100,
        };
        let record = new_record(&DNS, 60, &blue).expect("record");
        let blue = WeightedRecord {
            set_identifier: "blue".to_owned(),
            weight: Some(100),
            value: "blue.example.com".to_owned(),
            ttl: Some(60),
            record,
        };
        let (id, now) = dns_seam
            .set_weights(&DNS, &[(&blue, 90)], "test")
            .await
            .expect("retried until it went through");
        assert_eq!(id, "C1");
        assert_eq!(now[0].weight, Some(90));
        assert_eq!(now[0].reweighted(100), blue);
        assert_eq!(change.num_calls(), 3);
    }
}
