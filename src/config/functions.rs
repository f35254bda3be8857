//! `[[functions]]`: one config file for a whole service.
//!
//! In: the text of `greenlight.toml`. Out: `None` when it describes one
//! function (`[function]`), otherwise one TOML document per entry of
//! `[[functions]]`, each in the single-function shape, which
//! [`Config`](crate::config::Config) then checks as usual. Each entry holds
//! the keys of `[function]` (including `region`) and may override the
//! top-level defaults: `package` and `release` key by key (its own `source`,
//! its own `steps`), `smoke`, `dns`, `alb` and `notify` as a whole.

use toml::{Table, Value};

use crate::config::Config;
use crate::error::{Error, Result};

/// Tables an entry may override key by key.
const MERGED: [&str; 2] = ["package", "release"];
/// Tables (or arrays) an entry replaces as a whole.
const REPLACED: [&str; 4] = ["smoke", "dns", "alb", "notify"];

/// The per-function documents of a `[[functions]]` file, each with a label
/// naming its entry (`functions[2] "billing"`); `None` for a single-function
/// file. Malformed TOML is left for the single-function parser to report.
pub fn expand(file: &str, text: &str) -> Result<Option<Vec<(String, String)>>> {
    let Ok(mut top) = text.parse::<Table>() else {
        return Ok(None);
    };
    let Some(entries) = top.remove("functions") else {
        return Ok(None);
    };
    let bad = |why: String| {
        Error::usage(format!("{file}: {why}")).with_hint("see \"Many functions\" in README.md")
    };
    if top.contains_key("function") {
        return Err(bad(
            "`[function]` and `[[functions]]` cannot both be given".to_owned()
        ));
    }
    let Value::Array(entries) = entries else {
        return Err(bad(
            "`functions` must be an array of tables: [[functions]]".to_owned()
        ));
    };
    if entries.is_empty() {
        return Err(bad("`[[functions]]` lists no function".to_owned()));
    }
    let mut seen = Vec::new();
    entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let Value::Table(mut entry) = entry else {
                return Err(bad(format!("`functions[{i}]` must be a table")));
            };
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let key = (
                name.clone(),
                entry
                    .get("region")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            );
            if seen.contains(&key) {
                return Err(bad(format!(
                    "`functions[{i}].name` = {name:?}: listed twice (in the same region)"
                )));
            }
            seen.push(key);
            let mut doc = top.clone();
            let own_release = entry.get("release").and_then(Value::as_table);
            if own_release.is_some_and(|r| r.contains_key("together")) {
                return Err(bad(format!(
                    "`functions[{i}].release.together`: the whole fleet moves together or not; set `together` in the top-level [release]"
                )));
            }
            for table in MERGED {
                if let Some(Value::Table(own)) = entry.remove(table) {
                    let merged = match doc.remove(table) {
                        Some(Value::Table(mut defaults)) => {
                            defaults.extend(own);
                            defaults
                        }
                        _ => own,
                    };
                    doc.insert(table.to_owned(), Value::Table(merged));
                }
            }
            for table in REPLACED {
                if let Some(own) = entry.remove(table) {
                    doc.insert(table.to_owned(), own);
                }
            }
            doc.insert("function".to_owned(), Value::Table(entry));
            let label = format!("functions[{i}] {name:?}");
            let text = toml::to_string(&doc)
                .map_err(|e| bad(format!("`functions[{i}]` cannot be read: {e}")))?;
            Ok((label, text))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// With `[release] together`, every function must have the same steps and
/// wait for the same approvals, so each move is the same move for all of
/// them (one approval for a move the others make unapproved would stop
/// the fleet at every `approve`).
pub fn check_together(file: &str, configs: &[Config]) -> Result<()> {
    let Some(first) = configs.first().filter(|c| c.release.together) else {
        return Ok(());
    };
    let steps = &first.release.plan.steps;
    if let Some(other) = configs.iter().find(|c| c.release.plan.steps != *steps) {
        return Err(Error::usage(format!(
            "{file}: with `[release] together`, every function moves through the same steps, but {} has {:?} and {} has {:?}",
            first.function.name, steps, other.function.name, other.release.plan.steps
        ))
        .with_hint("give the functions the same `steps` (bakes may differ), or leave out `together`"));
    }
    let approval = &first.release.approval;
    match configs.iter().find(|c| c.release.approval != *approval) {
        None => Ok(()),
        Some(other) => Err(Error::usage(format!(
            "{file}: with `[release] together`, every function waits for the same approvals, but {} has {:?} and {} has {:?}",
            first.function.name, approval, other.function.name, other.release.approval
        ))
        .with_hint("set `approval` in the top-level [release] only, or leave out `together`")),
    }
}

/// Refuses a Route 53 record pair (hosted zone, name and type) that two
/// functions release through. The weights say which colour users reach, for
/// every function behind the name, while each function's release record
/// lives in its own aliases: one function's rollback would put back the
/// weights another just released, and a function left out of a release
/// (nothing to deploy) would have its users moved onto whatever its idle
/// colour serves. `[release] together` does not make up for that, so a pair
/// is refused with it too.
pub fn check_dns_pairs(file: &str, configs: &[Config]) -> Result<()> {
    let pair = |c: &Config| {
        c.dns.as_ref().map(|d| {
            let zone = d.zone_id.trim_start_matches("/hostedzone/");
            (
                zone.to_ascii_uppercase(),
                d.name.clone(),
                d.record_type.clone(),
            )
        })
    };
    for (i, first) in configs.iter().enumerate() {
        let Some(shared) = pair(first) else { continue };
        let Some(second) = configs[i + 1..]
            .iter()
            .find(|c| pair(c).as_ref() == Some(&shared))
        else {
            continue;
        };
        let entry = |c: &Config| c.entry.clone().unwrap_or_default();
        let (zone, name, kind) = shared;
        return Err(Error::usage(format!(
            "{file}: {} and {} both release through the {kind} records {name} in hosted zone {zone}: one pair of weights can carry one function's release (a rollback of one would undo the other's)",
            entry(first),
            entry(second)
        ))
        .with_hint("give each function its own record name; a top-level [dns] is every function's default, so put `dns = { … }` in the one entry it fronts (`[release] together` does not allow a shared pair either)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_take_the_defaults_and_override_them() {
        let text = r#"
[package]
source = "dist"
exclude = ["*.map"]

[release]
steps = [10]
bake = "1m"

[[smoke]]
name = "echo"
payload = {}

[[functions]]
name = "orders"

[[functions]]
name = "billing"
region = "eu-west-1"
package = { source = "billing" }
release = { bake = "5m" }
smoke = []
"#;
        let docs = expand("greenlight.toml", text)
            .expect("expands")
            .expect("a fleet");
        assert_eq!(docs.len(), 2);
        let billing: Table = docs[1].1.parse().expect("toml");
        assert_eq!(docs[1].0, "functions[1] \"billing\"");
        assert_eq!(billing["function"]["region"].as_str(), Some("eu-west-1"));
        assert_eq!(billing["package"]["source"].as_str(), Some("billing"));
        assert!(billing["package"]["exclude"].is_array(), "defaults kept");
        assert_eq!(billing["release"]["bake"].as_str(), Some("5m"));
        assert_eq!(billing["release"]["steps"][0].as_integer(), Some(10));
        assert_eq!(billing["smoke"].as_array().map(Vec::len), Some(0));
        let orders: Table = docs[0].1.parse().expect("toml");
        assert_eq!(orders["smoke"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn an_entry_holds_its_own_function_settings() {
        let text = "[[functions]]\nname = \"orders\"\nsnap_start = true\nready_timeout = \"20m\"\n\n[[functions]]\nname = \"billing\"\n";
        let docs = expand("g.toml", text).expect("expands").expect("a fleet");
        let config = |i: usize| {
            Config::parse(std::path::Path::new("g.toml"), &docs[i].1).expect("valid entry")
        };
        assert_eq!(config(0).function.settings.extra.snap_start, Some(true));
        assert_eq!(
            config(0).function.ready_timeout,
            std::time::Duration::from_secs(20 * 60)
        );
        assert_eq!(config(1).function.settings.extra.snap_start, None);
    }

    #[test]
    fn a_single_function_file_is_left_alone_and_mixtures_are_refused() {
        let single = "[function]\nname = \"orders\"\n";
        assert_eq!(expand("g.toml", single).expect("ok"), None);
        let both = "[function]\nname = \"a\"\n[[functions]]\nname = \"b\"\n";
        let err = expand("g.toml", both).expect_err("refused");
        assert!(
            err.message.contains("cannot both be given"),
            "{}",
            err.message
        );
        let twice = "[[functions]]\nname = \"a\"\n[[functions]]\nname = \"a\"\n";
        let err = expand("g.toml", twice).expect_err("refused");
        assert!(
            err.message
                .contains("`functions[1].name` = \"a\": listed twice"),
            "{}",
            err.message
        );
    }
}
