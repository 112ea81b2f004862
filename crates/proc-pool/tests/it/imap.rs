//! imap and imap_unordered: lazy, bounded, per-item results.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use proc_pool::{Pool, TaskError};

use crate::support::bounded;

fn square(x: u64) -> u64 {
    x * x
}

fn panics_on_odd(x: u64) -> u64 {
    assert!(x.is_multiple_of(2), "odd {x}");
    x
}

#[test]
fn imap_is_ordered_and_chunks_change_nothing() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        let want: Vec<u64> = (0..500).map(|x| x * x).collect();
        let got: Vec<u64> = pool.imap(square, 0..500).unwrap().map(Result::unwrap).collect();
        assert_eq!(got, want);
        let got: Vec<u64> =
            pool.imap_chunked(square, 0..500, 7).unwrap().map(Result::unwrap).collect();
        assert_eq!(got, want);
        let mut got: Vec<u64> =
            pool.imap_unordered_chunked(square, 0..500, 5).unwrap().map(Result::unwrap).collect();
        got.sort();
        assert_eq!(got, want);
        assert_eq!(pool.imap(square, 0..0).unwrap().count(), 0);
    });
}

#[test]
fn imap_reads_its_input_lazily_with_bounded_look_ahead() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        let pulled = Arc::new(AtomicU64::new(0));
        let p = pulled.clone();
        let endless = (0u64..).inspect(move |_| {
            p.fetch_add(1, Ordering::SeqCst);
        });
        let mut it = pool.imap(square, endless).unwrap();
        assert_eq!(pulled.load(Ordering::SeqCst), 0, "nothing is read before the first next");
        let first: Vec<u64> = it.by_ref().take(100).map(Result::unwrap).collect();
        assert_eq!(first, (0..100).map(|x| x * x).collect::<Vec<_>>());
        let read = pulled.load(Ordering::SeqCst);
        assert!(read < 100 + 64, "read {read} items of an endless input for 100 results");
        drop(it);
        // The pool goes on after an abandoned iterator.
        assert_eq!(pool.apply(square, (3,)).unwrap(), 9);
    });
}

#[test]
fn imap_reports_its_length() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        let mut it = pool.imap(square, vec![1u64, 2, 3, 4, 5]).unwrap();
        assert_eq!(it.len(), 5);
        it.next().unwrap().unwrap();
        assert_eq!(it.len(), 4);
        assert_eq!(it.size_hint(), (4, Some(4)));
        let it = pool.imap_unordered(square, vec![1u64, 2, 3]).unwrap();
        assert_eq!(it.len(), 3);
        assert_eq!(it.count(), 3);
    });
}

#[test]
fn a_failed_item_is_an_error_in_its_place() {
    bounded(|| {
        let pool = Pool::new(2).unwrap();
        let got: Vec<Result<u64, TaskError>> = pool.imap(panics_on_odd, 0..6).unwrap().collect();
        for (i, r) in got.iter().enumerate() {
            if i % 2 == 0 {
                assert_eq!(r, &Ok(i as u64));
            } else {
                assert!(r.as_ref().unwrap_err().is_panic());
            }
        }
    });
}

#[test]
fn imap_after_terminate_ends_with_an_error() {
    bounded(|| {
        let pool = Pool::new(1).unwrap();
        let mut it = pool.imap(square, 0..).unwrap();
        assert_eq!(it.next(), Some(Ok(0)));
        pool.terminate();
        // What was in flight fails or completed; then the iterator ends with the reason.
        let rest: Vec<_> = it.by_ref().take(10_000).collect();
        assert!(rest.len() < 10_000);
        assert!(matches!(rest.last(), Some(Err(TaskError::Terminated))), "{:?}", rest.last());
        assert_eq!(it.next(), None);
    });
}
