//! The real fleet as the cockpit's `World`: a poller reads every host's weights, lock and
//! health on an interval; operations run on the same executor as the headless commands.

use super::exec::Executor;
use crate::app::msg::Msg;
use crate::app::plan::Op;
use crate::app::world::World;
use crate::headless::probe_health;
use crate::model::{Ms, Telemetry};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};

/// How often the cockpit re-evaluates guardrails and staleness.
const TICK_MS: Ms = 1000;

/// A live fleet: messages arrive from background tasks; `advance` hands them to the cockpit.
pub struct LiveFleet {
    exec: Executor,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
    next_tick: Ms,
}

impl LiveFleet {
    /// Start polling every host every `every`, at most `parallel` at once; needs a tokio runtime.
    pub fn start(
        exec: Executor,
        health_urls: Vec<String>,
        every: Duration,
        parallel: usize,
    ) -> LiveFleet {
        let (tx, rx) = mpsc::unbounded_channel();
        let poll_tx = tx.clone();
        let hosts = exec.hosts.clone();
        tokio::spawn(async move {
            let sem = Arc::new(Semaphore::new(parallel.max(1)));
            let client = crate::probe::http_client(Duration::from_secs(2)).ok();
            let busy: Arc<Vec<std::sync::atomic::AtomicBool>> =
                Arc::new(hosts.iter().map(|_| Default::default()).collect());
            loop {
                for (i, host) in hosts.iter().enumerate() {
                    use std::sync::atomic::Ordering::SeqCst;
                    // A host still answering the last poll is not asked again: no pile-up.
                    if busy[i].swap(true, SeqCst) {
                        continue;
                    }
                    let (host, tx, sem, busy) =
                        (host.clone(), poll_tx.clone(), sem.clone(), busy.clone());
                    let (client, url) = (client.clone(), health_urls.get(i).cloned());
                    // Each host on its own task: one that stops answering never stalls the others.
                    tokio::spawn(async move {
                        let _permit = sem.acquire().await;
                        let msg = match host.read(&mut Vec::new()).await {
                            Ok(r) => {
                                let _ = tx.send(Msg::Lock {
                                    gateway: i,
                                    holder: r.lock,
                                });
                                Telemetry::Weights(r.weights)
                            }
                            Err(reason) => Telemetry::Unreachable { reason },
                        };
                        let _ = tx.send(Msg::Telemetry {
                            gateway: i,
                            data: msg,
                        });
                        if let (Some(c), Some(u)) = (client, url) {
                            let h = probe_health(&c, &u).await;
                            let _ = tx.send(Msg::Telemetry {
                                gateway: i,
                                data: Telemetry::Health(h),
                            });
                        }
                        busy[i].store(false, SeqCst);
                    });
                }
                if poll_tx.is_closed() {
                    break;
                }
                tokio::time::sleep(every).await;
            }
        });
        LiveFleet {
            exec,
            tx,
            rx,
            next_tick: TICK_MS,
        }
    }
}

impl World for LiveFleet {
    fn advance(&mut self, until: Ms, out: &mut Vec<(Ms, Msg)>) {
        while let Ok(msg) = self.rx.try_recv() {
            out.push((until, msg));
        }
        while self.next_tick <= until {
            out.push((self.next_tick, Msg::Tick));
            self.next_tick += TICK_MS;
        }
    }

    fn execute(&mut self, _now: Ms, op: Op) {
        let (exec, tx) = (self.exec.clone(), self.tx.clone());
        tokio::spawn(async move {
            let done = exec.execute(&op).await;
            let _ = tx.send(Msg::OpDone(done.outcome));
        });
    }
}
