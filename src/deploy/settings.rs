//! How a function's settings differ from the configuration's, and what to
//! send.
//!
//! Both sides are [`ExtraSettings`]: the configuration's (`None`: leave as
//! it is) and the function's as Lambda reports them, normalised to
//! Lambda's defaults, so [`differences`] compares like with like: a key
//! absent from the config is left as it is, and a function on Lambda's
//! defaults equals a config that names them. [`refused_together`] finds
//! what Lambda would refuse in the settings a function ends with. Tags are
//! left to [`TagChange`](crate::deploy::tags::TagChange).

use crate::aws::lambda::{ExtraSettings, FileSystem, Logging, Vpc};

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

impl ExtraSettings {
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
            snap_start: None,
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
            snap_start: self.snap_start.or(have.snap_start),
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
/// [`TagChange`](crate::deploy::tags::TagChange).
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

/// `""` as `(none)`, for change descriptions.
fn shown(value: &str) -> &str {
    if value.is_empty() { "(none)" } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            snap_start: Some(false),
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
}
