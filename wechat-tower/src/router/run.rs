//! One run of a handler, shared by every delivery of a message (the first and WeChat's retries).
//!
//! The handler runs inside the delivery that started it, and moves to a task of its own when that
//! delivery stops driving it ([`Handoff`]); each delivery waits for its reply until its own
//! deadline.
//! The reply goes to exactly one place: to the deliveries waiting when it is ready, or, when
//! none is waiting any more, to the late-reply sink (and the run then remembers `success`, so a
//! later retry does not deliver the reply a second time).

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use tokio::sync::Notify;
use tokio::time::Instant;
use wechat_core::Reply;

use super::dedup::{Record, reply_bytes};

/// A run of a handler.
#[derive(Debug)]
pub(crate) struct Run {
    state: Mutex<State>,
    done: Notify,
    /// Whether retries may join (the retry cache is on): then every delivery gets a copy of the
    /// reply; otherwise the one delivery takes it.
    shared: bool,
}

#[derive(Debug)]
enum State {
    /// The handler is running; `waiting` deliveries wait for its reply.
    Running { waiting: usize },
    /// What every later delivery gets.
    Done(Reply),
    /// Given up without a reply (the shared record could not say whether another instance
    /// answered): the waiters start over, and the run is no longer in the record.
    Abandoned,
}

/// How a wait for a run ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The run's reply.
    Reply(Reply),
    /// The deadline passed first.
    Deadline,
    /// The run was [abandoned](Run::abandon): start the delivery over.
    Abandoned,
}

impl Run {
    /// A new run that retries may join, with the waiter of the delivery that starts it.
    pub(crate) fn start() -> (Arc<Self>, Waiter) {
        Self::with_sharing(true)
    }

    /// A new run for one delivery only (no retry cache), which takes the reply instead of
    /// copying it.
    pub(crate) fn start_single() -> (Arc<Self>, Waiter) {
        Self::with_sharing(false)
    }

    fn with_sharing(shared: bool) -> (Arc<Self>, Waiter) {
        let run = Arc::new(Self {
            state: Mutex::new(State::Running { waiting: 1 }),
            done: Notify::new(),
            shared,
        });
        let waiter = Waiter {
            run: Arc::clone(&run),
            registered: true,
        };
        (run, waiter)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic: every critical section is one assignment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The reply of a finished run for a waiting delivery: a copy when retries may join, the
    /// reply itself otherwise.
    fn reply_for_waiter(&self, reply: &mut Reply) -> Reply {
        if self.shared {
            reply.clone()
        } else {
            std::mem::replace(reply, Reply::Success)
        }
    }

    /// Joins the run as a retry: its reply when it is done, a waiter otherwise.
    pub(crate) fn join(self: &Arc<Self>) -> Result<Waiter, Reply> {
        match &mut *self.lock() {
            State::Done(reply) => Err(reply.clone()),
            // Not reached: an abandoned run has left the record first. Its waiter starts over.
            State::Abandoned => Ok(Waiter {
                run: Arc::clone(self),
                registered: false,
            }),
            State::Running { waiting } => {
                *waiting += 1;
                Ok(Waiter {
                    run: Arc::clone(self),
                    registered: true,
                })
            }
        }
    }

    /// Records the handler's reply and wakes the waiters. Returns the reply when nobody waits
    /// for it any more (it is late) and it says something, for the sink.
    fn complete(&self, reply: Reply) -> Option<Reply> {
        let late = {
            let mut state = self.lock();
            let waiting = match &*state {
                State::Done(_) | State::Abandoned => return None,
                State::Running { waiting } => *waiting,
            };
            if waiting > 0 {
                *state = State::Done(reply);
                None
            } else {
                *state = State::Done(Reply::Success);
                (reply != Reply::Success).then_some(reply)
            }
        };
        self.done.notify_waiters();
        late
    }

    /// Ends a run that has no reply and never will (it ran no handler): its waiters start
    /// their deliveries over. Take it out of the record first, so that none joins it again.
    pub(crate) fn abandon(&self) {
        {
            let mut state = self.lock();
            if matches!(*state, State::Done(_)) {
                return;
            }
            *state = State::Abandoned;
        }
        self.done.notify_waiters();
    }

    /// Whether the handler has answered.
    #[cfg(test)]
    pub(crate) fn is_done(&self) -> bool {
        matches!(*self.lock(), State::Done(_))
    }
}

/// One delivery waiting for a run. Dropping it (the caller gave up or was cancelled) stops
/// counting it as waiting.
#[derive(Debug)]
pub(crate) struct Waiter {
    run: Arc<Run>,
    registered: bool,
}

impl Waiter {
    /// Waits for the reply until `deadline` (forever for `None`). [`Outcome::Deadline`] when
    /// the deadline passed first; the waiter no longer counts then, atomically with the check,
    /// so a reply that arrives at the same moment goes either to this delivery or to the sink,
    /// never to neither.
    pub(crate) async fn wait(mut self, deadline: Option<Instant>) -> Outcome {
        let run = Arc::clone(&self.run);
        loop {
            let mut notified = pin!(run.done.notified());
            notified.as_mut().enable();
            let done = match &mut *run.lock() {
                State::Done(reply) => Some(Outcome::Reply(run.reply_for_waiter(reply))),
                State::Abandoned => Some(Outcome::Abandoned),
                State::Running { .. } => None,
            };
            if let Some(done) = done {
                self.registered = false;
                return done;
            }
            match deadline {
                None => notified.await,
                Some(at) => {
                    if tokio::time::timeout_at(at, notified).await.is_err() {
                        return self.give_up();
                    }
                }
            }
        }
    }

