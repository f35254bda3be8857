//! The release record: what greenlight last did to an alias, kept in AWS.
//!
//! greenlight writes one line into the alias description each time it moves
//! the alias, e.g.
//!
//! ```text
//! greenlight: action=release version=5 previous=4 at=2026-11-22T02:10:47Z
//! ```
//!
//! so `rollback` knows the version that was live before the last release, and
//! `status` can say when and from what the live version was released, from any
//! machine. Nothing is kept on local disk and nothing is guessed from version
//! numbers. The line fits Lambda's 256-character limit for descriptions:
//! the config is refused when the longest record its plan could write
//! ([`Plan::longest_record`], held to this module's writing by its tests)
//! would not.
//!
//! A release in progress is recorded the same way, together with the routing
//! weight written in the same `UpdateAlias` call, so the two never disagree:
//!
//! ```text
//! greenlight: action=canary version=6 previous=5 step=0 steps=10,50 bake=300s at=2026-11-22T02:10:47Z
//! ```
//!
//! says that version 6 is on its first step (10 %) since `at`, with version 5
//! stable; any machine can continue (`promote`) or undo (`rollback`) it.
//! A step held because the gates cannot judge the new version yet gets
//! `held=<step>` once `[[notify]]` was told of the hold (written with the
//! alias RevisionId condition, so one runner tells it); a step that waits
//! for `greenlight approve` (`[release] approval`) gets `waiting=<step>`
//! the same way once `[[notify]]` was told it waits.
//!
//! A release whose first move waits for `greenlight approve` (`[release]
//! approval` lists its first percentage) moves no traffic until then: the
//! alias keeps serving the stable version alone and only its record says
//! the release is pending, with the plan it follows once approved:
//!
//! ```text
//! greenlight: action=pending version=6 previous=5 steps=10,50 bake=300s at=2026-11-22T02:10:47Z
//! ```
//!
//! (an all-at-once release writes no `steps` or `bake`). Its wait and
//! approval are marked `waiting=0` and `approved=0` as a step's are.
//!
//! A release keeps the approvals it started with (`[release] approval`),
//! so a config edited meanwhile neither skips nor adds a wait: a canary or
//! pending record whose moves wait for approval says which with
//! `approval=<mask>`, one digit per move of its plan (each step, then 100),
//! `1` where the move waits: `steps=10,50 approval=011` waits before 50 %
//! and 100 %. One character per move keeps the record within Lambda's 256
//! characters wherever its steps fit (listing the percentages would take
//! up to four); no `approval` means no move waits.
//!
//! May import: `config` (the steps a record names) and the base modules;
//! deploy writes records (create, pin) and release reads and writes them.

use std::fmt;

use std::time::Duration;

use time::OffsetDateTime;

use crate::config::plan::{MAX_BAKE, Plan};
use time::format_description::well_known::Rfc3339;

const PREFIX: &str = "greenlight:";

/// How far ahead of this machine's clock a record's time may be (another
/// runner's clock may be ahead) before the record counts as absurd.
const CLOCK_SKEW: time::Duration = time::Duration::hours(1);

/// What greenlight did to the alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Created the alias with the function's first version.
    Create,
    /// Moved the alias to a new version.
    Release,
    /// Put part of the traffic on a new version; the release is in progress.
    Canary,
    /// Moved the alias back to the version live before a release.
    Rollback,
    /// Moved an alias that served `$LATEST` onto a version published from
    /// it as it was: the same code and configuration for users, but a
    /// version that a code upload cannot change (an `action=pin` record).
    Pin,
    /// Recorded a release that waits for `greenlight approve` before its
    /// first move; no traffic is on the new version yet.
    Pending,
}

impl Action {
    /// The word used in the record.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Release => "release",
            Action::Canary => "canary",
            Action::Rollback => "rollback",
            Action::Pin => "pin",
            Action::Pending => "pending",
        }
    }
}

