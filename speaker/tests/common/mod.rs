//! Helpers shared by the speaker's interop tests.

use std::time::Duration;

use speaker::Event;
use tokio::sync::mpsc::UnboundedReceiver;

/// The first event that satisfies `pred` within `secs` seconds, skipping others.
pub(crate) async fn next_event(
    events: &mut UnboundedReceiver<Event>,
    secs: u64,
    mut pred: impl FnMut(&Event) -> bool,
) -> Option<Event> {
    tokio::time::timeout(Duration::from_secs(secs), async {
        while let Some(e) = events.recv().await {
            if pred(&e) {
                return Some(e);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
}
