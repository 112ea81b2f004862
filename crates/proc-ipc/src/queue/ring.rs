//! The queue's data path: a chain of blocks in one sparse shared region, written by producers and
//! read by consumers with no system call while neither side sleeps.
//!
//! # Layout
//! ```text
//! offset 0           the header: configuration, producer side, consumer side, wake-up words,
//!                    free list, task counters — each on its own cache line pair
//! HEADER_SPACE + c·B block c (B = block size, 2 MiB): a 64-byte block header (next block, free-list
//!                    link, whether memory is allocated), then records
//! ```
//! A record is an 8-byte word (payload length; or "skip", meaning the rest of the block is unused)
//! followed by the payload, padded to 8 bytes. A payload that fits in a block is always contiguous
//! (it moves to a fresh block if need be), so consumers decode it in place; a larger one continues
//! across blocks.
//!
//! # Ownership
//! Producers serialise on a lock in the header, consumers on another; both are [`RawLock`]s, which
//! report a holder that died. The committed `tail` (where the next record goes) is stored only
//! after a record is complete, so a producer killed in the middle of a put leaves nothing a
//! consumer can see; the next producer finds the lock's owner dead, discards the half-written
//! record and the blocks it had linked, and goes on. Consumers likewise commit `head` only after a
//! record is read.
//!
//! Blocks a consumer leaves go on a free list (a tagged Treiber stack) and are reused hottest
//! first; beyond a few spare blocks their memory is given back to the system. The region is
//! sparse, so an unbounded queue's backlog costs memory only for what it holds.
//!
//! # Sleeping
//! A consumer that finds the queue empty spins briefly, then reads the futex word `data_seq`, sets
//! the flag `consumers_asleep`, looks at the queue once more and sleeps on `data_seq` unless
//! something came. A producer that publishes a record and finds the flag set clears it, bumps the
//! word and wakes every sleeper; the woken ones that find nothing set the flag again. So a wake-up
//! costs one system call per sleep, not one per put while a sleeper is getting back on a CPU, and
//! a sleeper killed in its sleep costs at most one wake-up. (Reading the word *before* setting the
//! flag is what makes it safe: a producer that clears a flag set after that read bumps the word
//! after it too, so the sleeper's wait returns at once and it looks again.) Producers of a bounded
//! queue sleep the same way on `space_seq` and `producers_asleep`. With no sleeper, a put and a get
//! are each a few atomic operations and copies.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};
use std::time::Instant;

use proc_core::SharedRegion;
use proc_sync::raw::{self as futex, Acquired, RawLock};

use crate::error::{HandleError, MessageError};
use crate::sys;

const MAGIC: u64 = 0x4d50_5155_4555_0001; // "MPQUEUE" v1
/// Bytes before block 0: the header, on its own pages.
const HEADER_SPACE: usize = 64 * 1024;
/// Block size. A payload up to `BLOCK - BLOCK_DATA - 8` bytes is stored contiguously.
pub(crate) const BLOCK: usize = 2 * 1024 * 1024;
/// Where records start in a block (after the block header).
const BLOCK_DATA: usize = 64;
/// Page kept when a block's memory is given back: it holds the block header.
const PAGE: usize = 4096;
/// Free blocks kept with their memory; more are given back to the system.
const HOT_BLOCKS: u32 = 8;
/// About what allocating and mapping a fresh block costs (zeroing 2 MiB, mapping it, giving it
/// back later): how long a producer waits for a consumer to free a hot block instead.
const FRESH_BLOCK_COST: std::time::Duration = std::time::Duration::from_micros(300);
/// Spins before a waiter sleeps.
const SPINS: u32 = 256;
/// Pauses between two looks of a spinning consumer.
const POLL_PAUSES: u32 = 4;
/// Record word flag: the rest of the block is unused.
const SKIP: u64 = 1 << 63;

#[repr(C, align(128))]
#[derive(Default)]
struct Line<T>(T);

#[repr(C)]
#[derive(Default)]
struct Config {
    magic: AtomicU64,
    type_hash: AtomicU64,
    max_blocks: AtomicU64,
    maxsize: AtomicU64,
}

