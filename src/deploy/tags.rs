//! The tag writes that bring a function's tags to the configuration's.
//!
//! Tags belong to the function, not to a version. greenlight adds and
//! updates the tags it is given and removes only those it set earlier,
//! never tags other tools own: those listed in its own tag
//! [`MANAGED_TAGS`], whose checksum proves greenlight wrote the list. A
//! list whose checksum does not match (edited by hand, copied from another
//! function) makes greenlight remove nothing, and say so.

use std::collections::BTreeMap;

use crate::aws::lambda::{MANAGED_TAGS, MAX_TAGS, managed_keys, managed_value};

/// The tag writes that bring a function's tags (`have`) to the config's
/// (`want`): set what is missing or different, remove only keys greenlight
/// listed in a [`MANAGED_TAGS`] whose checksum proves greenlight wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagChange {
    /// Tags to add or update (`TagResource`), greenlight's list included.
    pub set: BTreeMap<String, String>,
    /// Tag keys to remove (`UntagResource`).
    pub remove: Vec<String>,
    /// What changes, by key, e.g. `tags (added team; removed owner)`.
    pub text: String,
    /// When the function's [`MANAGED_TAGS`] does not carry greenlight's
    /// checksum: why nothing was removed, and what it listed.
    pub warning: Option<String>,
}

