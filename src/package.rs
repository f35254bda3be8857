//! Stage 1, package: turn the source into a reproducible deployment zip.
//!
//! In: a source path (a folder, or a `.zip` used as it is). Out: an
//! [`Artifact`] holding the zip bytes and their CodeSha256 (the base64 SHA-256
//! Lambda reports for the code). No AWS calls; safe to repeat.
//!
//! A folder always gives the same bytes: entries sorted by path, every
//! timestamp fixed at 1980-01-01 00:00, permissions normalised to 0644, or
//! 0755 when any execute bit is set (a `bootstrap` stays executable), and no
//! directory entries. So unchanged code has an unchanged CodeSha256, and
//! greenlight never re-publishes it. Symlinks are followed when they stay
//! inside the source folder and refused when they lead out of it.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::error::{Error, Result};

/// A deployment package ready to upload.
#[derive(Clone)]
pub struct Artifact {
    /// The zip file's bytes.
    pub bytes: Vec<u8>,
    /// Base64 SHA-256 of `bytes`, as Lambda reports it in `CodeSha256`.
    pub code_sha256: String,
    /// How many files the zip holds.
    pub files: usize,
}

impl std::fmt::Debug for Artifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Artifact")
            .field("size", &self.bytes.len())
            .field("code_sha256", &self.code_sha256)
            .field("files", &self.files)
            .finish()
    }
}

/// Builds the artifact for `source`: zips a folder, or reads a `.zip` as it is.
pub fn package(source: &Path) -> Result<Artifact> {
    let meta = std::fs::metadata(source).map_err(|e| {
        Error::usage(format!(
            "package source {} cannot be read",
            source.display()
        ))
        .with_cause(e)
        .with_hint("set [package] source to a folder or a .zip, relative to greenlight.toml")
    })?;
    if meta.is_dir() {
        zip_folder(source)
    } else {
        read_zip(source)
    }
}

/// Base64 SHA-256 of `bytes`, the form of Lambda's `CodeSha256`.
pub fn code_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

fn read_zip(path: &Path) -> Result<Artifact> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::usage(format!("cannot read package source {}", path.display())).with_cause(e)
    })?;
    let archive = zip::ZipArchive::new(Cursor::new(&bytes)).map_err(|e| {
        Error::usage(format!(
            "package source {} is not a zip file",
            path.display()
        ))
        .with_cause(e)
        .with_hint("point [package] source at a folder, or at a .zip built beforehand")
    })?;
    let files = archive.len();
    Ok(Artifact {
        code_sha256: code_sha256(&bytes),
        bytes,
        files,
    })
}

/// One file to put in the zip.
struct Entry {
    /// Path inside the zip, `/`-separated.
    name: String,
    /// Where to read it from.
    path: PathBuf,
    executable: bool,
}

fn zip_folder(root: &Path) -> Result<Artifact> {
    let entries = collect(root)?;
    if entries.is_empty() {
        return Err(
            Error::usage(format!("package source {} holds no files", root.display()))
                .with_hint("build the code first, or point [package] source at the build output"),
        );
    }
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let base = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default());
    for entry in &entries {
        let data = std::fs::read(&entry.path).map_err(|e| read_error(&entry.path, e))?;
        let mode = if entry.executable { 0o755 } else { 0o644 };
        zip.start_file(entry.name.as_str(), base.unix_permissions(mode))
            .and_then(|()| zip.write_all(&data).map_err(Into::into))
            .map_err(|e| {
                Error::no_traffic_moved(format!("cannot add {} to the zip", entry.name))
                    .with_cause(e)
            })?;
    }
    let bytes = zip
        .finish()
        .map_err(|e| Error::no_traffic_moved("cannot finish the zip").with_cause(e))?
        .into_inner();
    Ok(Artifact {
        code_sha256: code_sha256(&bytes),
        bytes,
        files: entries.len(),
    })
}

fn read_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::usage(format!("cannot read {}", path.display())).with_cause(e)
}

