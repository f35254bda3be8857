//! The `[dns]` table: two weighted Route 53 records, `blue` and `green`,
//! each in front of one Lambda alias.

use serde::Deserialize;

use crate::config::{Checker, is_alias_name};
use crate::error::Result;

/// The `[dns]` table: two weighted records, `blue` and `green`, with the
/// same name and type, each in front of one Lambda alias.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsConfig {
    /// The hosted zone.
    pub zone_id: String,
    /// The record name, without the trailing dot.
    pub name: String,
    /// `CNAME`, or `A`/`AAAA` alias records.
    pub record_type: String,
    /// The TTL used when greenlight creates the records.
    pub ttl: i64,
    /// The two colours, blue first.
    pub colours: [Colour; 2],
}

/// One colour of a DNS release.
#[derive(Debug, Clone, PartialEq)]
pub struct Colour {
    /// `blue` or `green`: the record's SetIdentifier.
    pub name: &'static str,
    /// The CNAME target, or the alias target's DNS name.
    pub value: String,
    /// For `A`/`AAAA` alias records: the target's hosted zone.
    pub target_zone_id: Option<String>,
    /// The Lambda alias behind this colour.
    pub alias: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDns {
    zone_id: String,
    name: String,
    #[serde(rename = "type")]
    record_type: Option<String>,
    ttl: Option<i64>,
    blue: RawColour,
    green: RawColour,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColour {
    value: String,
    alias: String,
    target_zone_id: Option<String>,
}

impl Checker<'_> {
    pub(super) fn dns(&self, raw: RawDns) -> Result<DnsConfig> {
        if raw.zone_id.trim().is_empty() {
            return Err(self.bad(
                "dns.zone_id",
                "\"\"",
                "give the hosted zone's id, e.g. Z0123456789ABC",
            ));
        }
        let name = raw.name.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(self.bad(
                "dns.name",
                format!("{:?}", raw.name),
                "give the record's name, e.g. api.example.com",
            ));
        }
        let record_type = raw.record_type.unwrap_or_else(|| "CNAME".to_owned());
        let alias_records = match record_type.as_str() {
            "CNAME" => false,
            "A" | "AAAA" => true,
            other => {
                return Err(self.bad(
                    "dns.type",
                    format!("{other:?}"),
                    "use \"CNAME\", or \"A\"/\"AAAA\" for alias records",
                ));
            }
        };
        let ttl = raw.ttl.unwrap_or(60);
        if !(0..=86_400).contains(&ttl) {
            return Err(self.bad("dns.ttl", ttl, "give seconds, 0 to 86400"));
        }
        let colour = |name: &'static str, raw: RawColour| -> Result<Colour> {
            let key = |k: &str| format!("dns.{name}.{k}");
            if raw.value.trim().is_empty() {
                return Err(self.bad(
                    &key("value"),
                    "\"\"",
                    "give the endpoint this colour's record points at",
                ));
            }
            if !is_alias_name(&raw.alias) {
                return Err(self.bad(&key("alias"), format!("{:?}", raw.alias), "an alias is 1 to 128 letters, digits, '-' or '_', not only digits, and never $LATEST"));
            }
            match (alias_records, &raw.target_zone_id) {
                (true, None) => Err(self.bad(&key("target_zone_id"), "(missing)", "A/AAAA records are alias records: give the hosted zone of the target (e.g. the API Gateway domain's)")),
                (false, Some(zone)) => Err(self.bad(&key("target_zone_id"), format!("{zone:?}"), "only A/AAAA alias records take a target zone; remove it for a CNAME")),
                _ => Ok(Colour {
                    name,
                    value: raw.value.trim_end_matches('.').to_owned(),
                    target_zone_id: raw.target_zone_id,
                    alias: raw.alias,
                }),
            }
        };
        let colours = [colour("blue", raw.blue)?, colour("green", raw.green)?];
        if colours[0].alias == colours[1].alias {
            return Err(self.bad(
                "dns.green.alias",
                format!("{:?}", colours[1].alias),
                "each colour needs its own alias (blue's is the same)",
            ));
        }
        if colours[0].value == colours[1].value {
            return Err(self.bad(
                "dns.green.value",
                format!("{:?}", colours[1].value),
                "each colour needs its own endpoint (blue's is the same)",
            ));
        }
        Ok(DnsConfig {
            zone_id: raw.zone_id.trim().to_owned(),
            name,
            record_type,
            ttl,
            colours,
        })
    }
}
