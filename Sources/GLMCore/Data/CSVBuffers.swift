#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable array of plain values in manually managed memory, for the parser's hot loop:
/// appending costs one compare and one store, with no uniqueness or exclusivity checks.
///
/// It is a value holding a pointer: copies alias the same memory. Exactly one owner calls
/// `release()`, once (the CSV parser keeps these only inside `ColumnBuilder`s that a
/// `CSVChunk` owns and frees). It may start in memory that someone else owns (`external`),
/// which it never frees; should that fill up, it moves to memory of its own.
struct RawBuffer<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count: Int
    private(set) var capacity: Int
    /// What was allocated: `base` may lie a little after it (see `stagger`). Nil while the
    /// buffer is in external memory.
    private var allocation: UnsafeMutableRawPointer?
    /// Bytes by which a large buffer's start is moved past its huge-page boundary.
    private let stagger: Int

    /// - Parameter stagger: a small number that differs between buffers filled side by side
    ///   (the parser's columns). Large buffers start on a huge-page boundary, so without it
    ///   the write positions of all columns would fall in the same cache sets and evict each
    ///   other; each unit moves the start by 33 cache lines.
    init(capacity: Int, stagger: Int = 0) {
        self.stagger = (stagger % 61) * 33 * 64
        (base, self.capacity, allocation) = RawBuffer.allocate(max(1, capacity), stagger: self.stagger)
        count = 0
    }

    /// A buffer that fills `capacity` elements at `external` (memory that outlives it and that
    /// it does not free) and moves to memory of its own only if it needs more.
    init(external: UnsafeMutablePointer<Element>, capacity: Int) {
        stagger = 0
        base = external
        self.capacity = max(0, capacity)
        allocation = nil
        count = 0
    }

    /// Whether the contents are still in the memory given to `init(external:capacity:)`.
    var isExternal: Bool { allocation == nil }

    /// Memory for at least `capacity` elements. Blocks of several megabytes are aligned to
    /// and sized in huge pages and prepared as such (see `FreshMemory`), then their start
    /// is moved by `stagger` bytes.
    private static func allocate(
        _ capacity: Int, stagger: Int
    ) -> (UnsafeMutablePointer<Element>, Int, UnsafeMutableRawPointer) {
        let stride = MemoryLayout<Element>.stride
        let (bytes, overflow) = capacity.multipliedReportingOverflow(by: stride)
        guard !overflow, bytes >= 2 * hugePageSize else {
            let pointer = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
            return (pointer, capacity, UnsafeMutableRawPointer(pointer))
        }
        let rounded = (bytes + stagger + hugePageSize - 1) / hugePageSize * hugePageSize
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: rounded, alignment: max(hugePageSize, MemoryLayout<Element>.alignment))
        FreshMemory.prepare(raw, bytes: rounded)
        let elements = (rounded - stagger) / stride
        return ((raw + stagger).bindMemory(to: Element.self, capacity: elements), elements, raw)
    }

    @inline(__always)
    mutating func append(_ value: Element) {
        if count == capacity { grow(minimum: count + 1) }
        (base + count).initialize(to: value)
        count += 1
    }

    mutating func append(repeating value: Element, count n: Int) {
        guard n > 0 else { return }
        if count + n > capacity { grow(minimum: count + n) }
        (base + count).initialize(repeating: value, count: n)
        count += n
    }

    mutating func append(_ start: UnsafePointer<Element>, count n: Int) {
        guard n > 0 else { return }
        if count + n > capacity { grow(minimum: count + n) }
        (base + count).initialize(from: start, count: n)
        count += n
    }

    /// Takes the first `count` elements (at most `capacity`) as the contents: for memory
    /// written through `base` by someone else.
    mutating func assumeWritten(count n: Int) {
        assert(n >= 0 && n <= capacity)
        count = max(0, min(n, capacity))
    }

    /// Forgets the contents but keeps the memory.
    mutating func removeAll() { count = 0 }

    /// Replaces the memory by a small block (for a column builder that changes kind).
    mutating func shrinkToMinimum() {
        allocation?.deallocate()
        (base, capacity, allocation) = RawBuffer.allocate(1, stagger: stagger)
        count = 0
    }

    mutating func reserve(_ minimumCapacity: Int) {
        if minimumCapacity > capacity { grow(minimum: minimumCapacity) }
    }

    @inline(never)
    private mutating func grow(minimum: Int) {
        var newCapacity = max(capacity, 4)
        while newCapacity < minimum { newCapacity *= 2 }
        let (fresh, freshCapacity, freshAllocation) = RawBuffer.allocate(newCapacity, stagger: stagger)
        fresh.initialize(from: base, count: count)
        allocation?.deallocate()
        base = fresh
        allocation = freshAllocation
        newCapacity = freshCapacity
        capacity = newCapacity
    }

    func release() { allocation?.deallocate() }

    /// The contents as a Swift array (one copy).
    func toArray() -> [Element] {
        Array(UnsafeBufferPointer(start: base, count: count))
    }
}

