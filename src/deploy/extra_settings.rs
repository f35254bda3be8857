//! The function settings real functions use beyond code, memory and
//! environment: architecture, layers, ephemeral storage, tracing, VPC,
//! logging, dead-letter queue, KMS key, file systems and tags.
//!
//! In: their `[function]` keys ([`RawExtras`]). Out: [`ExtraSettings`],
//! checked as Lambda would check them (a bad value is exit 2 naming the
//! key, before any AWS call). The same type holds what Lambda reports for a
//! function, normalised to Lambda's defaults ([`ExtraSettings::normalised`]),
//! so the unchanged check compares like with like ([`differences`]): a key
//! absent from the config is left as it is, and a function on Lambda's
//! defaults equals a config that names them.
//!
//! Tags belong to the function, not to a version. greenlight adds and
//! updates the tags it is given and removes only those it set earlier,
//! never tags other tools own: it lists the keys it set, space-separated,
//! in its own tag [`MANAGED_TAGS`], followed by a checksum over the
//! function's name and the list ([`TagChange`]). Anyone may edit a tag, so
//! a list whose checksum does not match (edited by hand, copied from
//! another function) makes greenlight remove nothing, and say so.
//!
//! No AWS calls here: [`crate::aws::lambda`] sends and reads these settings.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The tag in which greenlight lists, space-separated, the tag keys it
/// set, then `check=` and a checksum of the list.
pub const MANAGED_TAGS: &str = "greenlight:managed-tags";

/// Lambda's limit on tags per function; one is greenlight's own.
const MAX_TAGS: usize = 50;

/// Settings from the config (`None`: leave as it is), or, normalised, as
/// Lambda reports them (then `tags` is `None`: they are read apart).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtraSettings {
    /// `x86_64` or `arm64`; Lambda takes it with the code, not the configuration.
    pub architecture: Option<String>,
    /// Layer version ARNs, in order.
    pub layers: Option<Vec<String>>,
    /// `/tmp` size in MB.
    pub ephemeral_storage: Option<i32>,
    /// X-Ray tracing mode: `Active` or `PassThrough`.
    pub tracing: Option<String>,
    /// Subnets and security groups (both empty: no VPC).
    pub vpc: Option<Vpc>,
    /// Log format, group and levels.
    pub logging: Option<Logging>,
    /// The SQS queue or SNS topic ARN for failed asynchronous events (`""`: none).
    pub dead_letter: Option<String>,
    /// The KMS key ARN that encrypts the environment (`""`: Lambda's own key).
    pub kms_key: Option<String>,
    /// EFS access points and where they are mounted.
    pub file_systems: Option<Vec<FileSystem>>,
    /// The function's tags that greenlight manages.
    pub tags: Option<BTreeMap<String, String>>,
}

/// A function's VPC attachment; the lists are kept sorted, as Lambda does
/// not keep their order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vpc {
    /// Subnet IDs.
    pub subnets: Vec<String>,
    /// Security group IDs.
    pub security_groups: Vec<String>,
    /// Whether IPv6 traffic is allowed in dual-stack subnets.
    pub ipv6: bool,
}

/// A function's logging configuration; `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Logging {
    /// `Text` or `JSON`.
    pub format: Option<String>,
    /// The CloudWatch log group.
    pub log_group: Option<String>,
    /// The application log level (JSON format only).
    pub application_level: Option<String>,
    /// The system log level (JSON format only).
    pub system_level: Option<String>,
}

/// One EFS access point mounted into the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSystem {
    /// The access point ARN.
    pub arn: String,
    /// Where it is mounted, under `/mnt/`.
    pub mount_path: String,
}

