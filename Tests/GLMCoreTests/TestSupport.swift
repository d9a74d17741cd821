import Foundation
import Testing
@testable import GLMCore

/// Paths inside the repository, found from this file's location (no bundle resources).
enum Repository {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}

/// Relative comparison with an explicit absolute floor for values that are zero in
/// exact arithmetic (R prints 1e-16 where the true value is 0).
func expectClose(
    _ actual: Double?, _ expected: Double?, relative: Double, absolute: Double = 0, _ what: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    switch (actual, expected) {
    case (nil, nil):
        return
    case let (actual?, nil) where !actual.isFinite:
        // R's reference JSON writes NA, NaN and ±Inf alike as null.
        return
    case let (actual?, expected?):
        if actual.isNaN && expected.isNaN { return }
        if actual == expected { return }
        let difference = abs(actual - expected)
        let allowed = relative * abs(expected) + absolute
        #expect(difference <= allowed, "\(what()): \(actual) vs R \(expected) (difference \(difference), allowed \(allowed))",
                sourceLocation: sourceLocation)
    default:
        Issue.record("\(what()): \(String(describing: actual)) vs R \(String(describing: expected))", sourceLocation: sourceLocation)
    }
}

/// Reads one of the example CSV files, text levels in byte order (as the R references were
/// made, under LC_COLLATE=C).
func loadExample(_ relativePath: String) throws -> Table {
    try CSVReader.read(path: Repository.path(relativePath), options: CSVOptions(collation: .bytes), select: { _ in nil })
}

/// SplitMix64: a small seeded generator so that failures can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A reference file R's scripts print per model: a "## model" line, "# key: value" header
/// lines, then name<TAB>estimate<TAB>se per column of the model matrix (NA for an aliased one).
struct ReferenceModelBlock {
    var header: [String: String] = [:]
    /// name → (estimate, standard error) of the non-aliased coefficients.
    var coefficients: [String: (Double, Double)] = [:]
    /// The columns printed as NA, in order.
    var aliased: [String] = []

    static func parse(_ text: String) -> [ReferenceModelBlock] {
        text.components(separatedBy: "## model").dropFirst().map { block in
            var model = ReferenceModelBlock()
            for line in block.split(separator: "\n") {
                if line.hasPrefix("# ") {
                    let parts = line.dropFirst(2).split(separator: ":", maxSplits: 1)
                    if parts.count == 2 { model.header[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
                    continue
                }
                let fields = line.split(separator: "\t").map(String.init)
                guard fields.count == 3 else { continue }
                if fields[1] == "NA" {
                    model.aliased.append(fields[0])
                } else if let estimate = Double(fields[1]), let error = Double(fields[2]) {
                    model.coefficients[fields[0]] = (estimate, error)
                }
            }
            return model
        }
    }
}
