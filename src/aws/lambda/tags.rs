//! The function's tags, and greenlight's own tag listing the ones it
//! manages.
//!
//! Tags belong to the function, not to a version. greenlight lists the tag
//! keys it set, space-separated, in its own tag [`MANAGED_TAGS`], followed by
//! a checksum over the function's name and the list ([`managed_keys`]), so
//! it can tell its own list from one edited by hand or copied from another
//! function.

use std::collections::BTreeMap;

use super::{Lambda, unqualified};
use crate::aws::sdk_errors::aws_error;
use crate::error::Result;

/// The tag in which greenlight lists, space-separated, the tag keys it
/// set, then `check=` and a checksum of the list.
pub const MANAGED_TAGS: &str = "greenlight:managed-tags";

/// Lambda's limit on tags per function; one is greenlight's own.
pub const MAX_TAGS: usize = 50;

impl Lambda {
    /// The function's tags. Tags belong to the function, so `arn` may name
    /// any version or alias of it.
    pub async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        let resource = unqualified(arn);
        let out = self
            .client
            .list_tags()
            .resource(&resource)
            .send()
            .await
            .map_err(|e| aws_error(format!("read the tags of {resource}"), e))?;
        Ok(out
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// Changes the function's tags: `TagResource` for those in `set`,
    /// `UntagResource` for the keys in `remove`; each waits out an update
    /// in progress (`ResourceConflictException`) like every other write.
    pub async fn retag(
        &self,
        arn: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<()> {
        use aws_sdk_lambda::operation::tag_resource::TagResourceError;
        use aws_sdk_lambda::operation::untag_resource::UntagResourceError;
        let resource = unqualified(arn);
        let name = resource.rsplit(':').next().unwrap_or(&resource);
        if !set.is_empty() {
            self.retry_on_conflict(
                name,
                |e| aws_error(format!("tag {resource}"), e),
                TagResourceError::is_resource_conflict_exception,
                || {
                    self.client
                        .tag_resource()
                        .resource(&resource)
                        .set_tags(Some(set.clone().into_iter().collect()))
                        .send()
                },
            )
            .await?;
        }
        if !remove.is_empty() {
            self.retry_on_conflict(
                name,
                |e| aws_error(format!("remove tags from {resource}"), e),
                UntagResourceError::is_resource_conflict_exception,
                || {
                    self.client
                        .untag_resource()
                        .resource(&resource)
                        .set_tag_keys(Some(remove.to_vec()))
                        .send()
                },
            )
            .await?;
        }
        Ok(())
    }
}

/// The tags to create function `function` with: the config's, and
/// greenlight's list of them.
pub fn tags_to_create(function: &str, want: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut tags = want.clone();
    if !want.is_empty() {
        tags.insert(MANAGED_TAGS.to_owned(), managed_value(function, want));
    }
    tags
}

/// How [`MANAGED_TAGS`] ends: a checksum word, e.g. `check=0123456789abcdef`.
const CHECK_PREFIX: &str = "check=";

/// Hex digits of the checksum.
const CHECK_LEN: usize = 16;

/// The value of [`MANAGED_TAGS`] for `tags` on function `function`: their
/// keys, space-separated, then the checksum over the function's name and
/// the keys ([`checksum`]).
pub fn managed_value(function: &str, tags: &BTreeMap<String, String>) -> String {
    let keys = tags.keys().cloned().collect::<Vec<_>>().join(" ");
    format!("{keys} {CHECK_PREFIX}{}", checksum(function, &keys))
}

/// The keys a [`MANAGED_TAGS`] value lists, when its last word is the
/// checksum greenlight writes for them on function `function`; `None` for
/// a list edited by hand, copied from another function, or written
/// without a checksum.
pub fn managed_keys(function: &str, value: &str) -> Option<Vec<String>> {
    let (keys, check) = value.trim().rsplit_once(' ')?;
    let keys = keys.split_whitespace().collect::<Vec<_>>().join(" ");
    let expected = format!("{CHECK_PREFIX}{}", checksum(function, &keys));
    (check == expected).then(|| keys.split(' ').map(str::to_owned).collect())
}

/// The first [`CHECK_LEN`] hex digits of the SHA-256 of the function's name
/// and the space-separated `keys`. Not a secret: it tells greenlight's own
/// list from one changed by another hand, which greenlight never follows
/// when removing tags.
fn checksum(function: &str, keys: &str) -> String {
    let text = format!("greenlight managed tags\n{function}\n{keys}");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..CHECK_LEN]
        .to_owned()
}
