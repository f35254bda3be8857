//! The release engine: move traffic step by step, bake, judge the gates,
//! and roll back on anything red, whatever router holds the split.
//!
//! In: a release between a stable version and a new one, its [`Plan`], and
//! the [`AnyRouter`] that writes its splits. Out: the [`ReleaseReport`].
//! Every move writes the split together with the release [`Record`]
//! (`Router::write`, conditional), so the state of a release lives wholly
//! in AWS: a process killed at any moment leaves a state that `promote`
//! continues and `rollback` undoes, from any machine.
//!
//! After every move (once it is in effect, `Router::in_effect`), and
//! repeatedly while a step bakes, the gates are checked ([`gates::check`]);
//! the alarms alone more often ([`watch`]). A red gate, an error after
//! traffic moved, SIGINT/SIGTERM or a panic puts all traffic back on the
//! stable version (`Router::restore`). A conflict on a write means
//! someone else moved the traffic: the run stops without writing further.
//!
//! Two ways to drive it: `wait` runs the whole plan, sleeping through bakes;
//! otherwise one run makes at most one move, which is what the scheduled
//! `greenlight promote` does.
//!
//! A move listed in `[release] approval` waits for `greenlight approve`;
//! a run that made the step itself reads the release record again before
//! it stops to wait (`Router::reread_record`), and takes an approval given
//! during the bake.
//!
//! A dry run ([`Ctx::is_dry`]) drives the same loop: the router records its
//! writes, and the bakes, settle windows and gates are said instead of
//! waited for and read (the version under release is not invoked).

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::checks::gates;
use crate::checks::metrics::{Canary, Provisioned};
use crate::config::notify::Event;
use crate::config::plan::Plan;
use crate::context::Ctx;
use crate::error::{Error, Failure, Result};
use crate::interrupt::Interrupts;
use crate::lockstep::{self, Halt};
use crate::record::{Action, Approved, Record};
use crate::release::ReleaseReport;
use crate::release::approver::Approver;
use crate::release::clock::{self, Settling, StepClock, whole_seconds};
use crate::release::dry_run;
use crate::release::routers::{AnyRouter, Place, Router, Split, Why};
use crate::release::tell;
use crate::release::unexpected;
use crate::release::watch::{self, check_interval};
use crate::ui::Activity;

/// Where a release that continues after this run stands.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InProgress {
    /// The version being released.
    pub version: String,
    /// The current step, counting from 1.
    pub step: usize,
    /// How many steps the plan has before 100 %.
    pub of: usize,
    /// Percent of traffic on the new version.
    pub percent: u8,
    /// Seconds until the step's bake is over.
    pub bake_left_secs: u64,
    /// With metric gates: seconds after the bake until the step's metrics
    /// have settled and it is judged (see [`crate::release::clock`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub settle_left_secs: u64,
    /// What `greenlight promote` does next.
    pub next: String,
    /// Why the step holds although its bake is over: the metrics cannot
    /// judge the new version yet (too little traffic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
    /// The step has baked with green gates and waits for `greenlight
    /// approve` before moving to this percent (`[release] approval`;
    /// 100 = finishing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for_approval: Option<u8>,
    /// With `waiting_for_approval`: since when, in RFC 3339 UTC (the end
    /// of the step's bake, and of its metrics' settle time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<String>,
}

/// A release between a stable version and a new one.
pub struct Run<'a> {
    ctx: Ctx<'a>,
    version: String,
    stable: String,
    plan: Plan,
    /// The current step; `None` before the first move and after finishing.
    step: Option<usize>,
    /// When the current step began (after finishing: when all traffic moved).
    since: OffsetDateTime,
    /// How long each step's metrics settle after its bake (zero without
    /// metric gates).
    settle: Duration,
    /// After the final move: the last step's window, still judged.
    settling: Option<Settling>,
    /// The alias's provisioned concurrency, read once in this run.
    provisioned: Provisioned,
    /// Where the split lives, and how it is written.
    router: AnyRouter<'a>,
    /// How the router names itself and reaches each version.
    place: Place,
    moved: bool,
    /// The router's split is a step behind the release record (a crash
    /// between a two-write router's writes): the step is made again first.
    reapply: bool,
    /// The new version was seen `Active` (by this run or just before it):
    /// moves onto it need no check of its state ([`crate::deploy::ready`]).
    active: bool,
    /// No traffic has moved: the first move waits for `greenlight approve`
    /// (`[release] approval` lists its percentage), and the release record
    /// says so (`action=pending`).
    pending: bool,
    /// The percentages whose move waits for `greenlight approve`: the
    /// config's for a new release, the record's for one in progress.
    approval: Vec<u8>,
    /// The step whose hold the release record marks as told (`held=`).
    held_told: Option<usize>,
    /// The step whose wait for approval the release record marks as told
    /// (`waiting=`).
    waiting_told: Option<usize>,
    /// The approval the release record holds (`approved=`), if any.
    approved: Option<Box<Approved>>,
    /// Caught from the first alias write on; `None` while only reading, so
    /// `status` and `rollback` stay interruptible as usual.
    interrupts: Option<Interrupts>,
    report: ReleaseReport,
}

