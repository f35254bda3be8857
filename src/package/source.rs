//! Walking the source: the files a package holds, in path order, with
//! what the ignore files and `exclude` leave out.

use crate::config::{PackageConfig, exclusions};
use crate::error::{Error, Result};
use crate::package::{IGNORE_FILE, OUTPUT_DIR, UNZIPPED_LIMIT, megabytes, resolved};
use std::path::{Path, PathBuf};

/// One file to put in the zip.
#[derive(Debug)]
pub(super) struct Entry {
    /// Path inside the zip, `/`-separated.
    pub(super) name: String,
    /// Where to read it from.
    pub(super) path: PathBuf,
    pub(super) executable: bool,
    /// Size in bytes, from the walk's metadata.
    pub(super) size: u64,
}

pub(super) fn read_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::usage(format!("cannot read {}", path.display())).with_cause(e)
}

/// The files to package, sorted by their name in the zip.
pub(super) fn collect(config: &PackageConfig) -> Result<Vec<Entry>> {
    let own = resolved(&config.dir.join(OUTPUT_DIR));
    let mut entries = walk(&config.source, "", Some(&config.exclude), &own)?;
    for extra in &config.include {
        let name = extra
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if extra.is_dir() {
            entries.extend(walk(extra, &format!("{name}/"), None, &own)?);
        } else {
            let meta = std::fs::metadata(extra).map_err(|e| {
                read_error(extra, e).with_hint("fix or remove the path in [package] include")
            })?;
            entries.push(Entry {
                name,
                path: extra.clone(),
                executable: is_executable(&meta),
                size: meta.len(),
            });
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(twice) = entries.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(Error::usage(format!(
            "{} would be in the zip twice ({} and {})",
            twice[0].name,
            twice[0].path.display(),
            twice[1].path.display()
        ))
        .with_hint("rename one, or exclude it with [package] exclude"));
    }
    let unzipped: u64 = entries.iter().map(|e| e.size).sum();
    if unzipped > UNZIPPED_LIMIT {
        return Err(Error::usage(format!(
            "the package holds {} unzipped, over Lambda's 250 MB limit ({UNZIPPED_LIMIT} bytes)",
            megabytes(unzipped)
        ))
        .with_hint("exclude what the function does not need ([package] exclude, .greenlightignore), or use a container image"));
    }
    Ok(entries)
}

/// Walks `root`, naming entries `prefix` + their path under `root`, following
/// symlinks that stay inside it and applying `.greenlightignore` files and,
/// when given, `exclude` globs. The folder `own` (greenlight's output
/// folder, resolved) is left out when it is inside `root`.
fn walk(root: &Path, prefix: &str, exclude: Option<&[String]>, own: &Path) -> Result<Vec<Entry>> {
    let canonical_root = root.canonicalize().map_err(|e| read_error(root, e))?;
    let mut walker = ignore::WalkBuilder::new(root);
    walker
        .standard_filters(false)
        .follow_links(true)
        .add_custom_ignore_filename(IGNORE_FILE)
        .sort_by_file_name(|a, b| a.cmp(b));
    if let Some(inside) = own
        .strip_prefix(&canonical_root)
        .ok()
        .filter(|inside| !inside.as_os_str().is_empty())
    {
        let (root, inside) = (root.to_path_buf(), inside.to_path_buf());
        walker.filter_entry(move |e| e.path().strip_prefix(&root).map_or(true, |p| p != inside));
    }
    if let Some(globs) = exclude.filter(|g| !g.is_empty()) {
        walker.overrides(exclusions(root, globs)?);
    }
    let mut entries = Vec::new();
    for item in walker.build() {
        let item = item.map_err(|e| {
            Error::usage("cannot walk the package source")
                .with_cause(e)
                .with_hint("check the source folder and its .greenlightignore files")
        })?;
        let path = item.path();
        if item.path_is_symlink() {
            let target = path.canonicalize().map_err(|e| read_error(path, e))?;
            if !target.starts_with(&canonical_root) {
                return Err(Error::usage(format!(
                    "symlink {} leads outside the package source (to {})",
                    path.display(),
                    target.display()
                ))
                .with_hint("copy the file into the source folder, or remove the link"));
            }
        }
        let is_file = item.file_type().is_some_and(|t| t.is_file());
        if !is_file || path.file_name().is_some_and(|n| n == IGNORE_FILE) {
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(path);
        let name = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let meta = item.metadata().map_err(|e| read_error(path, e))?;
        entries.push(Entry {
            name: format!("{prefix}{name}"),
            path: path.to_path_buf(),
            executable: is_executable(&meta),
            size: meta.len(),
        });
    }
    Ok(entries)
}

#[cfg(unix)]
pub(super) fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}
