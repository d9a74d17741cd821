import Dispatch
import Foundation
import Synchronization

/// Work over the rows of a large fit, split into a fixed number of ranges that run on all
/// cores and are combined in range order: a sum comes out the same whatever the number of
/// cores (and, below `minimumRows`, exactly as a plain loop).
enum ParallelRows {
    static let rangeCount = 16
    static let minimumRows = 65_536

    static func ranges(count: Int) -> [Range<Int>] {
        let parts = count >= minimumRows ? rangeCount : 1
        let size = Swift.max((count + parts - 1) / parts, 1)
        return stride(from: 0, to: count, by: size).map { $0..<Swift.min($0 + size, count) }
    }

    /// `body` of each range, in range order. `body` runs on several threads at once, each
    /// call with its own range: it may write the rows of its range and nothing else shared.
    static func map<T>(count: Int, _ body: (Range<Int>) -> T) -> [T] {
        let ranges = ranges(count: count)
        return map(items: ranges.count, parallel: ranges.count > 1) { body(ranges[$0]) }
    }

    /// `body(0)`, ..., `body(items - 1)` in order, computed on all cores when `parallel`
    /// (under the same rule: each call writes only what is its own). For any independent
    /// pieces of work: chunks of a file, columns, coefficients to profile.
    static func map<T>(items: Int, parallel: Bool, _ body: (Int) -> T) -> [T] {
        guard parallel, items > 1 else { return (0..<items).map(body) }
        return withoutActuallyEscaping(body) { body in
            let slots = ResultSlots<T>(count: items)
            let work = UncheckedSendable(value: body)
            DispatchQueue.concurrentPerform(iterations: items) { index in
                slots.set(index, work.value(index))
            }
            return slots.collect()
        }
    }

    /// `body(0)`, ..., `body(items - 1)` in order, on all cores, the items taken in increasing
    /// order: when a call starts, every earlier item has started on a running thread (or
    /// finished), so a call may wait for something an earlier one publishes (the CSV reader's
    /// chunks wait for the line count before them) without risk of waiting forever.
    static func mapInOrder<T>(items: Int, _ body: (Int) -> T) -> [T] {
        let workers = Swift.min(items, Swift.max(1, ProcessInfo.processInfo.activeProcessorCount))
        guard workers > 1 else { return (0..<items).map(body) }
        return withoutActuallyEscaping(body) { body in
            let slots = ResultSlots<T>(count: items)
            let work = UncheckedSendable(value: body)
            let next = Atomic<Int>(0)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let index = next.add(1, ordering: .relaxed).oldValue
                    guard index < items else { return }
                    slots.set(index, work.value(index))
                }
            }
            return slots.collect()
        }
    }

    /// A new array of `count` doubles that `fill(base, rows)` writes range by range on all
    /// cores (every row of its range), in huge pages where the kernel can (the first touch of
    /// the new pages is most of the cost); and what each call returned, in range order.
    static func array<T>(count: Int, _ fill: (UnsafeMutablePointer<Double>, Range<Int>) -> T) -> ([Double], [T]) {
        array(of: Double.self, count: count, fill)
    }

    /// `array` for elements of any plain type.
    private static func array<Element: BitwiseCopyable, T>(
        of _: Element.Type, count: Int, _ fill: (UnsafeMutablePointer<Element>, Range<Int>) -> T
    ) -> ([Element], [T]) {
        var parts: [T] = []
        let values = [Element](unsafeUninitializedCapacity: count) { output, initialized in
            guard let base = output.baseAddress else { return }
            FreshMemory.prepare(base, count: count)
            parts = map(count: count) { rows in fill(base, rows) }
            initialized = count
        }
        return (values, parts)
    }

    /// `count` new arrays of `capacity` doubles, handed to `fill` uninitialised (their starts,
    /// in order, all valid during the call; the memory of their first `prepared` values, or of
    /// all, prepared on all cores by `FreshMemory`); `fill` returns how many leading values of
    /// each it initialised, which become the arrays' contents. Each array is made inside the
    /// initialiser of the one before, so that all their memory is live at once; `fill` may
    /// write them on any thread.
    static func withUninitializedArrays(
        count: Int, capacity: Int, prepared: Int? = nil, _ fill: ([UnsafeMutablePointer<Double>]) -> [Int]
    ) -> [[Double]] {
        var starts: [UnsafeMutablePointer<Double>] = []
        var filled: [Int] = []
        var arrays: [[Double]] = Array(repeating: [], count: count)
        var blocks: [(pointer: UnsafeMutablePointer<Double>, count: Int)] = []
        func make(_ k: Int) {
            guard k < count else {
                FreshMemory.prepare(blocks)
                filled = fill(starts)
                return
            }
            arrays[k] = [Double](unsafeUninitializedCapacity: max(capacity, 1)) { buffer, initialized in
                guard let base = buffer.baseAddress else { return }
                blocks.append((base, min(prepared ?? buffer.count, buffer.count)))
                starts.append(base)
                make(k + 1)
                initialized = k < filled.count ? min(max(filled[k], 0), buffer.count) : 0
            }
        }
        make(0)
        return arrays
    }

    /// A copy of `values` into a new array, on all cores.
    static func copy(_ values: UnsafeBufferPointer<Double>) -> [Double] {
        array(count: values.count) { base, rows in
            values.baseAddress.map { (base + rows.lowerBound).initialize(from: $0 + rows.lowerBound, count: rows.count) }
        }.0
    }

    /// The first `min(source.count, target.count)` values of `source` into `target`, on all
    /// cores (`target` initialised or not: Double is a trivial type).
    static func copy(_ source: UnsafeBufferPointer<Double>, into target: UnsafeMutableBufferPointer<Double>) {
        guard let from = source.baseAddress, let to = target.baseAddress else { return }
        _ = map(count: min(source.count, target.count)) { rows in
            (to + rows.lowerBound).initialize(from: from + rows.lowerBound, count: rows.count)
        }
    }

    /// 0, 1, ..., count - 1, written on all cores.
    static func rowNumbers(count: Int) -> [Int] {
        array(of: Int.self, count: count) { base, rows in
            for row in rows { (base + row).initialize(to: row) }
        }.0
    }

    /// `count` copies of `value`, written on all cores.
    static func filled(with value: Double, count: Int) -> [Double] {
        array(count: count) { base, rows in (base + rows.lowerBound).initialize(repeating: value, count: rows.count) }.0
    }

    /// `transform` of each element of `values`, computed on all cores.
    static func map(_ values: [Double], _ transform: (Double) -> Double) -> [Double] {
        values.withUnsafeBufferPointer { input in
            array(count: input.count) { base, rows in
                for row in rows { (base + row).initialize(to: transform(input[row])) }
            }.0
        }
    }

    /// Each slot written once, by one iteration, before `collect`.
    private final class ResultSlots<T>: @unchecked Sendable {
        private let slots: UnsafeMutableBufferPointer<T?>

        init(count: Int) {
            slots = .allocate(capacity: count)
            slots.initialize(repeating: nil)
        }

        deinit {
            _ = slots.deinitialize()
            slots.deallocate()
        }

        // `.some` spelled out: when T is itself optional, a nil result is still a filled slot.
        func set(_ index: Int, _ value: T) { slots[index] = .some(value) }

        func collect() -> [T] { slots.compactMap { $0 } }
    }
}

/// A value shared with `concurrentPerform`'s iterations under `ParallelRows.map`'s rule
/// (disjoint rows per call).
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}