impl<'a> Run<'a> {
    /// A release of `version` through `router` that has not moved any
    /// traffic yet.
    pub fn start(
        ctx: Ctx<'a>,
        router: AnyRouter<'a>,
        version: &str,
        stable: &str,
        plan: Plan,
    ) -> Self {
        let place = router.place();
        let approval = ctx.config.release.approval.clone();
        let plan_text = plan_text(&plan, &place, &approval);
        Run {
            ctx,
            version: version.to_owned(),
            stable: stable.to_owned(),
            step: None,
            since: OffsetDateTime::now_utc(),
            settle: Duration::ZERO,
            settling: None,
            provisioned: Provisioned::default(),
            place,
            router,
            moved: false,
            reapply: false,
            active: false,
            pending: false,
            held_told: None,
            waiting_told: None,
            approved: None,
            interrupts: None,
            report: ReleaseReport {
                version: version.to_owned(),
                previous: Some(stable.to_owned()),
                plan: plan_text,
                ..Default::default()
            },
            approval,
            plan,
        }
    }

    /// This release with each step's metrics settling for `settle`.
    pub fn with_settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// This release at step `step` (an index into the plan's steps), which
    /// began at `since`.
    pub fn at_step(mut self, step: usize, since: OffsetDateTime) -> Self {
        self.step = Some(step);
        self.since = since;
        self
    }

    /// This release waiting, since `since`, for approval before its first
    /// move (read from an `action=pending` record).
    pub fn pending(mut self, since: OffsetDateTime) -> Self {
        self.pending = true;
        self.since = since;
        self
    }

    /// This release with what its `record` marks as told: a hold
    /// (`held=`) and a wait for approval (`waiting=`).
    pub fn told(mut self, record: &Record) -> Self {
        self.held_told = record.held;
        self.waiting_told = record.waiting;
        self.approved.clone_from(&record.approved);
        if record.approval != self.approval {
            self.ctx.ui.step(format_args!(
                "the release of version {} keeps the approvals it started with ({}); `[release] approval` now says {}, for the next release",
                self.version,
                approvals(&record.approval),
                approvals(&self.approval)
            ));
            self.approval.clone_from(&record.approval);
            self.report.plan = plan_text(&self.plan, &self.place, &self.approval);
        }
        self
    }

    /// The percent the move after `step` goes to (100 = finishing), when
    /// `[release] approval` makes it wait for `greenlight approve`.
    fn awaits_approval(&self, step: usize) -> Option<u8> {
        let approved = self.approved.as_ref().is_some_and(|a| a.step == step);
        self.needs_approval(step).filter(|_| !approved)
    }

    /// Before this run, having moved to `step` itself, stops to wait for
    /// approval: whether `greenlight approve` approved the move meanwhile
    /// (its write moved the place's `RevisionId`). The release record is
    /// read again ([`Router::reread_record`]); its approval is taken only
    /// when it is still this release at `step`, with the split as this run
    /// wrote it. Anything else is a changed release: the run stops as it
    /// would have, and its next write finds the change.
    async fn approved_meanwhile(&mut self, step: usize) -> bool {
        if !self.moved || self.ctx.is_dry() {
            return false;
        }
        let (version, stable) = (&self.version, &self.stable);
        let this_step = |r: &Record| {
            r.action == Action::Canary
                && r.version == *version
                && r.previous.as_ref() == Some(stable)
                && r.canary.as_ref().is_some_and(|c| c.step == step)
                && r.approved.as_ref().is_some_and(|a| a.step == step)
        };
        let split = Split::step(version, stable, &self.plan, step);
        let reread = self.router.reread_record(split, &this_step).await;
        let record = match reread {
            Ok(Some(record)) => record,
            Ok(None) => return false,
            Err(e) => {
                self.ctx.ui.detail(format_args!(
                    "the release record could not be read again for an approval: {}",
                    describe(&e)
                ));
                return false;
            }
        };
        if let Some(approved) = &record.approved {
            self.ctx.ui.step(format_args!(
                "the move was approved meanwhile by {} at {}",
                crate::outside::quote(&approved.by),
                approved.at
            ));
        }
        self.held_told = record.held;
        self.waiting_told = record.waiting;
        self.approved = record.approved;
        true
    }

    /// The percent the move after `step` goes to, when `[release]
    /// approval` lists it, approved or not.
    fn needs_approval(&self, step: usize) -> Option<u8> {
        let next = self.percents(step).1;
        self.approval.contains(&next).then_some(next)
    }

