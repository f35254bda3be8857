//! The engine's state changes told to `[[notify]]` ([`crate::release::tell`]):
//! what a change says, a hold marked once in the release record, and a
//! rollback told after its restore.

use time::format_description::well_known::Rfc3339;

use crate::config::notify::Event;
use crate::error::Error;
use crate::record::Record;
use crate::release::engine::{Run, describe};
use crate::release::routers::{Router, Split};
use crate::release::tell::{self, Change};

impl Run<'_> {
    /// This release's state change `event`, with `percent` on the new
    /// version after it, for `[[notify]]`.
    pub(super) fn change<'c>(
        &'c self,
        event: Event,
        percent: u8,
        reason: Option<&'c str>,
    ) -> Change<'c> {
        Change {
            event,
            version: &self.version,
            stable: &self.stable,
            step: self.step,
            plan: Some(&self.plan).filter(|p| !p.is_all_at_once()),
            percent,
            reason,
        }
    }

    /// Once per hold at `step`, when `[[notify]]` hears of holds: marks it
    /// in the release record (`held=<step>`, [`Run::mark_told`]), then
    /// tells `held`. A runner whose write loses tells nothing: another one did.
    pub(super) async fn tell_hold(&mut self, step: usize) {
        if self.held_told == Some(step) || !self.ctx.notify.wants(Event::Held) {
            return;
        }
        if self.mark_told(step, Event::Held).await {
            self.held_told = Some(step);
            let why = self.held().map(str::to_owned);
            let percent = self.plan.steps[step];
            tell::tell(self.ctx, self.change(Event::Held, percent, why.as_deref())).await;
        }
    }

    /// Once per wait for approval after `step`, when `[[notify]]` hears of
    /// it: marks it in the release record (`waiting=<step>`), then tells
    /// `waiting_for_approval`, with the percent the approval moves to.
    pub(super) async fn tell_waiting(&mut self, step: usize) {
        let event = Event::WaitingForApproval;
        if self.waiting_told == Some(step) || !self.ctx.notify.wants(event) {
            return;
        }
        if self.mark_told(step, event).await {
            self.waiting_told = Some(step);
            let next = self.plan.steps.get(step + 1).copied().unwrap_or(100);
            let why = format!("waiting for approval to move to {next} %");
            let percent = self.plan.steps[step];
            tell::tell(self.ctx, self.change(event, percent, Some(&why))).await;
        }
    }

    /// Marks `event` told at `step` in the release record ([`Run::mark`]).
    /// False when the write failed: then nothing is told.
    async fn mark_told(&mut self, step: usize, event: Event) -> bool {
        let marked = self
            .mark(step, |record| match event {
                Event::WaitingForApproval => record.waiting = Some(step),
                _ => record.held = Some(step),
            })
            .await;
        if let Err(e) = marked {
            self.ctx.ui.detail(format_args!(
                "`{event}` was not marked in the release record, so it is not told: {}",
                describe(&e)
            ));
            return false;
        }
        true
    }

    /// Writes the split at `step` again with its release record changed by
    /// `change`, keeping what the record marks at that step (told holds
    /// and waits, an approval); conditionally, so of runners marking the
    /// same thing at once one write wins.
    pub(super) async fn mark(
        &mut self,
        step: usize,
        change: impl FnOnce(&mut Record),
    ) -> crate::error::Result<()> {
        let mut record =
            Record::canary(&self.version, &self.stable, step, &self.plan).with_settle(self.settle);
        record.at = self.since.format(&Rfc3339).unwrap_or(record.at);
        record.held = self.held_told.filter(|k| *k == step);
        record.waiting = self.waiting_told.filter(|k| *k == step);
        record.approved = self.approved.clone().filter(|a| a.step == step);
        change(&mut record);
        let split = Split::step(&self.version, &self.stable, &self.plan, step);
        self.router.write(split, &record).await
    }

    /// After the restore that undid this release for `why`: tells
    /// `rolled_back`, or `rollback_failed` when the restore `failed`.
    pub(super) async fn tell_rollback(&mut self, why: &str, failed: Option<&Error>) {
        let (event, percent, reason) = match failed {
            None => (Event::RolledBack, 0, why.to_owned()),
            Some(e) => {
                let share = self.step.map_or(100, |k| self.plan.steps[k]);
                let reason = format!("{why}; then the rollback failed: {}", describe(e));
                (Event::RollbackFailed, share, reason)
            }
        };
        self.step = None;
        tell::tell(self.ctx, self.change(event, percent, Some(&reason))).await;
    }
}
