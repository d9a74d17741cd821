import Foundation
import Testing
@testable import GLMCore

/// The row memo gives exactly what the function gives, computes each repeated argument once,
/// tells keys apart by their bits, and stops remembering when nearly every lookup misses.
@Suite("Row memo")
struct RowMemoTests {
    @Test func repeatedArgumentsAreComputedOnce() {
        var memo = RowMemo<Double>()
        var calls = 0
        var generator = SplitMix64(seed: 606)
        for _ in 0..<20_000 {
            let y = Double(Int.random(in: 0...9, using: &generator))
            let weight = Double(Int.random(in: 1...2, using: &generator))
            let got = memo.value(y, 0.37, weight) {
                calls += 1
                return log((y + 0.5) / 0.37) * weight
            }
            #expect(got.bitPattern == (log((y + 0.5) / 0.37) * weight).bitPattern)
        }
        // 20 distinct keys in 64 slots: a few collisions at most re-compute.
        #expect(calls < 400, "\(calls) calls")
    }

    @Test func keysAreComparedByTheirBits() {
        var memo = RowMemo<Double>()
        #expect(memo.value(0.0) { 1 } == 1)
        #expect(memo.value(-0.0) { 2 } == 2)
        #expect(memo.value(.nan) { 3 } == 3)
        #expect(memo.value(.nan) { 4 } == 3)
        #expect(memo.value(0.0, 1) { 5 } == 5)
        #expect(memo.value(0.0) { 6 } == 1)
    }

    @Test func continuousArgumentsStopTheMemo() {
        var memo = RowMemo<Double>()
        var calls = 0
        var generator = SplitMix64(seed: 607)
        let values = (0..<10_000).map { _ in Double.random(in: 1..<2, using: &generator) }
        for value in values + values {
            let got = memo.value(value) {
                calls += 1
                return value.squareRoot()
            }
            #expect(got == value.squareRoot())
        }
        // After 4,096 lookups that nearly all missed, every later one computes again.
        #expect(calls == 20_000)
    }
}
