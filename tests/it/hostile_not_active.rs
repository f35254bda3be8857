//! "No traffic moves onto a version that is not `Active`", tried where a
//! hostile user would look first: `rollback`, whose target has usually
//! served nobody since the release it undoes, so Lambda may have reclaimed
//! it (`Inactive`). It is woken and waited for before the alias moves, as
//! `release` and `promote` do. Read back from the emulator at the move.

use std::time::Duration;

use crate::harness::{Project, default_config};

const DEADLINE: Duration = Duration::from_secs(90);

#[test]
fn rollback_wakes_an_inactive_previous_version_before_it_moves_the_alias() {
    let p = Project::with_emulator(&default_config(), &["--idle-after", "5"]);
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.run(&["ship"]).success();
    assert_eq!(p.live_version(), "2");
    let state = |version: &str| {
        p.version_config(version)
            .state()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default()
    };
    // Users are on version 2 alone: Lambda reclaims version 1.
    p.wait_for("version 1 to become Inactive", DEADLINE, || {
        state("1") == "Inactive"
    });

    let proxy = p.proxy();
    proxy.hold("UpdateAlias", &[1]);
    let child = crate::harness::spawned(p.command_via(&proxy, &["rollback"]));
    proxy.look_before_each("UpdateAlias", &[1], DEADLINE, |_| {
        assert_eq!(state("1"), "Active", "woken before the alias moves");
    });
    let out = child.wait_with_output().expect("rollback");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("version 1 is Inactive"), "{stderr}");
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
}