/// One of the settings, to say which differ and which to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// `architecture` (sent with the code).
    Architecture,
    /// `layers`.
    Layers,
    /// `ephemeral_storage`.
    EphemeralStorage,
    /// `tracing`.
    Tracing,
    /// `vpc`.
    Vpc,
    /// `logging`.
    Logging,
    /// `dead_letter`.
    DeadLetter,
    /// `kms_key`.
    KmsKey,
    /// `file_systems`.
    FileSystems,
}

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
    Ok(Vpc {
        subnets: sorted(raw.subnets),
        security_groups: sorted(raw.security_groups),
        ipv6: raw.ipv6.unwrap_or(false),
    })
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

impl ExtraSettings {
    /// What Lambda reported, with its defaults filled in where it may leave
    /// a setting out (x86_64, no layers, 512 MB, PassThrough, no VPC, Text
    /// logs, no dead-letter queue, Lambda's own key, no file system).
    pub fn normalised(self) -> ExtraSettings {
        let text = |v: Option<String>| Some(v.unwrap_or_default());
        let logging = self.logging.unwrap_or_default();
        ExtraSettings {
            architecture: Some(self.architecture.unwrap_or_else(|| "x86_64".to_owned())),
            layers: Some(self.layers.unwrap_or_default()),
            ephemeral_storage: Some(self.ephemeral_storage.unwrap_or(512)),
            tracing: Some(self.tracing.unwrap_or_else(|| "PassThrough".to_owned())),
            vpc: Some(self.vpc.map_or_else(Vpc::default, |v| Vpc {
                subnets: sorted(v.subnets),
                security_groups: sorted(v.security_groups),
                ipv6: v.ipv6,
            })),
            logging: Some(Logging {
                format: Some(logging.format.unwrap_or_else(|| "Text".to_owned())),
                ..logging
            }),
            dead_letter: text(self.dead_letter),
            kms_key: text(self.kms_key),
            file_systems: Some(self.file_systems.unwrap_or_default()),
            tags: None,
        }
    }

    /// The settings to send with a configuration update: those in
    /// `changed`, logging completed from `have` (Lambda would reset the
    /// fields an update leaves out). Architecture and tags are never sent
    /// this way.
    pub fn to_send(&self, changed: &[Setting], have: &ExtraSettings) -> ExtraSettings {
        let has = |s| changed.contains(&s);
        ExtraSettings {
            architecture: None,
            layers: self.layers.clone().filter(|_| has(Setting::Layers)),
            ephemeral_storage: self
                .ephemeral_storage
                .filter(|_| has(Setting::EphemeralStorage)),
            tracing: self.tracing.clone().filter(|_| has(Setting::Tracing)),
            vpc: self.vpc.clone().filter(|_| has(Setting::Vpc)),
            logging: self
                .logging
                .as_ref()
                .filter(|_| has(Setting::Logging))
                .map(|want| want.completed_from(have.logging.as_ref())),
            dead_letter: self
                .dead_letter
                .clone()
                .filter(|_| has(Setting::DeadLetter)),
            kms_key: self.kms_key.clone().filter(|_| has(Setting::KmsKey)),
            file_systems: self
                .file_systems
                .clone()
                .filter(|_| has(Setting::FileSystems)),
            tags: None,
        }
    }
}

impl ExtraSettings {
    /// These settings over `have`'s (normalised): what a function holds
    /// after an update that sends them.
    pub fn over(&self, have: &ExtraSettings) -> ExtraSettings {
        fn or<T: Clone>(want: &Option<T>, have: &Option<T>) -> Option<T> {
            want.clone().or_else(|| have.clone())
        }
        ExtraSettings {
            architecture: or(&self.architecture, &have.architecture),
            layers: or(&self.layers, &have.layers),
            ephemeral_storage: self.ephemeral_storage.or(have.ephemeral_storage),
            tracing: or(&self.tracing, &have.tracing),
            vpc: or(&self.vpc, &have.vpc),
            logging: self
                .logging
                .as_ref()
                .map(|l| l.completed_from(have.logging.as_ref()))
                .or_else(|| have.logging.clone()),
            dead_letter: or(&self.dead_letter, &have.dead_letter),
            kms_key: or(&self.kms_key, &have.kms_key),
            file_systems: or(&self.file_systems, &have.file_systems),
            tags: None,
        }
    }
}

