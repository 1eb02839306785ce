//! A global allocator that backs large blocks with transparent huge pages.
//!
//! Why: the big operands of a training step (a 5,000 x 512 output layer,
//! its 640 x 5,000 logits and their gradient) span thousands of 4 KiB
//! pages, and where those pages land in physical memory decides which L2
//! sets the GEMM's packed panels share, so the same product runs at a
//! different speed from one process to the next.
//! With 2 MiB pages a block is physically contiguous in 2 MiB pieces, so
//! every run sees the same cache mapping (and the TLB covers 512 times as
//! much memory per entry).
//!
//! Blocks of at least [`HUGE_MIN`] bytes are mapped directly with `mmap`,
//! aligned to 2 MiB and marked `MADV_HUGEPAGE` (this kernel's
//! `transparent_hugepage/enabled` is usually `madvise`); smaller blocks go
//! to the system allocator. Fresh mappings are zero, so `alloc_zeroed`
//! needs no `memset`. Off Linux the type is the system allocator.
//!
//! A binary opts in with
//! `#[global_allocator] static ALLOC: tensor::HugePageAlloc = tensor::HugePageAlloc;`

use std::alloc::{GlobalAlloc, Layout, System};

/// Smallest block backed by huge pages: one huge page.
pub const HUGE_MIN: usize = 2 << 20;

/// The allocator (see the module documentation).
pub struct HugePageAlloc;

#[cfg(target_os = "linux")]
mod imp {
    use super::HUGE_MIN;

    const PAGE: usize = 4096;

    /// Bytes mapped for a block of `size` bytes.
    pub(super) fn mapped_len(size: usize) -> usize {
        size.next_multiple_of(PAGE)
    }

    /// A 2 MiB-aligned mapping of `mapped_len(size)` zero bytes, or null.
    pub(super) unsafe fn map(size: usize) -> *mut u8 {
        let len = mapped_len(size);
        // Over-map by one huge page, then trim both ends to the aligned block.
        let total = len + HUGE_MIN;
        // SAFETY: an anonymous private mapping has no preconditions.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                total,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        let start = raw as usize;
        let aligned = start.next_multiple_of(HUGE_MIN);
        let (head, tail) = (aligned - start, start + total - (aligned + len));
        // SAFETY: both ranges lie inside the mapping just made, and nothing
        // else refers to them.
        unsafe {
            if head > 0 {
                libc::munmap(raw, head);
            }
            if tail > 0 {
                libc::munmap((aligned + len) as *mut libc::c_void, tail);
            }
            // Advice only: a kernel without THP ignores it (or fails it,
            // which changes nothing either).
            libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
        aligned as *mut u8
    }

    pub(super) unsafe fn unmap(ptr: *mut u8, size: usize) {
        // SAFETY: `ptr` came from `map(size)`, which left exactly this range.
        unsafe { libc::munmap(ptr as *mut libc::c_void, mapped_len(size)) };
    }
}

// SAFETY: large blocks are fresh private mappings of at least `size` bytes,
// aligned to 2 MiB (which satisfies any `Layout` alignment up to 2 MiB; larger
// alignments go to `System`), released with the same length they were made
// with; everything else is `System`'s.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        #[cfg(target_os = "linux")]
        if layout.size() >= HUGE_MIN && layout.align() <= HUGE_MIN {
            // SAFETY: see the impl's comment.
            return unsafe { imp::map(layout.size()) };
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        #[cfg(target_os = "linux")]
        if layout.size() >= HUGE_MIN && layout.align() <= HUGE_MIN {
            // SAFETY: a fresh anonymous mapping reads as zeros.
            return unsafe { imp::map(layout.size()) };
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        #[cfg(target_os = "linux")]
        if layout.size() >= HUGE_MIN && layout.align() <= HUGE_MIN {
            // SAFETY: blocks of this size came from `imp::map`.
            return unsafe { imp::unmap(ptr, layout.size()) };
        }
        // SAFETY: blocks of this size came from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let huge = |size: usize| cfg!(target_os = "linux") && size >= HUGE_MIN;
        if !huge(layout.size()) && !huge(new_size) {
            // SAFETY: a `System` block staying a `System` block.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // A move between the two kinds (or between mappings): new block,
        // copy, free the old one.
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a
        // valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: see the impl's comment.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks hold at least the smaller size and are distinct.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Allocates through `HugePageAlloc` itself (the test binary keeps the
    /// system allocator as its global one).
    fn with_block(size: usize, align: usize, zeroed: bool, f: impl FnOnce(&mut [u8])) {
        let layout = Layout::from_size_align(size, align).unwrap();
        // SAFETY: a non-zero size; the block is freed below with its layout.
        let ptr = unsafe {
            match zeroed {
                true => HugePageAlloc.alloc_zeroed(layout),
                false => HugePageAlloc.alloc(layout),
            }
        };
        assert!(!ptr.is_null(), "allocating {size} bytes");
        assert_eq!(ptr as usize % align, 0, "alignment {align}");
        // SAFETY: the block holds `size` bytes and nothing else uses it.
        f(unsafe { std::slice::from_raw_parts_mut(ptr, size) });
        // SAFETY: allocated above with this layout.
        unsafe { HugePageAlloc.dealloc(ptr, layout) };
    }

    #[test]
    fn large_blocks_are_huge_page_aligned_zeroed_and_writable_to_the_end() {
        for size in [HUGE_MIN, HUGE_MIN + 1, 3 * HUGE_MIN + 4095, 12_800_000] {
            with_block(size, 64, true, |b| {
                assert!(b.iter().all(|&x| x == 0), "{size} bytes zeroed");
                b.fill(7);
                assert_eq!(b[size - 1], 7);
                #[cfg(target_os = "linux")]
                assert_eq!(
                    b.as_ptr() as usize % HUGE_MIN,
                    0,
                    "{size} bytes on a 2 MiB boundary"
                );
            });
        }
        with_block(1000, 8, false, |b| b.fill(1));
        with_block(HUGE_MIN - 1, 4, true, |b| {
            assert!(b.iter().all(|&x| x == 0))
        });
    }

    #[test]
    fn realloc_keeps_the_contents_across_both_kinds_of_block() {
        let layout = Layout::from_size_align(4000, 4).unwrap();
        // SAFETY: each pointer is the live block of the size it was last
        // (re)allocated to, and is freed once at the end.
        unsafe {
            let p = HugePageAlloc.alloc(layout);
            for i in 0..4000 {
                *p.add(i) = (i % 251) as u8;
            }
            let big = 5 * HUGE_MIN + 3;
            let q = HugePageAlloc.realloc(p, layout, big); // small -> large
            assert!((0..4000).all(|i| *q.add(i) == (i % 251) as u8));
            *q.add(big - 1) = 9;
            let r =
                HugePageAlloc.realloc(q, Layout::from_size_align(big, 4).unwrap(), 3 * HUGE_MIN); // large -> large
            assert!((0..4000).all(|i| *r.add(i) == (i % 251) as u8));
            let s =
                HugePageAlloc.realloc(r, Layout::from_size_align(3 * HUGE_MIN, 4).unwrap(), 100); // large -> small
            assert!((0..100).all(|i| *s.add(i) == (i % 251) as u8));
            HugePageAlloc.dealloc(s, Layout::from_size_align(100, 4).unwrap());
        }
    }
}