/// One release record, as stored in the alias description.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Record {
    /// What happened.
    pub action: Action,
    /// The version the alias was moved to.
    pub version: String,
    /// The version it was moved away from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// When, in RFC 3339 UTC. For a canary: when its current step began.
    pub at: String,
    /// For a canary: the release in progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<Canary>,
    /// For a release pending approval before its first move: the plan it
    /// follows once approved.
    #[serde(skip_serializing)]
    pub pending: Option<Box<Pending>>,
    /// For a finished release with metric gates: the last canary step's
    /// metrics, still judged until they have settled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settling: Option<Settling>,
    /// For a canary through a load balancer: the fingerprint of the
    /// forward action's list as greenlight wrote it
    /// ([`crate::aws::elbv2::ActionList::shape`]), so any run can tell a
    /// list changed outside greenlight since.
    #[serde(skip_serializing)]
    pub shape: Option<String>,
    /// For a canary held at its step (the gates cannot judge the new
    /// version yet): the step whose hold `[[notify]]` was told of
    /// (`held=<step>`), so several `promote` runs tell it once.
    #[serde(skip_serializing)]
    pub held: Option<usize>,
    /// For a canary waiting for `greenlight approve` after its step
    /// (`[release] approval`): the step whose wait `[[notify]]` was told
    /// of (`waiting=<step>`), so several `promote` runs tell it once.
    #[serde(skip_serializing)]
    pub waiting: Option<usize>,
    /// For a canary whose next move waits for approval: the approval
    /// `greenlight approve` recorded (`approved=<step> approved_at=<time>
    /// by=<who>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved: Option<Box<Approved>>,
    /// For a canary or a pending release: the percentages whose move waits
    /// for approval, as the release started (`approval=<mask>`).
    #[serde(skip_serializing)]
    pub approval: Vec<u8>,
}

/// An approval of the move after a canary step (`[release] approval`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Approved {
    /// The step after which the move was approved, an index into the plan's steps.
    #[serde(skip_serializing)]
    pub step: usize,
    /// When, in RFC 3339 UTC.
    pub at: String,
    /// Who: the name (`GITHUB_ACTOR`, else `USER`), then the AWS caller's
    /// ARN after a comma; cut to keep the record within 256 characters.
    pub by: String,
}

impl Approved {
    /// An approval of the move after `step` by `by`, now; characters a
    /// record never holds become `-`.
    pub fn now(step: usize, by: &str) -> Self {
        Approved {
            step,
            at: Record::now(Action::Canary, "", None).at,
            by: by
                .chars()
                .map(|c| if written_by_greenlight(c) { c } else { '-' })
                .collect(),
        }
    }
}

/// The last canary step of a finished release, whose metrics are still
/// judged for `settle` after `at` (late data, see [`crate::config::MetricGates::settle`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Settling {
    /// When the last canary step's window began, in RFC 3339 UTC.
    pub from: String,
    /// How long after the release its metrics are still judged.
    #[serde(rename = "settle_seconds", serialize_with = "as_seconds")]
    pub settle: Duration,
}

fn as_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// A release that waits for approval before its first move
/// (`action=pending`): what it does once approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The plan the release started with.
    pub plan: Plan,
    /// How long each step's metrics settle after its bake.
    pub settle: Duration,
}

/// Where a release in progress stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canary {
    /// The current step, an index into `plan.steps`.
    pub step: usize,
    /// The plan the release started with; later steps follow it.
    pub plan: Plan,
    /// How long each step's metrics settle after its bake before the step
    /// is judged and left (zero without metric gates).
    pub settle: Duration,
}

impl serde::Serialize for Canary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Canary", 6)?;
        s.serialize_field("step", &(self.step + 1))?;
        s.serialize_field("of", &self.plan.steps.len())?;
        s.serialize_field("percent", &self.plan.steps.get(self.step))?;
        s.serialize_field("steps", &self.plan.steps)?;
        s.serialize_field("bake_seconds", &self.plan.bake.as_secs())?;
        s.serialize_field("settle_seconds", &self.settle.as_secs())?;
        s.end()
    }
}

impl Record {
    /// A record of `action` happening now.
    pub fn now(action: Action, version: &str, previous: Option<&str>) -> Self {
        let now = OffsetDateTime::now_utc();
        let now = now.replace_nanosecond(0).unwrap_or(now);
        Record {
            action,
            version: version.to_owned(),
            previous: previous.map(str::to_owned),
            at: now.format(&Rfc3339).unwrap_or_default(),
            canary: None,
            pending: None,
            settling: None,
            shape: None,
            held: None,
            waiting: None,
            approved: None,
            approval: Vec::new(),
        }
    }

