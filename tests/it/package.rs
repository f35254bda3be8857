//! `greenlight package`: the zip is reproducible and reads back correctly.

use std::process::Command;

use crate::harness::Project;

#[test]
fn package_writes_a_reproducible_zip_that_unzip_accepts() {
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

    if let Ok(out) = Command::new("unzip")
        .arg("-t")
        .arg(p.join("a.zip"))
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("No errors detected"), "{text}");
    }
}

#[test]
fn package_defaults_to_a_file_beside_the_config() {
    let p = Project::new();
    let doc = p.run(&["package", "--output", "json"]).success().json();
    let path = doc["package"]["path"].as_str().expect("path").to_owned();
    assert!(path.ends_with(".greenlight/orders.zip"), "{path}");
    let bytes = std::fs::read(p.path().join(".greenlight/orders.zip")).expect("zip");
    assert_eq!(
        doc["package"]["code_sha256"],
        greenlight::package::code_sha256(&bytes)
    );
    assert_eq!(doc["package"]["size"], bytes.len());
}
