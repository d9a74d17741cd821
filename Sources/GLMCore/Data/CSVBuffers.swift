/// A growable array of plain values in manually managed memory, for the parser's hot loop:
/// appending costs one compare and one store, with no uniqueness or exclusivity checks.
///
/// It is a value holding a pointer: copies alias the same memory. Exactly one owner calls
/// `release()`, once (the CSV parser keeps these only inside `ColumnBuilder`s that a
/// `CSVChunk` owns and frees).
struct RawBuffer<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count: Int
    private(set) var capacity: Int

    init(capacity: Int) {
        let c = max(1, capacity)
        base = UnsafeMutablePointer<Element>.allocate(capacity: c)
        count = 0
        self.capacity = c
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

    /// Forgets the contents but keeps the memory.
    mutating func removeAll() { count = 0 }

    /// Replaces the memory by a small block (for a column builder that changes kind).
    mutating func shrinkToMinimum() {
        base.deallocate()
        base = UnsafeMutablePointer<Element>.allocate(capacity: 1)
        count = 0
        capacity = 1
    }

    mutating func reserve(_ minimumCapacity: Int) {
        if minimumCapacity > capacity { grow(minimum: minimumCapacity) }
    }

    @inline(never)
    private mutating func grow(minimum: Int) {
        var newCapacity = max(capacity, 4)
        while newCapacity < minimum { newCapacity *= 2 }
        let fresh = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        fresh.initialize(from: base, count: count)
        base.deallocate()
        base = fresh
        capacity = newCapacity
    }

    func release() { base.deallocate() }

    /// The contents as a Swift array (one copy).
    func toArray() -> [Element] {
        Array(UnsafeBufferPointer(start: base, count: count))
    }
}