    /// This canary record with each step's metrics settling for `settle`.
    pub fn with_settle(mut self, settle: Duration) -> Self {
        if let Some(c) = self.canary.as_mut() {
            c.settle = settle;
        }
        self
    }

    /// This release record with the last canary step (which began at
    /// `from`) still judged for `settle`; nothing when `settle` is zero.
    pub fn settling(mut self, from: OffsetDateTime, settle: Duration) -> Self {
        if !settle.is_zero() {
            self.settling = Some(Settling {
                from: from.format(&Rfc3339).unwrap_or_default(),
                settle,
            });
        }
        self
    }

    /// A record of a canary at `step` of `plan`, starting now.
    pub fn canary(version: &str, stable: &str, step: usize, plan: &Plan) -> Self {
        Record {
            canary: Some(Canary {
                step,
                plan: plan.clone(),
                settle: Duration::ZERO,
            }),
            ..Record::now(Action::Canary, version, Some(stable))
        }
    }

    /// A record of a release of `version` over `stable` that waits for
    /// approval before its first move of `plan`, from now.
    pub fn pending(version: &str, stable: &str, plan: &Plan, settle: Duration) -> Self {
        Record {
            pending: Some(Box::new(Pending {
                plan: plan.clone(),
                settle,
            })),
            ..Record::now(Action::Pending, version, Some(stable))
        }
    }

    /// This canary or pending record keeping `approval`, the percentages
    /// whose move waits for approval.
    pub fn with_approval(mut self, approval: &[u8]) -> Self {
        approval.clone_into(&mut self.approval);
        self
    }

    /// The plan of a release in progress (a canary or a pending release).
    fn plan(&self) -> Option<&Plan> {
        (self.canary.as_ref().map(|c| &c.plan)).or(self.pending.as_ref().map(|p| &p.plan))
    }

    /// When `at` was, if it parses.
    pub fn time(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(&self.at, &Rfc3339).ok()
    }

    /// Why this record cannot drive a release, if it cannot: a canary (a
    /// release in progress), or a finished release whose last step is still
    /// judged as its metrics settle, whose time does not read as RFC 3339,
    /// lies in the future (by more than clock skew), or bakes or settles
    /// longer than greenlight allows ([`MAX_BAKE`],
    /// [`crate::config::MAX_SETTLE`]); for a settling release also a
    /// window start (`from`) that is no time or comes after the release.
    /// Such a record was edited by hand or damaged; nothing is computed from
    /// it. Other records drive nothing: no problem.
    pub fn problem(&self, now: OffsetDateTime) -> Option<String> {
        let settle = match (&self.canary, &self.settling, &self.pending) {
            (Some(canary), _, _) => canary.settle,
            (None, Some(settling), _) => settling.settle,
            (None, None, Some(pending)) => pending.settle,
            (None, None, None) => return None,
        };
        let Some(at) = self.time() else {
            return Some(format!("its time at={:?} is not an RFC 3339 time", self.at));
        };
        if now.checked_add(CLOCK_SKEW).is_some_and(|limit| at > limit) {
            let what = match (&self.canary, &self.pending) {
                (Some(_), _) => "its step began",
                (None, Some(_)) => "its wait for approval began",
                (None, None) => "its release finished",
            };
            return Some(format!("{what} in the future (at={})", self.at));
        }
        if settle > crate::config::MAX_SETTLE {
            return Some(format!(
                "its settle time of {} is longer than the {} greenlight allows",
                humantime::format_duration(settle),
                humantime::format_duration(crate::config::MAX_SETTLE)
            ));
        }
        if let Some(settling) = &self.settling {
            match OffsetDateTime::parse(&settling.from, &Rfc3339) {
                Err(_) => {
                    return Some(format!(
                        "its last step's start from={:?} is not an RFC 3339 time",
                        settling.from
                    ));
                }
                Ok(from) if from > at => {
                    return Some(format!(
                        "its last step began (from={}) after the release finished (at={})",
                        settling.from, self.at
                    ));
                }
                Ok(_) => {}
            }
        }
        match self.plan() {
            Some(plan) if plan.bake > MAX_BAKE => Some(format!(
                "its bake of {} is longer than the {} greenlight allows",
                humantime::format_duration(plan.bake),
                humantime::format_duration(MAX_BAKE)
            )),
            _ => None,
        }
    }

