//! Checks of a version: smoke tests, alarms and metric gates.

pub mod candidate;
pub mod command;
pub mod gates;
pub mod http;
pub mod metrics;
pub mod smoke;
