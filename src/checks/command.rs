//! Command smoke tests: `run = "./scripts/smoke.sh"`, run with `sh -c` in
//! the config's folder, with the target in its environment
//! (`GREENLIGHT_FUNCTION`, `GREENLIGHT_VERSION`, `GREENLIGHT_ALIAS`,
//! `GREENLIGHT_QUALIFIER`, `GREENLIGHT_ARN`, `GREENLIGHT_REGION`, and in DNS
//! mode `GREENLIGHT_ENDPOINT`; with `release.candidate`,
//! `GREENLIGHT_CANDIDATE`). Exit status 0 passes; otherwise the end of
//! its output is shown, as outside text ([`crate::outside::tail`]: masked,
//! then cut). The command runs in its own process group: when
//! the check ends (the command exited, or the test's timeout dropped the
//! check mid-run), the whole group is killed, so nothing it started (a
//! `sleep &`, a server) outlives the test.

use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

use crate::checks::smoke::Target;
use crate::context::Ctx;
use crate::outside;

/// Runs the command; `None` when it exits 0.
pub async fn check(ctx: Ctx<'_>, run: &str, dir: &Path, target: &Target) -> Option<String> {
    let arn = ctx
        .lambda
        .function(&target.function, &target.qualifier)
        .await
        .ok()
        .flatten()
        .map(|state| state.arn)
        .unwrap_or_default();
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(run)
        .current_dir(crate::package::build::working_dir(dir))
        .env("GREENLIGHT_FUNCTION", &target.function)
        .env("GREENLIGHT_QUALIFIER", &target.qualifier)
        .env("GREENLIGHT_VERSION", &target.version)
        .env("GREENLIGHT_ALIAS", &target.alias)
        .env("GREENLIGHT_ARN", arn)
        .env("GREENLIGHT_REGION", &target.region)
        .env(
            "GREENLIGHT_ENDPOINT",
            target.endpoint.as_deref().unwrap_or(""),
        )
        .env(
            "GREENLIGHT_CANDIDATE",
            target.candidate.as_deref().unwrap_or(""),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    let child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Some(format!(
                "cannot run `{run}`: {}",
                outside::quote(&e.to_string())
            ));
        }
    };
    let _group = ProcessGroup(child.id());
    let output = match child.wait_with_output().await {
        Ok(output) => output,
        Err(e) => {
            return Some(format!(
                "cannot run `{run}`: {}",
                outside::quote(&e.to_string())
            ));
        }
    };
    if output.status.success() {
        return None;
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let status = output
        .status
        .code()
        .map_or("was killed".to_owned(), |c| format!("exited {c}"));
    Some(format!("`{run}` {status}: {}", outside::tail(&text)))
}

/// The process group a command leads (its id is the shell's pid), killed
/// with SIGKILL when dropped: after the command, or when the test's timeout
/// drops the check while it runs.
struct ProcessGroup(Option<u32>);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(group) = self
            .0
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw)
        {
            // ESRCH (the group is gone already) is the usual, fine answer.
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    }
}