/// A setting Lambda refuses together with another: the key, its value as
/// shown, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The config key at fault, e.g. `function.snap_start`.
    pub key: &'static str,
    /// Its value, as shown.
    pub value: String,
    /// What Lambda refuses, and what to do.
    pub why: String,
}

/// What Lambda would refuse in the settings a function ends with:
/// `runtime` and `snap_start` as they will be, `extra` merged with
/// [`ExtraSettings::over`]. SnapStart goes with Java 11+, Python 3.12+ and
/// .NET 8+ runtimes, and not with a file system or more than 512 MB of
/// ephemeral storage; a file system needs a VPC.
pub fn refused_together(
    runtime: Option<&str>,
    snap_start: bool,
    extra: &ExtraSettings,
) -> Option<Refused> {
    let file_system = extra.file_systems.as_deref().and_then(<[_]>::first);
    let snap = |why: String| Refused {
        key: "function.snap_start",
        value: "true".to_owned(),
        why,
    };
    if snap_start {
        if let Some(runtime) = runtime.filter(|r| !has_snap_start(r)) {
            return Some(snap(format!(
                "Lambda has no SnapStart for runtime {runtime} (function.runtime, or the function's): it offers SnapStart for Java 11 and later, Python 3.12 and later and .NET 8 and later"
            )));
        }
        if let Some(fs) = file_system {
            return Some(snap(format!(
                "Lambda has no SnapStart for a function with a file system (function.file_systems, or the function's: {}): remove one of them",
                fs.arn
            )));
        }
        if let Some(mb) = extra.ephemeral_storage.filter(|mb| *mb > 512) {
            return Some(snap(format!(
                "Lambda has no SnapStart with more than 512 MB of ephemeral storage (function.ephemeral_storage, or the function's: {mb} MB)"
            )));
        }
    }
    let no_vpc = extra.vpc.as_ref().is_none_or(|v| v.subnets.is_empty());
    match file_system {
        Some(fs) if no_vpc => Some(Refused {
            key: "function.file_systems",
            value: format!("{:?}", fs.arn),
            why: "Lambda mounts a file system only in a VPC, and the function would have none: set function.vpc to subnets and security groups that reach its mount targets".to_owned(),
        }),
        _ => None,
    }
}

/// Whether Lambda offers SnapStart for `runtime`: `java11` and later,
/// `python3.12` and later, `dotnet8` and later.
fn has_snap_start(runtime: &str) -> bool {
    let version = |prefix: &str| {
        runtime
            .strip_prefix(prefix)
            .and_then(|v| v.parse::<u32>().ok())
    };
    version("java").is_some_and(|v| v >= 11)
        || version("python3.").is_some_and(|v| v >= 12)
        || version("dotnet").is_some_and(|v| v >= 8)
}

impl Logging {
    /// These fields over `have`'s; levels only with the JSON format.
    fn completed_from(&self, have: Option<&Logging>) -> Logging {
        let have = have.cloned().unwrap_or_default();
        let format = self.format.clone().or(have.format);
        let json = format.as_deref() == Some("JSON");
        Logging {
            log_group: self.log_group.clone().or(have.log_group),
            application_level: self
                .application_level
                .clone()
                .or(have.application_level)
                .filter(|_| json),
            system_level: self
                .system_level
                .clone()
                .or(have.system_level)
                .filter(|_| json),
            format,
        }
    }
}

