//! The `[function]` keys of the settings real functions use beyond code,
//! memory and environment: architecture, layers, ephemeral storage,
//! tracing, VPC, logging, dead-letter queue, KMS key, file systems and tags.
//!
//! In: the keys as written ([`RawExtras`]). Out: [`ExtraSettings`], checked
//! as Lambda would check them: a bad value is exit 2 naming the key, before
//! any AWS call.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::aws::lambda::{
    ExtraSettings, FileSystem, Logging, MANAGED_TAGS, MAX_TAGS, Vpc, managed_value,
};
use crate::error::{Error, Result};

/// The `[function]` keys of these settings, as written.
#[derive(Debug, Default)]
pub struct RawExtras {
    /// `architecture`.
    pub architecture: Option<String>,
    /// `layers`.
    pub layers: Option<Vec<String>>,
    /// `ephemeral_storage`.
    pub ephemeral_storage: Option<i64>,
    /// `tracing`.
    pub tracing: Option<String>,
    /// `vpc`.
    pub vpc: Option<RawVpc>,
    /// `logging`.
    pub logging: Option<RawLogging>,
    /// `dead_letter`.
    pub dead_letter: Option<String>,
    /// `kms_key`.
    pub kms_key: Option<String>,
    /// `file_systems`.
    pub file_systems: Option<Vec<RawFileSystem>>,
    /// `snap_start`.
    pub snap_start: Option<bool>,
    /// `tags`.
    pub tags: Option<BTreeMap<String, String>>,
}

/// `function.vpc` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVpc {
    subnets: Vec<String>,
    security_groups: Vec<String>,
    ipv6: Option<bool>,
}

/// `function.logging` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogging {
    format: Option<String>,
    log_group: Option<String>,
    application_level: Option<String>,
    system_level: Option<String>,
}

/// One `function.file_systems` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFileSystem {
    arn: String,
    mount_path: String,
}

/// Checks the keys as Lambda would; `bad(key, value, why)` makes the error.
pub fn check(raw: RawExtras, bad: impl Fn(&str, String, &str) -> Error) -> Result<ExtraSettings> {
    let one_of = |key: &str, value: Option<String>, allowed: &[&str]| match value {
        Some(v) if !allowed.contains(&v.as_str()) => Err(bad(
            key,
            format!("{v:?}"),
            &format!("Lambda accepts {}", quoted(allowed)),
        )),
        v => Ok(v),
    };
    let architecture = one_of(
        "function.architecture",
        raw.architecture,
        &["x86_64", "arm64"],
    )?;
    let tracing = one_of("function.tracing", raw.tracing, &["Active", "PassThrough"])?;
    let ephemeral_storage = match raw.ephemeral_storage {
        Some(mb) if !(512..=10240).contains(&mb) => {
            return Err(bad(
                "function.ephemeral_storage",
                mb.to_string(),
                "Lambda accepts 512 to 10240 MB",
            ));
        }
        mb => mb.map(|mb| mb as i32),
    };
    if let Some(layers) = &raw.layers {
        let key = "function.layers";
        if layers.len() > 5 {
            return Err(bad(key, format!("{} layers", layers.len()), "at most 5"));
        }
        for (i, arn) in layers.iter().enumerate() {
            if !is_layer_version_arn(arn) {
                return Err(bad(
                    &format!("{key}[{i}]"),
                    format!("{arn:?}"),
                    "a layer version ARN like arn:aws:lambda:eu-west-1:123456789012:layer:NAME:3",
                ));
            }
            if layers[..i].contains(arn) {
                return Err(bad(
                    &format!("{key}[{i}]"),
                    format!("{arn:?}"),
                    "listed twice",
                ));
            }
            let layer = |arn: &str| arn.rsplit_once(':').map(|(layer, _)| layer.to_owned());
            if let Some(other) = layers[..i].iter().find(|o| layer(o) == layer(arn)) {
                return Err(bad(
                    &format!("{key}[{i}]"),
                    format!("{arn:?}"),
                    &format!(
                        "{other:?} is another version of the same layer, and Lambda takes one version of each layer: keep one"
                    ),
                ));
            }
        }
    }
    let vpc = raw.vpc.map(|v| check_vpc(v, &bad)).transpose()?;
    let logging = raw.logging.map(|l| check_logging(l, &bad)).transpose()?;
    if let Some(arn) = &raw.dead_letter
        && !arn.is_empty()
        && !is_arn(arn, "sqs", "")
        && !is_arn(arn, "sns", "")
    {
        return Err(bad(
            "function.dead_letter",
            format!("{arn:?}"),
            "an SQS queue or SNS topic ARN like arn:aws:sqs:eu-west-1:123456789012:NAME, or \"\" for none",
        ));
    }
    if let Some(arn) = &raw.kms_key
        && !arn.is_empty()
        && !is_arn(arn, "kms", "key/")
    {
        return Err(bad(
            "function.kms_key",
            format!("{arn:?}"),
            "a KMS key ARN like arn:aws:kms:eu-west-1:123456789012:key/ID, or \"\" for Lambda's own key",
        ));
    }
    let file_systems = raw
        .file_systems
        .map(|list| check_file_systems(list, &bad))
        .transpose()?;
    let tags = raw.tags.map(|t| check_tags(t, &bad)).transpose()?;
    Ok(ExtraSettings {
        architecture,
        layers: raw.layers,
        ephemeral_storage,
        tracing,
        vpc,
        logging,
        dead_letter: raw.dead_letter,
        kms_key: raw.kms_key,
        file_systems,
        snap_start: raw.snap_start,
        tags,
    })
}