    /// The percent on the new version at `step`, and after the move that
    /// follows it (100 = finishing); while the release is pending (no
    /// move yet, `step` 0 in its record): 0, and the first move's.
    pub(super) fn percents(&self, step: usize) -> (u8, u8) {
        let steps = &self.plan.steps;
        if self.is_pending() {
            return (0, steps.first().copied().unwrap_or(100));
        }
        let here = steps.get(step).copied().unwrap_or(100);
        (here, steps.get(step + 1).copied().unwrap_or(100))
    }

    /// True while no traffic has moved and the first move waits for
    /// approval.
    pub(super) fn is_pending(&self) -> bool {
        self.pending && self.step.is_none()
    }

    /// This release with the router's split a step behind its record
    /// (`true`): the step is made again before anything else.
    pub fn behind(mut self, behind: bool) -> Self {
        self.reapply = behind;
        self
    }

    /// This finished release with its last step's metrics still settling.
    pub fn settling(mut self, last: Settling) -> Self {
        self.since = last.at;
        self.settling = Some(last);
        self
    }

    /// This release with the new version already seen `Active` (`true`),
    /// or to be checked before the next move onto it (`false`).
    pub fn known_active(mut self, active: bool) -> Self {
        self.active = active;
        self
    }

    /// Unless already seen, waits until the new version is `Active` before
    /// traffic moves onto it: refused when `Failed`, waited for when
    /// `Pending` or `Inactive` ([`crate::deploy::ready::until_active`]).
    async fn ensure_active(&mut self) -> Result<()> {
        if !self.active && !self.ctx.is_dry() {
            crate::deploy::ready::until_active(self.ctx, &self.version).await?;
            self.active = true;
        }
        Ok(())
    }

    /// After the final move, with metric gates: how long the last step's
    /// metrics are still judged.
    pub fn settle_left(&self) -> Duration {
        self.settling.map_or(Duration::ZERO, |last| last.left())
    }

    /// The version being released.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The version the rest of the traffic is on.
    pub fn stable(&self) -> &str {
        &self.stable
    }

    /// The current step (an index into the plan's steps), if one is under way.
    pub fn step(&self) -> Option<usize> {
        self.step
    }

