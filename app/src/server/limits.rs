//! Limits on expensive work: a password hash takes 19 MiB and tens of milliseconds of a
//! core, a logo decode up to the logo limits' memory. Each kind of work runs on blocking
//! threads, a few at a time per server; a short queue waits for a turn, and beyond it a
//! request is told to come back (503 with Retry-After) instead of piling up threads and
//! memory.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        LazyLock,
    },
    time::Duration,
};

use tokio::sync::Semaphore;

use crate::error::AppError;

/// One kind of expensive work and how much of it runs at once.
pub struct WorkLimit {
    running: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    max_wait: Duration,
    what: &'static str,
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Password hashing and checking: two per core, eight waiting per core, 5 s at most.
pub static PASSWORD_WORK: LazyLock<WorkLimit> = LazyLock::new(|| {
    WorkLimit::new(
        2 * cores(),
        8 * cores(),
        Duration::from_secs(5),
        "password checks",
    )
});

/// SAML response checks (XML parsing and signature verification in xmlsec, about a
/// millisecond each): two per core, 32 waiting per core (a waiting check holds at most its
/// 256 KiB body), 5 s at most.
pub static SAML_WORK: LazyLock<WorkLimit> = LazyLock::new(|| {
    WorkLimit::new(
        2 * cores(),
        32 * cores(),
        Duration::from_secs(5),
        "single sign-on responses",
    )
});

/// Logo decoding: two at a time, four waiting, 10 s at most.
pub static LOGO_WORK: LazyLock<WorkLimit> =
    LazyLock::new(|| WorkLimit::new(2, 4, Duration::from_secs(10), "logo uploads"));

impl WorkLimit {
    pub fn new(at_once: usize, max_waiting: usize, max_wait: Duration, what: &'static str) -> Self {
        Self {
            running: Semaphore::new(at_once),
            waiting: AtomicUsize::new(0),
            max_waiting,
            max_wait,
            what,
        }
    }

    /// Runs `work` on a blocking thread once a turn is free; `Busy` when the queue is full
    /// or the turn does not come in time.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let busy = || {
            AppError::Busy(format!(
                "The server is handling many {} right now. Please try again in a few seconds.",
                self.what
            ))
        };
        let queued = self.waiting.fetch_add(1, Ordering::SeqCst);
        let permit = if queued >= self.max_waiting {
            None
        } else {
            tokio::time::timeout(self.max_wait, self.running.acquire())
                .await
                .ok()
                .and_then(Result::ok)
        };
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let Some(_permit) = permit else {
            tracing::warn!(what = self.what, "expensive work refused: too many at once");
            return Err(busy());
        };
        tokio::task::spawn_blocking(move || {
            yield_to_requests();
            work()
        })
        .await
        .map_err(|err| {
            tracing::error!(error = %err, what = self.what, "blocking work failed");
            AppError::Internal
        })
    }
}

/// Expensive work runs below the priority of request handling (nice 10), so pages stay
/// fast while hashes run: the kernel gives a waiting request its turn first, and the hashes
/// take the time left over. A blocking thread keeps the lower priority for the rest of its
/// life (raising it again needs privileges); the others it serves are background work too.
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    {
        thread_local!(static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
        LOWERED.with(|lowered| {
            if !lowered.replace(true) {
                // SAFETY: setpriority on this thread's own id only changes its scheduling weight.
                unsafe {
                    libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{mpsc, Arc};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beyond_its_turns_and_its_queue_work_is_refused_not_piled_up() {
        let limit = Arc::new(WorkLimit::new(1, 1, Duration::from_millis(200), "tests"));
        let (release, held) = mpsc::channel::<()>();
        let running = {
            let limit = limit.clone();
            tokio::spawn(async move { limit.run(move || held.recv().ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        // One waits its turn (and gives up after 200 ms); one more finds the queue full.
        let waiting = {
            let limit = limit.clone();
            tokio::spawn(async move { limit.run(|| ()).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let refused = limit.run(|| ()).await;
        assert!(matches!(refused, Err(AppError::Busy(_))), "queue full");
        assert!(
            matches!(waiting.await.unwrap(), Err(AppError::Busy(_))),
            "waited too long"
        );
        release.send(()).unwrap();
        assert!(running.await.unwrap().is_ok());
        assert!(limit.run(|| 42).await.is_ok_and(|n| n == 42), "free again");
    }
}
