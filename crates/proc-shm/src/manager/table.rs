//! The shared table behind a managed dict or namespace: a hash table and an arena of records in
//! one sparse shared region, used in place by every process that maps it, under one lock in the
//! region that reports a holder's death.
//!
//! # Layout
//! ```text
//! 0 .. HEADER                  the header: magic, half size, the lock, the layout word, counters
//! HEADER .. HEADER + H         half 0: a table and records
//! HEADER + H .. HEADER + 2H    half 1: the same; only one half is current, the other is empty
//!                              (or holds leftovers of an interrupted compaction)
//! ```
//! A table is `cap` slots of 16 bytes, `(hash, record offset)`: offset 0 is an empty slot, 1 a
//! removed one (probing goes on past it). The table lives in the current half, among the records.
//! The *layout word* names the current table (its offset and capacity), and so the current half.
//!
//! A record is `seq: u64, key_len: u32, value_len: u32`, the key's and the value's encoded bytes,
//! padded to 8 bytes. Keys compare by their bytes. `seq` is the record's place in insertion order:
//! a key set again keeps its `seq` (as in Python, it keeps its place), a key removed and set again
//! gets a new one.
//!
//! # Writes, and what a killed writer leaves
//! Records are never changed once written. A write appends the new record at `top`, stores the new
//! `top`, then publishes the record with one atomic store of its offset into the slot; counters
//! (`len`, `used`, `live`) follow. Growing the table writes a new table above `top` and publishes
//! it with one store of the layout word. Compaction copies the live records and a fresh table into
//! the other half, publishes them with one store of the layout word, and gives the old half's
//! memory back. So whatever instruction a writer is killed at, every published slot points at a
//! whole record in the current half and the layout word at a whole table: what can be wrong is
//! only a counter, `top`, or garbage nobody points at. The next process to take the lock learns
//! that its holder died, and recovers by walking the table: it recounts, and sets `top` just past
//! the highest live record or table, dropping any half-written tail.
//!
//! Garbage (overwritten and removed records, old tables) stays until a compaction, which runs when
//! the half is full or when garbage outweighs the live data by more than [`SLACK`]; each byte of
//! garbage is copied over at most once, so a write costs amortised O(1).
//!
//! # Why one sparse region
//! The region is address space only; memory is taken a chunk at a time as `top` advances (with
//! `fallocate`, so a machine out of memory gives an error, not a SIGBUS) and given back when a half
//! is left. Growth never needs a new region, so no process ever has to learn of one and remap: the
//! layout word is read under the lock like any other field. The price is a limit on a table's
//! size: one half, [`DEFAULT_HALF`] unless the manager was built with another.

use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use proc_core::{SharedRegion, ShmSafe};
use proc_sync::raw::{Acquired, RawLock};

const MAGIC: u64 = 0x4d50_4449_4354_0001; // "MPDICT" v1
/// Bytes before half 0: the header, on a page of its own.
const HEADER: u64 = 4096;
/// The default size of each half: the most a table and its records can occupy.
pub(super) const DEFAULT_HALF: u64 = 1 << 30;
/// The smallest half a table may be given.
pub(super) const MIN_HALF: u64 = 64 * 1024;
/// Garbage allowed beyond the size of the live data before a compaction, at most (an eighth of
/// the half for small halves).
const SLACK: u64 = 1 << 20;
/// Memory is allocated in steps of this much as `top` advances.
const CHUNK: u64 = 256 * 1024;
/// Slots in a new table.
const MIN_CAP: u64 = 8;
const SLOT: u64 = 16;
const RECORD_HEADER: u64 = 16;

const EMPTY: u64 = 0;
const REMOVED: u64 = 1;

#[repr(C)]
struct Header {
    magic: AtomicU64,
    /// Size of each half, fixed at creation.
    half: AtomicU64,
    /// Writers and readers alike take it; it tells the next holder when a holder died.
    lock: RawLock,
    /// The current table: `offset << 8 | log2(capacity)`.
    layout: AtomicU64,
    /// Where the next record goes.
    top: AtomicU64,
    /// Live entries.
    len: AtomicU64,
    /// Slots not empty (live or removed): what decides when the table is rebuilt.
    used: AtomicU64,
    /// Bytes of live records.
    live: AtomicU64,
    /// The `seq` of the next new key.
    next_seq: AtomicU64,
}

