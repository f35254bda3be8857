//! Test harness: the emulator and project helpers.

pub mod emulator;
pub mod project;

pub use project::{Project, SECRET, default_config};