/// How `have` (normalised) differs from the settings `want` gives, one
/// line per setting, e.g. `tracing PassThrough → Active`. Tags are left to
/// [`TagChange`].
pub fn differences(want: &ExtraSettings, have: &ExtraSettings) -> Vec<(Setting, String)> {
    let mut out = Vec::new();
    for ((setting, key, want), (_, _, have)) in want.texts().into_iter().zip(have.texts()) {
        if let Some(want) = want
            && have.as_ref() != Some(&want)
        {
            let have = have.unwrap_or_default();
            out.push((
                setting,
                format!("{key} {} → {}", shown(&have), shown(&want)),
            ));
        }
    }
    if let Some(want) = &want.logging {
        let have = have.logging.clone().unwrap_or_default();
        let fields = [
            ("format", &want.format, &have.format),
            ("log_group", &want.log_group, &have.log_group),
            (
                "application_level",
                &want.application_level,
                &have.application_level,
            ),
            ("system_level", &want.system_level, &have.system_level),
        ];
        let changed: Vec<String> = fields
            .into_iter()
            .filter(|(_, want, have)| want.is_some() && want != have)
            .map(|(key, want, have)| {
                let text = |v: &Option<String>| shown(v.as_deref().unwrap_or_default()).to_owned();
                format!("{key} {} → {}", text(have), text(want))
            })
            .collect();
        if !changed.is_empty() {
            out.push((Setting::Logging, format!("logging {}", changed.join(", "))));
        }
    }
    out
}