// SAFETY: repr(C), atomics only (RawLock is one AtomicU64): pointer-free, valid for every bit
// pattern, mutated only atomically.
unsafe impl ShmSafe for Header {}

#[repr(C)]
struct Slot {
    hash: AtomicU64,
    off: AtomicU64,
}

/// Why a write could not be made. Nothing changed in the table.
#[derive(Debug, thiserror::Error)]
pub(super) enum TableError {
    /// The live data would not fit in a half.
    #[error("the dict is full: {needed} bytes of records and table would not fit in {half} bytes")]
    Full { needed: u64, half: u64 },
    /// The system gave no memory for the region.
    #[error("no memory for the dict: {0}")]
    Memory(io::Error),
    /// Something other than this module wrote into the region.
    #[error("the shared dict is corrupt: {0}")]
    Corrupt(&'static str),
}

/// One process's view of a table's region.
#[derive(Debug, Clone)]
pub(super) struct Table {
    region: SharedRegion,
    half: u64,
}

/// A record read in place, valid while the lock is held.
#[derive(Clone, Copy)]
pub(super) struct Record<'a> {
    seq: u64,
    size: u64,
    pub(super) key: &'a [u8],
    pub(super) value: &'a [u8],
}

enum Find<'a> {
    Found(u64, Record<'a>),
    /// Not there; the slot a new entry goes to.
    Vacant(u64),
}

impl Table {
    /// A new, empty table whose halves are `half` bytes each.
    pub(super) fn create(half: u64) -> io::Result<Table> {
        let half = half.max(MIN_HALF).next_multiple_of(4096);
        let len = HEADER + 2 * half;
        let region = SharedRegion::sparse(
            usize::try_from(len).map_err(|_| io::Error::other("dict too large"))?,
        )?;
        let table = Table { region, half };
        let base = table.half_base(0);
        table.allocate(0, HEADER + MIN_CAP * SLOT)?;
        let h = table.header();
        h.half.store(half, Ordering::Relaxed);
        h.layout.store(pack(base, MIN_CAP), Ordering::Relaxed);
        h.top.store(base + MIN_CAP * SLOT, Ordering::Relaxed);
        h.magic.store(MAGIC, Ordering::Release);
        Ok(table)
    }

    /// A table received from another process; `None` if the region is not one (another layout).
    pub(super) fn open(region: SharedRegion) -> Option<Table> {
        if (region.len() as u64) < HEADER {
            return None;
        }
        let probe = Table { region, half: 0 };
        let h = probe.header();
        if h.magic.load(Ordering::Acquire) != MAGIC {
            return None;
        }
        let half = h.half.load(Ordering::Relaxed);
        if half < MIN_HALF || HEADER.checked_add(half.checked_mul(2)?)? > probe.region.len() as u64
        {
            return None;
        }
        Some(Table { region: probe.region, half })
    }

    /// The region, to send to another process.
    pub(super) fn region(&self) -> &SharedRegion {
        &self.region
    }

    fn header(&self) -> &Header {
        // SAFETY: the region is page-aligned and at least HEADER bytes (checked in `create` and
        // `open`); Header is ShmSafe, so any bytes another process wrote are a valid Header.
        unsafe { &*self.region.as_ptr().cast::<Header>() }
    }

    fn half_base(&self, which: u64) -> u64 {
        HEADER + which * self.half
    }

    fn allocate(&self, from: u64, to: u64) -> io::Result<()> {
        let start = from / CHUNK * CHUNK;
        let end = to.next_multiple_of(CHUNK).min(self.region.len() as u64);
        self.region.allocate(start as usize, (end - start) as usize)
    }

    /// Takes the lock, waiting as long as it takes: recovers the table if the last holder died.
    pub(super) fn lock(&self) -> Locked<'_> {
        loop {
            if let Some(l) = self.lock_until(None, || true) {
                return l;
            }
        }
    }

    /// Takes the lock. While it waits, it asks `go_on` every `poll` interval (`None` for ever)
    /// whether to keep waiting; `None` when `go_on` says no.
    pub(super) fn lock_until(
        &self,
        poll: Option<std::time::Duration>,
        mut go_on: impl FnMut() -> bool,
    ) -> Option<Locked<'_>> {
        let lock = &self.header().lock;
        let acquired = if lock.try_lock() {
            Acquired::Clean
        } else {
            loop {
                let deadline = poll.map(|p| Instant::now() + p);
                match lock.lock(deadline) {
                    Acquired::TimedOut => {
                        if !go_on() {
                            return None;
                        }
                    }
                    other => break other,
                }
            }
        };
        let locked = Locked { table: self };
        if acquired == Acquired::OwnerDied {
            locked.recover();
        }
        Some(locked)
    }
}

