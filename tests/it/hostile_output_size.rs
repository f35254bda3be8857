//! Outside text of any size: a smoke command that prints gigabytes (a
//! verbose test suite, or `yes`) before it fails, an HTTP answer whose body
//! never ends. greenlight shows the end of the output (masked and cut as
//! always) and holds no more of it than that, and reads at most 32 MiB of
//! a body: run with its address space limited, it still ends with exit 1
//! saying why, never an aborted allocation.

use std::process::Command;

use crate::harness::{Project, Run, default_config};

/// `greenlight ARGS` in `p` as [`Project::command`] runs it, with its
/// address space limited to `kib` KiB (`ulimit -v`).
fn run_limited(p: &Project, kib: u64, args: &[&str]) -> Run {
    let greenlight = p.command(args);
    let mut limited = Command::new("sh");
    limited
        .arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
        .arg(greenlight.get_program())
        .args(greenlight.get_args())
        .env_clear();
    for (key, value) in greenlight.get_envs() {
        if let Some(value) = value {
            limited.env(key, value);
        }
    }
    if let Some(dir) = greenlight.get_current_dir() {
        limited.current_dir(dir);
    }
    limited.output().expect("run greenlight").into()
}

/// The default config's `[function]` and `[package]`, without its smoke test.
fn without_smoke_tests() -> String {
    let config = default_config();
    let (function, _) = config.split_once("[[smoke]]").expect("a smoke test");
    function.to_owned()
}

#[test]
fn a_command_that_prints_gigabytes_fails_with_its_last_words_in_bounded_memory() {
    let function = without_smoke_tests();
    let p = Project::with_config(&format!(
        "{function}[[smoke]]\nname = \"loud\"\nrun = \"yes a | head -c 2000000000; echo last words; exit 3\"\ntimeout = \"5m\"\n"
    ));
    p.run(&["deploy"]).success();
    // 1 GiB of address space: far more than greenlight needs, far less
    // than the command prints.
    let run = run_limited(&p, 1024 * 1024, &["test", "--output", "json"]).code(1);
    let doc = run.json();
    let failure = doc["smoke"]["results"][0]["failure"]
        .as_str()
        .unwrap_or_default();
    assert!(
        failure.contains("exited 3: …") && failure.ends_with("a\na\nlast words"),
        "{failure}"
    );
    assert_eq!(p.live_version(), "1", "`test` moves nothing");
}

/// Serves, on loopback, a `200 OK` whose body never ends; returns its URL.
fn endless_body() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let _ = stream.read(&mut [0; 4096]);
                let chunk = vec![b'x'; 64 * 1024];
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                while stream.write_all(&chunk).is_ok() {}
            });
        }
    });
    url
}

#[test]
fn an_http_body_without_end_fails_the_test_in_bounded_memory() {
    let function = without_smoke_tests();
    let p = Project::with_config(&format!(
        "{function}[[smoke]]\nname = \"endless\"\nhttp = {{ url = \"{}\" }}\ntimeout = \"5m\"\n",
        endless_body()
    ));
    p.run(&["deploy"]).success();
    let run = run_limited(&p, 1024 * 1024, &["test", "--output", "json"]).code(1);
    let failure = run.json()["smoke"]["results"][0]["failure"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        failure.contains(
            ": the body is longer than the 32 MiB greenlight reads of an answer; it began xxxx"
        ),
        "{failure}"
    );
    assert_eq!(p.live_version(), "1", "`test` moves nothing");
}
