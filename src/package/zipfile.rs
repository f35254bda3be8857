//! A minimal, deterministic zip writer for deployment packages.
//!
//! In: entries already compressed (or stored) with their CRC-32 and sizes,
//! one at a time. Out: the archive, written as it grows. Every field that
//! could vary between machines is fixed: timestamps are 1980-01-01 00:00,
//! the creator is "Unix, zip 2.0", permissions are the entry's 0644 or 0755,
//! there are no extra fields and no comments. The format is the classic one (no zip64): Lambda's 250 MB
//! unzipped limit keeps every size far below 4 GiB; more than 65,535 entries
//! is an error.
//!
//! Compression happens elsewhere, in parallel, with [`deflate`]: libdeflate,
//! which compresses a whole buffer at once (every file is read whole anyway)
//! about twice as fast as zlib at the same level and ratio, with one
//! compressor per thread and level instead of one per file.

use std::cell::RefCell;
use std::io::Write;

use libdeflater::{CompressionLvl, Compressor};

/// libdeflate's level 1 (its `fastest()` is level 0, which only stores).
const FASTEST: CompressionLvl = match CompressionLvl::new(1) {
    Ok(level) => level,
    Err(_) => panic!("libdeflate has a level 1"),
};

/// How hard [`deflate`] works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Level 6, the same as Info-ZIP's default: what goes into packages.
    Package,
    /// Level 1: a quick look at whether data compresses at all.
    Sample,
}

/// DOS date for 1980-01-01 (the earliest a zip can hold); time 00:00:00.
const DOS_DATE: u16 = (1 << 5) | 1;
/// "Unix" in the high byte, zip spec 2.0 in the low byte.
const MADE_BY: u16 = (3 << 8) | 20;
/// Version needed to extract: 2.0 (deflate).
const NEEDED: u16 = 20;
/// General-purpose flag bit 11: the name is UTF-8.
const UTF8_NAME: u16 = 1 << 11;

/// How an entry's data is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// As it is.
    Stored,
    /// Raw deflate.
    Deflated,
}

/// One file, ready to be written.
#[derive(Debug)]
pub struct Entry {
    /// `/`-separated path inside the zip.
    pub name: String,
    /// Unix permission bits (0o644 or 0o755).
    pub mode: u32,
    /// How `data` is held.
    pub method: Method,
    /// CRC-32 of the uncompressed data.
    pub crc32: u32,
    /// Uncompressed size.
    pub size: u32,
    /// The data, compressed with `method`.
    pub data: Vec<u8>,
}

/// Why an archive could not be written.
#[derive(Debug)]
pub enum ZipError {
    /// More entries than the classic format holds.
    TooManyEntries(usize),
    /// An entry or the archive is over 4 GiB.
    TooLarge(String),
    /// Writing the archive out failed.
    Io(std::io::Error),
}

impl From<std::io::Error> for ZipError {
    fn from(e: std::io::Error) -> Self {
        ZipError::Io(e)
    }
}

impl std::fmt::Display for ZipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ZipError::TooManyEntries(n) => write!(f, "{n} files, more than the 65,535 a zip holds"),
            ZipError::TooLarge(what) => write!(f, "{what} is over 4 GiB"),
            ZipError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Makes an entry from file contents: deflated when that makes it smaller
/// and `try_deflate` says it is worth trying, stored otherwise.
pub fn entry(
    name: String,
    mode: u32,
    contents: Vec<u8>,
    try_deflate: bool,
) -> Result<Entry, ZipError> {
    let size = u32::try_from(contents.len()).map_err(|_| ZipError::TooLarge(name.clone()))?;
    let crc32 = crc32fast::hash(&contents);
    if try_deflate && let Some(deflated) = deflate(&contents, Level::Package) {
        return Ok(Entry {
            name,
            mode,
            method: Method::Deflated,
            crc32,
            size,
            data: deflated,
        });
    }
    Ok(Entry {
        name,
        mode,
        method: Method::Stored,
        crc32,
        size,
        data: contents,
    })
}

/// Raw deflate of `data` with this thread's compressor for `level`; `None`
/// when the result would not be smaller than `data`.
pub fn deflate(data: &[u8], level: Level) -> Option<Vec<u8>> {
    thread_local! {
        static COMPRESSORS: RefCell<[Compressor; 2]> = RefCell::new([
            Compressor::new(CompressionLvl::default()),
            Compressor::new(FASTEST),
        ]);
    }
    let mut out = vec![0; data.len().checked_sub(1)?];
    let written = COMPRESSORS.with_borrow_mut(|compressors| {
        let compressor = match level {
            Level::Package => &mut compressors[0],
            Level::Sample => &mut compressors[1],
        };
        // Room for one byte less than the input: libdeflate reports "no
        // space" instead of writing output that does not shrink.
        compressor.deflate_compress(data, &mut out).ok()
    })?;
    out.truncate(written);
    out.shrink_to_fit();
    Some(out)
}

/// Writes entries one at a time, in the order given, as one archive into
/// `out`: the central directory is kept aside and written by [`Writer::finish`].
pub struct Writer<W> {
    out: W,
    offset: usize,
    central: Vec<u8>,
    count: usize,
}

impl<W: Write> Writer<W> {
    /// An empty archive writing into `out`.
    pub fn new(out: W) -> Self {
        Writer {
            out,
            offset: 0,
            central: Vec::new(),
            count: 0,
        }
    }

