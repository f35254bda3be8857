//! `greenlight package`: the zip is reproducible and reads back correctly.

use crate::harness::{Project, python};

#[test]
fn package_writes_a_reproducible_zip_that_python_reads_back() {
    let p = Project::new();
    p.write("app/lib/util.py", "X = 1\n");
    let run = p.run(&["package", "--out", "a.zip"]).success();
    assert!(run.stdout.contains("a.zip: 2 files"), "{}", run.stdout);
    p.write("app/lib/util.py", "X = 1\n"); // same content, new mtime
    p.run(&["package", "--out", "b.zip"]).success();
    let (a, b) = (
        std::fs::read(p.join("a.zip")),
        std::fs::read(p.join("b.zip")),
    );
    assert_eq!(
        a.expect("a.zip"),
        b.expect("b.zip"),
        "same source, same bytes"
    );
    assert_eq!(
        python::zip_entries(&p.join("a.zip")),
        ["index.py", "lib/util.py"]
    );
}

#[test]
fn package_defaults_to_a_file_beside_the_config() {
    let p = Project::new();
    let doc = p.run(&["package", "--output", "json"]).success().json();
    let path = doc["package"]["path"].as_str().expect("path").to_owned();
    assert!(path.ends_with(".greenlight/orders.zip"), "{path}");
    let zip = p.path().join(".greenlight/orders.zip");
    // The CodeSha256 printed is the SHA-256 of the file, by hashlib.
    assert_eq!(doc["package"]["code_sha256"], python::sha256(&zip).1);
    let bytes = std::fs::read(&zip).expect("zip");
    assert_eq!(doc["package"]["size"], bytes.len());
    assert_eq!(python::zip_entries(&zip), ["index.py"]);
}

#[test]
fn the_build_command_runs_first_and_its_failure_stops_with_exit_1() {
    let config = crate::harness::default_config().replace(
        "source = \"app\"",
        "source = \"dist\"\nbuild = \"mkdir -p dist && cp app/index.py dist/ && echo built-ok\"",
    );
    let p = crate::harness::Project::with_config(&config);
    let run = p.run(&["package", "--out", "built.zip"]).success();
    assert!(
        run.stderr.contains("built-ok"),
        "build output streams to stderr: {}",
        run.stderr
    );
    assert!(
        !run.stdout.contains("built-ok"),
        "stdout stays the summary: {}",
        run.stdout
    );
    assert!(run.stdout.contains("built.zip: 1 file,"), "{}", run.stdout);

    p.write(
        "greenlight.toml",
        &config.replace("echo built-ok", "echo broken >&2; exit 3"),
    );
    let failed = p.run(&["ship"]).code(1);
    assert!(failed.stderr.contains("exited with 3"), "{}", failed.stderr);
    assert!(
        p.functions().is_empty(),
        "nothing deployed after a failed build"
    );
}

#[test]
fn python_zipfile_reads_every_entry_back_intact() {
    let p = Project::new();
    p.write("app/bootstrap", "#!/bin/sh\necho hi\n");
    p.write("app/data/blob.bin", &"0123456789abcdef".repeat(10_000));
    p.run(&["package", "--out", "out.zip"]).success();
    assert_eq!(
        python::zip_entries(&p.join("out.zip")),
        ["bootstrap", "data/blob.bin", "index.py"]
    );
}

#[test]
fn an_invalid_exclude_glob_is_a_config_error() {
    let config = crate::harness::default_config()
        .replace("source = \"app\"", "source = \"app\"\nexclude = [\"a[\"]");
    let p = crate::harness::Project::with_config(&config);
    let run = p.run(&["package"]).code(2);
    assert!(
        run.stderr
            .contains("`package.exclude[0]` = \"a[\" is not a valid glob"),
        "{}",
        run.stderr
    );
}

