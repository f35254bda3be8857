//! greenlight's integration tests: the real binary against a real AWS emulator
//! (moto, started per test by the harness). Assertions look at the emulator's
//! state (alias, versions, CodeSha256), not only at the output.

mod harness;

mod alb;
mod alb_config;
mod alb_seam;
mod aws_refusals;
mod canary;
mod candidate_alias;
mod ci_summary;
mod config_errors;
mod conflicts;
mod dns;
mod dns_guards;
mod dry_run;
mod emulator_launcher;
mod env_values;
mod examples;
mod faults;
mod first_errors;
mod fleet;
mod function_settings;
mod history;
mod hostile_not_active;
mod hostile_output_size;
mod hostile_outside_text;
mod hostile_ownership;
mod hostile_provenance;
mod human_output;
mod image;
mod install;
mod lambda_states;
mod layers;
mod least_privilege;
mod masking;
mod metric_gates;
mod not_active;
mod notify;
mod output;
mod package;
mod panics;
mod promises;
mod provenance;
mod ready_timeout;
mod real_aws;
mod refusals;
mod release_records;
mod ship;
mod smoke_kinds;
mod ssm_selectors;
mod steps;
mod triggers;
mod watch;
mod watch_parts;
mod workflow_audit;