    /// The reply, if the run is done: after the delivery drove the handler to its end itself,
    /// without waiting for a notification.
    pub(crate) fn take_if_done(&self) -> Option<Reply> {
        match &mut *self.run.lock() {
            State::Done(reply) => Some(self.run.reply_for_waiter(reply)),
            State::Running { .. } | State::Abandoned => None,
        }
    }

    fn give_up(&mut self) -> Outcome {
        let run = Arc::clone(&self.run);
        match &mut *run.lock() {
            State::Done(reply) => {
                self.registered = false;
                Outcome::Reply(run.reply_for_waiter(reply))
            }
            State::Abandoned => {
                self.registered = false;
                Outcome::Abandoned
            }
            State::Running { waiting } => {
                *waiting -= 1;
                self.registered = false;
                Outcome::Deadline
            }
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if !self.registered {
            return;
        }
        if let State::Running { waiting } = &mut *self.run.lock() {
            *waiting -= 1;
        }
    }
}

/// Held by the handler's task: completes the run with the reply, or with `success` if the task
/// ends without one (the handler panicked, or the runtime shut down), and settles the reply in
/// the retry record.
#[derive(Debug)]
pub(crate) struct Completion {
    run: Option<Arc<Run>>,
    record: Option<Record>,
}

impl Completion {
    /// The completion of `run`, whose reply goes into the retry record through `record` (none
    /// when the retry cache is off).
    pub(crate) fn new(run: Arc<Run>, record: Option<Record>) -> Self {
        Self {
            run: Some(run),
            record,
        }
    }

