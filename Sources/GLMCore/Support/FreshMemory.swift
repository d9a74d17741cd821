#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The transparent huge page size of Linux on x86-64 (and of most arm64 kernels).
let hugePageSize = 2 << 20

/// Faults in the memory of large new arrays before they are filled, in huge pages while huge
/// pages prove cheap and in small pages from the first one that does not.
///
/// The first touch of a fresh huge page makes the kernel zero it: about 0.2 ms here, against
/// about 1 ms for the 512 small-page faults it replaces. But in a virtual machine whose host
/// takes back free guest memory (virtio-balloon free page reporting, which reports free blocks
/// of 2 MB and more a few seconds after they are freed), a huge page may come from such a
/// block and the host must back it again: 4–5 ms a page on the benchmark machine, where a
/// 1 M × 50 fit took 1.05 s in huge pages against 0.67 s in small ones after a few idle
/// seconds, and 0.53 against 0.61 s right after another large process had ended. The kernel
/// hands out the blocks freed last first, so once one page is slow the rest are too; small
/// pages mostly come from smaller free blocks, which are never reported.
public enum FreshMemory {
    /// A huge page whose first touch takes longer than this costs more than small pages.
    static let slowTouchSeconds = 1e-3

    /// Set once a fresh huge page was slow: from then on this process asks for small pages.
    private static let hugePagesSlow = Atomic<Bool>(false)
    /// The huge pages faulted in so far and their first touches' total time (for `summary`).
    private static let hugePagesTouched = Atomic<Int>(0)
    private static let hugePageNanoseconds = Atomic<Int>(0)

    /// What the process got so far, for GLMFIT_TIMINGS: "fresh memory: 190 huge pages
    /// (0.18 ms each), then small pages".
    public static var summary: String {
        let count = hugePagesTouched.load(ordering: .relaxed)
        let average = count > 0 ? Double(hugePageNanoseconds.load(ordering: .relaxed)) / Double(count) * 1e-6 : 0
        let pages = count == 0 ? "no huge pages" : "\(count) huge pages (\((average * 100).rounded() / 100) ms each)"
        return "fresh memory: \(pages)" + (hugePagesSlow.load(ordering: .relaxed) ? ", then small pages" : "")
    }

    /// Prepares the untouched memory at `pointer` (whole huge pages inside it; blocks under
    /// two huge pages are left alone): advised and faulted in as huge pages one by one while
    /// each takes under `slowTouchSeconds`, the rest advised as small pages and left to be
    /// faulted in by whoever fills them. The contents stay undefined (zero, in fact).
    static func prepare(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
        let address = UInt(bitPattern: pointer)
        let first = (address + UInt(hugePageSize - 1)) & ~UInt(hugePageSize - 1)
        let last = (address &+ UInt(max(bytes, 0))) & ~UInt(hugePageSize - 1)
        guard bytes >= 2 * hugePageSize, last > first, var page = UnsafeMutableRawPointer(bitPattern: first),
              let end = UnsafeMutableRawPointer(bitPattern: last)
        else { return }
        if !hugePagesSlow.load(ordering: .relaxed) {
            _ = madvise(page, end - page, MADV_HUGEPAGE)
            while page < end, !hugePagesSlow.load(ordering: .relaxed) {
                let start = monotonicSeconds()
                page.storeBytes(of: 0, as: UInt8.self)
                let seconds = monotonicSeconds() - start
                if seconds > slowTouchSeconds { hugePagesSlow.store(true, ordering: .relaxed) }
                hugePagesTouched.add(1, ordering: .relaxed)
                // Bounded to [0, 1] s (NaN to 0) before the conversion, which traps outside Int.
                hugePageNanoseconds.add(Int(max(0, min(seconds, 1)) * 1e9), ordering: .relaxed)
                page += hugePageSize
            }
        }
        // Where huge pages are the system's default too.
        if page < end { _ = madvise(page, end - page, MADV_NOHUGEPAGE) }
        #endif
    }

    static func prepare<T>(_ pointer: UnsafeMutablePointer<T>, count: Int) {
        prepare(UnsafeMutableRawPointer(pointer), bytes: count &* MemoryLayout<T>.stride)
    }

    /// `prepare` for several blocks at once, on all cores.
    static func prepare<T>(_ blocks: [(pointer: UnsafeMutablePointer<T>, count: Int)]) {
        _ = ParallelRows.map(items: blocks.count, parallel: blocks.count > 1) { index in
            prepare(blocks[index].pointer, count: blocks[index].count)
        }
    }

    private static func monotonicSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }
}
