//! Stage 1, package: turn the source into a reproducible deployment zip.
//!
//! In: the `[package]` settings: a source (a folder, or a `.zip` used as it
//! is), exclude globs, extra files to include. Out: an [`Artifact`] holding
//! the zip bytes and their CodeSha256 (the base64 SHA-256 Lambda reports for
//! the code). No AWS calls; safe to repeat.
//!
//! A folder always gives the same bytes: entries sorted by path, every
//! timestamp fixed at 1980-01-01 00:00, permissions normalised to 0644, or
//! 0755 when any execute bit is set (a `bootstrap` stays executable), and no
//! directory entries. So unchanged code has an unchanged CodeSha256, and
//! greenlight never re-publishes it. Symlinks are followed when they stay
//! inside the source folder and refused when they lead out of it.
//!
//! What is left out follows gitignore rules: `.greenlightignore` files in the
//! source (in any folder, like `.gitignore`) and `[package] exclude` globs.
//! `.gitignore` itself is not read: build output is often git-ignored.
//!
//! Speed: files are read and compressed on every core (libdeflate, one
//! reused compressor per thread) while the main thread writes them in path
//! order with [`zipfile`], hashing the archive (and writing the `--out` file)
//! as it grows, so nothing but the central directory is left for the end. Data that does not compress (already-compressed formats, or a
//! sample that deflate cannot shrink) is stored instead of deflated.
//!
//! Lives here: the artifact and [`package`] (this module), `source` (the
//! walk of the source), `archive` (writing the zip), [`zipfile`] (the
//! deterministic zip writer) and [`build`] (`[package] build`). May import:
//! `config`, `ui` and the base modules; never an AWS seam.

mod archive;
pub mod build;
mod source;
pub mod zipfile;

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use bytes::Bytes;
use zip::ZipArchive;

use crate::config::PackageConfig;
use crate::error::{Error, Result};
use crate::ui::Ui;
use archive::{OutFile, Sha256, Sink, assemble, write_error};
use source::{collect, read_error};

/// The ignore file read in every folder of the source.
pub const IGNORE_FILE: &str = ".greenlightignore";
/// greenlight's own folder beside the config, where `package` writes the
/// zip by default: never packaged, even when the source is the config's
/// folder (`source = "."`), so a package never holds an earlier package.
pub const OUTPUT_DIR: &str = ".greenlight";
/// Lambda's limit on the unzipped size of a function's code.
pub const UNZIPPED_LIMIT: u64 = 250 * 1024 * 1024;

/// A deployment package ready to upload.
#[derive(Clone)]
pub struct Artifact {
    /// The zip file's bytes (shared, so an upload streams them without a copy).
    pub bytes: Bytes,
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

impl Artifact {
    /// Hex SHA-256 of the zip, for content-addressed names: from
    /// `code_sha256`, already computed while the zip was written (hashing a
    /// large zip again only if that is not valid base64).
    pub fn sha256_hex(&self) -> String {
        base64::engine::general_purpose::STANDARD
            .decode(&self.code_sha256)
            .unwrap_or_else(|_| sha256(&self.bytes).to_vec())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Builds the artifact `config` describes: zips a folder, or reads a `.zip`
/// as it is. With `out`, the zip is also written to that file while it is
/// built, under a temporary name renamed at the end: a failure leaves no
/// half-written zip behind; `out` inside the source (or an `include`) is
/// refused, unless in [`OUTPUT_DIR`]. Progress (bytes compressed) shows on `ui`.
pub fn package(config: &PackageConfig, out: Option<&Path>, ui: &Ui) -> Result<Artifact> {
    let source = &config.source;
    let meta = std::fs::metadata(source).map_err(|e| {
        Error::usage(format!(
            "package source {} cannot be read",
            source.display()
        ))
        .with_cause(e)
        .with_hint("set [package] source to a folder or a .zip, relative to greenlight.toml")
    })?;
    if let Some(out) = out {
        outside_the_source(config, out)?;
    }
    if !meta.is_dir() {
        let artifact = read_zip(source)?;
        if let Some(path) = out {
            let mut file = OutFile::create(path)?;
            file.write_all(&artifact.bytes)
                .map_err(|e| write_error(path, e))?;
            file.commit()?;
        }
        return Ok(artifact);
    }
    let entries = collect(config)?;
    if entries.is_empty() {
        return Err(Error::usage(format!(
            "package source {} holds no files (after exclusions)",
            source.display()
        ))
        .with_hint("build the code first, or point [package] source at the build output"));
    }
    let file = out.map(OutFile::create).transpose()?;
    let sink = Sink::new(&entries, file);
    let total = entries.iter().map(|e| e.size).sum();
    let meter = ui.bytes("compressing", total);
    let Sink { bytes, sha, file } = assemble(&entries, sink, &meter)?;
    drop(meter);
    if let Some(file) = file {
        file.commit()?;
    }
    Ok(Artifact {
        code_sha256: base64::engine::general_purpose::STANDARD.encode(sha.finish()),
        bytes: bytes.into(),
        files: entries.len(),
    })
}

/// A size for an error about a limit: megabytes (MiB, as Lambda counts
/// them) rounded up to a tenth, so a size just over a limit never reads as
/// the limit itself, and the exact bytes: `250.1 MB (262144001 bytes)`.
pub fn megabytes(size: u64) -> String {
    const MIB: u128 = 1024 * 1024;
    let tenths = (u128::from(size) * 10).div_ceil(MIB);
    format!("{}.{} MB ({size} bytes)", tenths / 10, tenths % 10)
}

/// Refuses an `out` file inside what is packaged (the source, or an
/// `include`): it could overwrite a file of the code, and the next package
/// would hold it. greenlight's own [`OUTPUT_DIR`] is never packaged, so it
/// is fine there.
fn outside_the_source(config: &PackageConfig, out: &Path) -> Result<()> {
    let at = resolved(out);
    if at.starts_with(resolved(&config.dir.join(OUTPUT_DIR))) {
        return Ok(());
    }
    match std::iter::once(&config.source)
        .chain(&config.include)
        .find(|packaged| at.starts_with(resolved(packaged)))
    {
        None => Ok(()),
        Some(packaged) => Err(Error::usage(format!(
            "--out {} is inside {}, which is packaged: it could overwrite a file of the code, and the next package would hold this one",
            out.display(),
            packaged.display()
        ))
        .with_hint(format!(
            "write the zip outside the source, e.g. leave out --out for {OUTPUT_DIR}/ beside greenlight.toml"
        ))),
    }
}

/// `path` made absolute with symlinks resolved as far as it exists (the
/// rest, not written yet, appended as given), so two ways of naming one
/// place compare equal.
pub(super) fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute
        .ancestors()
        .find_map(|known| {
            let real = known.canonicalize().ok()?;
            Some(real.join(absolute.strip_prefix(known).ok()?))
        })
        .unwrap_or(absolute)
}

/// Base64 SHA-256 of `bytes`, the form of Lambda's `CodeSha256`.
pub fn code_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(sha256(bytes))
}

pub(super) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut sha = Sha256::new();
    sha.update(bytes);
    sha.finish()
}

fn read_zip(path: &Path) -> Result<Artifact> {
    let bytes = std::fs::read(path).map_err(|e| read_error(path, e))?;
    let archive = ZipArchive::new(Cursor::new(&bytes)).map_err(|e| {
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
        bytes: bytes.into(),
        files,
    })
}

#[cfg(not(unix))]
pub(super) fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests;