    /// Reads a record from an alias description; `None` if greenlight did not write it.
    pub fn parse(description: &str) -> Option<Record> {
        let rest = description.trim().strip_prefix(PREFIX)?;
        // A value with a character greenlight never writes there was put
        // there by hand (anyone who may update the alias can), and reads
        // as absent: it is never shown, so it cannot start a workflow
        // command (`##[`) in a CI log.
        let field = |key: &str| {
            rest.split_whitespace()
                .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
                .filter(|value| value.chars().all(written_by_greenlight))
                .map(str::to_owned)
        };
        let action = match field("action")?.as_str() {
            "create" => Action::Create,
            "release" => Action::Release,
            "canary" => Action::Canary,
            "rollback" => Action::Rollback,
            "pin" => Action::Pin,
            "pending" => Action::Pending,
            _ => return None,
        };
        // Written only with metric gates; absent (an older record): none.
        let settle = match field("settle") {
            Some(text) => Some(humantime::parse_duration(&text).ok()?),
            None => None,
        };
        let plan = || {
            Some(Plan {
                steps: field("steps")?
                    .split(',')
                    .map(|s| s.parse().ok())
                    .collect::<Option<Vec<u8>>>()?,
                bake: humantime::parse_duration(&field("bake")?).ok()?,
            })
        };
        let canary = match action {
            Action::Canary => Some(Canary {
                step: field("step")?.parse().ok()?,
                plan: plan()?,
                settle: settle.unwrap_or_default(),
            })
            .filter(|c| c.step < c.plan.steps.len()),
            _ => None,
        };
        if action == Action::Canary && canary.is_none() {
            return None;
        }
        let pending = match action {
            // Without steps: all at once.
            Action::Pending => Some(Box::new(Pending {
                plan: match field("steps") {
                    Some(_) => plan()?,
                    None => Plan::all_at_once(),
                },
                settle: settle.unwrap_or_default(),
            })),
            _ => None,
        };
        let settling = match (action, field("from"), settle) {
            (Action::Release, Some(from), Some(settle)) => Some(Settling { from, settle }),
            _ => None,
        };
        let approval = match field("approval") {
            None => Vec::new(),
            Some(mask) => {
                let plan =
                    (canary.as_ref().map(|c| &c.plan)).or(pending.as_ref().map(|p| &p.plan))?;
                let moves: Vec<u8> = plan.steps.iter().copied().chain([100]).collect();
                if mask.len() != moves.len() || !mask.chars().all(|c| c == '0' || c == '1') {
                    return None;
                }
                (moves.into_iter().zip(mask.chars()))
                    .filter_map(|(p, c)| (c == '1').then_some(p))
                    .collect()
            }
        };
        Some(Record {
            approval,
            action,
            version: field("version")?,
            previous: field("previous"),
            at: field("at").unwrap_or_default(),
            canary,
            pending,
            settling,
            shape: field("shape"),
            held: field("held").and_then(|step| step.parse().ok()),
            waiting: field("waiting").and_then(|step| step.parse().ok()),
            approved: field("approved")
                .and_then(|step| step.parse().ok())
                .map(|step| {
                    Box::new(Approved {
                        step,
                        at: field("approved_at").unwrap_or_default(),
                        by: field("by").unwrap_or_default(),
                    })
                }),
        })
    }
}

/// Whether greenlight writes `c` in a record's values: version numbers,
/// `$LATEST`, steps, durations, RFC 3339 times and an approver's name and ARN.
fn written_by_greenlight(c: char) -> bool {
    c.is_ascii_alphanumeric() || "$,:.+-/@_".contains(c)
}