impl ExtraSettings {
    /// Each setting (logging and tags apart) with its key and its value
    /// as text, exact enough to compare; `None` when not given.
    fn texts(&self) -> [(Setting, &'static str, Option<String>); 8] {
        [
            (
                Setting::Architecture,
                "architecture",
                self.architecture.clone(),
            ),
            (
                Setting::Layers,
                "layers",
                self.layers.as_ref().map(|l| l.join(", ")),
            ),
            (
                Setting::EphemeralStorage,
                "ephemeral_storage",
                self.ephemeral_storage.map(|mb| mb.to_string()),
            ),
            (Setting::Tracing, "tracing", self.tracing.clone()),
            (Setting::Vpc, "vpc", self.vpc.as_ref().map(Vpc::describe)),
            (Setting::DeadLetter, "dead_letter", self.dead_letter.clone()),
            (Setting::KmsKey, "kms_key", self.kms_key.clone()),
            (
                Setting::FileSystems,
                "file_systems",
                self.file_systems.as_deref().map(describe_file_systems),
            ),
        ]
    }

    /// The settings given, e.g. `tracing Active`, `tags team, tier`: what a
    /// new function is created with.
    pub fn describe(&self) -> Vec<String> {
        let mut given: Vec<String> = self
            .texts()
            .into_iter()
            .filter_map(|(_, key, value)| value.map(|v| format!("{key} {}", shown(&v))))
            .collect();
        if let Some(logging) = &self.logging {
            let fields = [
                ("format", &logging.format),
                ("log_group", &logging.log_group),
                ("application_level", &logging.application_level),
                ("system_level", &logging.system_level),
            ];
            let set: Vec<String> = fields
                .iter()
                .filter_map(|(key, v)| v.as_ref().map(|v| format!("{key} {v}")))
                .collect();
            if !set.is_empty() {
                given.push(format!("logging {}", set.join(", ")));
            }
        }
        if let Some(tags) = self.tags.as_ref().filter(|t| !t.is_empty()) {
            let keys: Vec<&str> = tags.keys().map(String::as_str).collect();
            given.push(format!("tags {}", keys.join(", ")));
        }
        given
    }
}

impl Vpc {
    fn describe(&self) -> String {
        if self.subnets.is_empty() {
            return String::new();
        }
        format!(
            "subnets {}; security groups {}{}",
            self.subnets.join(", "),
            self.security_groups.join(", "),
            if self.ipv6 { "; ipv6" } else { "" }
        )
    }
}

fn describe_file_systems(list: &[FileSystem]) -> String {
    list.iter()
        .map(|fs| format!("{} at {}", fs.arn, fs.mount_path))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tag writes that bring a function's tags (`have`) to the config's
/// (`want`): set what is missing or different, remove only keys greenlight
/// listed in a [`MANAGED_TAGS`] whose checksum proves greenlight wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagChange {
    /// Tags to add or update (`TagResource`), greenlight's list included.
    pub set: BTreeMap<String, String>,
    /// Tag keys to remove (`UntagResource`).
    pub remove: Vec<String>,
    /// What changes, by key, e.g. `tags (added team; removed owner)`.
    pub text: String,
    /// When the function's [`MANAGED_TAGS`] does not carry greenlight's
    /// checksum: why nothing was removed, and what it listed.
    pub warning: Option<String>,
}

impl TagChange {
    /// The writes from `have` to `want` on function `function`, or `None`
    /// when there are none.
    pub fn between(
        function: &str,
        want: &BTreeMap<String, String>,
        have: &BTreeMap<String, String>,
    ) -> Option<TagChange> {
        let listed = have.get(MANAGED_TAGS);
        let proven = listed.and_then(|value| managed_keys(function, value));
        let managed = proven.clone().unwrap_or_default();
        let mut set: BTreeMap<String, String> = want
            .iter()
            .filter(|(k, v)| have.get(*k) != Some(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut remove: Vec<String> = managed
            .iter()
            .filter(|k| !want.contains_key(*k) && have.contains_key(*k))
            .cloned()
            .collect();
        let added: Vec<&str> = set
            .keys()
            .filter(|k| !have.contains_key(*k))
            .map(String::as_str)
            .collect();
        let changed: Vec<&str> = set
            .keys()
            .filter(|k| have.contains_key(*k))
            .map(String::as_str)
            .collect();
        let mut parts: Vec<String> = [("added", &added), ("changed", &changed)]
            .into_iter()
            .chain([("removed", &remove.iter().map(String::as_str).collect())])
            .filter(|(_, keys)| !keys.is_empty())
            .map(|(what, keys)| format!("{what} {}", keys.join(", ")))
            .collect();
        let warning = match (listed, &proven) {
            (Some(value), None) => {
                parts.push(format!(
                    "removed nothing: {MANAGED_TAGS} was not written by greenlight"
                ));
                Some(unproven(function, value, want, have))
            }
            _ => None,
        };
        let list = managed_value(function, want);
        if want.is_empty() {
            if listed.is_some() {
                remove.push(MANAGED_TAGS.to_owned());
            }
        } else if listed != Some(&list) {
            if parts.is_empty() {
                parts.push(format!(
                    "greenlight now manages {}",
                    want.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            set.insert(MANAGED_TAGS.to_owned(), list);
        }
        if set.is_empty() && remove.is_empty() {
            return None;
        }
        let text = match parts.is_empty() {
            true => format!("tags (removed {MANAGED_TAGS})"),
            false => format!("tags ({})", parts.join("; ")),
        };
        Some(TagChange {
            set,
            remove,
            text,
            warning,
        })
    }

    /// When the function would end with more tags than Lambda keeps (other
    /// tools' counted, `aws:` ones not, as AWS counts them): how many.
    pub fn too_many(&self, have: &BTreeMap<String, String>) -> Option<usize> {
        let mut after: Vec<&String> = have
            .keys()
            .chain(self.set.keys())
            .filter(|k| !self.remove.contains(k) && !k.to_ascii_lowercase().starts_with("aws:"))
            .collect();
        after.sort();
        after.dedup();
        (after.len() > MAX_TAGS).then_some(after.len())
    }
}

/// The warning for a [`MANAGED_TAGS`] value without greenlight's
/// checksum: the keys it lists that the config no longer sets stay.
fn unproven(
    function: &str,
    value: &str,
    want: &BTreeMap<String, String>,
    have: &BTreeMap<String, String>,
) -> String {
    let left: Vec<&str> = value
        .split_whitespace()
        .filter(|k| have.contains_key(*k) && !want.contains_key(*k))
        .collect();
    let left = match left.is_empty() {
        true => String::new(),
        false => format!(
            "; it lists {}, which the config does not set: remove them by hand if greenlight set them",
            left.join(", ")
        ),
    };
    format!(
        "tag {MANAGED_TAGS} of function {function} does not carry greenlight's checksum (edited by hand, copied from another function, or written by an earlier greenlight, which kept no checksum), so greenlight removed no tag and rewrote the list{left}"
    )
}

/// The tags to create function `function` with: the config's, and
/// greenlight's list of them.
pub fn tags_to_create(function: &str, want: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut tags = want.clone();
    if !want.is_empty() {
        tags.insert(MANAGED_TAGS.to_owned(), managed_value(function, want));
    }
    tags
}

/// How [`MANAGED_TAGS`] ends: a checksum word, e.g. `check=0123456789abcdef`.
const CHECK_PREFIX: &str = "check=";

/// Hex digits of the checksum.
const CHECK_LEN: usize = 16;

/// The value of [`MANAGED_TAGS`] for `tags` on function `function`: their
/// keys, space-separated, then the checksum over the function's name and
/// the keys ([`checksum`]).
fn managed_value(function: &str, tags: &BTreeMap<String, String>) -> String {
    let keys = tags.keys().cloned().collect::<Vec<_>>().join(" ");
    format!("{keys} {CHECK_PREFIX}{}", checksum(function, &keys))
}

/// The keys a [`MANAGED_TAGS`] value lists, when its last word is the
/// checksum greenlight writes for them on function `function`; `None` for
/// a list edited by hand, copied from another function, or written
/// without a checksum.
fn managed_keys(function: &str, value: &str) -> Option<Vec<String>> {
    let (keys, check) = value.trim().rsplit_once(' ')?;
    let keys = keys.split_whitespace().collect::<Vec<_>>().join(" ");
    let expected = format!("{CHECK_PREFIX}{}", checksum(function, &keys));
    (check == expected).then(|| keys.split(' ').map(str::to_owned).collect())
}

/// The first [`CHECK_LEN`] hex digits of the SHA-256 of the function's name
/// and the space-separated `keys`. Not a secret: it tells greenlight's own
/// list from one changed by another hand, which greenlight never follows
/// when removing tags.
fn checksum(function: &str, keys: &str) -> String {
    let text = format!("greenlight managed tags\n{function}\n{keys}");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..CHECK_LEN]
        .to_owned()
}

/// `""` as `(none)`, for change descriptions.
fn shown(value: &str) -> &str {
    if value.is_empty() { "(none)" } else { value }
}

fn quoted(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    quoted.join(", ")
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
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

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn lambdas_defaults_equal_a_config_that_names_them() {
        let have = ExtraSettings::default().normalised();
        let want = ExtraSettings {
            architecture: Some("x86_64".into()),
            layers: Some(vec![]),
            ephemeral_storage: Some(512),
            tracing: Some("PassThrough".into()),
            vpc: Some(Vpc::default()),
            logging: Some(Logging {
                format: Some("Text".into()),
                ..Logging::default()
            }),
            dead_letter: Some(String::new()),
            kms_key: Some(String::new()),
            file_systems: Some(vec![]),
            tags: None,
        };
        assert_eq!(differences(&want, &have), []);
        assert_eq!(differences(&ExtraSettings::default(), &have), []);
    }

    #[test]
    fn differences_say_what_changes_and_only_those_are_sent() {
        let have = ExtraSettings {
            logging: Some(Logging {
                log_group: Some("/aws/lambda/orders".into()),
                ..Logging::default()
            }),
            ..ExtraSettings::default()
        }
        .normalised();
        let want = ExtraSettings {
            tracing: Some("Active".into()),
            ephemeral_storage: Some(512),
            logging: Some(Logging {
                format: Some("JSON".into()),
                application_level: Some("DEBUG".into()),
                ..Logging::default()
            }),
            dead_letter: Some("arn:aws:sqs:us-east-1:123456789012:dlq".into()),
            ..ExtraSettings::default()
        };
        let changes = differences(&want, &have);
        let texts: Vec<&str> = changes.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "tracing PassThrough → Active",
                "dead_letter (none) → arn:aws:sqs:us-east-1:123456789012:dlq",
                "logging format Text → JSON, application_level (none) → DEBUG",
            ]
        );
        let settings: Vec<Setting> = changes.iter().map(|(s, _)| *s).collect();
        let send = want.to_send(&settings, &have);
        assert_eq!(send.ephemeral_storage, None, "unchanged, not sent");
        assert_eq!(
            send.logging,
            Some(Logging {
                format: Some("JSON".into()),
                log_group: Some("/aws/lambda/orders".into()),
                application_level: Some("DEBUG".into()),
                system_level: None,
            }),
            "the log group is kept"
        );
    }

    #[test]
    fn text_logs_drop_the_levels_json_had() {
        let have = Logging {
            format: Some("JSON".into()),
            application_level: Some("DEBUG".into()),
            system_level: Some("WARN".into()),
            ..Logging::default()
        };
        let want = Logging {
            format: Some("Text".into()),
            ..Logging::default()
        };
        assert_eq!(want.completed_from(Some(&have)), want);
    }

    #[test]
    fn tags_others_set_are_never_removed() {
        let list = |keys: &[&str]| {
            managed_value(
                "orders",
                &tags(&keys.iter().map(|k| (*k, "")).collect::<Vec<_>>()),
            )
        };
        let have = tags(&[
            ("team", "orders"),
            ("owner", "ops"),
            ("cost", "1"),
            (MANAGED_TAGS, &list(&["cost", "team"])),
        ]);
        let want = tags(&[("team", "payments"), ("tier", "gold")]);
        let change = TagChange::between("orders", &want, &have).expect("a change");
        assert_eq!(
            change.set,
            tags(&[
                ("team", "payments"),
                ("tier", "gold"),
                (MANAGED_TAGS, &list(&["team", "tier"]))
            ])
        );
        assert_eq!(change.remove, ["cost"], "owner is someone else's");
        assert_eq!(change.text, "tags (added tier; changed team; removed cost)");
        assert_eq!(change.warning, None);
        let after = tags(&[
            ("team", "payments"),
            ("tier", "gold"),
            ("owner", "ops"),
            (MANAGED_TAGS, &list(&["team", "tier"])),
        ]);
        assert_eq!(TagChange::between("orders", &want, &after), None);
        let none = TagChange::between("orders", &BTreeMap::new(), &after).expect("remove all");
        assert_eq!(none.remove, ["team", "tier", MANAGED_TAGS]);
        assert!(none.set.is_empty());
        assert_eq!(
            TagChange::between("orders", &BTreeMap::new(), &tags(&[("owner", "ops")])),
            None
        );
    }

    #[test]
    fn a_list_greenlight_did_not_write_removes_nothing() {
        let ours = managed_value("orders", &tags(&[("team", "")]));
        assert!(ours.starts_with("team check="), "{ours}");
        let cases = [
            // Another tool's key added to the list by hand.
            ours.replace("team", "owner team"),
            // The list of another function, copied with its tags.
            managed_value("billing", &tags(&[("owner", ""), ("team", "")])),
            // Written by an earlier greenlight: no checksum.
            "owner team".to_owned(),
        ];
        for list in cases {
            let have = tags(&[("owner", "ops"), ("team", "orders"), (MANAGED_TAGS, &list)]);
            let want = tags(&[("tier", "gold")]);
            let change = TagChange::between("orders", &want, &have).expect("a change");
            assert!(change.remove.is_empty(), "{list}: {:?}", change.remove);
            assert_eq!(
                change.set,
                tags(&[
                    ("tier", "gold"),
                    (MANAGED_TAGS, &managed_value("orders", &want))
                ]),
                "{list}: the list is written anew, with greenlight's checksum"
            );
            let warning = change.warning.expect("a warning");
            assert!(
                warning.contains("does not carry greenlight's checksum")
                    && warning.ends_with("it lists owner, team, which the config does not set: remove them by hand if greenlight set them"),
                "{list}: {warning}"
            );
            assert_eq!(
                change.text,
                "tags (added tier; removed nothing: greenlight:managed-tags was not written by greenlight)"
            );
        }
    }

    #[test]
    fn too_many_tags_counts_other_tools_tags_but_not_aws_ones() {
        let mut have: BTreeMap<String, String> = (0..45)
            .map(|i| (format!("other{i}"), String::new()))
            .collect();
        have.insert("aws:cloudformation:stack-name".into(), "s".into());
        let want: BTreeMap<String, String> = (0..4)
            .map(|i| (format!("mine{i}"), String::new()))
            .collect();
        let change = TagChange::between("orders", &want, &have).expect("a change");
        assert_eq!(change.too_many(&have), None, "45 + 4 + the list = 50");
        let want: BTreeMap<String, String> = (0..5)
            .map(|i| (format!("mine{i}"), String::new()))
            .collect();
        let change = TagChange::between("orders", &want, &have).expect("a change");
        assert_eq!(change.too_many(&have), Some(51));
    }

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
    fn what_lambda_refuses_together_is_named() {
        let defaults = ExtraSettings::default().normalised();
        let efs = FileSystem {
            arn: "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0a".into(),
            mount_path: "/mnt/data".into(),
        };
        let in_vpc = Vpc {
            subnets: vec!["subnet-0a".into()],
            security_groups: vec!["sg-0a".into()],
            ipv6: false,
        };
        let with = |want: ExtraSettings| want.over(&defaults);
        let key = |runtime, snap, extra: &ExtraSettings| {
            refused_together(runtime, snap, extra).map(|r| (r.key, r.value))
        };
        assert_eq!(
            key(Some("nodejs22.x"), true, &defaults),
            Some(("function.snap_start", "true".into()))
        );
        assert_eq!(key(Some("nodejs22.x"), false, &defaults), None);
        for ok in ["java11", "java21", "python3.12", "python3.13", "dotnet8"] {
            assert_eq!(key(Some(ok), true, &defaults), None, "{ok}");
        }
        for no in [
            "java8.al2",
            "python3.11",
            "dotnet6",
            "provided.al2023",
            "ruby3.3",
        ] {
            assert!(key(Some(no), true, &defaults).is_some(), "{no}");
        }
        let big = with(ExtraSettings {
            ephemeral_storage: Some(1024),
            ..ExtraSettings::default()
        });
        let refused = refused_together(Some("java21"), true, &big).expect("refused");
        assert!(
            refused
                .why
                .contains("more than 512 MB of ephemeral storage"),
            "{}",
            refused.why
        );
        let mounted = with(ExtraSettings {
            file_systems: Some(vec![efs.clone()]),
            vpc: Some(in_vpc.clone()),
            ..ExtraSettings::default()
        });
        assert_eq!(key(Some("java21"), false, &mounted), None);
        let refused = refused_together(Some("java21"), true, &mounted).expect("refused");
        assert!(
            refused.why.contains("with a file system"),
            "{}",
            refused.why
        );
        let no_vpc = with(ExtraSettings {
            file_systems: Some(vec![efs.clone()]),
            ..ExtraSettings::default()
        });
        assert_eq!(
            key(None, false, &no_vpc),
            Some(("function.file_systems", format!("{:?}", efs.arn)))
        );
        // The function's VPC counts when the config names none.
        let have = ExtraSettings {
            vpc: Some(in_vpc),
            ..defaults.clone()
        };
        let mounted_on_theirs = ExtraSettings {
            file_systems: Some(vec![efs]),
            ..ExtraSettings::default()
        }
        .over(&have);
        assert_eq!(key(None, false, &mounted_on_theirs), None);
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
