//! Packaging a folder or a zip, end to end on disk.

use super::archive::{OutFile, Sha256};
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
