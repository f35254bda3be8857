//! A function's settings in Lambda's terms, and how they go to and come
//! from the SDK's types.
//!
//! [`FunctionSettings`]: `None` means "leave as it is". [`ExtraSettings`]:
//! what real functions use beyond code, memory and environment
//! (architecture, layers, ephemeral storage, tracing, VPC, logging,
//! dead-letter queue, KMS key, file systems, SnapStart and tags); as Lambda
//! reports them, normalised to Lambda's defaults
//! ([`ExtraSettings::normalised`]), so they compare like with like with the
//! configuration's.

use std::collections::BTreeMap;

use aws_sdk_lambda::types::{
    ApplicationLogLevel, Architecture, Environment as SdkEnvironment, FileSystemConfig, LogFormat,
    LoggingConfig, SnapStart, SnapStartApplyOn, SystemLogLevel, VpcConfig,
};

use crate::secrets::Environment;

/// Function settings from the config; `None` means "leave as it is".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FunctionSettings {
    /// Runtime identifier, e.g. `python3.12`.
    pub runtime: Option<String>,
    /// Handler, e.g. `index.handler`.
    pub handler: Option<String>,
    /// Execution role ARN.
    pub role: Option<String>,
    /// Memory in MB.
    pub memory: Option<i32>,
    /// Timeout in seconds.
    pub timeout: Option<i32>,
    /// Environment variables (secret values).
    pub environment: Option<Environment>,
    /// Function description.
    pub description: Option<String>,
    /// Architecture, layers, storage, tracing, VPC, logging, DLQ, KMS key,
    /// file systems, SnapStart and tags ([`ExtraSettings`]).
    pub extra: ExtraSettings,
}

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
    /// SnapStart on published versions (`true`) or off (`false`).
    pub snap_start: Option<bool>,
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

impl Vpc {
    /// An attachment to `subnets` and `security_groups`, both kept sorted.
    pub fn new(mut subnets: Vec<String>, mut security_groups: Vec<String>, ipv6: bool) -> Vpc {
        subnets.sort();
        security_groups.sort();
        Vpc {
            subnets,
            security_groups,
            ipv6,
        }
    }
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
            vpc: Some(self.vpc.map_or_else(Vpc::default, |v| {
                Vpc::new(v.subnets, v.security_groups, v.ipv6)
            })),
            logging: Some(Logging {
                format: Some(logging.format.unwrap_or_else(|| "Text".to_owned())),
                ..logging
            }),
            dead_letter: text(self.dead_letter),
            kms_key: text(self.kms_key),
            file_systems: Some(self.file_systems.unwrap_or_default()),
            snap_start: Some(self.snap_start.unwrap_or(false)),
            tags: None,
        }
    }
}

pub(super) fn sdk_environment(env: &Environment) -> SdkEnvironment {
    SdkEnvironment::builder()
        .set_variables(Some(
            env.expose()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
        .build()
}

/// SnapStart on published versions, or off.
pub(super) fn snap_start(on: bool) -> SnapStart {
    let apply_on = match on {
        true => SnapStartApplyOn::PublishedVersions,
        false => SnapStartApplyOn::None,
    };
    SnapStart::builder().apply_on(apply_on).build()
}

/// The architecture list Lambda takes, from the config's one architecture.
pub(super) fn architectures(architecture: Option<&str>) -> Option<Vec<Architecture>> {
    architecture.map(|a| vec![Architecture::from(a)])
}

pub(super) fn sdk_vpc(vpc: &Vpc) -> VpcConfig {
    VpcConfig::builder()
        .set_subnet_ids(Some(vpc.subnets.clone()))
        .set_security_group_ids(Some(vpc.security_groups.clone()))
        .ipv6_allowed_for_dual_stack(vpc.ipv6)
        .build()
}

pub(super) fn sdk_logging(logging: &Logging) -> LoggingConfig {
    LoggingConfig::builder()
        .set_log_format(logging.format.as_deref().map(LogFormat::from))
        .set_log_group(logging.log_group.clone())
        .set_application_log_level(
            logging
                .application_level
                .as_deref()
                .map(ApplicationLogLevel::from),
        )
        .set_system_log_level(logging.system_level.as_deref().map(SystemLogLevel::from))
        .build()
}

pub(super) fn sdk_file_systems(list: &[FileSystem]) -> Vec<FileSystemConfig> {
    list.iter()
        .filter_map(|fs| {
            FileSystemConfig::builder()
                .arn(&fs.arn)
                .local_mount_path(&fs.mount_path)
                .build()
                .ok()
        })
        .collect()
}

/// Sets the settings that are `Some` on a create or update-configuration
/// request builder (different types with the same setters).
macro_rules! with_settings {
    ($builder:expr, $settings:expr) => {{
        let settings: &$crate::aws::lambda::FunctionSettings = $settings;
        $builder
            .set_runtime(
                settings
                    .runtime
                    .as_deref()
                    .map(aws_sdk_lambda::types::Runtime::from),
            )
            .set_handler(settings.handler.clone())
            .set_role(settings.role.clone())
            .set_memory_size(settings.memory)
            .set_timeout(settings.timeout)
            .set_description(settings.description.clone())
            .set_environment(
                settings
                    .environment
                    .as_ref()
                    .map($crate::aws::lambda::settings::sdk_environment),
            )
            .set_snap_start(
                settings
                    .extra
                    .snap_start
                    .map($crate::aws::lambda::settings::snap_start),
            )
            .set_layers(settings.extra.layers.clone())
            .set_ephemeral_storage(settings.extra.ephemeral_storage.and_then(|mb| {
                aws_sdk_lambda::types::EphemeralStorage::builder()
                    .size(mb)
                    .build()
                    .ok()
            }))
            .set_tracing_config(settings.extra.tracing.as_deref().map(|mode| {
                aws_sdk_lambda::types::TracingConfig::builder()
                    .mode(aws_sdk_lambda::types::TracingMode::from(mode))
                    .build()
            }))
            .set_vpc_config(
                settings
                    .extra
                    .vpc
                    .as_ref()
                    .map($crate::aws::lambda::settings::sdk_vpc),
            )
            .set_logging_config(
                settings
                    .extra
                    .logging
                    .as_ref()
                    .map($crate::aws::lambda::settings::sdk_logging),
            )
            .set_dead_letter_config(settings.extra.dead_letter.as_deref().map(|arn| {
                aws_sdk_lambda::types::DeadLetterConfig::builder()
                    .target_arn(arn)
                    .build()
            }))
            .set_kms_key_arn(settings.extra.kms_key.clone())
            .set_file_system_configs(
                settings
                    .extra
                    .file_systems
                    .as_deref()
                    .map($crate::aws::lambda::settings::sdk_file_systems),
            )
    }};
}
pub(super) use with_settings;