/// `len` bytes that deflate cannot shrink.
pub(crate) fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn packages_over_50_mb_go_through_s3_once_and_need_a_bucket() {
    let p = Project::new();
    p.write_bytes("app/vendor/model.bin", &noise(51 * 1024 * 1024));
    let refused = p.run(&["ship"]).code(2);
    assert!(
        refused
            .stderr
            .contains("over Lambda's 50 MB limit for uploading code directly"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("hint: set [package] s3_bucket"),
        "{}",
        refused.stderr
    );
    assert!(p.functions().is_empty(), "nothing created without a bucket");

    let config = ship_through_the_bucket(&p, "lambda/");
    assert!(p.join("package.zip").metadata().expect("zip").len() > 50 * 1024 * 1024);

    // Same code again (a settings change): no second upload, which the
    // emulator's request log would show (the key, content-addressed, would
    // not change).
    p.write(
        "greenlight.toml",
        &config.replace("memory = 256", "memory = 512"),
    );
    let again = p.run(&["ship"]).success();
    assert!(!again.stderr.contains("uploaded"), "{}", again.stderr);
    assert_eq!(s3_puts(&p).len(), 1, "{:?}", p.emulator.requests());
    assert_eq!(p.version_config("2").memory_size(), Some(256 * 2));
}

#[test]
fn with_a_bucket_small_packages_go_through_s3_too() {
    let p = Project::new();
    ship_through_the_bucket(&p, "");
}

/// The PUT requests the emulator served into the artifacts bucket's keys
/// (not the bucket's creation, `PUT /greenlight-artifacts/`).
fn s3_puts(p: &Project) -> Vec<String> {
    p.emulator
        .requests()
        .into_iter()
        .filter(|r| {
            r.strip_prefix("PUT /greenlight-artifacts/")
                .is_some_and(|key| !key.is_empty())
        })
        .collect()
}

/// Ships with `[package] s3_bucket` (and `s3_prefix` = `prefix`): the upload
/// is reported and lands as [`assert_uploaded_once`] says. Returns the config.
fn ship_through_the_bucket(p: &Project, prefix: &str) -> String {
    let config = use_a_bucket(p, prefix);
    let shipped = p.run(&["ship"]).success();
    let uploaded = format!("uploaded the package to s3://greenlight-artifacts/{prefix}orders/");
    assert!(shipped.stderr.contains(&uploaded), "{}", shipped.stderr);
    assert_uploaded_once(p, prefix);
    config
}

/// Writes the default config with `[package] s3_bucket =
/// "greenlight-artifacts"` and `s3_prefix` = `prefix`, and creates the
/// bucket. Returns the config.
pub(crate) fn use_a_bucket(p: &Project, prefix: &str) -> String {
    let config = crate::harness::default_config().replace(
        "source = \"app\"",
        &format!(
            "source = \"app\"\ns3_bucket = \"greenlight-artifacts\"\ns3_prefix = \"{prefix}\""
        ),
    );
    p.write("greenlight.toml", &config);
    p.create_bucket("greenlight-artifacts");
    config
}

/// The bucket holds the zip `package` builds (written to package.zip) under
/// its content-addressed key, put there by one PUT the emulator served, and
/// version 1 runs exactly that zip.
#[track_caller]
pub(crate) fn assert_uploaded_once(p: &Project, prefix: &str) {
    p.run(&["package", "--out", "package.zip"]).success();
    let (hex, code_sha256) = python::sha256(&p.join("package.zip"));
    let key = format!("{prefix}orders/{hex}.zip");
    assert_eq!(
        p.s3_keys("greenlight-artifacts"),
        std::slice::from_ref(&key)
    );
    let puts = s3_puts(p);
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert!(
        puts[0].starts_with(&format!("PUT /greenlight-artifacts/{key}")),
        "{puts:?}"
    );
    assert_eq!(
        p.version_config("1").code_sha256(),
        Some(code_sha256.as_str())
    );
}

/// The names inside the zip at `path`.
fn zip_names(path: &std::path::Path) -> Vec<String> {
    let file = std::fs::File::open(path).expect("zip");
    let archive = zip::ZipArchive::new(file).expect("a zip");
    archive
        .file_names()
        .map(|name| name.expect("a UTF-8 name").into_owned())
        .collect()
}

#[test]
fn with_the_config_beside_the_code_unchanged_code_is_never_published_again() {
    let config = crate::harness::default_config().replace("source = \"app\"", "source = \".\"");
    let p = Project::with_config(&config);
    p.run(&["package"]).success();
    p.run(&["ship"]).success();
    p.run(&["package"]).success();
    let again = p.run(&["ship"]).success();
    assert!(
        again.stdout.contains("nothing to deploy"),
        "{}",
        again.stdout
    );
    assert_eq!(p.versions(), ["1"]);
    let names = zip_names(&p.join(".greenlight/orders.zip"));
    assert_eq!(names, ["app/index.py", "greenlight.toml"]);
    let (_, code_sha256) = python::sha256(&p.join(".greenlight/orders.zip"));
    assert_eq!(
        p.version_config("1").code_sha256(),
        Some(code_sha256.as_str()),
        "version 1 holds exactly that zip"
    );
}

#[test]
fn package_out_inside_the_source_is_refused_and_writes_nothing() {
    let p = Project::new();
    let before = p.emulator.requests();
    for out in ["app/out.zip", "app/index.py", "./app/../app/out.zip"] {
        let run = p.run(&["package", "--out", out]).code(2);
        assert!(
            run.stderr.contains(&format!(
                "error: --out {out} is inside app, which is packaged"
            )),
            "{}",
            run.stderr
        );
    }
    assert!(!p.join("app/out.zip").exists());
    assert!(!p.join("app/out.zip.partial").exists());
    assert_eq!(
        std::fs::read_to_string(p.join("app/index.py")).expect("source"),
        "def handler(event, context):\n    return event\n",
        "the source is untouched"
    );
    assert_eq!(p.emulator.requests(), before, "no AWS call at all");
}