    /// Writes `e`'s local header and data, and notes its central record.
    pub fn add(&mut self, e: &Entry) -> Result<(), ZipError> {
        let offset = offset(self.offset)?;
        let csize = u32::try_from(e.data.len()).map_err(|_| ZipError::TooLarge(e.name.clone()))?;
        let name_len =
            u16::try_from(e.name.len()).map_err(|_| ZipError::TooLarge(e.name.clone()))?;
        let flags = if e.name.is_ascii() { 0 } else { UTF8_NAME };
        let method: u16 = match e.method {
            Method::Stored => 0,
            Method::Deflated => 8,
        };
        // Fields shared by the local and the central header, in order:
        // needed version, flags, method, time, date, CRC, sizes, name length.
        let mut common = Vec::with_capacity(26);
        for half in [NEEDED, flags, method, 0, DOS_DATE] {
            common.extend_from_slice(&half.to_le_bytes());
        }
        for word in [e.crc32, csize, e.size] {
            common.extend_from_slice(&word.to_le_bytes());
        }
        common.extend_from_slice(&name_len.to_le_bytes());

        let mut local = Vec::with_capacity(30 + e.name.len());
        local.extend_from_slice(&0x0403_4b50_u32.to_le_bytes());
        local.extend_from_slice(&common);
        local.extend_from_slice(&0_u16.to_le_bytes()); // extra field length
        local.extend_from_slice(e.name.as_bytes());
        self.out.write_all(&local)?;
        self.out.write_all(&e.data)?;
        self.offset += local.len() + e.data.len();

        let central = &mut self.central;
        central.extend_from_slice(&0x0201_4b50_u32.to_le_bytes());
        central.extend_from_slice(&MADE_BY.to_le_bytes());
        central.extend_from_slice(&common);
        // Extra field, comment, disk number, internal attributes.
        for half in [0_u16, 0, 0, 0] {
            central.extend_from_slice(&half.to_le_bytes());
        }
        central.extend_from_slice(&((0o100_000 | e.mode) << 16).to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(e.name.as_bytes());
        self.count += 1;
        Ok(())
    }

    /// Writes the central directory and the end record; gives `out` back.
    pub fn finish(mut self) -> Result<W, ZipError> {
        let count = u16::try_from(self.count).map_err(|_| ZipError::TooManyEntries(self.count))?;
        let central_offset = offset(self.offset)?;
        let central_size = offset(self.central.len())?;
        let mut end = Vec::with_capacity(22);
        end.extend_from_slice(&0x0605_4b50_u32.to_le_bytes());
        for half in [0_u16, 0, count, count] {
            end.extend_from_slice(&half.to_le_bytes());
        }
        end.extend_from_slice(&central_size.to_le_bytes());
        end.extend_from_slice(&central_offset.to_le_bytes());
        end.extend_from_slice(&0_u16.to_le_bytes()); // comment length
        self.out.write_all(&self.central)?;
        self.out.write_all(&end)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn offset(n: usize) -> Result<u32, ZipError> {
    u32::try_from(n).map_err(|_| ZipError::TooLarge("the archive".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Read};

    #[test]
    fn the_zip_crate_reads_back_names_modes_times_and_data() {
        let text = b"hello hello hello hello hello hello".to_vec();
        let entries = vec![
            entry("a/text.txt".into(), 0o644, text.clone(), true).expect("entry"),
            entry("bootstrap".into(), 0o755, b"#!/bin/sh\n".to_vec(), false).expect("entry"),
            entry("caf\u{e9}.txt".into(), 0o644, Vec::new(), false).expect("entry"),
        ];
        assert_eq!(entries[0].method, Method::Deflated);
        let mut writer = Writer::new(Vec::new());
        for e in &entries {
            writer.add(e).expect("add");
        }
        let bytes = writer.finish().expect("finish");
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("valid zip");
        assert_eq!(zip.len(), 3);
        let mut file = zip.by_index(0).expect("entry");
        assert_eq!(file.name().expect("name"), "a/text.txt");
        assert_eq!(file.unix_mode(), Some(0o100_644));
        assert_eq!(file.last_modified(), Some(zip::DateTime::default()));
        let mut back = Vec::new();
        file.read_to_end(&mut back).expect("data and CRC check");
        assert_eq!(back, text);
        drop(file);
        assert_eq!(zip.by_index(1).expect("entry").unix_mode(), Some(0o100_755));
        assert_eq!(
            zip.by_index(2).expect("entry").name().expect("name"),
            "caf\u{e9}.txt"
        );
    }

    #[test]
    fn reusing_the_compressor_gives_the_same_bytes_as_a_fresh_one() {
        let text = b"some data some data some data some data some data some data";
        let first = deflate(text, Level::Package);
        assert!(first.is_some(), "repetitive text shrinks");
        let _ = deflate(&[7; 100_000], Level::Package);
        let _ = deflate(&[7; 100_000], Level::Sample);
        assert_eq!(deflate(text, Level::Package), first);
    }

    #[test]
    fn data_that_does_not_shrink_is_not_deflated() {
        assert_eq!(deflate(b"", Level::Package), None);
        assert_eq!(deflate(b"x", Level::Package), None);
        // Bytes from a xorshift generator: nothing for deflate to find.
        let mut state = 0x2545_f491_u32;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state.to_le_bytes()[0]
            })
            .collect();
        assert_eq!(deflate(&noise, Level::Sample), None);
    }
}
