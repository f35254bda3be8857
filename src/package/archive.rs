//! Writing the zip: entries compressed on every core while one thread
//! writes them in path order, hashing as it goes, into memory and (when
//! asked) a file renamed into place at the end.

use crate::error::{Error, Result};
use crate::package::source::{Entry, read_error};
use crate::package::zipfile;
use crate::package::zipfile::Level;
use crate::ui::Activity;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::num::NonZero;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// How much of a file is test-compressed to decide whether to deflate it.
const SAMPLE: usize = 64 * 1024;

/// Files whose names end like this are already compressed: stored as they are.
const COMPRESSED_SUFFIXES: &[&str] = &[
    ".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".br", ".7z", ".jar", ".war", ".whl", ".egg",
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".mp3", ".mp4", ".woff", ".woff2",
];

/// Compresses entries on every core while this thread writes them, in path
/// order, into `sink`: hashing and writing overlap the compression, and each
/// compressed entry is dropped as soon as it is written.
pub(super) fn assemble(entries: &[Entry], sink: Sink, meter: &Activity) -> Result<Sink> {
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
pub(super) struct Sink {
    pub(super) bytes: Vec<u8>,
    pub(super) sha: Sha256,
    pub(super) file: Option<OutFile>,
}

impl Sink {
    /// Reserves room for the largest zip `entries` can make (every file
    /// stored): address space only, as untouched pages take no memory, and
    /// the archive is never copied to grow.
    pub(super) fn new(entries: &[Entry], file: Option<OutFile>) -> Sink {
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
pub(super) struct Sha256(aws_lc_rs::digest::Context);

impl Sha256 {
    pub(super) fn new() -> Sha256 {
        Sha256(aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256))
    }

    pub(super) fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub(super) fn finish(self) -> [u8; 32] {
        let mut out = [0; 32];
        out.copy_from_slice(self.0.finish().as_ref());
        out
    }
}

/// A file written under a temporary name and renamed into place by
/// [`OutFile::commit`]; dropped before that, the temporary file is removed.
pub(super) struct OutFile {
    path: PathBuf,
    partial: PathBuf,
    file: BufWriter<File>,
    committed: bool,
}

impl OutFile {
    pub(super) fn create(path: &Path) -> Result<OutFile> {
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
    pub(super) fn commit(mut self) -> Result<()> {
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

pub(super) fn write_error(path: &Path, e: std::io::Error) -> Error {
    Error::usage(format!("cannot write {}", path.display()))
        .with_cause(e)
        .with_hint("choose another place with --out FILE")
}
