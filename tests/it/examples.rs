//! The README's first command: `examples/demo.sh` ships a good version and
//! stops a broken one, on the local emulator.

use std::process::Command;

#[test]
fn the_demo_releases_a_good_version_and_stops_a_broken_one() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("bash")
        .arg(format!("{root}/examples/demo.sh"))
        .env("GREENLIGHT", env!("CARGO_BIN_EXE_greenlight"))
        .output()
        .expect("run examples/demo.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("deploy    published version 1 (new function)"),
        "{stdout}"
    );
    assert!(stdout.contains("alias live: version 1 → 2"), "{stdout}");
    assert!(stdout.contains("FAILED echo"), "{stdout}");
    assert!(
        stderr.contains("version 3 was published but received no traffic"),
        "{stderr}"
    );
    assert!(stdout.contains("alias     live → version 2"), "{stdout}");
    assert!(!format!("{stdout}{stderr}").contains("demo-secret-do-not-print"));
}