impl fmt::Display for Record {
    /// The alias description form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX} action={} version={}",
            self.action.as_str(),
            self.version
        )?;
        if let Some(previous) = &self.previous {
            write!(f, " previous={previous}")?;
        }
        if let Some(c) = &self.canary {
            let steps: Vec<String> = c.plan.steps.iter().map(u8::to_string).collect();
            write!(
                f,
                " step={} steps={} bake={}s",
                c.step,
                steps.join(","),
                c.plan.bake.as_secs()
            )?;
            if !c.settle.is_zero() {
                write!(f, " settle={}s", c.settle.as_secs())?;
            }
        }
        if let Some(p) = &self.pending {
            if !p.plan.is_all_at_once() {
                let steps: Vec<String> = p.plan.steps.iter().map(u8::to_string).collect();
                write!(
                    f,
                    " steps={} bake={}s",
                    steps.join(","),
                    p.plan.bake.as_secs()
                )?;
            }
            if !p.settle.is_zero() {
                write!(f, " settle={}s", p.settle.as_secs())?;
            }
        }
        if let Some(s) = &self.settling {
            write!(f, " settle={}s from={}", s.settle.as_secs(), s.from)?;
        }
        if let Some(plan) = self.plan().filter(|_| !self.approval.is_empty()) {
            let mask: String = (plan.steps.iter().chain(&[100]))
                .map(|p| if self.approval.contains(p) { '1' } else { '0' })
                .collect();
            write!(f, " approval={mask}")?;
        }
        if let Some(shape) = &self.shape {
            write!(f, " shape={shape}")?;
        }
        if let Some(step) = self.held {
            write!(f, " held={step}")?;
        }
        if let Some(step) = self.waiting {
            write!(f, " waiting={step}")?;
        }
        if let Some(a) = &self.approved {
            write!(f, " approved={} approved_at={}", a.step, a.at)?;
        }
        write!(f, " at={}", self.at)?;
        if let Some(a) = self.approved.as_ref().filter(|a| !a.by.is_empty()) {
            // Last, so it is what a record too long for Lambda loses.
            let written = self.to_line_without_by();
            let room = MAX_LENGTH.saturating_sub(written + " by=".len());
            let by: String = a.by.chars().take(room).collect();
            if !by.is_empty() {
                write!(f, " by={by}")?;
            }
        }
        Ok(())
    }
}

/// The most characters Lambda keeps in an alias description.
pub const MAX_LENGTH: usize = crate::config::plan::RECORD_LIMIT;

