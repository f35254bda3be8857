//! `[release] together = true`: the functions of a fleet move traffic in
//! lockstep, as one service.
//!
//! Each function's release says, before each move, that it is ready to
//! make it ([`Member::ready`]); the move happens only once every function
//! still releasing is ready for it. A function that fails (smoke test, red
//! gate, error, interrupt) fails the fleet: the others roll back, or do not
//! start moving. A function that stops without being ready (`promote` found
//! its bake unfinished, or it is held for want of traffic) keeps the others
//! from moving past the step it is at, but lets those behind it make the
//! moves it has made: a fleet left a step apart (a crash between two
//! functions' moves) is levelled by the next run, while the bakes of those
//! ahead go on. A function with nothing to release, or whose release
//! finished, is out of the count.
//!
//! The board lives in this process: `ship`/`release` waiting for the whole
//! plan move together, and each scheduled `promote` run moves every
//! function one step, or none but those catching up.
//!
//! May import: `ui` and the base modules only (the context carries a
//! function's place on the board, so this sits below it).

use std::collections::BTreeMap;

use tokio::sync::watch;

/// How a function's run ended, for the others.
#[derive(Debug, Clone, PartialEq)]
pub enum Left {
    /// Finished its release, or had nothing to release.
    Done,
    /// Left its release in progress (paused or held) after making move
    /// `n` (0 is the first); why.
    Stopped(usize, String),
    /// Failed; why.
    Failed(String),
}

/// What a function ready to make a move does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    /// Every function is ready: move.
    Go,
    /// Others are not ready yet: wait for a change of the board (the number
    /// is the board's version, for [`Member::changed`]).
    Wait(u64),
    /// Another function stopped before this move: stop here too; why.
    Stop(String),
    /// Another function failed: roll back (or do not start); why.
    Fail(String),
}

/// What every function has said so far.
#[derive(Debug, Default)]
struct Board {
    /// The functions still counted (by their place in the fleet: one name
    /// may be used in two regions), each with the move it is ready to make
    /// (once it stopped: the last move it made).
    ready: BTreeMap<usize, Option<usize>>,
    /// The functions that stopped: the last move each made, and why.
    stopped: BTreeMap<usize, (usize, String)>,
    /// The first function that failed, and why.
    failed: Option<String>,
    /// Bumped on every change.
    version: u64,
}

/// The shared board of one fleet run.
#[derive(Debug)]
pub struct Lockstep {
    board: watch::Sender<Board>,
}

impl Lockstep {
    /// A board on which each of `count` functions is counted, none ready.
    pub fn new(count: usize) -> Self {
        let ready = (0..count).map(|i| (i, None)).collect();
        Lockstep {
            board: watch::Sender::new(Board {
                ready,
                ..Board::default()
            }),
        }
    }

    /// The place of function number `index` of the fleet, named `name`
    /// (for what the others are told).
    pub fn member<'a>(&'a self, index: usize, name: &'a str) -> Member<'a> {
        Member {
            board: &self.board,
            index,
            name,
        }
    }
}

/// One function's place on the [`Lockstep`] board.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    board: &'a watch::Sender<Board>,
    index: usize,
    name: &'a str,
}

impl Member<'_> {
    /// Says this function is ready to make move `n` (0 is the first move;
    /// the plan's step count is the final one), and whether the fleet is.
    pub fn ready(&self, n: usize) -> Turn {
        // Only a change wakes the others (saying it again would wake them
        // for nothing, and their answers would wake this one).
        self.board
            .send_if_modified(|b| match b.ready.get_mut(&self.index) {
                Some(at) if *at != Some(n) => {
                    *at = Some(n);
                    b.version += 1;
                    true
                }
                _ => false,
            });
        let board = self.board.borrow();
        if let Some(why) = &board.failed {
            return Turn::Fail(why.clone());
        }
        // A function that stopped after this move was made counts as ready.
        if board.ready.values().all(|at| at.is_some_and(|at| at >= n)) {
            return Turn::Go;
        }
        // One that stopped before it will not make it in this run.
        match board.stopped.values().find(|(made, _)| *made < n) {
            Some((_, why)) => Turn::Stop(why.clone()),
            None => Turn::Wait(board.version),
        }
    }

    /// Takes this function off the board: out of the count when `Done`; a
    /// stop or a failure is told to the others.
    pub fn leave(&self, how: Left) {
        let (index, name) = (self.index, self.name);
        self.board.send_modify(|b| {
            match how {
                Left::Done => {
                    b.ready.remove(&index);
                }
                Left::Stopped(made, why) => {
                    // It has made that move (maybe in an earlier run): one
                    // left behind by a crash may still make it to catch up.
                    b.ready.insert(index, Some(made));
                    let why = format!("function {name} stopped: {why}");
                    b.stopped.insert(index, (made, why));
                }
                Left::Failed(why) => {
                    b.ready.remove(&index);
                    b.failed
                        .get_or_insert_with(|| format!("function {name} failed: {why}"));
                }
            }
            b.version += 1;
        });
    }

    /// Resolves once the board has changed since version `seen`.
    pub async fn changed(&self, seen: u64) {
        let mut board = self.board.subscribe();
        // The sender outlives every member, so this cannot fail.
        let _ = board.wait_for(|b| b.version != seen).await;
    }

    /// Resolves, with why, once another function has failed.
    pub async fn failure(&self) -> String {
        let mut board = self.board.subscribe();
        match board.wait_for(|b| b.failed.is_some()).await {
            Ok(b) => b.failed.clone().unwrap_or_default(),
            Err(_) => std::future::pending().await,
        }
    }
}