fn check_vpc(raw: RawVpc, bad: &impl Fn(&str, String, &str) -> Error) -> Result<Vpc> {
    for (key, ids, prefix, most) in [
        ("function.vpc.subnets", &raw.subnets, "subnet-", 16),
        (
            "function.vpc.security_groups",
            &raw.security_groups,
            "sg-",
            5,
        ),
    ] {
        if ids.len() > most {
            return Err(bad(
                key,
                format!("{} IDs", ids.len()),
                &format!("at most {most}"),
            ));
        }
        if let Some(id) = ids.iter().find(|id| !is_resource_id(id, prefix)) {
            return Err(bad(
                key,
                format!("{id:?}"),
                &format!("IDs look like \"{prefix}0123456789abcdef0\""),
            ));
        }
    }
    if raw.subnets.is_empty() != raw.security_groups.is_empty() {
        return Err(bad(
            "function.vpc",
            "(subnets and security_groups)".to_owned(),
            "give both, or both empty to take the function out of its VPC",
        ));
    }
    Ok(Vpc::new(
        raw.subnets,
        raw.security_groups,
        raw.ipv6.unwrap_or(false),
    ))
}

fn check_logging(raw: RawLogging, bad: &impl Fn(&str, String, &str) -> Error) -> Result<Logging> {
    for (key, value, allowed) in [
        (
            "function.logging.format",
            &raw.format,
            &["Text", "JSON"][..],
        ),
        (
            "function.logging.application_level",
            &raw.application_level,
            &["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"],
        ),
        (
            "function.logging.system_level",
            &raw.system_level,
            &["DEBUG", "INFO", "WARN"],
        ),
    ] {
        if let Some(v) = value
            && !allowed.contains(&v.as_str())
        {
            return Err(bad(
                key,
                format!("{v:?}"),
                &format!("Lambda accepts {}", quoted(allowed)),
            ));
        }
    }
    if let Some(group) = &raw.log_group
        && (group.is_empty()
            || group.len() > 512
            || !group
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c)))
    {
        return Err(bad(
            "function.logging.log_group",
            format!("{group:?}"),
            "a log group name: 1 to 512 letters, digits, '.', '_', '-', '/' or '#'",
        ));
    }
    if (raw.application_level.is_some() || raw.system_level.is_some())
        && raw.format.as_deref() != Some("JSON")
    {
        return Err(bad(
            "function.logging",
            "(levels)".to_owned(),
            "log levels need format = \"JSON\" in the same table (Lambda filters only JSON logs)",
        ));
    }
    Ok(Logging {
        format: raw.format,
        log_group: raw.log_group,
        application_level: raw.application_level,
        system_level: raw.system_level,
    })
}

fn check_file_systems(
    raw: Vec<RawFileSystem>,
    bad: &impl Fn(&str, String, &str) -> Error,
) -> Result<Vec<FileSystem>> {
    if raw.len() > 1 {
        return Err(bad(
            "function.file_systems",
            format!("{} entries", raw.len()),
            "Lambda mounts at most one file system",
        ));
    }
    raw.into_iter()
        .enumerate()
        .map(|(i, fs)| {
            if !is_arn(&fs.arn, "elasticfilesystem", "access-point/fsap-") {
                return Err(bad(
                    &format!("function.file_systems[{i}].arn"),
                    format!("{:?}", fs.arn),
                    "an EFS access point ARN like arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0123456789abcdef0",
                ));
            }
            let name = fs.mount_path.strip_prefix("/mnt/").unwrap_or_default();
            if name.is_empty()
                || fs.mount_path.len() > 160
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            {
                return Err(bad(
                    &format!("function.file_systems[{i}].mount_path"),
                    format!("{:?}", fs.mount_path),
                    "a path like \"/mnt/data\": /mnt/ and a name of letters, digits, '.', '_' or '-'",
                ));
            }
            Ok(FileSystem {
                arn: fs.arn,
                mount_path: fs.mount_path,
            })
        })
        .collect()
}