impl Record {
    /// How long this record's line is without its approver (`by=`).
    fn to_line_without_by(&self) -> usize {
        let mut bare = self.clone();
        if let Some(a) = bare.approved.as_mut() {
            a.by.clear();
        }
        bare.to_string().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_description() {
        let r = Record::now(Action::Release, "5", Some("4"));
        let text = r.to_string();
        assert!(
            text.starts_with("greenlight: action=release version=5 previous=4 at=20"),
            "{text}"
        );
        assert!(text.len() <= 256);
        assert_eq!(Record::parse(&text), Some(r));
    }

    #[test]
    fn a_canary_round_trips_with_its_plan() {
        let plan = Plan {
            steps: vec![10, 50],
            bake: std::time::Duration::from_secs(330),
        };
        let mut r = Record::canary("6", "5", 1, &plan);
        r.held = Some(1);
        r.waiting = Some(1);
        let text = r.to_string();
        assert!(
            text.starts_with(
                "greenlight: action=canary version=6 previous=5 step=1 steps=10,50 bake=330s held=1 waiting=1 at="
            ),
            "{text}"
        );
        assert_eq!(Record::parse(&text), Some(r));
        assert_eq!(
            Record::parse(
                "greenlight: action=canary version=6 previous=5 step=2 steps=10,50 bake=5m at=x"
            ),
            None
        );
    }

    #[test]
    fn a_pending_release_round_trips_with_its_plan_or_all_at_once() {
        let plan = Plan {
            steps: vec![10, 50],
            bake: std::time::Duration::from_secs(300),
        };
        let mut r =
            Record::pending("6", "5", &plan, Duration::from_secs(60)).with_approval(&[10, 100]);
        r.waiting = Some(0);
        let text = r.to_string();
        assert!(
            text.starts_with(
                "greenlight: action=pending version=6 previous=5 steps=10,50 bake=300s settle=60s approval=101 waiting=0 at="
            ),
            "{text}"
        );
        assert_eq!(Record::parse(&text), Some(r));
        let once =
            Record::pending("6", "5", &Plan::all_at_once(), Duration::ZERO).with_approval(&[100]);
        let text = once.to_string();
        assert!(
            text.starts_with("greenlight: action=pending version=6 previous=5 approval=1 at="),
            "{text}"
        );
        assert_eq!(Record::parse(&text), Some(once));
        // A mask that does not fit the plan was not written by greenlight.
        for mask in ["01", "0111", "0x1", ""] {
            let edited = text.replace("approval=1", &format!("approval={mask}"));
            assert_eq!(Record::parse(&edited), None, "{edited}");
        }
    }

    #[test]
    fn an_approval_round_trips_and_a_long_approver_is_cut_to_fit() {
        let plan = Plan {
            steps: vec![10, 20, 30, 40, 50, 60, 70, 80, 90],
            bake: std::time::Duration::from_secs(86_400),
        };
        let mut r =
            Record::canary("123456", "123455", 8, &plan).with_settle(Duration::from_secs(600));
        r.waiting = Some(8);
        r.approved = Some(Box::new(Approved::now(
            8,
            "al ice,arn:aws:sts::1:assumed-role/r/s",
        )));
        let text = r.to_string();
        assert!(text.contains(" approved=8 approved_at=20"), "{text}");
        assert!(
            text.ends_with(" by=al-ice,arn:aws:sts::1:assumed-role/r/s"),
            "{text}"
        );
        assert_eq!(Record::parse(&text), Some(r.clone()));
        let long = format!(
            "{},arn:aws:sts::1:assumed-role/{}",
            "n".repeat(80),
            "x".repeat(200)
        );
        r.approved = Some(Box::new(Approved::now(8, &long)));
        // Every move waiting, nine steps: still room for a name.
        r.approval = plan.steps.iter().copied().chain([100]).collect();
        let text = r.to_string();
        assert!(text.contains(" approval=1111111111 "), "{text}");
        assert_eq!(text.len(), MAX_LENGTH, "{text}");
        let back = Record::parse(&text).expect("a record");
        let approved = back.approved.expect("the approval");
        assert_eq!((approved.step, back.canary.map(|c| c.step)), (8, Some(8)));
        // The name is what is cut, from its end.
        assert!(
            approved.by.len() > 20 && long.starts_with(&approved.by),
            "{}",
            approved.by
        );
    }

    /// The longest record `plan` writes, as `Plan::longest_record` reckons
    /// it: the last step, every marker, 7-digit versions, `settle` at its
    /// longest, the fingerprint when `shaped`, every move's approval digit
    /// with `approvals`.
    fn longest_written(plan: &Plan, shaped: bool, approvals: bool) -> String {
        use crate::config::plan::{LONGEST_VERSION, SHAPE_LENGTH};
        let settle = crate::config::MAX_SETTLE;
        let every_move: Vec<u8> = plan.steps.iter().copied().chain([100]).collect();
        let marked = |mut r: Record, step: usize| {
            (r.held, r.waiting) = (Some(step), Some(step));
            r.approved = Some(Box::new(Approved::now(step, "")));
            let listed = if approvals { &every_move[..] } else { &[] };
            r.with_approval(listed).to_string()
        };
        let Some(last) = plan.steps.len().checked_sub(1) else {
            let finished = Record::now(Action::Release, LONGEST_VERSION, Some(LONGEST_VERSION))
                .settling(OffsetDateTime::UNIX_EPOCH, settle)
                .to_string();
            let pending = marked(
                Record::pending(LONGEST_VERSION, LONGEST_VERSION, plan, settle),
                0,
            );
            return if approvals && pending.len() > finished.len() {
                pending
            } else {
                finished
            };
        };
        let mut r =
            Record::canary(LONGEST_VERSION, LONGEST_VERSION, last, plan).with_settle(settle);
        r.shape = shaped.then(|| "f".repeat(SHAPE_LENGTH));
        marked(r, last)
    }

    #[test]
    fn the_longest_record_is_reckoned_as_it_is_written() {
        let plan = |steps: Vec<u8>, bake: u64| Plan {
            steps,
            bake: Duration::from_secs(bake),
        };
        let linear = plan(vec![10, 20, 30, 40, 50, 60, 70, 80, 90], 1_209_600);
        // greenlight: action=canary version=9999999 previous=9999999 step=8
        // steps=10,…,90 bake=1209600s settle=3600s [shape=<16>] held=8
        // approval=1111111111 waiting=8 approved=8 approved_at=<20> at=<20>
        let bare = 11 + 14 + 16 + 17 + 7 + (7 + 26) + 14 + 13 + 20 + 7 + 10 + 11 + 33 + 24;
        assert_eq!(longest_written(&linear, false, true).len(), bare);
        assert_eq!(linear.longest_record(false, true), bare);
        assert_eq!(linear.longest_record(true, true), bare + 23);
        assert_eq!(linear.longest_record(false, false), bare - 20);
        for (steps, bake) in [
            (vec![], 0),
            (vec![1], 1),
            (vec![10, 50], 300),
            ((1..=10).collect(), 60),
            ((1..=11).collect(), 60),
            ((1..=99).collect(), 1_209_600),
        ] {
            let p = plan(steps, bake);
            for (shaped, approvals) in [(false, false), (true, false), (false, true), (true, true)]
            {
                let written = longest_written(&p, shaped, approvals);
                assert_eq!(
                    p.longest_record(shaped, approvals),
                    written.len(),
                    "{written}"
                );
                assert_eq!(
                    Record::parse(&written).map(|r| r.canary.is_some()),
                    Some(!p.steps.is_empty())
                );
            }
        }
    }

    #[test]
    fn a_canary_with_an_absurd_time_or_bake_has_a_problem() {
        let now = OffsetDateTime::parse("2026-12-01T12:00:00Z", &Rfc3339).expect("time");
        let plan = Plan {
            steps: vec![10],
            bake: std::time::Duration::from_secs(300),
        };
        let mut r = Record::canary("6", "5", 0, &plan);
        r.at = "2026-12-01T11:00:00Z".to_owned();
        assert_eq!(r.problem(now), None);
        r.at = "2026-12-01T12:30:00Z".to_owned();
        assert_eq!(r.problem(now), None, "within clock skew");
        r.at = "9999-12-31T23:59:59Z".to_owned();
        assert!(r.problem(now).is_some_and(|p| p.contains("in the future")));
        r.at = "yesterday".to_owned();
        assert!(
            r.problem(now)
                .is_some_and(|p| p.contains("not an RFC 3339 time"))
        );
        r.at = "2026-12-01T11:00:00Z".to_owned();
        if let Some(c) = r.canary.as_mut() {
            c.plan.bake = std::time::Duration::from_secs(10_000 * 365 * 86_400);
        }
        assert!(r.problem(now).is_some_and(|p| p.contains("longer than")));
        // A finished release drives nothing: no problem to report...
        let mut done = Record::now(Action::Release, "6", Some("5"));
        done.at = "9999-12-31T23:59:59Z".to_owned();
        assert_eq!(done.problem(now), None);
        // ...unless its last step is still judged as its metrics settle.
        let from = OffsetDateTime::parse("2026-12-01T11:50:00Z", &Rfc3339).expect("time");
        let mut settling = Record::now(Action::Release, "6", Some("5"))
            .settling(from, std::time::Duration::from_secs(180));
        settling.at = "2026-12-01T11:55:00Z".to_owned();
        assert_eq!(settling.problem(now), None);
        settling.at = "9999-12-31T23:59:59Z".to_owned();
        assert!(
            settling
                .problem(now)
                .is_some_and(|p| p.contains("its release finished in the future")),
            "{:?}",
            settling.problem(now)
        );
        settling.at = "2026-12-01T11:40:00Z".to_owned();
        assert!(
            settling
                .problem(now)
                .is_some_and(|p| p.contains("after the release finished"))
        );
    }

    #[test]
    fn descriptions_greenlight_did_not_write_are_not_records() {
        assert_eq!(Record::parse("my alias"), None);
        assert_eq!(Record::parse("greenlight: action=explode version=1"), None);
        assert_eq!(Record::parse("greenlight: action=release"), None);
        // Values greenlight never writes read as absent.
        assert_eq!(
            Record::parse("greenlight: action=release version=##[error]x at=1"),
            None
        );
        let r = Record::parse("greenlight: action=release version=2 previous=1` at=##[x]")
            .expect("a record");
        assert_eq!((r.previous, r.at.as_str()), (None, ""));
    }
}