    /// The release's plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The router that holds its split.
    pub fn into_router(self) -> AnyRouter<'a> {
        self.router
    }

    /// Moves traffic to step `step`, or finishes the release with `None`.
    async fn move_to(&mut self, step: Option<usize>) -> Result<()> {
        let (share, record, percent) = match step {
            Some(k) => (
                Some(self.plan.weight(k)),
                Record::canary(&self.version, &self.stable, k, &self.plan)
                    .with_settle(self.settle)
                    .with_approval(&self.approval),
                self.plan.steps[k],
            ),
            None => {
                // The last step's window is judged until it has settled.
                let last = self.step.map(|_| self.clock().window().0);
                let record = Record::now(Action::Release, &self.version, Some(&self.stable));
                let record = match last {
                    Some(from) => record.settling(from, self.settle),
                    None => record,
                };
                (None, record, 100)
            }
        };
        let split = Split {
            version: &self.version,
            stable: &self.stable,
            share,
            percent,
        };
        self.router.write(split, &record).await?;
        // What the record marked (a hold, a wait, an approval) was the
        // last position's; the new record starts without.
        self.pending = false;
        self.held_told = None;
        self.waiting_told = None;
        self.approved = None;
        let event = match (step, self.step) {
            (None, _) => Event::Released,
            (Some(_), None) => Event::Started,
            (Some(_), Some(_)) => Event::Step,
        };
        self.moved = true;
        let at = record.time().unwrap_or_else(OffsetDateTime::now_utc);
        self.settling = Settling::of(&record);
        self.step = step;
        self.since = at;
        self.report.moves.push(percent);
        tell::tell(self.ctx, self.change(event, percent, None)).await;
        Ok(())
    }

    /// The first move of the release, once the new version is `Active`
    /// and, with `[release] together`, every function is ready: why it
    /// must be undone, if it must. Nothing has moved if it fails.
    async fn make_first_move(&mut self) -> Result<Option<String>> {
        let first = (!self.plan.is_all_at_once()).then_some(0);
        self.ensure_active().await?;
        self.catch_interrupts();
        if let Err(Halt::Pause(why) | Halt::RollBack(why)) = self.fleet_turn(0).await {
            return Err(lockstep::not_released(&self.version, &why));
        }
        self.move_to(first).await?;
        Ok(self.in_effect().await.err())
    }

    /// Moves to `step` ([`Run::move_to`]) once traffic has moved before,
    /// and waits until the move is in effect: why it must be undone, if it
    /// must; a conflict (someone else moved the traffic) stops the run
    /// without writing further.
    async fn make_move(&mut self, step: Option<usize>) -> Result<Option<String>> {
        match self.move_to(step).await {
            Ok(()) => {}
            Err(e) if e.failure == Failure::Conflict => return Err(e),
            Err(e) => return Ok(Some(format!("moving traffic failed: {}", describe(&e)))),
        }
        Ok(self.in_effect().await.err())
    }

    /// From the first move on, SIGINT and SIGTERM roll back instead of
    /// ending the process; a dry run, which never waits, leaves them be.
    fn catch_interrupts(&mut self) {
        if !self.ctx.is_dry() {
            self.interrupts.get_or_insert_with(Interrupts::catch);
        }
    }

    /// Waits until the last move is in effect for users (see
    /// `Router::in_effect` and `Router::caching`), watching interrupts and
    /// alarms; why it must be undone otherwise. Nothing in a dry run.
    async fn in_effect(&mut self) -> std::result::Result<(), String> {
        if self.ctx.is_dry() {
            return Ok(());
        }
        let (ctx, version) = (self.ctx, self.version.as_str());
        let done = watch::until(&mut self.interrupts, ctx, version, self.router.in_effect()).await;
        done.map_err(|s| self.stopped(s))?
            .map_err(|e| describe(&e))?;
        let caching = self.router.caching();
        if caching.is_zero() {
            return Ok(());
        }
        self.pause_for(caching).await
    }

    /// The canary under watch: the step under way, or after the final
    /// move the last step, until its metrics have settled.
    fn canary(&self) -> Option<Canary<'_>> {
        let window = match (self.step, self.settling) {
            (Some(_), _) => Some(self.clock().window()),
            (None, Some(last)) if !last.left().is_zero() => Some((last.from, Some(last.at))),
            (None, _) => None,
        };
        window.map(|(since, until)| Canary {
            version: &self.version,
            via: &self.place.via,
            stable: &self.stable,
            stable_via: &self.place.stable_via,
            since,
            until,
            provisioned: &self.provisioned,
        })
    }

    /// Checks every gate, racing interrupts; why they are red, if they are.
    async fn red_gate(&mut self) -> Option<String> {
        if self.ctx.is_dry() {
            self.planned_gates();
            return None;
        }
        let mut interrupts = self.interrupts.take().unwrap_or_else(Interrupts::catch);
        // The smoke tests go through the alias that reaches the new version.
        let through;
        let ctx = if self.place.via == self.ctx.alias() {
            self.ctx
        } else {
            let mut config = self.ctx.config.clone();
            config.function.alias.clone_from(&self.place.via);
            through = config;
            Ctx {
                config: &through,
                ..self.ctx
            }
        };
        let pending = self.is_pending();
        let checked = {
            let canary = self.canary();
            // Before the first move the alias reaches only the stable
            // version, so no smoke test runs through it: the alarms alone.
            let gates = async {
                match pending {
                    true => gates::read(ctx, &self.version, None).await,
                    false => gates::check(ctx, &self.version, canary.as_ref()).await,
                }
            };
            tokio::select! {
                checked = gates => Ok(checked),
                signal = interrupts.recv() => Err(format!("interrupted by {signal}")),
            }
        };
        self.interrupts = Some(interrupts);
        match checked {
            Ok(Ok(check)) => {
                let why = check.failure();
                self.report.gates = Some(check);
                why
            }
            Ok(Err(e)) => Some(format!("the gates could not be checked: {}", describe(&e))),
            Err(interrupted) => Some(interrupted),
        }
    }

    /// For `status`, once the step's wait is over: the gates' reads that
    /// decide whether `promote` moves on or holds ([`gates::read`]; no
    /// smoke test is run), so [`Run::position`] says what it would do.
    pub async fn read_gates(&mut self) -> Result<()> {
        if self.step.is_none() || !self.clock().wait_left().is_zero() {
            return Ok(());
        }
        let read = {
            let canary = self.canary();
            gates::read(self.ctx, &self.version, canary.as_ref()).await?
        };
        self.report.gates = Some(read);
        Ok(())
    }

    /// In a dry run, what the gates would be checked for at this point:
    /// before a release in progress moves on, and after the final move (the
    /// gates after a step are said with its bake, [`Run::planned_wait`]).
    fn planned_gates(&self) {
        let ctx = self.ctx;
        let alarms = &ctx.config.release.alarms;
        if self.is_pending() {
            // Before the first move, the alarms alone (see `red_gate`).
            if !alarms.is_empty() {
                ctx.dry_then(format_args!(
                    "alarms {} checked first; red ends the release with all traffic still on version {}",
                    alarms.join(", "),
                    self.stable
                ));
            }
        } else if !self.moved {
            ctx.dry_then(format_args!(
                "gates checked first: {}; red rolls back to version {}",
                dry_run::gates(ctx, true),
                self.stable
            ));
        } else if self.step.is_none() {
            ctx.dry_then(format_args!(
                "then {}; a failure rolls back",
                dry_run::gates(ctx, false)
            ));
        }
    }

    /// In a dry run, the wait `left` of the step under way (at `step`),
    /// said instead of waited: true when the run would end there (without
    /// `wait`), otherwise the wait counts as over.
    fn planned_wait(&mut self, step: usize, left: Duration, wait: bool) -> bool {
        let ctx = self.ctx;
        let bake = clock::describe(self.plan.bake, self.settle);
        let gates = dry_run::gates(ctx, true);
        if self.moved && !wait {
            ctx.dry_then(format_args!(
                "then exit; `greenlight promote` continues after a {bake} bake with green gates ({gates})"
            ));
            return true;
        }
        if self.moved {
            ctx.dry_then(format_args!("bake {bake}, watching {gates}"));
        } else {
            ctx.dry_then(format_args!(
                "step {} of {} at {} % {} {} more{}",
                step + 1,
                self.plan.steps.len(),
                self.plan.steps.get(step).copied().unwrap_or(100),
                self.clock().waiting(),
                humantime::format_duration(Duration::from_secs(left.as_secs())),
                if wait { "" } else { ": nothing moves now" }
            ));
            if !wait {
                return true;
            }
        }
        // The wait is over, as it would be after waiting it.
        self.since -= left;
        false
    }

    /// Waits `length`, watching the alarms ([`watch::pause`]); nothing in a
    /// dry run.
    async fn pause_for(&mut self, length: Duration) -> std::result::Result<(), String> {
        if self.ctx.is_dry() {
            return Ok(());
        }
        let waited = watch::pause(&mut self.interrupts, self.ctx, &self.version, length).await;
        waited.map_err(|s| self.stopped(s))
    }

    /// Why a wait stopped; an alarm read that stopped it becomes the
    /// report's gates, as the evidence for the rollback.
    fn stopped(&mut self, stopped: watch::Stopped) -> String {
        if let Some(read) = stopped.read {
            self.report.gates = Some(read);
        }
        stopped.why
    }

    /// With `[release] together`: waits, watching the gates once a step is
    /// under way, until every function is ready for move `n`.
    async fn fleet_turn(&mut self, n: usize) -> std::result::Result<(), Halt> {
        let (fleet, ui) = (self.ctx.fleet, self.ctx.ui);
        if self.ctx.is_dry() {
            return Ok(());
        }
        let interval = check_interval(self.plan.bake);
        lockstep::await_turn(fleet, n, ui, async || {
            if let Err(why) = self.pause_for(interval).await {
                return Some(why);
            }
            if self.step.is_some() {
                self.red_gate().await
            } else {
                None
            }
        })
        .await
    }

    /// When the move after `step` (while pending: the first move) waits
    /// for `greenlight approve` and no approval was written meanwhile
    /// ([`Run::approved_meanwhile`]): says so, tells `[[notify]]` once, and
    /// returns true (the run ends there).
    async fn wait_for_approval(&mut self, step: usize) -> bool {
        let Some(percent) = self.awaits_approval(step) else {
            return false;
        };
        if self.approved_meanwhile(step).await {
            return false;
        }
        if self.ctx.is_dry() {
            self.ctx.dry_then(format_args!(
                "then wait for approval: `greenlight approve` moves to {percent} % (the gates are still checked meanwhile)"
            ));
        } else {
            self.ctx.ui.step(format_args!(
                "waiting for approval to move to {percent} %: run `greenlight approve`"
            ));
            self.tell_waiting(step).await;
        }
        true
    }

    /// Why the metrics could not judge the new version at the last check.
    fn held(&self) -> Option<&str> {
        self.report.gates.as_ref()?.held()
    }

    /// The current step's clock: its bake, then its metrics' settle time.
    pub fn clock(&self) -> StepClock {
        StepClock {
            since: self.since,
            bake: self.plan.bake,
            settle: self.settle,
            carries: self.step.is_some_and(|k| k > 0),
        }
    }

    /// Puts all traffic back on the stable version and reports why. When
    /// another run's rollback of this release landed first, that one
    /// stands (and was told by it): reported alike, told nothing.
    async fn roll_back(mut self, why: String) -> Result<ReleaseReport> {
        let restored = (self.router)
            .restore(&self.stable, &self.version, Why::Red(&why))
            .await;
        let by_another = restored.is_err()
            && self
                .router
                .restored_by_another(&self.stable, &self.version)
                .await;
        if !by_another {
            self.tell_rollback(&why, restored.as_ref().err()).await;
            restored?;
        }
        self.report.rolled_back = Some(why);
        self.report.in_progress = None;
        Ok(self.report)
    }

    /// Where the release stands, if it is in progress.
    pub fn position(&self) -> Option<InProgress> {
        if self.is_pending() {
            return Some(self.pending_position());
        }
        let step = self.step?;
        let approved = self.approved.as_ref().filter(|a| a.step == step);
        let approval = match (self.needs_approval(step), approved) {
            (Some(_), Some(a)) => format!(" (approved at {})", a.at),
            (Some(_), None) => " and the move is approved (`greenlight approve`)".to_owned(),
            (None, _) => String::new(),
        };
        let clock = self.clock();
        let mut at = standing(
            &self.version,
            &self.plan,
            step,
            &clock,
            self.held(),
            &approval,
        );
        let waited = at.bake_left_secs == 0 && at.settle_left_secs == 0;
        let held = at.held.is_some();
        if let Some(percent) = self.awaits_approval(step).filter(|_| waited && !held) {
            at.next = format!(
                "move to {percent} % once approved (`greenlight approve`), if the gates are green"
            );
            at.waiting_for_approval = Some(percent);
            let since = clock.since + clock.bake.saturating_add(clock.settle);
            at.waiting_since = since.format(&Rfc3339).ok();
        }
        Some(at)
    }

    /// Where a release pending approval before its first move stands:
    /// step 0, no traffic on the new version.
    fn pending_position(&self) -> InProgress {
        let (_, first) = self.percents(0);
        let waiting = self.awaits_approval(0);
        let when = match waiting {
            Some(_) => "once approved (`greenlight approve`)",
            None => "now",
        };
        InProgress {
            version: self.version.clone(),
            step: 0,
            of: self.plan.steps.len(),
            percent: 0,
            bake_left_secs: 0,
            settle_left_secs: 0,
            next: format!("move to {first} % {when}, if the gates are green"),
            held: None,
            waiting_for_approval: waiting,
            waiting_since: waiting.and_then(|_| self.since.format(&Rfc3339).ok()),
        }
    }

    /// The report of a run that leaves the release in progress (or, after
    /// the final move, the last step's metrics still settling).
    fn pause(mut self) -> ReleaseReport {
        self.report.in_progress = self.position();
        self.report.settle_left_secs = self
            .settling
            .filter(|_| self.step.is_none())
            .map(|last| whole_seconds(last.left()))
            .filter(|left| *left > 0);
        self.report
    }
}

