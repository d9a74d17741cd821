import Foundation
import Testing
@testable import GLMCore

/// Random and mutated CSV files with random formulas, families and links, through the
/// whole pipeline (reader, formula, frame, design, fit, inference): every input ends in a
/// fit or a GLMError, never a trap, a hang or another kind of error. A trap would kill the
/// test process, so a crash shows as a failed run. `make test` runs a bounded number of
/// inputs; GLMFIT_FUZZ_ITERATIONS=200000 (and GLMFIT_FUZZ_SEED) runs a longer search by
/// hand. Inputs that once failed live in FuzzCorpus/ and are replayed every run.
@Suite("Pipeline property tests")
struct PipelineFuzzTests {
    struct Input: CustomStringConvertible {
        var csv: [UInt8]
        var formula: String
        var family: String
        var link: String?
        var weights: String?
        var description: String {
            "formula \(formula) family \(family) link \(link ?? "-") weights \(weights ?? "-")\n" + String(decoding: csv, as: UTF8.self)
        }
    }

    static let families = ["gaussian", "binomial", "poisson", "gamma", "inverse-gaussian", "quasipoisson", "quasibinomial",
                           "negative-binomial"]
    static let links: [String?] = [nil, nil, nil, "identity", "log", "logit", "probit", "cloglog", "cauchit", "inverse", "sqrt", "1/mu^2"]
    static let fieldPool = ["0", "1", "2", "-1", "0.5", "1e308", "-1e308", "1e-320", "3.25", "7", "100000", "NA", "", "NaN",
                            "Inf", "-Inf", "TRUE", "FALSE", "a", "b", "c", "\"x,y\"", "\"q\"\"t\"", " 4 ", "+2", "1e", "é",
                            "\"1\"", "0x1F", ".", "-", "1.5.2", "99999999999999999999"]

