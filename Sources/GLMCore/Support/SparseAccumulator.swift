/// A dense vector of which a few entries are in use at a time: added into by index, the
/// entries in use listed, and reset by visiting those alone (reused from row to row where a
/// row reaches a few of many coefficients).
struct SparseAccumulator {
    private(set) var values: [Double]
    private var used: [Bool]
    /// The entries in use, in the order first added.
    private(set) var touched: [Int] = []

    init(count: Int) {
        values = [Double](repeating: 0, count: count)
        used = [Bool](repeating: false, count: count)
    }

    /// Adds `value` at `index`; whether the entry was not in use before.
    @discardableResult
    mutating func add(_ index: Int, _ value: Double) -> Bool {
        values[index] += value
        guard !used[index] else { return false }
        used[index] = true
        touched.append(index)
        return true
    }

    /// The value at `index`, which is then zero and not in use (left in `touched` until
    /// `reset`).
    mutating func take(_ index: Int) -> Double {
        let value = values[index]
        values[index] = 0
        used[index] = false
        return value
    }

    /// Every entry zero and none in use.
    mutating func reset() {
        for index in touched {
            values[index] = 0
            used[index] = false
        }
        touched.removeAll(keepingCapacity: true)
    }
}
