//! Functions of a fleet that share a source are built and packaged once.
//!
//! Two functions share a package when their `[package]` tables describe the
//! same zip: the same `source`, `exclude`, `include`, `build` command and
//! folder (or the same `image_uri`). Where the package goes (`s3_bucket`,
//! `s3_prefix`) does not matter: the bytes are the same. A failure is kept
//! too, so a broken build runs once and fails every function that shares it.

use std::sync::Mutex;

use crate::config::PackageConfig;
use crate::deploy::Deployable;
use crate::error::Result;
use crate::report::PackageReport;

/// A package made once, for every function that shares it.
#[derive(Debug, Clone)]
pub struct Made {
    /// What is deployed.
    pub code: Deployable,
    /// The zip's report (none for an image).
    pub report: Option<PackageReport>,
}

/// The packages made so far in this run, with the function each was made for.
#[derive(Debug, Default)]
pub struct SharedPackages {
    made: Mutex<Vec<(PackageConfig, String, Result<Made>)>>,
}

impl SharedPackages {
    /// The package `settings` describe: made by `make` for `function` the
    /// first time, otherwise the one already made, with the name of the
    /// function it was made for.
    pub fn get_or_make(
        &self,
        settings: &PackageConfig,
        function: &str,
        make: impl FnOnce() -> Result<Made>,
    ) -> (Result<Made>, Option<String>) {
        // Held while packaging, so two functions never build the same zip.
        let mut made = self
            .made
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, first, result)) = made.iter().find(|(s, ..)| same_zip(s, settings)) {
            return (result.clone(), Some(first.clone()));
        }
        let result = make();
        made.push((settings.clone(), function.to_owned(), result.clone()));
        (result, None)
    }
}

/// Whether `a` and `b` make the same package.
fn same_zip(a: &PackageConfig, b: &PackageConfig) -> bool {
    a.source == b.source
        && a.exclude == b.exclude
        && a.include == b.include
        && a.build == b.build
        && a.dir == b.dir
        && a.image_uri == b.image_uri
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn settings(source: &str, bucket: Option<&str>) -> PackageConfig {
        PackageConfig {
            source: source.into(),
            s3_bucket: bucket.map(str::to_owned),
            ..PackageConfig::default()
        }
    }

    #[test]
    fn the_same_source_is_made_once_and_a_failure_is_shared_too() {
        let shared = SharedPackages::default();
        let image = || {
            Ok(Made {
                code: Deployable::Image("repo:1".into()),
                report: None,
            })
        };
        let (first, from) = shared.get_or_make(&settings("app", None), "orders", image);
        assert!(first.is_ok() && from.is_none());
        let (_, from) = shared.get_or_make(&settings("app", Some("bucket")), "billing", || {
            panic!("made twice")
        });
        assert_eq!(from.as_deref(), Some("orders"));
        let broken = || Err(Error::usage("build failed"));
        let (first, _) = shared.get_or_make(&settings("other", None), "a", broken);
        let (again, from) = shared.get_or_make(&settings("other", None), "b", image);
        assert_eq!(first.err(), again.err());
        assert_eq!(from.as_deref(), Some("a"));
    }
}
