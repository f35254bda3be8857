//! The watcher's code for `watch install`: a zip holding `bootstrap` and
//! the architecture it runs on, from `--binary` (a Linux build of
//! greenlight, or a release .zip holding one) or, without it, this binary
//! when it is a static Linux build Lambda can run. Read before any AWS
//! call: code Lambda cannot run is exit 2.

use std::path::Path;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::package::zipfile;

/// Lambda takes at most this much zip in the request itself.
const MAX_ZIP: usize = 50 * 1024 * 1024;

/// The watcher's code as a zip holding `bootstrap`, and its architecture:
/// from `binary` (a Linux binary, or a release .zip holding one), else this
/// binary when it is a static Linux build Lambda can run.
pub fn code(binary: Option<&Path>) -> Result<(Bytes, &'static str)> {
    let (path, bytes) = match binary {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                Error::usage(format!("--binary {}: cannot read it", path.display())).with_cause(e)
            })?;
            (path.to_owned(), bytes)
        }
        None if cfg!(all(target_os = "linux", target_env = "musl")) => {
            let path = std::env::current_exe()
                .map_err(|e| Error::usage("cannot find this binary").with_cause(e))?;
            let bytes = std::fs::read(&path).map_err(|e| {
                Error::usage(format!("cannot read this binary {}", path.display())).with_cause(e)
            })?;
            (path, bytes)
        }
        None => {
            return Err(Error::usage(
                "this greenlight is not a static Linux build, which Lambda could run",
            )
            .with_hint("pass --binary PATH: greenlight for Linux (x86_64 or arm64, musl) or its release .zip"));
        }
    };
    let shown = path.display().to_string();
    let binary = if bytes.starts_with(b"PK\x03\x04") {
        from_zip(&shown, &bytes)?
    } else {
        bytes
    };
    let architecture = elf_architecture(&binary).ok_or_else(|| {
        Error::usage(format!(
            "--binary {shown}: not a Linux x86_64 or arm64 executable (nor a .zip holding one)"
        ))
        .with_hint("give greenlight built for Linux with musl, or its release archive (a .tar.gz: extract it first)")
    })?;
    let entry = zipfile::entry("bootstrap".to_owned(), 0o755, binary, true)
        .map_err(|e| Error::usage(format!("--binary {shown}: {e}")))?;
    let mut writer = zipfile::Writer::new(Vec::new());
    writer
        .add(&entry)
        .map_err(|e| Error::usage(format!("--binary {shown}: {e}")))?;
    let zip = writer
        .finish()
        .map_err(|e| Error::usage(format!("--binary {shown}: {e}")))?;
    if zip.len() > MAX_ZIP {
        return Err(Error::usage(format!(
            "--binary {shown}: {} bytes zipped, over the 50 MB Lambda takes directly",
            zip.len()
        ))
        .with_hint("give a release (stripped) build"));
    }
    Ok((Bytes::from(zip), architecture))
}

/// The executable inside a release .zip: `bootstrap` or `greenlight`, at
/// its top or in one folder.
fn from_zip(shown: &str, bytes: &[u8]) -> Result<Vec<u8>> {
    use std::io::Read;
    let bad = |why: String| Error::usage(format!("--binary {shown}: {why}"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| bad(format!("not a readable zip: {e}")))?;
    let wanted = (0..archive.len()).find(|&i| {
        archive
            .name_for_index(i)
            .and_then(Result::ok)
            .is_some_and(|n| {
                let file = n.rsplit('/').next().unwrap_or_default();
                (file == "greenlight" || file == "bootstrap") && n.matches('/').count() <= 1
            })
    });
    let index = wanted.ok_or_else(|| bad("holds no `greenlight` or `bootstrap`".to_owned()))?;
    let mut entry = archive
        .by_index(index)
        .map_err(|e| bad(format!("cannot read it: {e}")))?;
    let mut binary = Vec::new();
    entry
        .read_to_end(&mut binary)
        .map_err(|e| bad(format!("cannot read it: {e}")))?;
    Ok(binary)
}

/// `x86_64` or `arm64` for a 64-bit little-endian ELF executable of that
/// machine; `None` for anything else.
fn elf_architecture(binary: &[u8]) -> Option<&'static str> {
    let header = binary.get(..20)?;
    if !header.starts_with(b"\x7fELF\x02\x01") {
        return None;
    }
    match u16::from_le_bytes([header[18], header[19]]) {
        0x3e => Some("x86_64"),
        0xb7 => Some("arm64"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_architecture_comes_from_the_elf_header() {
        let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
        assert_eq!(elf_architecture(&elf), Some("x86_64"));
        elf[18] = 0xb7;
        assert_eq!(elf_architecture(&elf), Some("arm64"));
        elf[18] = 0x28;
        assert_eq!(elf_architecture(&elf), None);
        assert_eq!(elf_architecture(b"#!/bin/sh\n"), None);
    }
}