/// The plan of a release in words for its report: its steps, the way
/// the traffic moves, and the moves that wait for approval.
fn plan_text(plan: &Plan, place: &Place, approval: &[u8]) -> String {
    let mut text = match &place.route {
        Some(route) => format!("{plan}, {route}"),
        None => plan.to_string(),
    };
    if !approval.is_empty() {
        text.push_str(&format!(", approval before {}", approvals(approval)));
    }
    text
}

/// Percentages whose move waits for approval, e.g. "50 %, 100 %", or
/// "none".
fn approvals(approval: &[u8]) -> String {
    if approval.is_empty() {
        return "none".to_owned();
    }
    let listed: Vec<String> = approval.iter().map(|p| format!("{p} %")).collect();
    listed.join(", ")
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Where the release of `version` at `step` (an index into `plan`'s steps) stands on its
/// `clock` (or `held` after it, for want of gates that can judge), and what
/// `promote` does next; `approval` is said after when the move is made
/// (empty when it needs no approval). Shared by alias and DNS releases.
pub fn standing(
    version: &str,
    plan: &Plan,
    step: usize,
    clock: &StepClock,
    held: Option<&str>,
    approval: &str,
) -> InProgress {
    let (bake, settle) = (clock.bake_left(), clock.settle_left());
    let waited = bake.is_zero() && settle.is_zero();
    // Only a step whose wait is over holds; before that, it bakes.
    let held = held.filter(|_| waited);
    let target = match plan.steps.get(step + 1) {
        Some(p) => format!("move to {p} %"),
        None => "finish at 100 %".to_owned(),
    };
    let when = if held.is_some() {
        "once the gates can judge the new version"
    } else if waited {
        "now"
    } else if settle.is_zero() {
        "once the bake is over"
    } else {
        "once the bake is over and its metrics have settled"
    };
    InProgress {
        version: version.to_owned(),
        step: step + 1,
        of: plan.steps.len(),
        percent: plan.steps.get(step).copied().unwrap_or(100),
        bake_left_secs: whole_seconds(bake),
        settle_left_secs: whole_seconds(settle),
        next: format!("{target} {when}{approval}, if the gates are green"),
        held: held.map(str::to_owned),
        waiting_for_approval: None,
        waiting_since: None,
    }
}

/// Makes the first move of a new release, then drives it. A panic on the
/// way still ends in the rollback path ([`unexpected::end_release`]).
pub async fn begin(run: Run<'_>, wait: bool) -> Result<ReleaseReport> {
    let (ctx, router, version) = (run.ctx, run.router.clone(), run.version.clone());
    // Boxed: the loop's future is large, and a thread's stack is small.
    match unexpected::catching(Box::pin(first_move(run, wait))).await {
        Ok(done) => done,
        Err(panic) => Err(Box::pin(after_panic(ctx, router, &version, &panic)).await),
    }
}

/// Drives a release: with `wait` to its end, otherwise until it has made one
/// move or found the current bake unfinished. A panic on the way still ends
/// in the rollback path.
pub async fn drive(run: Run<'_>, wait: bool) -> Result<ReleaseReport> {
    let (ctx, router, version) = (run.ctx, run.router.clone(), run.version.clone());
    match unexpected::catching(Box::pin(steps(run, wait))).await {
        Ok(done) => done,
        Err(panic) => Err(Box::pin(after_panic(ctx, router, &version, &panic)).await),
    }
}

/// `greenlight approve`: records in the release record (conditionally)
/// that the move the release waits for is approved `by` someone, then
/// drives it as `promote` does: the move is made when the bake is over and
/// the gates are green. Approving again is harmless; approving a release
/// whose next move needs no approval is an error (exit 1), and so is
/// approving the release of another version than the approver meant
/// (`approve --version N`), before anything is written.
pub async fn approve(mut run: Run<'_>, by: &Approver) -> Result<ReleaseReport> {
    // A pending release's wait is marked at step 0 in its record.
    let Some(step) = run.step.or(run.is_pending().then_some(0)) else {
        return Err(nothing_waits(run.ctx));
    };
    if let Some(meant) = by.version().filter(|v| *v != run.version) {
        return Err(Error::no_traffic_moved(format!(
            "the release in progress is of version {}, not version {meant}: nothing was approved",
            run.version
        ))
        .with_hint(format!(
            "a rollback and a new release came in between? `greenlight status` shows where it stands; approve with --version {} if that release is meant",
            run.version
        )));
    }
    let next = run.percents(step).1;
    let Some(percent) = run.needs_approval(step) else {
        return Err(Error::no_traffic_moved(format!(
            "the release of version {} does not wait for approval: its next move, to {next} %, is not listed in `[release] approval`",
            run.version
        ))
        .with_hint("`greenlight promote` makes it once the bake is over and the gates are green"));
    };
    match run.approved.as_ref().filter(|a| a.step == step) {
        Some(done) => run.ctx.ui.step(format_args!(
            "the move to {percent} % was already approved by {} at {}",
            crate::outside::quote(&done.by),
            done.at
        )),
        None => {
            let by = by.recorded(run.ctx.ui.redactor());
            let approved = Box::new(Approved::now(step, &by));
            run.ctx.dry_then(format_args!(
                "record in the release record: the move to {percent} % approved by {} at {}",
                approved.by, approved.at
            ));
            run.mark(step, |r| r.approved = Some(approved.clone()))
                .await?;
            run.ctx.ui.step(format_args!(
                "approved the move to {percent} % by {} at {}",
                approved.by, approved.at
            ));
            run.approved = Some(approved);
            // Only the approve whose conditional write won gets here.
            run.tell_approved(step).await;
        }
    }
    drive(run, false).await
}

/// The error for `greenlight approve` with no release in progress (exit 1).
pub fn nothing_waits(ctx: Ctx<'_>) -> Error {
    Error::no_traffic_moved(format!(
        "nothing waits for approval: no release is in progress on alias {}",
        ctx.alias()
    ))
    .with_hint("`greenlight status` shows where the last release stands")
}

/// After a panic in the release of `version`: roll back if traffic moved
/// (`router` gives `version` any share), as `rollback` does.
async fn after_panic(ctx: Ctx<'_>, router: AnyRouter<'_>, version: &str, panic: &str) -> Error {
    // Unknown: assume the worst.
    let moved = router.serves(version).await.unwrap_or(true);
    let place = router.place().name;
    let rollback = |why| crate::release::rollback::rollback(ctx, Some(why));
    unexpected::end_release(panic, version, &place, moved, rollback).await
}

async fn first_move(mut run: Run<'_>, wait: bool) -> Result<ReleaseReport> {
    // Nothing has moved yet: the release is pending, and stays so (in its
    // record) when its first move waits for approval.
    run.pending = true;
    if run.awaits_approval(0).is_some() {
        // No traffic moves before someone approves: the record says the
        // release is pending (conditionally, over the alias as read).
        run.mark(0, |_| {}).await?;
        return steps(run, wait).await;
    }
    if let Some(why) = run.make_first_move().await? {
        return run.roll_back(why).await;
    }
    steps(run, wait).await
}

async fn steps(mut run: Run<'_>, wait: bool) -> Result<ReleaseReport> {
    run.catch_interrupts();
    if let (true, Some(step)) = (run.reapply, run.step) {
        // A crash left the step's record without its split: make the step
        // again (its record, then its split), as promised.
        run.reapply = false;
        run.ctx.ui.step(format_args!(
            "the weights are a step behind the release record: setting step {} again",
            step + 1
        ));
        if let Some(why) = run.make_move(Some(step)).await? {
            return run.roll_back(why).await;
        }
    }
    // The bar for the bake (or settle) under way, and the spinner for a step
    // held for want of gates that can judge, with the step each belongs to.
    let mut waiting: Option<((Option<usize>, bool), Activity)> = None;
    let mut holding: Option<(usize, Activity)> = None;
    loop {
        if let Some(why) = run.red_gate().await {
            return run.roll_back(why).await;
        }
        if run.is_pending() {
            if run.wait_for_approval(0).await {
                return Ok(run.pause());
            }
            if let Some(why) = run.make_first_move().await? {
                return run.roll_back(why).await;
            }
            continue;
        }
        let Some(step) = run.step else {
            // Finished: the last step's metrics are judged until they settle.
            let left = run.settling.map_or(Duration::ZERO, |last| last.left());
            if !left.is_zero() && run.moved {
                run.ctx.dry_then(format_args!(
                    "then the last step's metrics are judged for {} more as they settle; red rolls back",
                    humantime::format_duration(run.settle)
                ));
            }
            if left.is_zero() || !wait || run.ctx.is_dry() {
                return Ok(run.pause());
            }
            if waiting.as_ref().is_none_or(|(at, _)| *at != (None, true)) {
                let bar = run
                    .ctx
                    .ui
                    .countdown("judging the last step's metrics as they settle", left);
                waiting = Some(((None, true), bar));
            }
            if let Err(why) = run.pause_for(check_interval(run.plan.bake).min(left)).await {
                return run.roll_back(why).await;
            }
            continue;
        };
        let clock = run.clock();
        let left = clock.wait_left();
        // The wait is over, but the gates cannot judge yet: hold the step.
        let held = left.is_zero() && run.held().is_some();
        if run.ctx.is_dry() && !left.is_zero() {
            if run.planned_wait(step, left, wait) {
                return Ok(run.pause());
            }
            continue;
        }
        let hold_is_over = held && clock.hold_is_over(run.ctx.config.release.metrics.max_hold);
        if held && (!wait || hold_is_over) {
            run.tell_hold(step).await;
        }
        if !wait && (run.moved || !left.is_zero() || held) {
            return Ok(run.pause());
        }
        if hold_is_over {
            return Ok(run.pause());
        }
        if !left.is_zero() || held {
            let percent = run.plan.steps.get(step).copied().unwrap_or(100);
            let pause = check_interval(run.plan.bake);
            let pause = if held {
                if holding.as_ref().is_none_or(|(at, _)| *at != step) {
                    run.ctx.ui.step(format_args!(
                        "holding at {percent} %: {}",
                        run.held().unwrap_or_default()
                    ));
                    let spinner = run
                        .ctx
                        .ui
                        .spinner("waiting until the gates can judge the new version");
                    holding = Some((step, spinner));
                }
                pause
            } else {
                let baking = clock.bake_left();
                let settling = baking.is_zero();
                if waiting
                    .as_ref()
                    .is_none_or(|(at, _)| *at != (Some(step), settling))
                {
                    let bar = if settling {
                        run.ctx.ui.countdown(
                            format_args!("letting the metrics of the step at {percent} % settle"),
                            left,
                        )
                    } else {
                        run.ctx.ui.countdown(
                            format_args!("baking at {percent} % on the new version"),
                            baking,
                        )
                    };
                    waiting = Some(((Some(step), settling), bar));
                }
                run.ctx
                    .ui
                    .detail(format_args!("baking: {}s left", left.as_secs()));
                pause.min(if settling { left } else { baking })
            };
            if let Err(why) = run.pause_for(pause).await {
                return run.roll_back(why).await;
            }
            continue;
        }
        // Baked with green gates: the next move may wait for a person.
        if run.wait_for_approval(step).await {
            return Ok(run.pause());
        }
        if let Err(e) = run.ensure_active().await {
            // Nothing more moves onto it; what this run moved is undone.
            if run.moved {
                let why = format!(
                    "version {} cannot take more traffic: {}",
                    run.version,
                    describe(&e)
                );
                return run.roll_back(why).await;
            }
            return Err(e);
        }
        match run.fleet_turn(step + 1).await {
            Ok(()) => {}
            Err(Halt::Pause(why)) => {
                run.ctx.ui.step(format_args!("not moving: {why}"));
                return Ok(run.pause());
            }
            Err(Halt::RollBack(why)) => return run.roll_back(why).await,
        }
        let next = (step + 1 < run.plan.steps.len()).then_some(step + 1);
        if let Some(why) = run.make_move(next).await? {
            return run.roll_back(why).await;
        }
    }
}

fn describe(e: &Error) -> String {
    match &e.cause {
        Some(cause) => format!("{} ({cause})", e.message),
        None => e.message.clone(),
    }
}

mod notices;
#[cfg(test)]
mod tests;