    /// Completes the run and settles what it keeps in the record; the reply comes back when it
    /// is late (see [`Run`]).
    pub(crate) fn finish(mut self, reply: Reply) -> Option<Reply> {
        let run = self.run.take()?;
        let Some(record) = self.record.take() else {
            return run.complete(reply);
        };
        let bytes = reply_bytes(&reply);
        let late = run.complete(reply);
        // A late reply went to the sink: the run keeps `success`, which costs nothing.
        record.settle(&run, if late.is_some() { 0 } else { bytes });
        late
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if let Some(run) = self.run.take() {
            tracing::error!("handler panicked or its task was cancelled; answering `success`");
            run.complete(Reply::Success);
        }
    }
}

/// The work of a run (the handler, then its completion), driven in place by the delivery that
/// started it, so the common case costs no task. When that delivery stops driving it (its
/// deadline passed, or its request was dropped), what remains is handed to a task of its own:
/// the handler always finishes, and its reply reaches the waiters or the sink.
pub(crate) struct Handoff {
    work: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl Handoff {
    pub(crate) fn new(work: impl Future<Output = ()> + Send + 'static) -> Self {
        Self {
            work: Some(Box::pin(work)),
        }
    }

    /// Hands the remaining work to its own task. Outside a runtime the work is dropped, and its
    /// [`Completion`] answers `success`.
    pub(crate) fn detach(&mut self) {
        let Some(work) = self.work.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(work);
        }
    }
}

impl Future for Handoff {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(work) = self.work.as_mut() else {
            return Poll::Ready(());
        };
        // A panicking handler must not take the connection down: drop its work, whose
        // `Completion` then answers `success`, as a panicking task would.
        match catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) | Err(_) => {
                self.work = None;
                Poll::Ready(())
            }
        }
    }
}

impl Drop for Handoff {
    fn drop(&mut self) {
        self.detach();
    }
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handoff")
            .field("running", &self.work.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(ms: u64) -> Option<Instant> {
        Some(Instant::now() + Duration::from_millis(ms))
    }

    #[tokio::test(start_paused = true)]
    async fn waiter_gets_the_reply_in_time() {
        let (run, waiter) = Run::start();
        let completion = Completion::new(Arc::clone(&run), None);
        let wait = tokio::spawn(waiter.wait(at(100)));
        tokio::task::yield_now().await;
        assert_eq!(completion.finish(Reply::text("a")), None);
        assert_eq!(wait.await.unwrap(), Outcome::Reply(Reply::text("a")));
        assert_eq!(run.join().unwrap_err(), Reply::text("a"));
    }

    #[tokio::test(start_paused = true)]
    async fn reply_after_every_waiter_left_is_late() {
        let (run, waiter) = Run::start();
        assert_eq!(waiter.wait(at(100)).await, Outcome::Deadline);
        let completion = Completion::new(Arc::clone(&run), None);
        assert_eq!(
            completion.finish(Reply::text("late")),
            Some(Reply::text("late"))
        );
        assert_eq!(run.join().unwrap_err(), Reply::Success);
    }

    #[tokio::test(start_paused = true)]
    async fn late_success_is_not_handed_on() {
        let (run, waiter) = Run::start();
        drop(waiter);
        assert_eq!(
            Completion::new(Arc::clone(&run), None).finish(Reply::Success),
            None
        );
        assert!(run.is_done());
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_waiter_keeps_the_reply_in_band() {
        let (run, first) = Run::start();
        let second = run.join().unwrap();
        assert_eq!(first.wait(at(10)).await, Outcome::Deadline);
        let wait = tokio::spawn(second.wait(at(1000)));
        tokio::task::yield_now().await;
        assert_eq!(Completion::new(run, None).finish(Reply::text("b")), None);
        assert_eq!(wait.await.unwrap(), Outcome::Reply(Reply::text("b")));
    }

    #[tokio::test]
    async fn dropped_completion_answers_success() {
        let (run, waiter) = Run::start();
        drop(Completion::new(Arc::clone(&run), None));
        assert_eq!(waiter.wait(None).await, Outcome::Reply(Reply::Success));
    }

    #[tokio::test(start_paused = true)]
    async fn abandoned_run_sends_its_waiters_back() {
        let (run, first) = Run::start();
        let second = run.join().unwrap();
        let wait = tokio::spawn(second.wait(at(1000)));
        tokio::task::yield_now().await;
        run.abandon();
        assert_eq!(wait.await.unwrap(), Outcome::Abandoned);
        assert_eq!(first.wait(None).await, Outcome::Abandoned);
        // A reply that comes anyway is not handed on.
        assert_eq!(Completion::new(run, None).finish(Reply::text("x")), None);
    }
}