/// Why a function does not make its next move.
#[derive(Debug, Clone, PartialEq)]
pub enum Halt {
    /// Another function stopped before it: leave the release where it is.
    Pause(String),
    /// This function's gates went red, or another function failed: traffic
    /// goes back.
    RollBack(String),
}

/// Waits until every function of `fleet` is ready to make move `n` (at
/// once without a fleet). Meanwhile `watch` runs again and again: it
/// pauses (a gate check interval, racing interrupts) and checks the gates,
/// giving why they are red.
pub async fn await_turn(
    fleet: Option<Member<'_>>,
    n: usize,
    ui: &crate::ui::Ui,
    mut watch: impl AsyncFnMut() -> Option<String>,
) -> Result<(), Halt> {
    let Some(member) = fleet else { return Ok(()) };
    let mut told = false;
    loop {
        match member.ready(n) {
            Turn::Go => return Ok(()),
            Turn::Stop(why) => return Err(Halt::Pause(why)),
            Turn::Fail(why) => return Err(Halt::RollBack(why)),
            Turn::Wait(seen) => {
                if !told {
                    ui.step("ready for the next move; waiting for the other functions");
                    told = true;
                }
                tokio::select! {
                    () = member.changed(seen) => {}
                    red = watch() => if let Some(why) = red {
                        return Err(Halt::RollBack(why));
                    },
                }
            }
        }
    }
}

/// The error of a function whose first move was called off because `why`
/// (another function failed): exit 1, nothing moved.
pub fn not_released(version: &str, why: &str) -> crate::error::Error {
    crate::error::Error::no_traffic_moved(format!("version {version} was not released: {why}"))
        .with_hint(
            "with `[release] together` the functions move together; fix that function and ship again",
        )
}

/// Resolves with why once another function of `fleet` has failed; never
/// without a fleet.
pub async fn failure(fleet: Option<Member<'_>>) -> String {
    match fleet {
        Some(member) => member.failure().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_goes_only_once_every_function_is_ready_for_it() {
        let fleet = Lockstep::new(3);
        let (a, b, c) = (
            fleet.member(0, "a"),
            fleet.member(1, "b"),
            fleet.member(2, "c"),
        );
        assert!(matches!(a.ready(0), Turn::Wait(_)));
        assert!(matches!(b.ready(0), Turn::Wait(_)));
        c.leave(Left::Done);
        assert_eq!(b.ready(0), Turn::Go);
        assert_eq!(a.ready(0), Turn::Go);
        assert!(matches!(a.ready(1), Turn::Wait(_)));
    }

    #[test]
    fn a_failure_fails_the_rest_and_a_stop_before_the_move_stops_them() {
        let fleet = Lockstep::new(2);
        let (a, b) = (fleet.member(0, "a"), fleet.member(1, "b"));
        b.leave(Left::Stopped(0, "its bake is not over".into()));
        assert_eq!(
            a.ready(1),
            Turn::Stop("function b stopped: its bake is not over".into())
        );
        let fleet = Lockstep::new(2);
        let (a, b) = (fleet.member(0, "a"), fleet.member(1, "b"));
        assert_eq!(b.ready(2), Turn::Wait(1));
        assert_eq!(b.ready(2), Turn::Wait(1), "saying it again changes nothing");
        b.leave(Left::Failed("smoke test `echo` failed".into()));
        assert_eq!(
            a.ready(2),
            Turn::Fail("function b failed: smoke test `echo` failed".into())
        );
    }

    #[test]
    fn a_function_that_stopped_after_the_move_still_lets_the_others_make_it() {
        let fleet = Lockstep::new(2);
        let (a, b) = (fleet.member(0, "a"), fleet.member(1, "b"));
        assert!(matches!(a.ready(0), Turn::Wait(_)));
        assert_eq!(b.ready(0), Turn::Go);
        b.leave(Left::Stopped(0, "in progress".into()));
        assert_eq!(a.ready(0), Turn::Go);
    }

    #[test]
    fn functions_that_stopped_ahead_let_one_left_behind_catch_up_only() {
        // a and b made move 1 and are baking; c, left at move 0 by a
        // crash, is ready for move 1.
        let fleet = Lockstep::new(3);
        let (a, b, c) = (
            fleet.member(0, "a"),
            fleet.member(1, "b"),
            fleet.member(2, "c"),
        );
        assert!(matches!(c.ready(1), Turn::Wait(_)), "a and b have not said");
        a.leave(Left::Stopped(1, "its bake at 50 % has 60s left".into()));
        assert!(matches!(c.ready(1), Turn::Wait(_)), "b has not said");
        b.leave(Left::Stopped(1, "its bake at 50 % has 60s left".into()));
        assert_eq!(c.ready(1), Turn::Go);
        assert_eq!(
            c.ready(2),
            Turn::Stop("function a stopped: its bake at 50 % has 60s left".into()),
            "but not past them"
        );
    }

    #[test]
    fn functions_of_one_name_in_two_regions_are_counted_apart() {
        let fleet = Lockstep::new(2);
        let (east, west) = (fleet.member(0, "orders"), fleet.member(1, "orders"));
        assert!(matches!(east.ready(0), Turn::Wait(_)), "west is not ready");
        assert_eq!(west.ready(0), Turn::Go);
    }

    #[tokio::test]
    async fn waiters_wake_on_a_change_and_on_a_failure() {
        let fleet = Lockstep::new(2);
        let (a, b) = (fleet.member(0, "a"), fleet.member(1, "b"));
        let Turn::Wait(seen) = a.ready(0) else {
            panic!("a alone cannot go")
        };
        let (why, ()) = tokio::join!(
            async {
                a.changed(seen).await;
                a.failure().await
            },
            async { b.leave(Left::Failed("red alarm".into())) }
        );
        assert_eq!(why, "function b failed: red alarm");
    }
}