    static func randomInput(_ rng: inout SplitMix64) -> Input {
        let columnCount = Int.random(in: 2...5, using: &rng)
        let names = Array(["y", "x", "z", "g", "w"].prefix(columnCount))
        var text = names.joined(separator: ",") + (Bool.random(using: &rng) ? "\r\n" : "\n")
        let rows = Int.random(in: 0...30, using: &rng)
        let hostility = [0, 1, 3, 10].randomElement(using: &rng)!  // percent of fields from the pool
        let responseRange = [0.0...1.0, 0.0...6.0, 0.1...9.0].randomElement(using: &rng)!
        for _ in 0..<rows {
            var fields: [String] = []
            for column in 0..<columnCount {
                if Int.random(in: 0..<100, using: &rng) < hostility {
                    fields.append(fieldPool.randomElement(using: &rng)!)
                } else if column == 0 {
                    let value = Double.random(in: responseRange, using: &rng)
                    fields.append(responseRange.upperBound == 6 ? String(Int(value)) : "\(value.rounded() == value ? value : value)")
                } else if column == 3 {
                    fields.append(["a", "b", "c"].randomElement(using: &rng)!)
                } else if column == 4 {
                    fields.append("\(Int.random(in: 0...3, using: &rng))")
                } else {
                    fields.append("\(Double.random(in: 0.1...3, using: &rng))")
                }
            }
            if Int.random(in: 0..<300, using: &rng) == 0 { fields.removeLast() }
            text += fields.joined(separator: ",") + (Bool.random(using: &rng) ? "\n" : "\r\n")
        }
        var bytes = Array(text.utf8)
        if Int.random(in: 0..<10, using: &rng) == 0 {
            for _ in 0..<Int.random(in: 1...4, using: &rng) where !bytes.isEmpty {
                let index = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes.remove(at: index)
                case 1: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: index)
                default: bytes[index] = [UInt8(ascii: "\""), UInt8(ascii: ","), UInt8(ascii: "\n"), 0xC3, 0x00].randomElement(using: &rng)!
                }
            }
        }
        var terms = ["x", "log(x)", "I(x^2)", "factor(y)", "-1", "1", "."]
        if columnCount > 2 { terms += ["z", "x:z", "offset(z)", "sqrt(abs(z))", "(x + z)^2", "exp(z)", "x/z"] }
        if columnCount > 3 { terms += ["g", "x*g", "g:z", "g - 1"] }
        let rhs = (0..<Int.random(in: 1...3, using: &rng)).map { _ in terms.randomElement(using: &rng)! }.joined(separator: " + ")
        var responses = ["y", "y", "y", "log(y + 1)"]
        if columnCount > 2 { responses += ["cbind(y, z)", "y/z"] }
        let lhs = responses.randomElement(using: &rng)!
        return Input(
            csv: bytes, formula: "\(lhs) ~ \(rhs)", family: families.randomElement(using: &rng)!,
            link: links.randomElement(using: &rng)!, weights: columnCount == 5 && Bool.random(using: &rng) ? "w" : nil)
    }

    /// Runs one input; returns a description of anything other than a fit or a GLMError.
    static func run(_ input: Input) -> String? {
        run(input, fitted: nil)
    }

    static func run(_ input: Input, fitted: UnsafeMutablePointer<Int>?) -> String? {
        do {
            let table = try input.csv.withUnsafeBytes { bytes in
                try CSVReader.read(bytes: bytes, source: "fuzz.csv", select: { _ in nil })
            }
            var request = FitRequest(path: "fuzz.csv", formula: input.formula, family: input.family, link: input.link,
                                      weightsColumn: input.weights)
            request.control.maxIterations = 25
            let report = try Pipeline.fit(request, table: table)
            // Whatever was fitted must be reportable without trapping.
            _ = report.summary.coefficients.map(\.pValue)
            fitted?.pointee += 1
            return nil
        } catch is GLMError {
            return nil
        } catch {
            return "unexpected error \(error)"
        }
    }

    @Test func randomInputsEndInAFitOrATypedError() {
        let environment = ProcessInfo.processInfo.environment
        let iterations = environment["GLMFIT_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 3000
        var rng = SplitMix64(seed: environment["GLMFIT_FUZZ_SEED"].flatMap(UInt64.init) ?? 20261122)
        let deadline = Date().addingTimeInterval(iterations > 3000 ? 1e9 : 45)
        var inputs = 0
        var fitted = 0
        for index in 0..<iterations where Date() < deadline {
            let input = Self.randomInput(&rng)
            if let problem = Self.run(input, fitted: &fitted) {
                Issue.record("input \(index): \(problem)\n\(input)")
            }
            inputs += 1
        }
        // The generator must reach the fitting code, not only the readers' errors.
        #expect(inputs > 100)
        #expect(fitted * 10 > inputs, "only \(fitted) of \(inputs) inputs were fitted")
    }

    /// Long labels and many terms through the whole pipeline: up to 2,000 columns with
    /// names up to 20,000 characters, a factor whose levels are up to 200,000 characters,
    /// `y ~ .` or the columns written out, or a long chain of one factor: each ends in a fit
    /// or a GLMError, in time linear in the input (the design stage was quadratic in the
    /// number of terms).
    @Test func longLabelsAndManyTermsEndInAFitOrATypedError() {
        var rng = SplitMix64(seed: 20261208)
        var outcomes = [0, 0]
        for _ in 0..<12 {
            let columns = [1, 3, 40, 800, 2_000].randomElement(using: &rng) ?? 3
            let rows = [5, 30, 120].randomElement(using: &rng) ?? 30
            let nameLength = [1, 300, 20_000].randomElement(using: &rng) ?? 1
            let levelLength = [1, 300, 200_000].randomElement(using: &rng) ?? 1
            let names = (0..<columns).map { "x\($0)" + String(repeating: "n", count: $0 == 0 ? nameLength : min(nameLength, 30)) }
            var values: [[Double]] = [(0..<rows).map { _ in Double.random(in: 0...5, using: &rng).rounded() }]
            for _ in names { values.append((0..<rows).map { _ in Double.random(in: -1...1, using: &rng) }) }
            let levels = ["a", String(repeating: "L", count: levelLength), "c"]
            let codes = (0..<rows).map { Int32($0 % levels.count) }
            var tableColumns: [Column?] = values.map { .numeric($0) }
            tableColumns.append(.categorical(CategoricalColumn(codes: codes, levels: levels.sorted())))
            let table = Table(source: "long.csv", columnNames: ["y"] + names + ["g"], columns: tableColumns, rowCount: rows)
            let formula: String
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: formula = "y ~ ."
            case 1: formula = "y ~ " + names.map { "`\($0)`" }.joined(separator: " + ") + " + g"
            default: formula = "y ~ " + Array(repeating: "g", count: columns).joined(separator: " + ") + " + `\(names[0])`:g"
            }
            let request = FitRequest(path: "long.csv", formula: formula, family: Bool.random(using: &rng) ? "poisson" : "gaussian")
            let start = Date()
            do {
                let report = try Pipeline.fit(request, table: table)
                #expect(report.fit.coefficientNames.contains { $0.hasSuffix(levels[1]) || $0.contains(names[0]) })
                outcomes[0] += 1
            } catch let error as GLMError {
                #expect([64, 65].contains(error.exitStatus), "\(error.message.prefix(200))")
                #expect(error.message.utf8.count < 5_000)
                outcomes[1] += 1
            } catch {
                Issue.record("unexpected \(error)")
            }
            let size = formula.utf8.count + columns * rows + nameLength + levelLength
            let seconds = Date().timeIntervalSince(start)
            #expect(seconds < 2 + 2e-5 * Double(size), "\(columns) columns, \(rows) rows: \(seconds) s")
        }
        #expect(outcomes[0] > 0 && outcomes[1] > 0, "\(outcomes)")
    }

    /// Inputs that once failed, one file each: a first line "formula | family | link |
    /// weights" and the CSV after it.
    @Test func corpusReplays() throws {
        let folder = Repository.path("Tests/GLMCoreTests/FuzzCorpus")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder))?.filter { $0.hasSuffix(".txt") }.sorted() ?? []
        for file in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent(file))
            let bytes = [UInt8](data)
            guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else { continue }
            let header = String(decoding: bytes[..<newline], as: UTF8.self).split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard header.count == 4 else {
                Issue.record("\(file): bad header")
                continue
            }
            let input = Input(
                csv: Array(bytes[(newline + 1)...]), formula: header[0], family: header[1],
                link: header[2].isEmpty ? nil : header[2], weights: header[3].isEmpty ? nil : header[3])
            if let problem = Self.run(input) { Issue.record("\(file): \(problem)") }
        }
    }
}

