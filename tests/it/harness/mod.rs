//! Test harness: the emulator and project helpers.

pub mod emulator;
pub mod project;

pub use project::{FUNCTION, Project, ROLE, Run, SECRET, default_config};