/// What only producers write. The lock has a line of its own apart from `tail`, which consumers
/// read all the time: a producer's lock and unlock stay in its own cache.
#[repr(C)]
#[derive(Default)]
struct PutSide {
    lock: RawLock,
    /// Items committed, ever.
    puts: AtomicU64,
    /// A commit in progress (tail it is storing, 0 when none) and the count that goes with it, so
    /// a producer that died between the two stores can be finished by the next one.
    intent_tail: AtomicU64,
    intent_puts: AtomicU64,
}

/// Written by producers, read by consumers.
#[repr(C)]
#[derive(Default)]
struct TailSide {
    /// Committed end of the data: `block << 32 | offset`.
    tail: AtomicU64,
    closed: AtomicU32,
}

#[repr(C)]
#[derive(Default)]
struct GetSide {
    lock: RawLock,
    /// Next record to read: `block << 32 | offset`.
    head: AtomicU64,
    /// Items taken, ever.
    gets: AtomicU64,
    intent_head: AtomicU64,
    intent_gets: AtomicU64,
}

#[repr(C)]
#[derive(Default)]
struct Wakeups {
    data_seq: AtomicU32,
    /// 1: a consumer may be asleep on `data_seq`.
    consumers_asleep: AtomicU32,
    space_seq: AtomicU32,
    /// 1: a producer may be asleep on `space_seq`.
    producers_asleep: AtomicU32,
    /// Processes in `wait()` watching this queue's event fd.
    fd_waiters: AtomicU32,
}

#[repr(C)]
#[derive(Default)]
struct FreeList {
    /// `tag << 32 | (block + 1)`; 0 in the low half: empty.
    top: AtomicU64,
    count: AtomicU32,
    /// Blocks never used so far start here.
    fresh: AtomicU32,
}

#[repr(C)]
#[derive(Default)]
struct Tasks {
    /// `task_done` calls, ever.
    done: AtomicU64,
    seq: AtomicU32,
    joiners: AtomicU32,
}

#[repr(C)]
#[derive(Default)]
struct Header {
    config: Line<Config>,
    put: Line<PutSide>,
    tail: Line<TailSide>,
    get: Line<GetSide>,
    wake: Line<Wakeups>,
    free: Line<FreeList>,
    tasks: Line<Tasks>,
}

#[repr(C)]
struct BlockHeader {
    /// Next block in the chain, plus one (0: none).
    next: AtomicU32,
    /// Next block in the free list, plus one.
    free_next: AtomicU32,
    /// 1 when the block's memory is allocated.
    allocated: AtomicU32,
    /// Bumped each time the block's memory is allocated anew: a process whose pages for the
    /// block are older maps them again (in one call, see [`Ring::touch`]).
    generation: AtomicU32,
}

const _: () = assert!(std::mem::size_of::<Header>() <= HEADER_SPACE);
const _: () = assert!(std::mem::size_of::<BlockHeader>() <= BLOCK_DATA);

fn pack(block: u32, off: usize) -> u64 {
    (u64::from(block) << 32) | off as u64
}

fn unpack(pos: u64) -> (u32, usize) {
    ((pos >> 32) as u32, (pos & 0xffff_ffff) as usize)
}

fn pad8(n: usize) -> usize {
    (n + 7) & !7
}

/// Largest payload stored contiguously in one block.
const CONTIGUOUS_MAX: usize = BLOCK - BLOCK_DATA - 8;

/// Before a waiter looks at the queue one last time and sleeps: reads the futex word it will sleep
/// on, then sets the flag (in that order, see the module doc). Returns the word's value to wait on.
fn announce_sleep(asleep: &AtomicU32, seq: &AtomicU32) -> u32 {
    let s = seq.load(Ordering::SeqCst);
    asleep.store(1, Ordering::SeqCst);
    fence(Ordering::SeqCst);
    s
}

/// After publishing (a record, or room): wakes the sleepers if the flag says there may be some.
/// Called after a `SeqCst` fence that follows the publication.
fn wake_sleepers(asleep: &AtomicU32, seq: &AtomicU32) {
    if asleep.load(Ordering::Relaxed) != 0 && asleep.swap(0, Ordering::SeqCst) != 0 {
        seq.fetch_add(1, Ordering::SeqCst);
        futex::wake(seq, u32::MAX);
    }
}

/// A held put or get lock.
struct Held<'a>(&'a RawLock);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.unlock();
    }
}

/// How a put ended.
pub(crate) enum Put {
    Done,
    Full,
    Closed,
    Failed(MessageError),
}

/// How a take ended.
pub(crate) enum Take<R> {
    Item(R),
    Empty,
    Closed,
}

