//! End-to-end acknowledgements: a file's checkpoint advances only over batches delivered, in order.
//!
//! Each pass's lines of one file travel with one [`BatchNotifier`]. The receipts of a file are
//! kept in the order sent; when one resolves, the checkpoint advances over the longest prefix of
//! the queue that is `Delivered`. A later batch delivered before an earlier one waits for it.
//!
//! A batch that resolves `Errored` or `Rejected` stops that file's checkpoint where it is for the
//! rest of the run: the lines after it are still read and sent, but a restart reads them again
//! from the last delivered offset. Delivery is thus at least once; nothing is skipped that was not
//! delivered. (Reading the file again from that offset within the run is left for later.)

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use strata_event::{BatchReceipt, BatchStatus};

use super::checkpoint::Table;
use super::fingerprint::Fingerprint;

/// A receipt that resolved, with what it belonged to.
pub(super) struct Resolved {
    fingerprint: Fingerprint,
    generation: u64,
    sequence: u64,
    status: BatchStatus,
}

struct Slot {
    sequence: u64,
    end: u64,
    path: Bytes,
    status: Option<BatchStatus>,
}

#[derive(Default)]
struct FileAcks {
    /// Bumped when the file is truncated: receipts of the old content no longer count.
    generation: u64,
    next_sequence: u64,
    queue: VecDeque<Slot>,
    stalled: bool,
}

/// Outstanding receipts of every file.
#[derive(Default)]
pub(super) struct Acks {
    files: HashMap<Fingerprint, FileAcks>,
    receipts: FuturesUnordered<BoxFuture<'static, Resolved>>,
}

/// What a resolution changed.
pub(super) enum Outcome {
    Nothing,
    /// The file's checkpoint stopped for this run at a batch not delivered.
    Stalled(BatchStatus, Bytes),
}

impl Acks {
    pub(super) fn is_empty(&self) -> bool {
        self.receipts.is_empty()
    }

    /// The next receipt to resolve; pending forever when there is none.
    pub(super) async fn next(&mut self) -> Resolved {
        match self.receipts.next().await {
            Some(resolved) => resolved,
            None => std::future::pending().await,
        }
    }

    /// The file was truncated and is read again from 0: forget the old receipts.
    pub(super) fn reset(&mut self, fingerprint: Fingerprint) {
        let file = self.files.entry(fingerprint).or_default();
        file.generation += 1;
        file.queue.clear();
        file.stalled = false;
    }

    /// Tracks the lines up to `end`; `receipt` is `None` when there were no events (only lines
    /// discarded, or a first checkpoint), which counts as delivered.
    pub(super) fn track(
        &mut self,
        fingerprint: Fingerprint,
        end: u64,
        path: Bytes,
        receipt: Option<BatchReceipt>,
        table: &Mutex<Table>,
    ) {
        let file = self.files.entry(fingerprint).or_default();
        if file.stalled {
            return;
        }
        let Some(receipt) = receipt else {
            if file.queue.is_empty() {
                if let Ok(mut table) = table.lock() {
                    table.set(fingerprint, end, &path);
                }
            } else {
                let sequence = file.next_sequence;
                file.next_sequence += 1;
                file.queue.push_back(Slot { sequence, end, path, status: Some(BatchStatus::Delivered) });
            }
            return;
        };
        let sequence = file.next_sequence;
        file.next_sequence += 1;
        file.queue.push_back(Slot { sequence, end, path, status: None });
        let generation = file.generation;
        self.receipts
            .push(receipt.map(move |status| Resolved { fingerprint, generation, sequence, status }).boxed());
    }

    /// Records a resolved receipt and advances the file's checkpoint as far as it may.
    pub(super) fn resolve(&mut self, resolved: Resolved, table: &Mutex<Table>) -> Outcome {
        let Some(file) = self.files.get_mut(&resolved.fingerprint) else { return Outcome::Nothing };
        if file.generation != resolved.generation || file.stalled {
            return Outcome::Nothing;
        }
        if let Some(slot) = file.queue.iter_mut().find(|slot| slot.sequence == resolved.sequence) {
            slot.status = Some(resolved.status);
        }
        let mut advanced = None;
        while let Some(slot) = file.queue.front() {
            match slot.status {
                Some(BatchStatus::Delivered) => {
                    advanced = file.queue.pop_front();
                }
                Some(status) => {
                    let path = slot.path.clone();
                    file.stalled = true;
                    file.queue.clear();
                    if let Some(slot) = advanced {
                        set(table, resolved.fingerprint, &slot);
                    }
                    return Outcome::Stalled(status, path);
                }
                None => break,
            }
        }
        if let Some(slot) = advanced {
            set(table, resolved.fingerprint, &slot);
        }
        Outcome::Nothing
    }
}

fn set(table: &Mutex<Table>, fingerprint: Fingerprint, slot: &Slot) {
    if let Ok(mut table) = table.lock() {
        table.set(fingerprint, slot.end, &slot.path);
    }
}
