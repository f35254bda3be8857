//! greenlight's integration tests: the real binary against a real AWS emulator
//! (moto, started per test by the harness). Assertions look at the emulator's
//! state (alias, versions, CodeSha256), not only at the output.

mod harness;

mod canary;
mod ci_summary;
mod config_errors;
mod dns;
mod dns_guards;
mod dry_run;
mod env_values;
mod examples;
mod faults;
mod first_errors;
mod fleet;
mod function_settings;
mod human_output;
mod image;
mod install;
mod lambda_states;
mod least_privilege;
mod masking;
mod metric_gates;
mod output;
mod package;
mod promises;
mod real_aws;
mod ship;
mod smoke_kinds;
mod steps;
mod triggers;