fn check_tags(
    tags: BTreeMap<String, String>,
    bad: &impl Fn(&str, String, &str) -> Error,
) -> Result<BTreeMap<String, String>> {
    let allowed = |c: char| c.is_alphanumeric() || "_.:/=+-@".contains(c);
    if tags.len() >= MAX_TAGS {
        return Err(bad(
            "function.tags",
            format!("{} tags", tags.len()),
            &format!(
                "at most {}: Lambda keeps {MAX_TAGS} per function, and greenlight needs one ({MANAGED_TAGS})",
                MAX_TAGS - 1
            ),
        ));
    }
    for (key, value) in &tags {
        let at = format!("function.tags.{key}");
        if key == MANAGED_TAGS {
            return Err(bad(
                &at,
                format!("{value:?}"),
                "greenlight keeps this tag itself; use another key",
            ));
        }
        if key.is_empty()
            || key.chars().count() > 128
            || key.to_ascii_lowercase().starts_with("aws:")
            || !key.chars().all(allowed)
        {
            return Err(bad(
                &at,
                format!("{value:?}"),
                "a tag key is 1 to 128 letters, digits or _ . : / = + - @ (no spaces: greenlight lists the keys it manages, space-separated), not starting with aws:",
            ));
        }
        if value.chars().count() > 256 || !value.chars().all(|c| allowed(c) || c == ' ') {
            return Err(bad(
                &at,
                format!("{value:?}"),
                "a tag value is at most 256 letters, digits, spaces or _ . : / = + - @",
            ));
        }
    }
    if managed_value("", &tags).len() > 256 {
        return Err(bad(
            "function.tags",
            format!("{} tags", tags.len()),
            &format!(
                "their keys, space-separated, and greenlight's checksum must fit in the 256 characters of the {MANAGED_TAGS} tag: use fewer or shorter keys"
            ),
        ));
    }
    Ok(tags)
}

fn quoted(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    quoted.join(", ")
}

/// `prefix` followed by 1 to 32 lowercase hex digits, e.g. `subnet-0a1b`.
fn is_resource_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|hex| {
        (1..=32).contains(&hex.len())
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// `arn:PARTITION:service:REGION:ACCOUNT:RESOURCE`, the resource starting
/// with `resource_prefix` and more after it.
fn is_arn(arn: &str, service: &str, resource_prefix: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, partition, svc, region, account, resource] = parts[..] else {
        return false;
    };
    scheme == "arn"
        && partition.starts_with("aws")
        && svc == service
        && !region.is_empty()
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && resource.len() > resource_prefix.len()
        && resource.starts_with(resource_prefix)
        && !arn.chars().any(char::is_whitespace)
}

/// `arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION`.
fn is_layer_version_arn(arn: &str) -> bool {
    if !is_arn(arn, "lambda", "layer:") {
        return false;
    }
    let parts: Vec<&str> = arn.split(':').collect();
    matches!(parts[..], [_, _, _, _, _, "layer", name, version]
        if !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !version.is_empty()
            && version.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_versions_of_one_layer_are_refused_naming_both() {
        let bad =
            |key: &str, value: String, why: &str| Error::usage(format!("`{key}` = {value}: {why}"));
        let layer = |v: u32| format!("arn:aws:lambda:us-east-1:123456789012:layer:deps:{v}");
        let raw = RawExtras {
            layers: Some(vec![layer(3), layer(4)]),
            ..RawExtras::default()
        };
        let err = check(raw, bad).expect_err("refused");
        assert_eq!(
            err.message,
            format!(
                "`function.layers[1]` = {:?}: {:?} is another version of the same layer, and Lambda takes one version of each layer: keep one",
                layer(4),
                layer(3)
            )
        );
        let other = "arn:aws:lambda:us-east-1:123456789012:layer:deps2:4".to_owned();
        let raw = RawExtras {
            layers: Some(vec![layer(3), other]),
            ..RawExtras::default()
        };
        assert!(check(raw, bad).is_ok());
    }

    #[test]
    fn arns_and_ids_are_recognised() {
        assert!(is_layer_version_arn(
            "arn:aws:lambda:us-east-1:123456789012:layer:deps:3"
        ));
        assert!(!is_layer_version_arn(
            "arn:aws:lambda:us-east-1:123456789012:layer:deps"
        ));
        assert!(!is_layer_version_arn(
            "arn:aws:lambda:us-east-1:123456789012:function:deps:3"
        ));
        assert!(is_arn(
            "arn:aws:sns:eu-west-1:123456789012:topic",
            "sns",
            ""
        ));
        assert!(!is_arn("arn:aws:sns:eu-west-1:1234:topic", "sns", ""));
        assert!(is_arn(
            "arn:aws:kms:eu-west-1:123456789012:key/abc",
            "kms",
            "key/"
        ));
        assert!(!is_arn(
            "arn:aws:kms:eu-west-1:123456789012:key/",
            "kms",
            "key/"
        ));
        assert!(is_resource_id("subnet-0a1b2c", "subnet-"));
        assert!(!is_resource_id("subnet-XYZ", "subnet-"));
    }
}
