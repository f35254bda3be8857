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

pub mod build;
pub mod zipfile;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Cursor, Write};
use std::num::NonZero;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use base64::Engine;
use bytes::Bytes;
use zip::ZipArchive;

use crate::config::{PackageConfig, exclusions};
use crate::error::{Error, Result};
use crate::package::zipfile::Level;
use crate::ui::{Activity, Ui};

/// The ignore file read in every folder of the source.
pub const IGNORE_FILE: &str = ".greenlightignore";
/// greenlight's own folder beside the config, where `package` writes the
/// zip by default: never packaged, even when the source is the config's
/// folder (`source = "."`), so a package never holds an earlier package.
pub const OUTPUT_DIR: &str = ".greenlight";
/// Lambda's limit on the unzipped size of a function's code.
pub const UNZIPPED_LIMIT: u64 = 250 * 1024 * 1024;
/// How much of a file is test-compressed to decide whether to deflate it.
const SAMPLE: usize = 64 * 1024;
/// Files whose names end like this are already compressed: stored as they are.
const COMPRESSED_SUFFIXES: &[&str] = &[
    ".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".br", ".7z", ".jar", ".war", ".whl", ".egg",
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".mp3", ".mp4", ".woff", ".woff2",
];

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
fn resolved(path: &Path) -> PathBuf {
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

fn sha256(bytes: &[u8]) -> [u8; 32] {
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

/// One file to put in the zip.
#[derive(Debug)]
struct Entry {
    /// Path inside the zip, `/`-separated.
    name: String,
    /// Where to read it from.
    path: PathBuf,
    executable: bool,
    /// Size in bytes, from the walk's metadata.
    size: u64,
}

fn read_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::usage(format!("cannot read {}", path.display())).with_cause(e)
}

/// The files to package, sorted by their name in the zip.
fn collect(config: &PackageConfig) -> Result<Vec<Entry>> {
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

/// Compresses entries on every core while this thread writes them, in path
/// order, into `sink`: hashing and writing overlap the compression, and each
/// compressed entry is dropped as soon as it is written.
fn assemble(entries: &[Entry], sink: Sink, meter: &Activity) -> Result<Sink> {
    let workers = std::thread::available_parallelism().map_or(1, NonZero::get);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (done, finished) = mpsc::channel();
        for _ in 0..workers {
            let (done, next) = (done.clone(), &next);
            // Workers take entries in path order, so they finish roughly in it.
            scope.spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(e) = entries.get(index) else { break };
                    if done.send((index, compress(e))).is_err() {
                        break; // the writer stopped on an error
                    }
                }
            });
        }
        drop(done);
        let mut writer = zipfile::Writer::new(sink);
        let mut waiting = BTreeMap::new();
        let mut written = 0;
        for (index, entry) in finished {
            waiting.insert(index, entry?);
            while let Some(entry) = waiting.remove(&written) {
                writer.add(&entry).map_err(zip_error)?;
                meter.advance(u64::from(entry.size));
                written += 1;
            }
        }
        writer.finish().map_err(zip_error)
    })
}

/// Reads and compresses one file.
fn compress(e: &Entry) -> Result<zipfile::Entry> {
    let data = std::fs::read(&e.path).map_err(|err| read_error(&e.path, err))?;
    let mode = if e.executable { 0o755 } else { 0o644 };
    let deflate = worth_deflating(&e.name, &data);
    zipfile::entry(e.name.clone(), mode, data, deflate).map_err(zip_error)
}

