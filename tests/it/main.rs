//! greenlight's integration tests: the real binary against a real AWS emulator
//! (moto, started per test by the harness). Assertions look at the emulator's
//! state (alias, versions, CodeSha256), not only at the output.

mod harness;

mod canary;
mod config_errors;
mod dns;
mod dns_guards;
mod dry_run;
mod examples;
mod faults;
mod fleet;
mod human_output;
mod image;
mod least_privilege;
mod metric_gates;
mod output;
mod package;
mod promises;
mod real_aws;
mod ship;
mod smoke_kinds;
mod steps;
mod triggers;
