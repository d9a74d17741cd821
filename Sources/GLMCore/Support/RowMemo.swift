/// A small memory of a pure function of up to three doubles (compared by their bits), for
/// per-row values that repeat: a 0/1 response, small counts, one mean for every row. A hit
/// returns the very doubles the function gave, so sums come out the same to the bit; a
/// log or an exp is saved.
///
/// 64 slots; each key may sit in either of two, chosen by its hash. When most of the first
/// lookups miss (a continuous response), it stops looking and just calls the function.
struct RowMemo<Value> {
    /// 2⁶, six bits of the hash for each of a key's two slots.
    private static var slotCount: Int { 64 }
    /// Lookups after which the memory decides whether it is worth keeping.
    private static var trialLookups: Int { 4_096 }

    private var keys: [(UInt64, UInt64, UInt64)]
    private var values: [Value?]
    private var lookups = 0
    private var misses = 0
    private var enabled = true

    init() {
        keys = Array(repeating: (0, 0, 0), count: RowMemo.slotCount)
        values = Array(repeating: nil, count: RowMemo.slotCount)
    }

    /// `compute()`, or what it returned before for the same three doubles.
    @inline(__always)
    mutating func value(_ a: Double, _ b: Double = 0, _ c: Double = 0, _ compute: () -> Value) -> Value {
        guard enabled else { return compute() }
        let key = (a.bitPattern, b.bitPattern, c.bitPattern)
        let hash = RowMemo.mix(key.0 ^ RowMemo.mix(key.1 ^ RowMemo.mix(key.2)))
        let first = Int(truncatingIfNeeded: hash >> 58)
        let second = Int(truncatingIfNeeded: (hash >> 52) & 63)
        lookups += 1
        if let known = values[first], keys[first] == key { return known }
        if let known = values[second], keys[second] == key { return known }
        misses += 1
        if lookups == RowMemo.trialLookups, misses * 2 > lookups { enabled = false }
        let fresh = compute()
        // An empty slot of the two, else the first.
        let slot = values[first] != nil && values[second] == nil ? second : first
        keys[slot] = key
        values[slot] = fresh
        return fresh
    }

    /// A 64-bit finaliser (every input bit moves every output bit; whole numbers as doubles
    /// differ only in their top bits).
    @inline(__always)
    private static func mix(_ bits: UInt64) -> UInt64 {
        var x = bits ^ (bits >> 33)
        x &*= 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        x &*= 0xC4CE_B9FE_1A85_EC53
        return x ^ (x >> 33)
    }
}