impl TagChange {
    /// The writes from `have` to `want` on function `function`, or `None`
    /// when there are none.
    pub fn between(
        function: &str,
        want: &BTreeMap<String, String>,
        have: &BTreeMap<String, String>,
    ) -> Option<TagChange> {
        let listed = have.get(MANAGED_TAGS);
        let proven = listed.and_then(|value| managed_keys(function, value));
        let managed = proven.clone().unwrap_or_default();
        let mut set: BTreeMap<String, String> = want
            .iter()
            .filter(|(k, v)| have.get(*k) != Some(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut remove: Vec<String> = managed
            .iter()
            .filter(|k| !want.contains_key(*k) && have.contains_key(*k))
            .cloned()
            .collect();
        let added: Vec<&str> = set
            .keys()
            .filter(|k| !have.contains_key(*k))
            .map(String::as_str)
            .collect();
        let changed: Vec<&str> = set
            .keys()
            .filter(|k| have.contains_key(*k))
            .map(String::as_str)
            .collect();
        let mut parts: Vec<String> = [("added", &added), ("changed", &changed)]
            .into_iter()
            .chain([("removed", &remove.iter().map(String::as_str).collect())])
            .filter(|(_, keys)| !keys.is_empty())
            .map(|(what, keys)| format!("{what} {}", keys.join(", ")))
            .collect();
        let warning = match (listed, &proven) {
            (Some(value), None) => {
                parts.push(format!(
                    "removed nothing: {MANAGED_TAGS} was not written by greenlight"
                ));
                Some(unproven(function, value, want, have))
            }
            _ => None,
        };
        let list = managed_value(function, want);
        if want.is_empty() {
            if listed.is_some() {
                remove.push(MANAGED_TAGS.to_owned());
            }
        } else if listed != Some(&list) {
            if parts.is_empty() {
                parts.push(format!(
                    "greenlight now manages {}",
                    want.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            set.insert(MANAGED_TAGS.to_owned(), list);
        }
        if set.is_empty() && remove.is_empty() {
            return None;
        }
        let text = match parts.is_empty() {
            true => format!("tags (removed {MANAGED_TAGS})"),
            false => format!("tags ({})", parts.join("; ")),
        };
        Some(TagChange {
            set,
            remove,
            text,
            warning,
        })
    }

    /// When the function would end with more tags than Lambda keeps (other
    /// tools' counted, `aws:` ones not, as AWS counts them): how many.
    pub fn too_many(&self, have: &BTreeMap<String, String>) -> Option<usize> {
        let mut after: Vec<&String> = have
            .keys()
            .chain(self.set.keys())
            .filter(|k| !self.remove.contains(k) && !k.to_ascii_lowercase().starts_with("aws:"))
            .collect();
        after.sort();
        after.dedup();
        (after.len() > MAX_TAGS).then_some(after.len())
    }
}

/// The warning for a [`MANAGED_TAGS`] value without greenlight's
/// checksum: the keys it lists that the config no longer sets stay.
fn unproven(
    function: &str,
    value: &str,
    want: &BTreeMap<String, String>,
    have: &BTreeMap<String, String>,
) -> String {
    let left: Vec<&str> = value
        .split_whitespace()
        .filter(|k| have.contains_key(*k) && !want.contains_key(*k))
        .collect();
    let left = match left.is_empty() {
        true => String::new(),
        false => format!(
            "; it lists {}, which the config does not set: remove them by hand if greenlight set them",
            left.join(", ")
        ),
    };
    format!(
        "tag {MANAGED_TAGS} of function {function} does not carry greenlight's checksum (edited by hand, copied from another function, or written by an earlier greenlight, which kept no checksum), so greenlight removed no tag and rewrote the list{left}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn tags_others_set_are_never_removed() {
        let list = |keys: &[&str]| {
            managed_value(
                "orders",
                &tags(&keys.iter().map(|k| (*k, "")).collect::<Vec<_>>()),
            )
        };
        let have = tags(&[
            ("team", "orders"),
            ("owner", "ops"),
            ("cost", "1"),
            (MANAGED_TAGS, &list(&["cost", "team"])),
        ]);
        let want = tags(&[("team", "payments"), ("tier", "gold")]);
        let change = TagChange::between("orders", &want, &have).expect("a change");
        assert_eq!(
            change.set,
            tags(&[
                ("team", "payments"),
                ("tier", "gold"),
                (MANAGED_TAGS, &list(&["team", "tier"]))
            ])
        );
        assert_eq!(change.remove, ["cost"], "owner is someone else's");
        assert_eq!(change.text, "tags (added tier; changed team; removed cost)");
        assert_eq!(change.warning, None);
        let after = tags(&[
            ("team", "payments"),
            ("tier", "gold"),
            ("owner", "ops"),
            (MANAGED_TAGS, &list(&["team", "tier"])),
        ]);
        assert_eq!(TagChange::between("orders", &want, &after), None);
        let none = TagChange::between("orders", &BTreeMap::new(), &after).expect("remove all");
        assert_eq!(none.remove, ["team", "tier", MANAGED_TAGS]);
        assert!(none.set.is_empty());
        assert_eq!(
            TagChange::between("orders", &BTreeMap::new(), &tags(&[("owner", "ops")])),
            None
        );
    }

    #[test]
    fn a_list_greenlight_did_not_write_removes_nothing() {
        let ours = managed_value("orders", &tags(&[("team", "")]));
        assert!(ours.starts_with("team check="), "{ours}");
        let cases = [
            // Another tool's key added to the list by hand.
            ours.replace("team", "owner team"),
            // The list of another function, copied with its tags.
            managed_value("billing", &tags(&[("owner", ""), ("team", "")])),
            // Written by an earlier greenlight: no checksum.
            "owner team".to_owned(),
        ];
        for list in cases {
            let have = tags(&[("owner", "ops"), ("team", "orders"), (MANAGED_TAGS, &list)]);
            let want = tags(&[("tier", "gold")]);
            let change = TagChange::between("orders", &want, &have).expect("a change");
            assert!(change.remove.is_empty(), "{list}: {:?}", change.remove);
            assert_eq!(
                change.set,
                tags(&[
                    ("tier", "gold"),
                    (MANAGED_TAGS, &managed_value("orders", &want))
                ]),
                "{list}: the list is written anew, with greenlight's checksum"
            );
            let warning = change.warning.expect("a warning");
            assert!(
                warning.contains("does not carry greenlight's checksum")
                    && warning.ends_with("it lists owner, team, which the config does not set: remove them by hand if greenlight set them"),
                "{list}: {warning}"
            );
            assert_eq!(
                change.text,
                "tags (added tier; removed nothing: greenlight:managed-tags was not written by greenlight)"
            );
        }
    }

    #[test]
    fn too_many_tags_counts_other_tools_tags_but_not_aws_ones() {
        let mut have: BTreeMap<String, String> = (0..45)
            .map(|i| (format!("other{i}"), String::new()))
            .collect();
        have.insert("aws:cloudformation:stack-name".into(), "s".into());
        let want: BTreeMap<String, String> = (0..4)
            .map(|i| (format!("mine{i}"), String::new()))
            .collect();
        let change = TagChange::between("orders", &want, &have).expect("a change");
        assert_eq!(change.too_many(&have), None, "45 + 4 + the list = 50");
        let want: BTreeMap<String, String> = (0..5)
            .map(|i| (format!("mine{i}"), String::new()))
            .collect();
        let change = TagChange::between("orders", &want, &have).expect("a change");
        assert_eq!(change.too_many(&have), Some(51));
    }
}
