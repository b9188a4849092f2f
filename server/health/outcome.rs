//! Rise/fall counting: turns the results of individual runs into a check's verdict, the way
//! keepalived's `vrrp_script` does. No I/O and no clock: the runner hands in each result.
//!
//! # The rules
//! - A check starts [`Verdict::Pending`]: it has never run, and a tracked instance treats it
//!   as neither passing nor failing (it adds no weight and causes no Fault). keepalived starts a
//!   script at `rise - 1` successes with this same "not yet known" status, so the **first run
//!   decides alone**: one success makes it [`Verdict::Passing`], one failure makes it
//!   [`Verdict::Failing`], whatever `rise` and `fall` are.
//! - With `init_fail`, the check starts [`Verdict::Failing`] instead and needs `rise`
//!   consecutive successes like any failing check.
//! - A failing check passes after `rise` consecutive successes; a passing check fails after
//!   `fall` consecutive failures. A result of the other kind resets the streak, so a check that
//!   flaps faster than its rise or fall keeps its verdict.
//! - A [`CheckTransition`] comes out only when the verdict changes.

use std::time::Duration;

use crate::vrrp::TrackedCheck;

/// The most bytes of a run's output kept: enough for an error message, bounded so a chatty
/// script cannot grow the daemon's memory or its status replies.
pub const OUTPUT_LIMIT: usize = 1024;

/// What a check currently says about its target, after rise/fall counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// No run has finished yet and `init_fail` is off: the check neither adds nor removes
    /// priority, as keepalived treats a script that has not run.
    Pending,
    /// The target is healthy.
    Passing,
    /// The target is not healthy.
    Failing,
}

/// The verdict of a check changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CheckTransition {
    /// The new verdict: `true` for [`Verdict::Passing`], `false` for [`Verdict::Failing`]
    /// (a check never goes back to [`Verdict::Pending`]).
    pub passing: bool,
}

/// The result of one run of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunResult {
    /// Whether this run succeeded.
    pub passed: bool,
    /// One line saying what happened ("exit status 1", "HTTP 200", "timed out after 1s").
    pub summary: String,
    /// What the target said: a program's stdout then stderr, an HTTP body; at most
    /// [`OUTPUT_LIMIT`] bytes, cut at a character boundary.
    pub output: String,
    /// How long the run took.
    pub duration: Duration,
    /// The number a file check read (keepalived's `track_file`); `None` for other checks and
    /// when the file could not be read.
    pub value: Option<i64>,
    /// The processes a process check counts, by PID; `None` for other checks.
    pub processes: Option<Vec<u32>>,
}

impl RunResult {
    /// A result whose `output` is cut to [`OUTPUT_LIMIT`] bytes.
    pub fn new(
        passed: bool,
        summary: impl Into<String>,
        output: impl Into<String>,
        duration: Duration,
    ) -> Self {
        let mut output = output.into();
        truncate_at_char_boundary(&mut output, OUTPUT_LIMIT);
        Self {
            passed,
            summary: summary.into(),
            output,
            duration,
            value: None,
            processes: None,
        }
    }

    /// The same result carrying the processes a process check counts.
    pub fn with_processes(mut self, pids: Vec<u32>) -> Self {
        self.processes = Some(pids);
        self
    }

    /// The same result carrying the number a file check read.
    pub fn with_value(mut self, value: i64) -> Self {
        self.value = Some(value);
        self
    }
}

/// Cuts `text` to at most `limit` bytes without splitting a UTF-8 character.
pub fn truncate_at_char_boundary(text: &mut String, limit: usize) {
    if text.len() <= limit {
        return;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
}

/// The counting state of one check (see the module documentation for the rules).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckState {
    rise: u8,
    fall: u8,
    verdict: Verdict,
    consecutive_passes: u32,
    consecutive_failures: u32,
    last_run: Option<RunResult>,
}

impl CheckState {
    /// A check that has not run yet. `rise` and `fall` of 0 are taken as 1: the configuration
    /// refuses 0, and a check that can never change its verdict would be useless.
    pub fn new(rise: u8, fall: u8, init_fail: bool) -> Self {
        Self {
            rise: rise.max(1),
            fall: fall.max(1),
            verdict: if init_fail {
                Verdict::Failing
            } else {
                Verdict::Pending
            },
            consecutive_passes: 0,
            consecutive_failures: 0,
            last_run: None,
        }
    }

    /// Counts one finished run; returns the transition when the verdict changes.
    pub fn record(&mut self, run: RunResult) -> Option<CheckTransition> {
        let passed = run.passed;
        self.last_run = Some(run);
        let next = if passed {
            self.consecutive_passes = self.consecutive_passes.saturating_add(1);
            self.consecutive_failures = 0;
            let risen = self.consecutive_passes >= u32::from(self.rise);
            (self.verdict == Verdict::Pending || risen).then_some(Verdict::Passing)
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.consecutive_passes = 0;
            let fallen = self.consecutive_failures >= u32::from(self.fall);
            (self.verdict == Verdict::Pending || fallen).then_some(Verdict::Failing)
        };
        match next {
            Some(verdict) if verdict != self.verdict => {
                self.verdict = verdict;
                Some(CheckTransition {
                    passing: verdict == Verdict::Passing,
                })
            }
            _ => None,
        }
    }

    /// The current verdict.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// Successful runs in a row, up to the last one.
    pub fn consecutive_passes(&self) -> u32 {
        self.consecutive_passes
    }

    /// Failed runs in a row, up to the last one.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// The last finished run, if any.
    pub fn last_run(&self) -> Option<&RunResult> {
        self.last_run.as_ref()
    }

