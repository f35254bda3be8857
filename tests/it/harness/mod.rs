//! Test harness: the emulator and project helpers.

pub mod alb;
pub mod emulator;
pub mod fault_proxy;
pub mod loopback;
pub mod project;
pub mod python;
pub mod runtime_api;
pub mod sdk;

pub use fault_proxy::{Fault, FaultProxy, Upstream};
pub use project::{
    FUNCTION, Project, ROLE, Run, SECRET, default_config, planned_calls, send_signal, spawned,
};
