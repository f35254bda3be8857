//! Checks of a version: smoke tests, alarms and metric gates.
//!
//! Lives here: the smoke tests (`smoke`, with `http` and `command` for those
//! kinds), the alarm and gate checks made before and during bakes (`gates`),
//! the metric gates (`metrics`, and `alb_metrics` for a load balancer's), and the candidate alias through which tests
//! reach the version under test (`candidate`). May import: `context`,
//! `config`, `aws`, `package` (a command test runs where the build runs),
//! `ui` and the base modules; never `deploy`, `release` or above.

pub mod alb_metrics;
pub mod candidate;
pub mod command;
pub mod gates;
pub mod http;
pub mod metrics;
pub mod smoke;