/// Whether deflate is likely to shrink `data`: not for empty files, known
/// compressed formats, or data whose first 64 KiB deflate barely shrinks.
fn worth_deflating(name: &str, data: &[u8]) -> bool {
    if data.is_empty() {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    if COMPRESSED_SUFFIXES.iter().any(|s| lower.ends_with(s)) {
        return false;
    }
    if data.len() <= SAMPLE {
        return true;
    }
    let squeezed = zipfile::deflate(&data[..SAMPLE], Level::Sample).map_or(SAMPLE, |out| out.len());
    squeezed * 100 < SAMPLE * 97
}

fn zip_error(e: zipfile::ZipError) -> Error {
    match e {
        zipfile::ZipError::Io(e) => Error::usage("cannot write the package")
            .with_cause(e)
            .with_hint("choose another place with --out FILE, or free some disk space"),
        e => Error::usage(format!("cannot build the zip: {e}"))
            .with_hint("exclude files with [package] exclude or .greenlightignore"),
    }
}

/// Where the archive goes while it is assembled: memory (for the upload),
/// the SHA-256 that becomes `CodeSha256`, and the `--out` file if any.
struct Sink {
    bytes: Vec<u8>,
    sha: Sha256,
    file: Option<OutFile>,
}

impl Sink {
    /// Reserves room for the largest zip `entries` can make (every file
    /// stored): address space only, as untouched pages take no memory, and
    /// the archive is never copied to grow.
    fn new(entries: &[Entry], file: Option<OutFile>) -> Sink {
        let largest: u64 = entries
            .iter()
            .map(|e| e.size + 2 * e.name.len() as u64 + 76)
            .sum();
        Sink {
            bytes: Vec::with_capacity(usize::try_from(largest + 22).unwrap_or(0)),
            sha: Sha256::new(),
            file,
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(file) = &mut self.file {
            file.write_all(buf)?;
        }
        self.bytes.extend_from_slice(buf);
        self.sha.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

/// SHA-256 with aws-lc's assembly (already linked for TLS), several times
/// faster than a portable implementation on CPUs without SHA extensions.
struct Sha256(aws_lc_rs::digest::Context);

impl Sha256 {
    fn new() -> Sha256 {
        Sha256(aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256))
    }

    fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(self) -> [u8; 32] {
        let mut out = [0; 32];
        out.copy_from_slice(self.0.finish().as_ref());
        out
    }
}

/// A file written under a temporary name and renamed into place by
/// [`OutFile::commit`]; dropped before that, the temporary file is removed.
struct OutFile {
    path: PathBuf,
    partial: PathBuf,
    file: BufWriter<File>,
    committed: bool,
}

impl OutFile {
    fn create(path: &Path) -> Result<OutFile> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| write_error(path, e))?;
        }
        let file = File::create(&partial).map_err(|e| write_error(path, e))?;
        Ok(OutFile {
            path: path.to_owned(),
            partial,
            file: BufWriter::with_capacity(1 << 20, file),
            committed: false,
        })
    }

    /// Flushes and moves the file into place.
    fn commit(mut self) -> Result<()> {
        self.file.flush().map_err(|e| write_error(&self.path, e))?;
        std::fs::rename(&self.partial, &self.path).map_err(|e| write_error(&self.path, e))?;
        self.committed = true;
        Ok(())
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file
            .write(buf)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", self.path.display())))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for OutFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

fn write_error(path: &Path, e: std::io::Error) -> Error {
    Error::usage(format!("cannot write {}", path.display()))
        .with_cause(e)
        .with_hint("choose another place with --out FILE")
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
    use zip::{CompressionMethod, DateTime};

    fn quiet() -> Ui {
        Ui::new(
            crate::ui::OutputFormat::Json,
            0,
            crate::secrets::Redactor::default(),
        )
    }

    fn package(source: &Path) -> Result<Artifact> {
        super::package(
            &PackageConfig {
                source: source.to_path_buf(),
                ..Default::default()
            },
            None,
            &quiet(),
        )
    }

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
        // The hash streamed while the zip was written is the one-shot hash
        // of its bytes (itself checked against known vectors below).
        assert_eq!(first.code_sha256, code_sha256(&first.bytes));
        let hex: String = sha256(&first.bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(first.sha256_hex(), hex);
    }

    #[test]
    fn sha256_and_code_sha256_match_known_vectors() {
        // FIPS 180-2's examples; the base64 forms from Python's hashlib.
        let vectors: [(&[u8], &str, &str); 3] = [
            (
                b"",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            ),
            (
                b"abc",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
            ),
            (
                &[b'a'; 1_000_000],
                "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
                "zcduXJkU+5KBocfihNc+Z/GAmkiklyAOBG05zMcRLNA=",
            ),
        ];
        for (input, hex, base64) in vectors {
            let one_shot: String = sha256(input).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(one_shot, hex);
            assert_eq!(code_sha256(input), base64);
            // Streamed in uneven pieces, as the zip writer feeds it.
            let mut streamed = Sha256::new();
            for piece in input.chunks(4093) {
                streamed.update(piece);
            }
            assert_eq!(streamed.finish(), sha256(input));
            let artifact = Artifact {
                bytes: Bytes::copy_from_slice(input),
                code_sha256: base64.to_owned(),
                files: 0,
            };
            assert_eq!(artifact.sha256_hex(), hex);
        }
    }

    #[test]
    fn out_file_gets_the_same_bytes_and_no_partial_file_is_left() {
        let dir = tree();
        let out = tempfile::tempdir().expect("tempdir");
        let path = out.path().join("nested/app.zip");
        let config = PackageConfig {
            source: dir.path().to_path_buf(),
            ..Default::default()
        };
        let artifact = super::package(&config, Some(&path), &quiet()).expect("package");
        assert_eq!(fs::read(&path).expect("out file"), artifact.bytes);

        let unfinished = out.path().join("unfinished.zip");
        let mut file = OutFile::create(&unfinished).expect("create");
        file.write_all(b"half a zip").expect("write");
        drop(file);
        let left: Vec<_> = fs::read_dir(out.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("nested")]);
    }

    #[test]
    fn with_the_source_beside_the_config_its_own_output_is_never_packaged() {
        let dir = tree();
        let config = PackageConfig {
            source: dir.path().join("."),
            dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        let first = super::package(
            &config,
            Some(&dir.path().join(".greenlight/a.zip")),
            &quiet(),
        )
        .expect("package");
        fs::create_dir_all(dir.path().join("lib/.greenlight")).expect("mkdir");
        fs::write(dir.path().join("lib/.greenlight/kept.txt"), "k").expect("write");
        let second = super::package(
            &config,
            Some(&dir.path().join(".greenlight/a.zip")),
            &quiet(),
        )
        .expect("package again");
        assert_eq!(
            names(&second),
            [
                "index.py",
                "lib-a.txt",
                "lib/.greenlight/kept.txt",
                "lib/sub/data.txt"
            ],
            "only the folder beside the config is greenlight's"
        );
        assert_eq!(names(&first).len() + 1, second.files);
    }

    #[test]
    fn out_inside_what_is_packaged_is_refused_and_writes_nothing() {
        let dir = tree();
        let extra = tempfile::tempdir().expect("tempdir");
        let config = PackageConfig {
            source: dir.path().to_path_buf(),
            include: vec![extra.path().to_path_buf()],
            dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        let inside = [
            dir.path().join("index.py"),
            dir.path().join("lib/new.zip"),
            dir.path().join("lib/../lib/sub/other.zip"),
            extra.path().join("x.zip"),
        ];
        for out in inside {
            let err = super::package(&config, Some(&out), &quiet()).expect_err("inside");
            assert_eq!(err.exit_code(), 2);
            assert!(err.message.contains("which is packaged"), "{}", err.message);
        }
        assert_eq!(
            fs::read_to_string(dir.path().join("index.py")).expect("source kept"),
            "def handler(e, c):\n    return e\n"
        );
        assert!(!dir.path().join("lib/new.zip").exists());
        assert!(!extra.path().join("x.zip").exists());
        let outside = tempfile::tempdir().expect("tempdir");
        super::package(&config, Some(&outside.path().join("ok.zip")), &quiet()).expect("outside");
        super::package(
            &config,
            Some(&dir.path().join(".greenlight/ok.zip")),
            &quiet(),
        )
        .expect("greenlight's own folder");
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

    fn names(a: &Artifact) -> Vec<String> {
        read_back(a).into_iter().map(|e| e.0).collect()
    }

    #[test]
    fn greenlightignore_files_and_exclude_globs_leave_files_out() {
        let dir = tree();
        fs::write(dir.path().join(".greenlightignore"), "*.txt\n!keep.txt\n").expect("write");
        fs::write(dir.path().join("keep.txt"), "k").expect("write");
        fs::create_dir_all(dir.path().join("tests")).expect("mkdir");
        fs::write(dir.path().join("tests/test_x.py"), "t").expect("write");
        fs::write(dir.path().join("lib/.greenlightignore"), "sub/\n").expect("write");
        let a = super::package(
            &PackageConfig {
                source: dir.path().to_path_buf(),
                exclude: vec!["tests/".to_owned()],
                ..Default::default()
            },
            None,
            &quiet(),
        )
        .expect("package");
        assert_eq!(names(&a), ["index.py", "keep.txt"]);
    }

    #[test]
    fn include_adds_files_from_outside_the_source() {
        let dir = tree();
        let other = tempfile::tempdir().expect("tempdir");
        fs::write(other.path().join("settings.json"), "{}").expect("write");
        fs::create_dir_all(other.path().join("shared")).expect("mkdir");
        fs::write(other.path().join("shared/util.py"), "u").expect("write");
        let a = super::package(
            &PackageConfig {
                source: dir.path().to_path_buf(),
                include: vec![
                    other.path().join("settings.json"),
                    other.path().join("shared"),
                ],
                ..Default::default()
            },
            None,
            &quiet(),
        )
        .expect("package");
        assert_eq!(
            names(&a),
            [
                "index.py",
                "lib-a.txt",
                "lib/sub/data.txt",
                "settings.json",
                "shared/util.py"
            ]
        );
        let clash = super::package(
            &PackageConfig {
                source: dir.path().to_path_buf(),
                include: vec![dir.path().join("index.py")],
                ..Default::default()
            },
            None,
            &quiet(),
        )
        .expect_err("twice");
        assert!(
            clash.message.contains("index.py would be in the zip twice"),
            "{}",
            clash.message
        );
    }

    #[test]
    fn incompressible_data_is_stored_and_text_deflated() {
        let dir = tree();
        let mut state = 0x2545_f491_u64;
        let noise: Vec<u8> = (0..200_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        fs::write(dir.path().join("blob.bin"), &noise).expect("write");
        fs::write(dir.path().join("image.png"), "not really compressed").expect("write");
        let a = package(dir.path()).expect("package");
        let mut archive = ZipArchive::new(Cursor::new(&a.bytes)).expect("zip");
        let mut method = |name: &str| archive.by_name(name).expect(name).compression();
        assert_eq!(method("blob.bin"), CompressionMethod::Stored);
        assert_eq!(method("image.png"), CompressionMethod::Stored);
        assert_eq!(method("lib/sub/data.txt"), CompressionMethod::Deflated);
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut archive.by_name("blob.bin").expect("blob"), &mut back)
            .expect("read");
        assert_eq!(back, noise);
    }

    #[test]
    fn over_lambdas_unzipped_limit_is_refused_before_reading() {
        let dir = tree();
        let big = fs::File::create(dir.path().join("huge.bin")).expect("create");
        big.set_len(UNZIPPED_LIMIT + 1).expect("sparse file");
        let err = package(dir.path()).expect_err("too big");
        assert_eq!(err.exit_code(), 2);
        let size = UNZIPPED_LIMIT + 1 + 1033; // huge.bin, and the tree's 1033 bytes
        assert_eq!(
            err.message,
            format!(
                "the package holds 250.1 MB ({size} bytes) unzipped, over Lambda's 250 MB limit (262144000 bytes)"
            )
        );
    }

    #[test]
    fn sizes_over_a_limit_never_read_as_the_limit() {
        assert_eq!(megabytes(UNZIPPED_LIMIT), "250.0 MB (262144000 bytes)");
        assert_eq!(megabytes(UNZIPPED_LIMIT + 1), "250.1 MB (262144001 bytes)");
        assert_eq!(megabytes(300 * 1024 * 1024), "300.0 MB (314572800 bytes)");
        assert_eq!(megabytes(0), "0.0 MB (0 bytes)");
        assert!(megabytes(u64::MAX).ends_with("(18446744073709551615 bytes)"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Any `.greenlightignore` content: the package builds (maybe with
        /// fewer files) or is refused as a usage error, never a panic.
        #[test]
        fn any_ignore_file_is_applied_or_refused(lines in proptest::collection::vec("\\PC{0,12}", 0..6)) {
            let dir = tree();
            fs::write(dir.path().join(IGNORE_FILE), lines.join("\n")).expect("write");
            match package(dir.path()) {
                Ok(a) => proptest::prop_assert!(a.files <= 3),
                Err(e) => proptest::prop_assert_eq!(e.exit_code(), 2),
            }
        }
    }
}