/// One process's view of a queue's shared region.
pub(crate) struct Ring {
    region: SharedRegion,
    event: OwnedFd,
    max_blocks: u32,
    maxsize: u64,
    /// Per block, the generation whose pages this process has mapped.
    local: Box<[AtomicU32]>,
    /// The committed tail as this process last read it, and `gets` right after its last take:
    /// while `gets` still has that value no other consumer has taken anything, so everything
    /// between `head` and that tail is committed and can be read without looking at the shared
    /// tail (a line producers keep writing). Read and written under the get lock; outside it only
    /// as a hint.
    seen_tail: AtomicU64,
    seen_gets: AtomicU64,
}

impl Ring {
    /// A new, empty queue: `maxsize` items at most (0: unbounded), `capacity` bytes of address
    /// space for items waiting.
    pub(crate) fn create(maxsize: u64, capacity: usize, type_hash: u64) -> io::Result<Ring> {
        let max_blocks = capacity.div_ceil(BLOCK).clamp(2, u32::MAX as usize - 1);
        let region = SharedRegion::sparse(HEADER_SPACE + max_blocks * BLOCK)?;
        region.allocate(0, HEADER_SPACE)?;
        let event = sys::eventfd()?;
        let local = (0..max_blocks).map(|_| AtomicU32::new(0)).collect();
        let ring = Ring {
            region,
            event,
            max_blocks: max_blocks as u32,
            maxsize,
            local,
            seen_tail: AtomicU64::new(0),
            seen_gets: AtomicU64::new(u64::MAX),
        };
        let h = ring.header();
        h.config.0.type_hash.store(type_hash, Ordering::Relaxed);
        h.config.0.max_blocks.store(max_blocks as u64, Ordering::Relaxed);
        h.config.0.maxsize.store(maxsize, Ordering::Relaxed);
        let first = ring.alloc_block().map_err(|e| io::Error::other(e.to_string()))?;
        h.tail.0.tail.store(pack(first, BLOCK_DATA), Ordering::Relaxed);
        h.get.0.head.store(pack(first, BLOCK_DATA), Ordering::Relaxed);
        h.config.0.magic.store(MAGIC, Ordering::Release);
        Ok(ring)
    }

    /// The same queue, from a region and event fd received from another process.
    pub(crate) fn attach(
        region: SharedRegion,
        event: OwnedFd,
        type_hash: u64,
        type_name: &'static str,
    ) -> Result<Ring, HandleError> {
        if region.len() < HEADER_SPACE + 2 * BLOCK {
            return Err(HandleError::NotAQueue);
        }
        let mut ring = Ring {
            region,
            event,
            max_blocks: 0,
            maxsize: 0,
            local: Box::default(),
            seen_tail: AtomicU64::new(0),
            seen_gets: AtomicU64::new(u64::MAX),
        };
        let c = &ring.header().config.0;
        if c.magic.load(Ordering::Acquire) != MAGIC {
            return Err(HandleError::NotAQueue);
        }
        let max_blocks = c.max_blocks.load(Ordering::Relaxed);
        if max_blocks < 2
            || HEADER_SPACE as u64 + max_blocks * BLOCK as u64 > ring.region.len() as u64
        {
            return Err(HandleError::NotAQueue);
        }
        let found = c.type_hash.load(Ordering::Relaxed);
        if found != type_hash {
            return Err(HandleError::WrongType {
                expected: format!("type hash {found:#018x}"),
                found: type_name,
            });
        }
        ring.maxsize = c.maxsize.load(Ordering::Relaxed);
        ring.max_blocks = max_blocks as u32;
        ring.local = (0..max_blocks).map(|_| AtomicU32::new(0)).collect();
        Ok(ring)
    }

    pub(crate) fn region(&self) -> &SharedRegion {
        &self.region
    }

