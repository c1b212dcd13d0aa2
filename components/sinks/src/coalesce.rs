//! Joining ready batches into one write, for the sinks that write encoded bytes themselves
//! (`console`, `file`, and `socket` over a stream).

use strata_codecs::Encoder;
use strata_core::SinkInput;
use strata_event::EventBatch;

/// Write at most about this much at once; batches that are ready are joined up to it.
pub(crate) const WRITE_SIZE: usize = 1 << 20;

/// Encodes `first`, then each batch already waiting in `input`, into `out`, until `out` holds
/// [`WRITE_SIZE`] bytes or nothing more is ready. The batches go to `pending`, to be finalized
/// once the write's outcome is known. Returns how many events were encoded.
pub(crate) fn encode_ready(
    first: EventBatch,
    input: &mut SinkInput,
    encoder: &Encoder,
    out: &mut Vec<u8>,
    pending: &mut Vec<EventBatch>,
) -> usize {
    let mut events = 0;
    let mut next = Some(first);
    while let Some(batch) = next {
        for event in batch.iter() {
            encoder.encode(event, out);
        }
        events += batch.len();
        pending.push(batch);
        next = if out.len() < WRITE_SIZE { input.try_recv() } else { None };
    }
    events
}
