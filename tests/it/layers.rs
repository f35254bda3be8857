//! The layers of `src/` (README "Layout"): no import circle between its
//! top-level modules, and the AWS seams never import the configuration.
//!
//! A top-level module is a file `src/NAME.rs` or a folder `src/NAME/`
//! (`main.rs` and `lib.rs` aside). Module A uses B when any file under A
//! names `crate::B`, in code or in a doc link, or lists B in a
//! `use crate::{…}`. No emulator is started.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every top-level module of `src/` with the top-level modules it uses.
fn uses() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(&src).expect("src/ is readable") {
        let path = entry.expect("a src/ entry").path();
        let name = path
            .file_stem()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        if path.is_dir() {
            modules.insert(name, rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") && name != "main" && name != "lib" {
            modules.insert(name, vec![path]);
        }
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .into_iter()
        .map(|(module, files)| {
            let used = files
                .iter()
                .flat_map(|f| named(&std::fs::read_to_string(f).expect("a readable source file")))
                .filter(|n| names.contains(n) && *n != module)
                .collect();
            (module, used)
        })
        .collect()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a readable folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The first segment of every `crate::` path in `text`, and every name in a
/// `use crate::{…}` list.
fn named(text: &str) -> BTreeSet<String> {
    let word = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        names.insert(word(&text[at + "crate::".len()..]));
    }
    for (at, _) in text.match_indices("use crate::{") {
        let list = &text[at + "use crate::{".len()..];
        let list = &list[..list.find(';').unwrap_or(list.len())];
        names.extend(
            list.split(|c: char| c == ',' || c == '{' || c.is_whitespace())
                .map(word)
                .filter(|n| !n.is_empty()),
        );
    }
    names
}

/// A path from `from` back to itself through `uses`, if there is one.
fn circle(uses: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_owned()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().expect("a path is never empty");
        for next in uses.get(last).into_iter().flatten() {
            if next == from {
                return Some([path.clone(), vec![from.to_owned()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push([path.clone(), vec![next.clone()]].concat());
            }
        }
    }
    None
}

#[test]
fn no_top_level_module_of_src_imports_itself_back() {
    let uses = uses();
    assert!(
        uses.contains_key("aws") && uses.contains_key("release"),
        "{uses:?}"
    );
    let circles: Vec<String> = uses
        .keys()
        .filter_map(|m| circle(&uses, m))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(
        circles.is_empty(),
        "import circles between the top-level modules of src/ (move the item to the lower layer, see README \"Layout\"):\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_aws_seams_never_import_the_configuration_or_a_stage() {
    let uses = uses();
    let allowed: BTreeSet<&str> = ["error", "outside", "secrets", "ui"].into();
    let aws: Vec<&String> = uses["aws"]
        .iter()
        .filter(|m| !allowed.contains(m.as_str()))
        .collect();
    assert!(aws.is_empty(), "src/aws/ imports {aws:?}");
}