    pub(crate) fn event(&self) -> std::os::fd::BorrowedFd<'_> {
        self.event.as_fd()
    }

    pub(crate) fn maxsize(&self) -> u64 {
        self.maxsize
    }

    pub(crate) fn capacity(&self) -> u64 {
        u64::from(self.max_blocks) * BLOCK as u64
    }

    fn header(&self) -> &Header {
        // SAFETY: the region starts with HEADER_SPACE bytes (checked at attach, allocated at
        // create), page-aligned, holding a Header: atomics only, valid for every bit pattern, and
        // mutated only atomically by every process.
        unsafe { &*self.region.as_ptr().cast::<Header>() }
    }

    fn block_offset(&self, block: u32) -> usize {
        HEADER_SPACE + block as usize * BLOCK
    }

    fn block(&self, block: u32) -> &BlockHeader {
        debug_assert!(block < self.max_blocks);
        // SAFETY: `block < max_blocks`, so the block lies inside the region (checked at attach);
        // its header is atomics only, valid for every bit pattern.
        unsafe { &*self.region.as_ptr().add(self.block_offset(block)).cast::<BlockHeader>() }
    }

    /// Bytes `off..off + len` of `block`.
    ///
    /// # Safety
    /// The caller must have exclusive use of these bytes under the queue's protocol: a producer
    /// holding the put lock, at or after the committed tail; or a consumer holding the get lock,
    /// between head and the committed tail (which producers never write again until the block is
    /// freed).
    #[allow(clippy::mut_from_ref)]
    unsafe fn bytes(&self, block: u32, off: usize, len: usize) -> &mut [u8] {
        debug_assert!(block < self.max_blocks && off + len <= BLOCK);
        // SAFETY: inside the region (block < max_blocks, off + len <= BLOCK); exclusivity is the
        // caller's promise.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.region.as_ptr().add(self.block_offset(block) + off),
                len,
            )
        }
    }

    fn word(&self, block: u32, off: usize) -> u64 {
        // SAFETY: an aligned 8-byte read inside the block (off is 8-aligned, off + 8 <= BLOCK),
        // of bytes the caller owns under the protocol.
        let b = unsafe { self.bytes(block, off, 8) };
        u64::from_le_bytes((&*b).try_into().expect("8 bytes"))
    }

    fn set_word(&self, block: u32, off: usize, w: u64) {
        // SAFETY: as `word`, for a producer at or after the tail.
        unsafe { self.bytes(block, off, 8) }.copy_from_slice(&w.to_le_bytes());
    }

    // ----- blocks -----

    fn alloc_block(&self) -> Result<u32, MessageError> {
        let free = &self.header().free.0;
        if free.top.load(Ordering::Relaxed) & 0xffff_ffff == 0 {
            self.await_free_block();
        }
        let b = loop {
            let top = free.top.load(Ordering::Acquire);
            let idx = (top & 0xffff_ffff) as u32;
            if idx == 0 {
                break None;
            }
            let b = idx - 1;
            if b >= self.max_blocks {
                return Err(MessageError::Decode("corrupt queue free list".into()));
            }
            let next = self.block(b).free_next.load(Ordering::Relaxed);
            let new = ((top >> 32).wrapping_add(1) << 32) | u64::from(next);
            if free.top.compare_exchange(top, new, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                free.count.fetch_sub(1, Ordering::Relaxed);
                break Some(b);
            }
        };
        let b = match b {
            Some(b) => b,
            None => {
                let mut f = free.fresh.load(Ordering::Relaxed);
                loop {
                    if f >= self.max_blocks {
                        return Err(MessageError::NoSpace { capacity: self.capacity() });
                    }
                    match free.fresh.compare_exchange(
                        f,
                        f + 1,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => break f,
                        Err(now) => f = now,
                    }
                }
            }
        };
        let bh = self.block(b);
        if bh.allocated.load(Ordering::Relaxed) == 0 {
            // Allocate and map the block's pages in one call: an error here, rather than a
            // SIGBUS on first touch, if the system has no memory.
            if let Err(e) = self.region.prefault(self.block_offset(b), BLOCK, true) {
                self.free_block(b);
                return Err(MessageError::NoMemory(e.to_string()));
            }
            bh.allocated.store(1, Ordering::Relaxed);
            let g = bh.generation.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            self.local[b as usize].store(g, Ordering::Relaxed);
        }
        bh.next.store(0, Ordering::Relaxed);
        Ok(b)
    }

    /// With no free block, and consumers at least two blocks behind (so the one they are reading
    /// will be freed when they finish it), waits for a block to come free — but never longer than
    /// allocating fresh memory would take. Keeps a fast producer on hot, mapped memory instead
    /// of a trail of new pages, and never makes a put wait for a slow or absent consumer.
    fn await_free_block(&self) {
        let free = &self.header().free.0;
        let in_use =
            free.fresh.load(Ordering::Relaxed).saturating_sub(free.count.load(Ordering::Relaxed));
        if in_use < 3 {
            return;
        }
        let start = Instant::now();
        while free.top.load(Ordering::Relaxed) & 0xffff_ffff == 0 {
            if start.elapsed() >= FRESH_BLOCK_COST {
                return;
            }
            for _ in 0..32 {
                std::hint::spin_loop();
            }
        }
    }

    /// Makes sure this process has block `b`'s current pages mapped: one system call the first
    /// time a process uses a block (or after its memory was given back and allocated again),
    /// instead of a page fault per page.
    fn touch(&self, b: u32, write: bool) {
        let g = self.block(b).generation.load(Ordering::Relaxed);
        let local = &self.local[b as usize];
        if local.load(Ordering::Relaxed) != g {
            // Best effort: pages not mapped here fault in on first touch instead.
            let _ = self.region.prefault(self.block_offset(b), BLOCK, write);
            local.store(g, Ordering::Relaxed);
        }
    }

    fn free_block(&self, b: u32) {
        let free = &self.header().free.0;
        let bh = self.block(b);
        if free.count.load(Ordering::Relaxed) >= HOT_BLOCKS
            && bh.allocated.load(Ordering::Relaxed) == 1
            && self.region.release(self.block_offset(b) + PAGE, BLOCK - PAGE).is_ok()
        {
            bh.allocated.store(0, Ordering::Relaxed);
        }
        free.count.fetch_add(1, Ordering::Relaxed);
        loop {
            let top = free.top.load(Ordering::Relaxed);
            bh.free_next.store((top & 0xffff_ffff) as u32, Ordering::Relaxed);
            let new = ((top >> 32).wrapping_add(1) << 32) | u64::from(b + 1);
            if free.top.compare_exchange(top, new, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                return;
            }
        }
    }

    /// Links a new block after `block` and returns it.
    fn extend(&self, block: u32) -> Result<u32, MessageError> {
        let n = self.alloc_block()?;
        self.touch(n, true);
        self.block(block).next.store(n + 1, Ordering::Release);
        Ok(n)
    }

    fn next_of(&self, block: u32) -> Option<u32> {
        match self.block(block).next.load(Ordering::Acquire) {
            0 => None,
            n if n - 1 < self.max_blocks => Some(n - 1),
            _ => None,
        }
    }

    // ----- producer side -----

    /// Takes the put lock (finishing the work of a holder that died), released when the guard
    /// drops, also if an encoder panics.
    fn lock_put(&self) -> Held<'_> {
        let p = &self.header().put.0;
        if p.lock.lock(None) == Acquired::OwnerDied {
            self.recover_put();
        }
        Held(&p.lock)
    }

    /// After a producer died holding the put lock: finish its commit if it got that far, and give
    /// back the blocks it linked beyond the committed tail.
    #[cold]
    fn recover_put(&self) {
        let p = &self.header().put.0;
        let intent = p.intent_tail.load(Ordering::SeqCst);
        if intent != 0 && self.header().tail.0.tail.load(Ordering::SeqCst) == intent {
            p.puts.store(p.intent_puts.load(Ordering::SeqCst), Ordering::SeqCst);
        }
        p.intent_tail.store(0, Ordering::SeqCst);
        let (block, _) = unpack(self.header().tail.0.tail.load(Ordering::SeqCst));
        let mut next = self.next_of(block);
        self.block(block).next.store(0, Ordering::Release);
        let mut guard = 0;
        while let Some(b) = next {
            next = self.next_of(b);
            self.free_block(b);
            guard += 1;
            if guard > self.max_blocks {
                break;
            }
        }
    }

    /// Puts one record of `len` bytes, produced by `encode` into the slice it is given. Does not
    /// wait: a full bounded queue is [`Put::Full`].
    pub(crate) fn try_put(
        &self,
        len: usize,
        encode: &mut dyn FnMut(&mut [u8]) -> Result<(), String>,
    ) -> Put {
        let h = self.header();
        let p = &h.put.0;
        let held = self.lock_put();
        if self.header().tail.0.closed.load(Ordering::Relaxed) != 0 {
            return Put::Closed;
        }
        let puts = p.puts.load(Ordering::Relaxed);
        if self.maxsize != 0
            && puts.saturating_sub(h.get.0.gets.load(Ordering::Acquire)) >= self.maxsize
        {
            return Put::Full;
        }
        let tail = match self.write(self.header().tail.0.tail.load(Ordering::Relaxed), len, encode)
        {
            Ok(t) => t,
            Err(e) => {
                // Nothing was committed; blocks linked on the way are given back.
                self.recover_put();
                return Put::Failed(e);
            }
        };
        p.intent_puts.store(puts + 1, Ordering::Relaxed);
        p.intent_tail.store(tail, Ordering::Relaxed);
        self.header().tail.0.tail.store(tail, Ordering::Release);
        p.puts.store(puts + 1, Ordering::Release);
        p.intent_tail.store(0, Ordering::Relaxed);
        drop(held);
        self.announce_data();
        Put::Done
    }

    /// Writes a record at `tail`; returns the new tail. Called with the put lock held.
    fn write(
        &self,
        tail: u64,
        len: usize,
        encode: &mut dyn FnMut(&mut [u8]) -> Result<(), String>,
    ) -> Result<u64, MessageError> {
        let (mut block, mut off) = unpack(tail);
        self.touch(block, true);
        let rec = pad8(8 + len);
        if len <= CONTIGUOUS_MAX {
            if off + rec > BLOCK {
                if off + 8 <= BLOCK {
                    self.set_word(block, off, SKIP);
                }
                block = self.extend(block)?;
                off = BLOCK_DATA;
            }
            // SAFETY: bytes at the tail of the chain, under the put lock.
            let dst = unsafe { self.bytes(block, off + 8, len) };
            encode(dst).map_err(MessageError::Encode)?;
            self.set_word(block, off, len as u64);
            return Ok(pack(block, off + rec));
        }
        // Longer than a block: encode aside, then copy block by block.
        let mut buf = vec![0u8; len];
        encode(&mut buf).map_err(MessageError::Encode)?;
        if off + 8 > BLOCK {
            block = self.extend(block)?;
            off = BLOCK_DATA;
        }
        let (first_block, first_off) = (block, off);
        off += 8;
        let mut src = &buf[..];
        while !src.is_empty() {
            if off == BLOCK {
                block = self.extend(block)?;
                off = BLOCK_DATA;
            }
            let n = src.len().min(BLOCK - off);
            // SAFETY: bytes at the tail of the chain, under the put lock.
            unsafe { self.bytes(block, off, n) }.copy_from_slice(&src[..n]);
            src = &src[n..];
            off += n;
        }
        self.set_word(first_block, first_off, len as u64);
        Ok(pack(block, pad8(off).min(BLOCK)))
    }

    fn announce_data(&self) {
        let w = &self.header().wake.0;
        fence(Ordering::SeqCst);
        wake_sleepers(&w.consumers_asleep, &w.data_seq);
        if w.fd_waiters.load(Ordering::Relaxed) != 0 {
            sys::signal_event(self.event.as_fd());
        }
    }

    /// Puts, waiting for room in a bounded queue until `deadline`. `None` from the closure means
    /// the deadline passed.
    pub(crate) fn put(
        &self,
        len: usize,
        encode: &mut dyn FnMut(&mut [u8]) -> Result<(), String>,
        deadline: Option<Instant>,
    ) -> Option<Put> {
        let w = &self.header().wake.0;
        let mut spins = 0;
        loop {
            match self.try_put(len, encode) {
                Put::Full => {}
                other => return Some(other),
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            if spins < SPINS {
                spins += 1;
                std::hint::spin_loop();
                continue;
            }
            let seq = announce_sleep(&w.producers_asleep, &w.space_seq);
            if self.is_full() && !self.is_closed() {
                futex::wait(&w.space_seq, seq, deadline);
            }
        }
    }

    // ----- consumer side -----

    /// Takes the get lock (finishing the work of a holder that died), released when the guard
    /// drops, also if a decoder panics.
    fn lock_get(&self) -> Held<'_> {
        let g = &self.header().get.0;
        if g.lock.lock(None) == Acquired::OwnerDied {
            self.recover_get();
        }
        Held(&g.lock)
    }

    #[cold]
    fn recover_get(&self) {
        let g = &self.header().get.0;
        let intent = g.intent_head.load(Ordering::SeqCst);
        if intent != 0 && g.head.load(Ordering::SeqCst) == intent {
            g.gets.store(g.intent_gets.load(Ordering::SeqCst), Ordering::SeqCst);
        }
        g.intent_head.store(0, Ordering::SeqCst);
    }

    /// Takes one record if there is one, handing its bytes to `decode`.
    pub(crate) fn try_take<R>(&self, decode: &mut dyn FnMut(&[u8]) -> R) -> Take<R> {
        let h = self.header();
        let g = &h.get.0;
        // Cheap look without the lock: nothing to take and not closed. Records this process has
        // seen committed need no look at the shared tail.
        let head = g.head.load(Ordering::Relaxed);
        let known = g.gets.load(Ordering::Relaxed) == self.seen_gets.load(Ordering::Relaxed)
            && head != self.seen_tail.load(Ordering::Relaxed);
        if !known && head == h.tail.0.tail.load(Ordering::Acquire) {
            if h.tail.0.closed.load(Ordering::Acquire) == 0 {
                return Take::Empty;
            }
            if g.head.load(Ordering::Relaxed) == h.tail.0.tail.load(Ordering::Acquire) {
                return Take::Closed;
            }
        }
        let held = self.lock_get();
        let mut head = g.head.load(Ordering::Relaxed);
        let gets = g.gets.load(Ordering::Relaxed);
        // Under the lock, the cache is exact: the lock orders this read after the acquiring load
        // that filled it, in whichever thread of this process that was.
        let mut tail = if gets == self.seen_gets.load(Ordering::Relaxed) {
            self.seen_tail.load(Ordering::Relaxed)
        } else {
            h.tail.0.tail.load(Ordering::Acquire)
        };
        let mut freed: Vec<u32> = Vec::new();
        let r = loop {
            if head == tail {
                tail = h.tail.0.tail.load(Ordering::Acquire);
                if head == tail {
                    break None;
                }
            }
            let (block, off) = unpack(head);
            self.touch(block, false);
            let word = if off + 8 <= BLOCK { self.word(block, off) } else { SKIP };
            if word & SKIP != 0 {
                let Some(next) = self.next_of(block) else { break None };
                freed.push(block);
                head = pack(next, BLOCK_DATA);
                continue;
            }
            let len = word as usize;
            if len <= CONTIGUOUS_MAX && off + 8 + len <= BLOCK {
                // SAFETY: between head and the committed tail, under the get lock.
                let r = decode(unsafe { self.bytes(block, off + 8, len) });
                head = pack(block, (off + pad8(8 + len)).min(BLOCK));
                break Some(r);
            }
            // A record that continues across blocks.
            let mut buf = Vec::with_capacity(len);
            let (mut b, mut o) = (block, off + 8);
            let mut ok = true;
            while buf.len() < len {
                if o == BLOCK {
                    let Some(next) = self.next_of(b) else {
                        ok = false;
                        break;
                    };
                    freed.push(b);
                    b = next;
                    o = BLOCK_DATA;
                    self.touch(b, false);
                }
                let n = (len - buf.len()).min(BLOCK - o);
                // SAFETY: between head and the committed tail, under the get lock.
                buf.extend_from_slice(unsafe { self.bytes(b, o, n) });
                o += n;
            }
            if !ok {
                break None;
            }
            head = pack(b, pad8(o).min(BLOCK));
            break Some(decode(&buf));
        };
        let Some(r) = r else {
            // Nothing (or a chain still being linked): leave everything as it was.
            drop(held);
            return if h.tail.0.closed.load(Ordering::Acquire) != 0
                && g.head.load(Ordering::Relaxed) == h.tail.0.tail.load(Ordering::Acquire)
            {
                Take::Closed
            } else {
                Take::Empty
            };
        };
        let gets = gets + 1;
        self.seen_tail.store(tail, Ordering::Relaxed);
        self.seen_gets.store(gets, Ordering::Relaxed);
        g.intent_gets.store(gets, Ordering::Relaxed);
        g.intent_head.store(head, Ordering::Relaxed);
        g.head.store(head, Ordering::Release);
        g.gets.store(gets, Ordering::Release);
        g.intent_head.store(0, Ordering::Relaxed);
        for b in freed {
            self.free_block(b);
        }
        drop(held);
        if self.maxsize != 0 {
            let w = &h.wake.0;
            fence(Ordering::SeqCst);
            wake_sleepers(&w.producers_asleep, &w.space_seq);
        }
        Take::Item(r)
    }

    /// Takes one record, waiting until `deadline` for one. `None`: the deadline passed.
    pub(crate) fn take<R>(
        &self,
        decode: &mut dyn FnMut(&[u8]) -> R,
        deadline: Option<Instant>,
    ) -> Option<Take<R>> {
        let w = &self.header().wake.0;
        let mut spins = 0;
        loop {
            match self.try_take(decode) {
                Take::Empty => {}
                other => return Some(other),
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            if spins < SPINS {
                // Look at the shared tail only every few pauses: each look takes the line away from
                // the producer, whose next store then waits to get it back.
                spins += POLL_PAUSES;
                for _ in 0..POLL_PAUSES {
                    std::hint::spin_loop();
                }
                continue;
            }
            let seq = announce_sleep(&w.consumers_asleep, &w.data_seq);
            if self.is_empty() && !self.is_closed() {
                futex::wait(&w.data_seq, seq, deadline);
            }
        }
    }

    // ----- state -----

    /// Items in the queue: put and not yet taken.
    pub(crate) fn len(&self) -> u64 {
        let h = self.header();
        let gets = h.get.0.gets.load(Ordering::Acquire);
        let puts = h.put.0.puts.load(Ordering::Acquire);
        puts.saturating_sub(gets)
    }

    pub(crate) fn is_empty(&self) -> bool {
        let h = self.header();
        h.get.0.head.load(Ordering::Acquire) == h.tail.0.tail.load(Ordering::Acquire)
    }

    pub(crate) fn is_full(&self) -> bool {
        self.maxsize != 0 && self.len() >= self.maxsize
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.header().tail.0.closed.load(Ordering::Acquire) != 0
    }

    /// Closes the queue for everyone: no more puts; gets drain what is left.
    pub(crate) fn close(&self) {
        let h = self.header();
        let held = self.lock_put();
        h.tail.0.closed.store(1, Ordering::Release);
        drop(held);
        let w = &h.wake.0;
        w.data_seq.fetch_add(1, Ordering::SeqCst);
        futex::wake(&w.data_seq, u32::MAX);
        w.space_seq.fetch_add(1, Ordering::SeqCst);
        futex::wake(&w.space_seq, u32::MAX);
        sys::signal_event(self.event.as_fd());
    }

    // ----- tasks (JoinableQueue) -----

    /// Marks one taken item done.
    pub(crate) fn task_done(&self) -> bool {
        let h = self.header();
        let t = &h.tasks.0;
        let mut done = t.done.load(Ordering::Relaxed);
        loop {
            if done >= h.get.0.gets.load(Ordering::Acquire) {
                return false;
            }
            match t.done.compare_exchange(done, done + 1, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => done = now,
            }
        }
        fence(Ordering::SeqCst);
        if t.joiners.load(Ordering::Relaxed) != 0 {
            t.seq.fetch_add(1, Ordering::SeqCst);
            futex::wake(&t.seq, u32::MAX);
        }
        true
    }

    /// Items put and not yet marked done.
    pub(crate) fn unfinished(&self) -> u64 {
        let h = self.header();
        let done = h.tasks.0.done.load(Ordering::Acquire);
        h.put.0.puts.load(Ordering::Acquire).saturating_sub(done)
    }

    /// Waits until every item put has been marked done, or `deadline`; returns whether it has.
    pub(crate) fn join(&self, deadline: Option<Instant>) -> bool {
        let t = &self.header().tasks.0;
        loop {
            if self.unfinished() == 0 {
                return true;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            t.joiners.fetch_add(1, Ordering::SeqCst);
            let seq = t.seq.load(Ordering::SeqCst);
            if self.unfinished() != 0 {
                futex::wait(&t.seq, seq, deadline);
            }
            t.joiners.fetch_sub(1, Ordering::SeqCst);
        }
    }

    // ----- wait() support -----

    /// Starts signalling the event fd; returns whether a get would return at once.
    pub(crate) fn arm(&self) -> bool {
        sys::clear_event(self.event.as_fd());
        self.header().wake.0.fd_waiters.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let ready = !self.is_empty() || self.is_closed();
        if ready {
            // Keep it readable for other waiters whose signal the clear above may have taken.
            sys::signal_event(self.event.as_fd());
        }
        ready
    }

    pub(crate) fn disarm(&self) -> bool {
        self.header().wake.0.fd_waiters.fetch_sub(1, Ordering::SeqCst);
        !self.is_empty() || self.is_closed()
    }
}