/// Walks `root` in sorted order, following symlinks that stay inside it.
fn collect(root: &Path) -> Result<Vec<Entry>> {
    let canonical_root = root.canonicalize().map_err(|e| read_error(root, e))?;
    let mut entries = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .min_depth(1);
    for item in walker {
        let item = item.map_err(|e| {
            let at = e
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            Error::usage(format!("cannot walk package source at {at}")).with_cause(e)
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
        if !item.file_type().is_file() {
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
            name,
            path: path.to_path_buf(),
            executable: is_executable(&meta),
        });
    }
    // walkdir sorts per directory by file name; sort the full paths so the
    // order never depends on how names compare across directory levels.
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("lib/sub")).expect("mkdir");
        fs::write(
            dir.path().join("index.py"),
            "def handler(e, c):\n    return e\n",
        )
        .expect("write");
        fs::write(dir.path().join("lib/sub/data.txt"), "x".repeat(1000)).expect("write");
        fs::write(dir.path().join("lib-a.txt"), "a").expect("write");
        dir
    }

    fn read_back(a: &Artifact) -> Vec<(String, Option<u32>, zip::DateTime)> {
        let mut archive = zip::ZipArchive::new(Cursor::new(&a.bytes)).expect("zip reads back");
        (0..archive.len())
            .map(|i| {
                let f = archive.by_index(i).expect("entry");
                (
                    f.name().expect("utf-8 name").into_owned(),
                    f.unix_mode(),
                    f.last_modified().unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn same_tree_gives_same_bytes_whatever_the_mtimes() {
        let dir = tree();
        let first = package(dir.path()).expect("package");
        let file = fs::File::options()
            .write(true)
            .open(dir.path().join("index.py"))
            .expect("open");
        file.set_modified(
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000),
        )
        .expect("set mtime");
        let second = package(dir.path()).expect("package");
        assert_eq!(first.code_sha256, second.code_sha256);
        assert_eq!(first.bytes, second.bytes);
        assert_eq!(first.code_sha256, code_sha256(&first.bytes));
    }

    #[test]
    fn entries_are_sorted_with_fixed_times_and_normalised_modes() {
        let dir = tree();
        let a = package(dir.path()).expect("package");
        let entries = read_back(&a);
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(names, ["index.py", "lib-a.txt", "lib/sub/data.txt"]);
        for (name, mode, time) in &entries {
            assert_eq!(*mode, Some(0o100644), "{name}");
            assert_eq!(*time, DateTime::default(), "{name}");
        }
        assert_eq!(a.files, 3);
    }

    #[cfg(unix)]
    #[test]
    fn executable_bit_survives() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tree();
        let boot = dir.path().join("bootstrap");
        fs::write(&boot, "#!/bin/sh\n").expect("write");
        fs::set_permissions(&boot, fs::Permissions::from_mode(0o700)).expect("chmod");
        let a = package(dir.path()).expect("package");
        let modes: Vec<_> = read_back(&a).into_iter().map(|e| (e.0, e.1)).collect();
        assert!(
            modes.contains(&("bootstrap".to_owned(), Some(0o100755))),
            "{modes:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlink_out_of_the_tree_is_refused_and_inside_is_followed() {
        let outside = tempfile::tempdir().expect("tempdir");
        fs::write(outside.path().join("secret"), "s").expect("write");
        let dir = tree();
        std::os::unix::fs::symlink(dir.path().join("index.py"), dir.path().join("alias.py"))
            .expect("symlink");
        let ok = package(dir.path()).expect("inside link is fine");
        assert!(read_back(&ok).iter().any(|e| e.0 == "alias.py"));

        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("leak"))
            .expect("symlink");
        let err = package(dir.path()).expect_err("outside link refused");
        assert_eq!(err.exit_code(), 2);
        assert!(err.message.contains("leak"), "{}", err.message);
    }

    #[test]
    fn existing_zip_is_used_byte_for_byte_and_non_zip_refused() {
        let dir = tree();
        let a = package(dir.path()).expect("package");
        let elsewhere = tempfile::tempdir().expect("tempdir");
        let zip_path = elsewhere.path().join("prebuilt.zip");
        fs::write(&zip_path, &a.bytes).expect("write zip");
        let b = package(&zip_path).expect("zip source");
        assert_eq!(a.bytes, b.bytes);
        fs::write(&zip_path, "not a zip").expect("write");
        assert_eq!(package(&zip_path).expect_err("not a zip").exit_code(), 2);
    }

    #[test]
    fn empty_or_missing_source_is_a_usage_error() {
        let empty = tempfile::tempdir().expect("tempdir");
        assert_eq!(package(empty.path()).expect_err("empty").exit_code(), 2);
        assert_eq!(
            package(&empty.path().join("nope"))
                .expect_err("missing")
                .exit_code(),
            2
        );
    }
}
