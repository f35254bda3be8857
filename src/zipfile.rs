//! A minimal, deterministic zip writer for deployment packages.
//!
//! In: entries already compressed (or stored) with their CRC-32 and sizes.
//! Out: the archive bytes. Every field that could vary between machines is
//! fixed: timestamps are 1980-01-01 00:00, the creator is "Unix, zip 2.0",
//! permissions are the entry's 0644 or 0755, there are no extra fields and no
//! comments. The format is the classic one (no zip64): Lambda's 250 MB
//! unzipped limit keeps every size far below 4 GiB; more than 65,535 entries
//! is an error.
//!
//! Compression happens elsewhere, in parallel, with [`deflate`], which reuses
//! one compressor per thread instead of allocating a new one per file.

use std::cell::RefCell;
use std::io::Write;

use flate2::Compression;
use flate2::write::DeflateEncoder;

/// The deflate level: zlib's default, the same as Info-ZIP's.
pub const LEVEL: u32 = 6;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZipError {
    /// More entries than the classic format holds.
    TooManyEntries(usize),
    /// An entry or the archive is over 4 GiB.
    TooLarge(String),
}

impl std::fmt::Display for ZipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ZipError::TooManyEntries(n) => write!(f, "{n} files, more than the 65,535 a zip holds"),
            ZipError::TooLarge(what) => write!(f, "{what} is over 4 GiB"),
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
    if try_deflate {
        let deflated = deflate(&contents);
        if deflated.len() < contents.len() {
            return Ok(Entry {
                name,
                mode,
                method: Method::Deflated,
                crc32,
                size,
                data: deflated,
            });
        }
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

/// Raw deflate of `data` at [`LEVEL`], with this thread's reusable compressor.
pub fn deflate(data: &[u8]) -> Vec<u8> {
    thread_local! {
        static ENCODER: RefCell<DeflateEncoder<Vec<u8>>> =
            RefCell::new(DeflateEncoder::new(Vec::new(), Compression::new(LEVEL)));
    }
    ENCODER.with_borrow_mut(|encoder| {
        // Writing to and finishing into a Vec cannot fail.
        let _ = encoder.write_all(data);
        encoder.reset(Vec::new()).unwrap_or_default()
    })
}

/// Writes `entries`, in the order given, as one archive.
pub fn write(entries: &[Entry]) -> Result<Vec<u8>, ZipError> {
    let count =
        u16::try_from(entries.len()).map_err(|_| ZipError::TooManyEntries(entries.len()))?;
    let data: usize = entries
        .iter()
        .map(|e| e.data.len() + 2 * e.name.len() + 76)
        .sum();
    let mut out = Vec::with_capacity(data + 22);
    let mut central = Vec::with_capacity(entries.len() * 64);
    for e in entries {
        let offset = offset(out.len())?;
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

        out.extend_from_slice(&0x0403_4b50_u32.to_le_bytes());
        out.extend_from_slice(&common);
        out.extend_from_slice(&0_u16.to_le_bytes()); // extra field length
        out.extend_from_slice(e.name.as_bytes());
        out.extend_from_slice(&e.data);

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
    }
    let central_offset = offset(out.len())?;
    let central_size = offset(central.len())?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50_u32.to_le_bytes());
    for half in [0_u16, 0, count, count] {
        out.extend_from_slice(&half.to_le_bytes());
    }
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0_u16.to_le_bytes()); // comment length
    Ok(out)
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
        let bytes = write(&entries).expect("write");
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
        let first = deflate(b"some data some data some data");
        let _ = deflate(&[7; 100_000]);
        assert_eq!(deflate(b"some data some data some data"), first);
    }
}
