//! The `[package]` table: a folder or `.zip` to deploy (what to leave
//! out, what to add, a build command, a bucket for large zips), or a
//! container image.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::Checker;
use crate::error::{Error, Result};

/// The `[package]` table.
#[derive(Debug, Clone, Default)]
pub struct PackageConfig {
    /// A directory to zip, or a `.zip` used as it is; resolved against the config's folder.
    pub source: PathBuf,
    /// Globs (gitignore syntax, relative to `source`) left out of the zip.
    pub exclude: Vec<String>,
    /// Extra files or folders put at the top of the zip; resolved against the config's folder.
    pub include: Vec<PathBuf>,
    /// A shell command run in the config's folder before packaging.
    pub build: Option<String>,
    /// The config's folder, where `build` runs.
    pub dir: PathBuf,
    /// The bucket packages go through (needed for zips over 50 MB).
    pub s3_bucket: Option<String>,
    /// Key prefix inside `s3_bucket`.
    pub s3_prefix: String,
    /// A container image (in ECR) deployed instead of a zip. When set, there
    /// is no zip: `source`, `exclude`, `include` and the S3 keys are empty.
    pub image_uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPackage {
    source: Option<String>,
    image_uri: Option<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
    build: Option<String>,
    s3_bucket: Option<String>,
    #[serde(default)]
    s3_prefix: String,
}

impl Checker<'_> {
    pub(super) fn package(&self, dir: &Path, raw: RawPackage) -> Result<PackageConfig> {
        if raw.image_uri.is_some() {
            return self.image(dir, raw);
        }
        let Some(source) = raw.source else {
            return Err(Error::usage(format!(
                "{}: `[package]` needs `source` (a folder or a .zip file) or `image_uri`",
                self.file
            ))
            .with_hint("add `source = \"app\"` under [package]"));
        };
        if source.trim().is_empty() {
            return Err(self.bad("package.source", "\"\"", "name a folder or a .zip file"));
        }
        let source = dir.join(source);
        exclusions(&source, &raw.exclude).map_err(|e| Error {
            message: format!("{}: {}", self.file, e.message),
            ..e
        })?;
        if let Some(bucket) = &raw.s3_bucket
            && !is_bucket_name(bucket)
        {
            return Err(self.bad(
                "package.s3_bucket",
                format!("{bucket:?}"),
                "a bucket name is 3 to 63 lowercase letters, digits, '.' or '-'",
            ));
        }
        if let Some(build) = &raw.build
            && build.trim().is_empty()
        {
            return Err(self.bad(
                "package.build",
                "\"\"",
                "give a command, or leave the key out",
            ));
        }
        Ok(PackageConfig {
            source,
            exclude: raw.exclude,
            include: raw.include.iter().map(|i| dir.join(i)).collect(),
            build: raw.build,
            dir: dir.to_path_buf(),
            s3_bucket: raw.s3_bucket,
            s3_prefix: raw.s3_prefix,
            image_uri: None,
        })
    }

    /// `[package]` for a container image: only `image_uri` and `build` apply.
    fn image(&self, dir: &Path, raw: RawPackage) -> Result<PackageConfig> {
        let image = raw.image_uri.unwrap_or_default();
        let zip_only = [
            ("package.source", raw.source.is_some()),
            ("package.exclude", !raw.exclude.is_empty()),
            ("package.include", !raw.include.is_empty()),
            ("package.s3_bucket", raw.s3_bucket.is_some()),
            ("package.s3_prefix", !raw.s3_prefix.is_empty()),
        ];
        if let Some((key, _)) = zip_only.iter().find(|(_, given)| *given) {
            return Err(Error::usage(format!(
                "{}: `{key}` does not apply with `package.image_uri`: an image function has no zip",
                self.file
            ))
            .with_hint("keep either image_uri or the zip keys (source, exclude, include, s3_bucket, s3_prefix)"));
        }
        if !is_image_uri(&image) {
            return Err(self.bad(
                "package.image_uri",
                format!("{image:?}"),
                "give an ECR image like 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1 or …/app@sha256:<digest>",
            ));
        }
        Ok(PackageConfig {
            build: raw.build,
            dir: dir.to_path_buf(),
            image_uri: Some(image),
            ..PackageConfig::default()
        })
    }
}

/// A repository path with a `:tag` or an `@sha256:` digest, no spaces.
fn is_image_uri(uri: &str) -> bool {
    let Some((repository, reference)) = uri
        .split_once('@')
        .or_else(|| uri.rsplit_once(':').filter(|(repo, _)| repo.contains('/')))
    else {
        return false;
    };
    repository.contains('/')
        && !reference.is_empty()
        && !uri.chars().any(char::is_whitespace)
        && (!uri.contains('@') || reference.starts_with("sha256:"))
}

fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
}

/// `exclude` globs (gitignore syntax) as an ignore-crate override set.
pub fn exclusions(root: &Path, globs: &[String]) -> Result<ignore::overrides::Override> {
    let mut builder = ignore::overrides::OverrideBuilder::new(root);
    for (i, glob) in globs.iter().enumerate() {
        builder.add(&format!("!{glob}")).map_err(|e| {
            Error::usage(format!(
                "`package.exclude[{i}]` = {glob:?} is not a valid glob"
            ))
            .with_cause(e)
        })?;
    }
    builder
        .build()
        .map_err(|e| Error::usage("invalid `package.exclude` globs").with_cause(e))
}