fn pack(offset: u64, cap: u64) -> u64 {
    (offset << 8) | u64::from(cap.trailing_zeros())
}

fn record_size(key: usize, value: usize) -> u64 {
    RECORD_HEADER + ((key + value) as u64).next_multiple_of(8)
}

/// A hash of a key's bytes: the same in every process and every build (no random seed), so
/// processes of one family agree on where a key goes.
pub(super) fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = 0x9e37_79b9_7f4a_7c15 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    // murmur3's finaliser: every input bit reaches the low bits that pick the slot.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The table with its lock held; released on drop.
pub(super) struct Locked<'a> {
    table: &'a Table,
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.table.header().lock.unlock();
    }
}

/// The current table, checked against the region.
#[derive(Clone, Copy)]
struct Layout {
    offset: u64,
    cap: u64,
    /// The current half: its first byte and the byte past its end.
    base: u64,
    end: u64,
}

impl<'a> Locked<'a> {
    fn h(&self) -> &'a Header {
        self.table.header()
    }

    fn layout(&self) -> Result<Layout, TableError> {
        let word = self.h().layout.load(Ordering::Acquire);
        let (offset, log) = (word >> 8, word & 0xff);
        let t = self.table;
        if log >= 40 || offset < HEADER || !offset.is_multiple_of(8) {
            return Err(TableError::Corrupt("bad layout word"));
        }
        let cap = 1u64 << log;
        let which = (offset - HEADER) / t.half;
        let (base, end) = (t.half_base(which), t.half_base(which) + t.half);
        if which > 1 || offset + cap * SLOT > end {
            return Err(TableError::Corrupt("the table lies outside its half"));
        }
        Ok(Layout { offset, cap, base, end })
    }

    fn slot(&self, l: &Layout, i: u64) -> &'a Slot {
        debug_assert!(i < l.cap);
        // SAFETY: `layout` checked that the table's `cap` slots lie inside the region, and
        // `i < cap`; offsets are multiples of 8, so the slot is aligned; Slot is two atomics, valid
        // for every bit pattern.
        unsafe { &*self.table.region.as_ptr().add((l.offset + i * SLOT) as usize).cast::<Slot>() }
    }

    /// The record at `off`, if it lies whole inside the current half.
    fn record(&self, l: &Layout, off: u64) -> Result<Record<'_>, TableError> {
        if off < l.base || !off.is_multiple_of(8) || off + RECORD_HEADER > l.end {
            return Err(TableError::Corrupt("a slot points outside its half"));
        }
        let p = self.table.region.as_ptr();
        // SAFETY: the 16 header bytes lie inside the region (checked above) and are 8-aligned.
        // Records are written before they are published and never changed after, and every writer
        // holds the lock we hold, so nobody writes them while we read.
        let (seq, klen, vlen) = unsafe {
            let r = p.add(off as usize);
            (
                r.cast::<u64>().read(),
                r.add(8).cast::<u32>().read() as usize,
                r.add(12).cast::<u32>().read() as usize,
            )
        };
        let size = record_size(klen, vlen);
        if off + size > l.end {
            return Err(TableError::Corrupt("a record runs past its half"));
        }
        // SAFETY: as above; the key and value bytes lie inside the record, inside the region,
        // and stay unchanged while the lock is held: the borrow is of `self`, the held lock.
        let (key, value) = unsafe {
            let k = p.add((off + RECORD_HEADER) as usize);
            (std::slice::from_raw_parts(k, klen), std::slice::from_raw_parts(k.add(klen), vlen))
        };
        Ok(Record { seq, size, key, value })
    }

    fn find(&self, l: &Layout, key: &[u8], h: u64) -> Result<Find<'_>, TableError> {
        let mask = l.cap - 1;
        let mut i = h & mask;
        let mut vacant = None;
        for _ in 0..l.cap {
            let s = self.slot(l, i);
            match s.off.load(Ordering::Acquire) {
                EMPTY => return Ok(Find::Vacant(vacant.unwrap_or(i))),
                REMOVED => {
                    vacant.get_or_insert(i);
                }
                off => {
                    if s.hash.load(Ordering::Relaxed) == h {
                        let r = self.record(l, off)?;
                        if r.key == key {
                            return Ok(Find::Found(i, r));
                        }
                    }
                }
            }
            i = (i + 1) & mask;
        }
        vacant.map(Find::Vacant).ok_or(TableError::Corrupt("a table with no empty slot"))
    }

    /// The value at `key`, read in place.
    pub(super) fn get(&self, key: &[u8]) -> Result<Option<&[u8]>, TableError> {
        let l = self.layout()?;
        Ok(match self.find(&l, key, hash(key))? {
            Find::Found(_, r) => Some(r.value),
            Find::Vacant(_) => None,
        })
    }

    /// The number of entries.
    pub(super) fn len(&self) -> u64 {
        self.h().len.load(Ordering::Relaxed)
    }

    /// Sets `key` to `value`.
    pub(super) fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), TableError> {
        if key.len() > u32::MAX as usize || value.len() > u32::MAX as usize {
            return Err(TableError::Full { needed: (key.len() + value.len()) as u64, half: 0 });
        }
        let h = hash(key);
        let size = record_size(key.len(), value.len());
        self.make_room(size)?;
        let l = self.layout()?;
        let hd = self.h();
        match self.find(&l, key, h)? {
            Find::Found(i, old) => {
                let off = self.append(&l, old.seq, key, value, size)?;
                self.slot(&l, i).off.store(off, Ordering::Release);
                hd.live.store(hd.live.load(Ordering::Relaxed) - old.size + size, Ordering::Relaxed);
            }
            Find::Vacant(i) => {
                let seq = hd.next_seq.load(Ordering::Relaxed);
                hd.next_seq.store(seq + 1, Ordering::Relaxed);
                let off = self.append(&l, seq, key, value, size)?;
                let s = self.slot(&l, i);
                let was_empty = s.off.load(Ordering::Relaxed) == EMPTY;
                s.hash.store(h, Ordering::Relaxed);
                s.off.store(off, Ordering::Release);
                hd.len.store(hd.len.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                if was_empty {
                    hd.used.store(hd.used.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                }
                hd.live.store(hd.live.load(Ordering::Relaxed) + size, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// Removes `key`; its value, copied out, if it was there.
    pub(super) fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TableError> {
        let l = self.layout()?;
        let Find::Found(i, r) = self.find(&l, key, hash(key))? else { return Ok(None) };
        let value = r.value.to_vec();
        let hd = self.h();
        self.slot(&l, i).off.store(REMOVED, Ordering::Release);
        hd.len.store(hd.len.load(Ordering::Relaxed).saturating_sub(1), Ordering::Relaxed);
        hd.live.store(hd.live.load(Ordering::Relaxed).saturating_sub(r.size), Ordering::Relaxed);
        Ok(Some(value))
    }

    /// Every entry, in insertion order, read in place.
    pub(super) fn entries(&self) -> Result<Vec<Record<'_>>, TableError> {
        let l = self.layout()?;
        let mut all = Vec::with_capacity(self.len().min(l.cap) as usize);
        for i in 0..l.cap {
            let off = self.slot(&l, i).off.load(Ordering::Acquire);
            if off > REMOVED {
                all.push(self.record(&l, off)?);
            }
        }
        all.sort_unstable_by_key(|r| r.seq);
        Ok(all)
    }

    /// Removes every entry.
    pub(super) fn clear(&self) -> Result<(), TableError> {
        self.compact(0, false)
    }

    /// Writes a record at `top` and advances `top` past it; returns its offset. Not yet published.
    fn append(
        &self,
        l: &Layout,
        seq: u64,
        key: &[u8],
        value: &[u8],
        size: u64,
    ) -> Result<u64, TableError> {
        let hd = self.h();
        let off = hd.top.load(Ordering::Relaxed);
        if off < l.base || !off.is_multiple_of(8) || off + size > l.end {
            return Err(TableError::Corrupt("top lies outside the current half"));
        }
        if (off + size - 1) / CHUNK != off.saturating_sub(1) / CHUNK || off == l.base {
            self.table.allocate(off, off + size).map_err(TableError::Memory)?;
        }
        // SAFETY: `off .. off + size` lies inside the current half (checked above), above `top`,
        // so no slot points there and no other process reads it; we hold the lock, so no other
        // process writes there. The record header is 8-aligned.
        unsafe {
            let r = self.table.region.as_ptr().add(off as usize);
            r.cast::<u64>().write(seq);
            r.add(8).cast::<u32>().write(key.len() as u32);
            r.add(12).cast::<u32>().write(value.len() as u32);
            let k = r.add(RECORD_HEADER as usize);
            std::ptr::copy_nonoverlapping(key.as_ptr(), k, key.len());
            std::ptr::copy_nonoverlapping(value.as_ptr(), k.add(key.len()), value.len());
        }
        hd.top.store(off + size, Ordering::Release);
        Ok(off)
    }

    /// Makes sure one more entry of `size` bytes fits: grows (or cleans) the table, or compacts.
    fn make_room(&self, size: u64) -> Result<(), TableError> {
        let l = self.layout()?;
        let hd = self.h();
        let (len, used, live) = (
            hd.len.load(Ordering::Relaxed),
            hd.used.load(Ordering::Relaxed),
            hd.live.load(Ordering::Relaxed),
        );
        let top = hd.top.load(Ordering::Relaxed);
        let garbage = top.saturating_sub(l.base).saturating_sub(live + l.cap * SLOT);
        if top + size > l.end || garbage > live + SLACK.min(self.table.half / 8) {
            return self.compact(size, true);
        }
        if (used + 1) * 4 > l.cap * 3 {
            let cap = new_cap(len + 1);
            if top.next_multiple_of(64) + cap * SLOT + size > l.end {
                return self.compact(size, true);
            }
            self.rebuild(&l, cap)?;
        }
        Ok(())
    }

    /// Writes a new table of `cap` slots at `top` holding the live entries, and publishes it.
    fn rebuild(&self, l: &Layout, cap: u64) -> Result<(), TableError> {
        let hd = self.h();
        let offset = hd.top.load(Ordering::Relaxed).next_multiple_of(64);
        let end = offset + cap * SLOT;
        self.table.allocate(offset, end).map_err(TableError::Memory)?;
        hd.top.store(end, Ordering::Release);
        let new = Layout { offset, cap, ..*l };
        self.zero(offset, end);
        for i in 0..l.cap {
            let s = self.slot(l, i);
            let off = s.off.load(Ordering::Relaxed);
            if off > REMOVED {
                self.place(&new, s.hash.load(Ordering::Relaxed), off);
            }
        }
        hd.layout.store(pack(offset, cap), Ordering::Release);
        hd.used.store(hd.len.load(Ordering::Relaxed), Ordering::Relaxed);
        Ok(())
    }

    /// Copies the live entries (none unless `keep`) and a fresh table into the other half, with
    /// room for `extra` more bytes, publishes them, and gives the old half's memory back.
    fn compact(&self, extra: u64, keep: bool) -> Result<(), TableError> {
        let l = self.layout()?;
        let hd = self.h();
        let t = self.table;
        let (len, live) = if keep {
            (hd.len.load(Ordering::Relaxed), hd.live.load(Ordering::Relaxed))
        } else {
            (0, 0)
        };
        let cap = new_cap(len + 1);
        let needed = cap * SLOT + live + extra;
        if needed > t.half {
            return Err(TableError::Full { needed, half: t.half });
        }
        let which = (l.base - HEADER) / t.half;
        let base = t.half_base(1 - which);
        t.allocate(base, base + needed).map_err(TableError::Memory)?;
        let new = Layout { offset: base, cap, base, end: base + t.half };
        self.zero(base, base + cap * SLOT);
        let mut cursor = base + cap * SLOT;
        let p = t.region.as_ptr();
        if keep {
            for i in 0..l.cap {
                let s = self.slot(&l, i);
                let off = s.off.load(Ordering::Relaxed);
                if off <= REMOVED {
                    continue;
                }
                let r = self.record(&l, off)?;
                if cursor + r.size > new.end {
                    return Err(TableError::Corrupt("the live data outgrew its count"));
                }
                // SAFETY: the source is a whole record inside the old half (checked by `record`),
                // the destination lies inside the new half (checked above), the halves do not
                // overlap, and we hold the lock: nobody else reads or writes either.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        p.add(off as usize),
                        p.add(cursor as usize),
                        r.size as usize,
                    );
                }
                self.place(&new, s.hash.load(Ordering::Relaxed), cursor);
                cursor += r.size;
            }
        }
        let old_top = hd.top.load(Ordering::Relaxed).clamp(l.base, l.end);
        hd.layout.store(pack(base, cap), Ordering::Release);
        hd.top.store(cursor, Ordering::Release);
        hd.len.store(len, Ordering::Relaxed);
        hd.used.store(len, Ordering::Relaxed);
        hd.live.store(cursor - base - cap * SLOT, Ordering::Relaxed);
        // Best effort: if it fails, the memory is reused at the next compaction into that half.
        let _ = t.region.release(l.base as usize, (old_top - l.base) as usize);
        Ok(())
    }

    /// Puts `(hash, off)` in the first free slot of `table` (a table being built, unpublished).
    fn place(&self, table: &Layout, hash: u64, off: u64) {
        let mask = table.cap - 1;
        let mut i = hash & mask;
        loop {
            let s = self.slot(table, i);
            if s.off.load(Ordering::Relaxed) == EMPTY {
                s.hash.store(hash, Ordering::Relaxed);
                s.off.store(off, Ordering::Relaxed);
                return;
            }
            i = (i + 1) & mask;
        }
    }

    fn zero(&self, from: u64, to: u64) {
        // SAFETY: callers pass a range inside the current or the other half, above `top` or in a
        // half no published word points into; we hold the lock, so nobody else touches it.
        unsafe {
            std::ptr::write_bytes(
                self.table.region.as_ptr().add(from as usize),
                0,
                (to - from) as usize,
            );
        }
    }

    /// After a holder died: drops slots that point at no whole record, recounts, and sets `top`
    /// just past the highest live record or the table, so a half-written tail is overwritten.
    #[cold]
    fn recover(&self) {
        let hd = self.h();
        let Ok(l) = self.layout() else {
            // The layout word is only ever stored whole; a bad one was not written by a holder.
            return;
        };
        let (mut len, mut used, mut live, mut max_seq) = (0, 0, 0, None::<u64>);
        let mut top = l.offset + l.cap * SLOT;
        for i in 0..l.cap {
            let s = self.slot(&l, i);
            let off = s.off.load(Ordering::Relaxed);
            if off == EMPTY {
                continue;
            }
            used += 1;
            if off == REMOVED {
                continue;
            }
            match self.record(&l, off) {
                Ok(r) => {
                    len += 1;
                    live += r.size;
                    top = top.max(off + r.size);
                    max_seq = Some(max_seq.map_or(r.seq, |m| m.max(r.seq)));
                }
                Err(_) => s.off.store(REMOVED, Ordering::Release),
            }
        }
        hd.len.store(len, Ordering::Relaxed);
        hd.used.store(used, Ordering::Relaxed);
        hd.live.store(live, Ordering::Relaxed);
        hd.top.store(top, Ordering::Release);
        if let Some(m) = max_seq
            && hd.next_seq.load(Ordering::Relaxed) <= m
        {
            hd.next_seq.store(m + 1, Ordering::Relaxed);
        }
    }
}

/// A table size with room for `n` entries at most half full.
fn new_cap(n: u64) -> u64 {
    (n * 2).next_power_of_two().max(MIN_CAP)
}

/// The word a [`Liveness`] region holds, for the manager's own thread to keep locked.
#[repr(C, align(64))]
pub(super) struct Liveness {
    magic: AtomicU64,
    /// Set by the manager when it begins to shut down.
    closed: AtomicU32,
    /// The manager's thread that holds `mutex`.
    holder: AtomicU32,
    /// A process-shared robust mutex the manager locks for good: the kernel marks it when the
    /// thread dies, whatever kills it.
    mutex: [AtomicU32; 16],
}

// SAFETY: repr(C), atomics only: pointer-free, valid for every bit pattern, mutated atomically
// (the mutex by the C library's atomic operations, 32 bits at a time).
unsafe impl ShmSafe for Liveness {}

const LIVENESS_MAGIC: u64 = 0x4d50_4c49_5645_0001; // "MPLIVE" v1

impl Liveness {
    /// Called by the manager's long-lived thread: makes the region tell that this thread lives.
    pub(super) fn hold(region: &SharedRegion) -> io::Result<()> {
        let l = Self::of(region).ok_or_else(|| io::Error::other("liveness region too small"))?;
        let tid = crate::sys::hold_robust_mutex(&l.mutex)?;
        l.holder.store(tid, Ordering::Relaxed);
        l.magic.store(LIVENESS_MAGIC, Ordering::Release);
        Ok(())
    }

    /// Called by the manager when it begins to stop.
    pub(super) fn close(region: &SharedRegion) {
        if let Some(l) = Self::of(region) {
            l.closed.store(1, Ordering::Release);
        }
    }

    /// The region's view, if it is large enough.
    pub(super) fn of(region: &SharedRegion) -> Option<&Liveness> {
        if region.len() < std::mem::size_of::<Liveness>() {
            return None;
        }
        // SAFETY: the region is page-aligned and large enough; Liveness is ShmSafe.
        Some(unsafe { &*region.as_ptr().cast::<Liveness>() })
    }

    /// Whether the manager is running: one or two atomic loads, no system call.
    pub(super) fn alive(&self) -> bool {
        self.magic.load(Ordering::Acquire) == LIVENESS_MAGIC
            && self.closed.load(Ordering::Acquire) == 0
            && crate::sys::robust_mutex_held_by(&self.mutex, self.holder.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table::create(MIN_HALF).unwrap()
    }

    fn keys(t: &Locked<'_>) -> Vec<Vec<u8>> {
        t.entries().unwrap().iter().map(|r| r.key.to_vec()).collect()
    }

    #[test]
    fn keeps_insertion_order_like_python() {
        let t = table();
        let l = t.lock();
        for k in [3u8, 1, 2] {
            l.insert(&[k], &[k]).unwrap();
        }
        l.insert(&[1], &[9, 9]).unwrap();
        assert_eq!(keys(&l), [[3], [1], [2]]);
        assert_eq!(l.get(&[1]).unwrap(), Some(&[9u8, 9][..]));
        assert_eq!(l.remove(&[3]).unwrap(), Some(vec![3]));
        l.insert(&[3], &[3]).unwrap();
        assert_eq!(keys(&l), [[1], [2], [3]]);
        assert_eq!(l.remove(&[7]).unwrap(), None);
        assert_eq!(l.len(), 3);
    }

    #[test]
    fn growth_and_compaction_keep_every_key() {
        let t = table();
        let l = t.lock();
        // Far more than a 64 KiB half holds at once, overwritten and removed on the way.
        for round in 0..20u32 {
            for k in 0..300u32 {
                l.insert(&k.to_le_bytes(), &(k + round).to_le_bytes()).unwrap();
            }
            for k in (0..300u32).step_by(3) {
                assert!(l.remove(&k.to_le_bytes()).unwrap().is_some());
            }
        }
        assert_eq!(l.len(), 200);
        for k in 0..300u32 {
            let v = l.get(&k.to_le_bytes()).unwrap();
            if k % 3 == 0 {
                assert_eq!(v, None);
            } else {
                assert_eq!(v, Some(&(k + 19).to_le_bytes()[..]));
            }
        }
        l.clear().unwrap();
        assert_eq!(l.len(), 0);
        assert!(l.entries().unwrap().is_empty());
    }

    #[test]
    fn a_record_larger_than_a_half_is_refused_and_changes_nothing() {
        let t = table();
        let l = t.lock();
        l.insert(b"a", b"1").unwrap();
        let big = vec![0u8; MIN_HALF as usize];
        assert!(matches!(l.insert(b"b", &big), Err(TableError::Full { .. })));
        assert_eq!(keys(&l), [b"a".to_vec()]);
    }

    #[test]
    fn recovery_recounts_and_drops_an_unpublished_tail() {
        let t = table();
        {
            let l = t.lock();
            l.insert(b"a", b"1").unwrap();
            l.insert(b"b", b"2").unwrap();
            // A writer that appended a record and died before publishing it, with a wrong count.
            let lay = l.layout().unwrap();
            l.append(&lay, 99, b"c", b"3", record_size(1, 1)).unwrap();
            l.h().len.store(7, Ordering::Relaxed);
            l.recover();
            assert_eq!(l.len(), 2);
            assert_eq!(keys(&l), [b"a".to_vec(), b"b".to_vec()]);
            l.insert(b"c", b"3").unwrap();
            assert_eq!(l.get(b"c").unwrap(), Some(&b"3"[..]));
        }
        assert!(Table::open(t.region().clone()).is_some());
    }

    #[test]
    fn hash_is_stable() {
        assert_eq!(hash(b""), hash(b""));
        assert_ne!(hash(b"key0"), hash(b"key1"));
        assert_ne!(hash(&[0; 8]), hash(&[0; 9]));
    }
}