    /// What the priority arithmetic should count for this check with `weight`; `None` while
    /// [`Verdict::Pending`], which counts for nothing.
    pub fn tracked(&self, weight: i16) -> Option<TrackedCheck> {
        match self.verdict {
            Verdict::Pending => None,
            Verdict::Passing => Some(TrackedCheck {
                weight,
                passing: true,
            }),
            Verdict::Failing => Some(TrackedCheck {
                weight,
                passing: false,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(passed: bool) -> RunResult {
        RunResult::new(passed, "", "", Duration::from_millis(1))
    }

    /// Feeds `results` and returns the transitions, `None` where the verdict stayed.
    fn feed(state: &mut CheckState, results: &[bool]) -> Vec<Option<bool>> {
        results
            .iter()
            .map(|&passed| {
                state
                    .record(run(passed))
                    .map(|transition| transition.passing)
            })
            .collect()
    }

    #[test]
    fn starts_pending_and_counts_for_nothing() {
        let state = CheckState::new(3, 3, false);
        assert_eq!(state.verdict(), Verdict::Pending);
        assert_eq!(state.tracked(-20), None);
        assert_eq!(state.last_run(), None);
    }

    #[test]
    fn first_success_passes_at_once_whatever_rise() {
        let mut state = CheckState::new(5, 5, false);
        assert_eq!(feed(&mut state, &[true]), [Some(true)]);
        assert_eq!(state.verdict(), Verdict::Passing);
    }

    #[test]
    fn first_failure_fails_at_once_whatever_fall() {
        let mut state = CheckState::new(5, 5, false);
        assert_eq!(feed(&mut state, &[false]), [Some(false)]);
        assert_eq!(
            state.tracked(0),
            Some(TrackedCheck {
                weight: 0,
                passing: false
            })
        );
    }

    #[test]
    fn init_fail_starts_failing_and_needs_rise_successes() {
        let mut state = CheckState::new(3, 2, true);
        assert_eq!(state.verdict(), Verdict::Failing);
        assert_eq!(
            state.tracked(0),
            Some(TrackedCheck {
                weight: 0,
                passing: false
            })
        );
        assert_eq!(
            feed(&mut state, &[true, true, true]),
            [None, None, Some(true)]
        );
    }

    #[test]
    fn init_fail_with_a_failure_first_emits_nothing() {
        let mut state = CheckState::new(2, 2, true);
        assert_eq!(feed(&mut state, &[false]), [None]);
        assert_eq!(state.verdict(), Verdict::Failing);
    }

    #[test]
    fn passing_check_fails_after_fall_consecutive_failures() {
        let mut state = CheckState::new(2, 3, false);
        feed(&mut state, &[true]);
        assert_eq!(
            feed(&mut state, &[false, false, false]),
            [None, None, Some(false)]
        );
        assert_eq!(state.consecutive_failures(), 3);
    }

    #[test]
    fn failing_check_passes_after_rise_consecutive_successes() {
        let mut state = CheckState::new(2, 3, false);
        feed(&mut state, &[false]);
        assert_eq!(feed(&mut state, &[true, true]), [None, Some(true)]);
        assert_eq!(state.consecutive_passes(), 2);
    }

    #[test]
    fn a_success_resets_the_failure_streak() {
        let mut state = CheckState::new(1, 3, false);
        feed(&mut state, &[true]);
        assert_eq!(
            feed(&mut state, &[false, false, true, false, false, true]),
            [None; 6]
        );
        assert_eq!(state.verdict(), Verdict::Passing);
    }

    #[test]
    fn flapping_faster_than_rise_and_fall_keeps_the_verdict() {
        let mut state = CheckState::new(2, 2, false);
        feed(&mut state, &[true]);
        let flaps: Vec<bool> = (0..20).map(|index| index % 2 == 0).collect();
        assert!(feed(&mut state, &flaps).iter().all(Option::is_none));
        assert_eq!(state.verdict(), Verdict::Passing);
    }

    #[test]
    fn rise_and_fall_of_one_follow_every_flip() {
        let mut state = CheckState::new(1, 1, false);
        assert_eq!(
            feed(&mut state, &[true, false, true, true, false]),
            [Some(true), Some(false), Some(true), None, Some(false)]
        );
    }

    #[test]
    fn zero_rise_and_fall_count_as_one() {
        let mut state = CheckState::new(0, 0, true);
        assert_eq!(feed(&mut state, &[true, false]), [Some(true), Some(false)]);
    }

    #[test]
    fn keeps_the_last_run_with_its_output_cut_to_one_kib() {
        let mut state = CheckState::new(1, 1, false);
        let long = "é".repeat(OUTPUT_LIMIT);
        state.record(RunResult::new(
            false,
            "exit status 1",
            long,
            Duration::from_millis(7),
        ));
        let last = state.last_run().expect("a run was recorded");
        assert!(last.output.len() <= OUTPUT_LIMIT);
        assert_eq!(
            last.output.len(),
            OUTPUT_LIMIT,
            "1024 is a boundary of 2-byte chars"
        );
        assert_eq!(last.summary, "exit status 1");
        assert_eq!(last.duration, Duration::from_millis(7));
    }

    #[test]
    fn truncation_never_splits_a_character() {
        let mut text = format!("a{}", "€".repeat(600));
        truncate_at_char_boundary(&mut text, OUTPUT_LIMIT);
        assert!(text.len() <= OUTPUT_LIMIT);
        assert_eq!(text.len(), 1 + 3 * 341);
    }
}
