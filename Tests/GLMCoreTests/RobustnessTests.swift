import Foundation
import Testing
@testable import GLMCore

/// Issue 23: memory checked before it is spent, no crash on any fit, no silently wrong
/// result from a column's scale, and the errors that replace them.
@Suite("Robustness: memory budget, column scale, degenerate fits")
struct RobustnessTests {
    /// A CSV in a fresh temporary folder, removed by `body`'s end.
    static func withCSV<T>(_ text: String, _ body: (String) throws -> T) throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-robust-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("data.csv")
        try Data(text.utf8).write(to: file)
        return try body(file.path)
    }

    /// The error `body` throws, or nil.
    static func error(_ body: () throws -> Void) -> GLMError? {
        do {
            try body()
            return nil
        } catch let error as GLMError {
            return error
        } catch {
            Issue.record("not a GLMError: \(error)")
            return nil
        }
    }

    // MARK: MemoryBudget's arithmetic

    @Test func sizesAreParsedAndOverflowIsNil() {
        #expect(MemoryBudget.parseSize("1048576") == 1_048_576)
        #expect(MemoryBudget.parseSize("512M") == 512 << 20)
        #expect(MemoryBudget.parseSize("2GiB") == 2 << 30)
        #expect(MemoryBudget.parseSize("1.5k") == 1536)
        #expect(MemoryBudget.parseSize("lots") == nil)
        #expect(MemoryBudget.parseSize("-1G") == nil)
        #expect(MemoryBudget.bytes(doubles: 1_000_000, 2_002) == 16_016_000_000)
        #expect(MemoryBudget.bytes(doubles: 1 << 31, 1 << 31) == nil)
        #expect(MemoryBudget.sum(1, nil, 2) == nil)
        #expect(MemoryBudget.sum(Int.max, 1) == nil)
        #expect(MemoryBudget.describe(bytes: 8_016_024_000_000) == "8.0 TB")
        #expect(MemoryBudget.describe(bytes: 23_400_000_000) == "23 GB")
        #expect(MemoryBudget.describe(bytes: 999) == "999 bytes")
        #expect(MemoryBudget.describe(count: 1_002_003) == "1,002,003")
        #expect(MemoryBudget.describe(count: 12) == "12")
    }

    @Test func cgroupStatisticsAreRead() throws {
        try Self.withCSV("anon 4096\nfile 81920\ninactive_file 65536\nactive_file 16384\n") { path in
            #expect(MemoryBudget.statField(path, "inactive_file") == 65_536)
            #expect(MemoryBudget.statField(path, "total_inactive_file") == nil)
            #expect(MemoryBudget.readSmallFile(path)?.hasPrefix("anon 4096\n") == true)
        }
        #expect(MemoryBudget.readSmallFile("/proc/self/statm")?.isEmpty == false)
        #expect(MemoryBudget.readSmallFile("/no/such/file") == nil)
    }

    @Test func theBudgetIsTheSmallestLimitAndReadsThisMachine() {
        // /proc/meminfo exists on Linux: some limit is always known here.
        let budget = MemoryBudget.current()
        #expect(budget.availableBytes != nil)
        let lowered = MemoryBudget.$limitForTesting.withValue(12_345) { MemoryBudget.current() }
        #expect(lowered.availableBytes == 12_345)
        #expect(throws: GLMError.self) {
            try lowered.require(12_346, for: "a thing", remedy: "make it smaller")
        }
        #expect(throws: Never.self) { try lowered.require(12_345, for: "a thing", remedy: "make it smaller") }
        #expect(throws: GLMError.self) { try lowered.require(nil, for: "a thing", remedy: "make it smaller") }
    }

    // MARK: Generated shapes whose needs exceed a small budget

    /// Random factors (one with many levels, or two crossed), widths and row counts under a
    /// budget below X's size: every one ends in `insufficientMemory` (exit 65) naming the
    /// columns and rows, never in an allocation.
    @Test func generatedShapesOverTheBudgetFailCleanly() throws {
        var generator = SplitMix64(seed: 23)
        for trial in 0..<12 {
            let rows = Int.random(in: 300...900, using: &generator)
            let levels = Int.random(in: 20...60, using: &generator)
            let crossed = trial % 3 == 1
            let wide = trial % 3 == 2
            var header = ["y", "a", "b"]
            let extra = wide ? Int.random(in: 8...16, using: &generator) : 0
            header += (0..<extra).map { "x\($0)" }
            var text = header.joined(separator: ",") + "\n"
            for row in 0..<rows {
                var fields = ["\(Double(row % 7) + 0.5)", "A\(row % levels)", "B\((row / levels) % levels)"]
                fields += (0..<extra).map { "\(Double((row * ($0 + 3)) % 11) / 10)" }
                text += fields.joined(separator: ",") + "\n"
            }
            let formula = crossed ? "y ~ a:b" : (wide ? "y ~ (" + (0..<extra).map { "x\($0)" }.joined(separator: " + ") + ")^2 + a" : "y ~ a")
            let columns = crossed ? 1 + levels * min(levels, rows / levels + 1) : 1 + (levels - 1) + (wide ? extra * (extra + 1) / 2 : 0)
            // Well under X (rows × columns doubles), far above the table.
            let limit = max(rows * columns * 8 / 4, 64 * 1024)
            try Self.withCSV(text) { path in
                let failure = Self.error {
                    try MemoryBudget.$limitForTesting.withValue(limit) {
                        _ = try Pipeline.fit(FitRequest(path: path, formula: formula))
                    }
                }
                // A crossed factor wider than the rows is held as codes, within the budget: too
                // few rows for its coefficients is the error, found before anything is built.
                if crossed, columns > rows, case .tooFewObservations? = failure { return }
                guard case let .insufficientMemory(what, needed, available, remedy)? = failure else {
                    Issue.record("trial \(trial) (\(formula), \(rows) rows, \(levels) levels): \(String(describing: failure))")
                    return
                }
                #expect(available <= limit)
                #expect((needed ?? Int.max) > available)
                #expect(what.contains("columns"), "\(what)")
                #expect(!remedy.isEmpty)
                #expect(failure?.exitStatus == 65)
            }
        }
    }

    /// `y ~ .^2` lists every product of two terms before repeats are removed (10⁸ for 10,000
    /// columns): the count is checked before the list is made.
    @Test func wideInteractionsFailBeforeTheyAreExpanded() throws {
        let names = (0..<60).map { "x\($0)" }
        let text = "y," + names.joined(separator: ",") + "\n"
            + (0..<3).map { row in "\(row)," + names.indices.map { "\(($0 + row) % 5)" }.joined(separator: ",") }.joined(separator: "\n") + "\n"
        try Self.withCSV(text) { path in
            let failure = Self.error {
                try MemoryBudget.$limitForTesting.withValue(200_000) { _ = try Pipeline.fit(FitRequest(path: path, formula: "y ~ .^2")) }
            }
            guard case let .insufficientMemory(what, needed, _, remedy)? = failure else {
                Issue.record("\(String(describing: failure))")
                return
            }
            // 60 × 60 products of 128 bytes.
            #expect(what == "the formula interacts 60 terms with 60: expanding the 3,600 products", "\(what)")
            #expect(needed == 3_600 * 128)
            #expect(remedy == "interact fewer terms")
            // One product is no problem under the same budget.
            let small = Self.error {
                try MemoryBudget.$limitForTesting.withValue(200_000) { _ = try Pipeline.fit(FitRequest(path: path, formula: "y ~ x0:x1")) }
            }
            #expect(small == nil, "\(String(describing: small))")
        }
    }

    /// A GEE whose one cluster holds every row: its working matrices are size² and exceed
    /// the budget long before the design does.
    @Test func oneLargeGEEClusterFailsCleanly() throws {
        let rows = 3_000
        var text = "y,x,id\n"
        for row in 0..<rows { text += "\(Double(row % 13) / 3),\(Double(row % 17) / 5),\(row < rows - 2 ? 1 : 2)\n" }
        try Self.withCSV(text) { path in
            let request = FitRequest(path: path, formula: "y ~ x")
            let gee = GEERequest(idColumn: "id", structure: "exchangeable")
            let failure = Self.error {
                try MemoryBudget.$limitForTesting.withValue(16 << 20) { _ = try Pipeline.fitGEE(request, gee: gee) }
            }
            guard case let .insufficientMemory(what, _, _, _)? = failure else {
                Issue.record("\(String(describing: failure))")
                return
            }
            #expect(what.contains("the largest cluster of 'id' has 2,998 rows"), "\(what)")
        }
    }

    /// GEE clusters of random sizes under a budget below four size² matrices: each ends in
    /// the clean error naming the size.
    @Test func generatedLargeClustersFailCleanly() throws {
        var generator = SplitMix64(seed: 2_323)
        for _ in 0..<4 {
            let size = Int.random(in: 600...1_400, using: &generator)
            var text = "y,x,id\n"
            for row in 0..<(size + 3) { text += "\(Double(row % 11) / 4),\(Double(row % 7)),\(row < size ? 1 : 2 + row % 2)\n" }
            try Self.withCSV(text) { path in
                let limit = size * size * 8 * 2
                let failure = Self.error {
                    try MemoryBudget.$limitForTesting.withValue(limit) {
                        _ = try Pipeline.fitGEE(FitRequest(path: path, formula: "y ~ x"), gee: GEERequest(idColumn: "id", structure: "ar1"))
                    }
                }
                guard case let .insufficientMemory(what, needed, available, _)? = failure else {
                    Issue.record("cluster of \(size): \(String(describing: failure))")
                    return
                }
                let described = MemoryBudget.describe(count: size)
                #expect(what.contains("has \(described) rows: its \(described) × \(described) working correlation"), "\(what)")
                #expect(needed == size * size * 8 * 4)
                #expect(available == limit)
            }
        }
    }

    /// Random corruptions of a saved model's covariance and estimates: every one is refused
    /// when the file is loaded, naming what is wrong; the file as written loads.
    @Test func generatedModelFileCorruptionsAreRefused() throws {
        let report = try Pipeline.fit(FitRequest(path: Repository.path("Examples/mtcars.csv"), formula: "mpg ~ wt + hp + qsec"))
        let text = try SavedModel(report: report).jsonText()
        _ = try SavedModel(jsonBytes: Array(text.utf8), path: "m.json")
        let original = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        var generator = SplitMix64(seed: 66)
        for trial in 0..<24 {
            var object = original
            var vcov = try #require(object["vcov"] as? [String: Any])
            var matrix = try #require(vcov["matrix"] as? [[Any]])
            let n = matrix.count
            let i = Int.random(in: 0..<n, using: &generator)
            var j = Int.random(in: 0..<n, using: &generator)
            if j == i { j = (i + 1) % n }
            let expected: String
            switch trial % 4 {
            case 0:
                matrix[i][i] = -Double.random(in: 0.1...10, using: &generator)
                expected = "negative variance"
            case 1:
                matrix[i][j] = NSNull()
                expected = "is null or not a number"
            case 2:
                let value = (matrix[i][j] as? Double) ?? 0
                matrix[i][j] = value + Double.random(in: 1...5, using: &generator) * (abs(value) + 1)
                expected = "is not symmetric"
            default:
                var coefficients = try #require(object["coefficients"] as? [[String: Any]])
                coefficients[i]["estimate"] = "INFINITE-ESTIMATE"
                object["coefficients"] = coefficients
                expected = "is not a finite number"
            }
            vcov["matrix"] = matrix
            object["vcov"] = vcov
            var bytes = Array(try JSONSerialization.data(withJSONObject: object, options: []))
            if trial % 4 == 3 {
                // JSON has no Inf (nor does JSONSerialization write one): 1e400 reads as one.
                bytes = Array(String(decoding: bytes, as: UTF8.self)
                    .replacingOccurrences(of: "\"INFINITE-ESTIMATE\"", with: "1e400").utf8)
            }
            let failure = Self.error { _ = try SavedModel(jsonBytes: bytes, path: "m.json") }
            guard case let .invalidModelFile(_, reason)? = failure else {
                Issue.record("trial \(trial): \(String(describing: failure))")
                continue
            }
            #expect(reason.contains(expected), "trial \(trial): \(reason)")
            #expect(failure?.exitStatus == 65)
        }
    }

    /// `--chunk-rows` bounds X to a chunk, but not XᵀWX: a factor whose cross-product
    /// matrices exceed the budget fails before the first pass over the rows.
    /// One 2,000-level factor is fitted by blocks in chunks (no 2,000² matrix); a second one
    /// crossed with it makes a 2,000 × 2,000 matrix besides it, over the budget.
    @Test func chunkedFitWithTooManyColumnsFailsCleanly() throws {
        var text = "y,g,h\n"
        for row in 0..<4_000 { text += "\(row % 5 + 1),L\(row % 2_000),M\((row * 7) % 2_000)\n" }
        try Self.withCSV(text) { path in
            var single = FitRequest(path: path, formula: "y ~ g", family: "poisson")
            single.chunkRows = 100
            let fit = try MemoryBudget.$limitForTesting.withValue(32 << 20) { try Pipeline.fit(single) }
            #expect(fit.fit.irls.solution?.blockFactor != nil)
            var request = FitRequest(path: path, formula: "y ~ g + h")
            request.chunkRows = 100
            let failure = Self.error {
                try MemoryBudget.$limitForTesting.withValue(32 << 20) { _ = try Pipeline.fit(request) }
            }
            guard case let .insufficientMemory(what, _, _, _)? = failure else {
                Issue.record("\(String(describing: failure))")
                return
            }
            #expect(what.contains("3,999 columns"), "\(what)")
        }
    }

    // MARK: Degenerate fits: clear errors, not crashes or tables of NA

    @Test func negativeBinomialOnAllZeroCountsIsAnError() throws {
        let text = "y,x\n" + (0..<12).map { "0,\(Double($0) / 4)" }.joined(separator: "\n") + "\n"
        try Self.withCSV(text) { path in
            let failure = Self.error { _ = try Pipeline.fit(FitRequest(path: path, formula: "y ~ x", family: "negative-binomial")) }
            #expect(failure?.exitStatus == 65)
            #expect(failure?.message.contains("the negative binomial theta cannot be estimated: every count is 0") == true,
                    "\(String(describing: failure))")
            // A fixed theta is an ordinary GLM and still fits.
            var fixed = FitRequest(path: path, formula: "y ~ x", family: "negative-binomial")
            fixed.theta = 2
            #expect(throws: Never.self) { _ = try Pipeline.fit(fixed) }
        }
    }

    @Test(arguments: [nil, 3] as [Int?])
    func weightsThatLeaveTooFewRowsAreAnError(chunkRows: Int?) throws {
        let rows = (0..<10).map { "\(Double($0 % 4) + 1),\(Double($0) / 3),0,\($0 == 4 ? 1 : 0)" }
        try Self.withCSV("y,x,zero,one\n" + rows.joined(separator: "\n") + "\n") { path in
            var allZero = FitRequest(path: path, formula: "y ~ x", weightsColumn: "zero")
            allZero.chunkRows = chunkRows
            #expect(Self.error { _ = try Pipeline.fit(allZero) }
                == .tooFewPositiveWeights(column: "zero", positive: 0, coefficients: 2))
            var one = FitRequest(path: path, formula: "y ~ x", family: "poisson", weightsColumn: "one")
            one.chunkRows = chunkRows
            let failure = Self.error { _ = try Pipeline.fit(one) }
            #expect(failure == .tooFewPositiveWeights(column: "one", positive: 1, coefficients: 2))
            #expect(failure?.message == "weights column 'one': only 1 row has a positive weight, too few to estimate 2 coefficients")
        }
    }

    @Test func responseOnTheRightIsDroppedWithRWarnings() throws {
        let text = "y,x\n1,2\n3,1\n2,4\n5,3\n4,6\n6,5\n8,8\n7,9\n9,7\n10,10\n"
        try Self.withCSV(text) { path in
            // R (checked with Rscript): the coefficient is mean(y) = 5.5, two warnings in this order.
            let alone = try Pipeline.fit(FitRequest(path: path, formula: "y ~ y"))
            #expect(alone.fit.coefficientNames == ["(Intercept)"])
            expectClose(alone.fit.coefficients[0], 5.5, relative: 1e-14, "y ~ y intercept")
            #expect(Array(alone.warnings.prefix(2)) == [
                "the response appeared on the right-hand side and was dropped",
                "problem with term 1 in model.matrix: no columns are assigned",
            ])
            let second = try Pipeline.fit(FitRequest(path: path, formula: "y ~ x + y"))
            #expect(second.fit.coefficientNames == ["(Intercept)", "x"])
            #expect(second.warnings.contains("problem with term 2 in model.matrix: no columns are assigned"))
            let none = try Pipeline.fit(FitRequest(path: path, formula: "y ~ x"))
            #expect(!none.warnings.contains { $0.contains("right-hand side") })
        }
    }
}

/// Columns multiplied by 1e160 and 1e-210 in two real datasets (mtcars, epil), against
/// R's glm and MASS's glm.nb (`Reference/scaled/make_scaled_reference.R`).
@Suite("Scaled columns are estimated as R estimates them")
struct ScaledColumnTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let id, data, formula, family: String
        let names: [String]
        let coefficients: [Double]
        let standardErrors: [Double?]
        let rank: Int
        let deviance: Double
        var testDescription: String { id }
    }

    static let cases: [Case] = {
        let path = Repository.path("Tests/GLMCoreTests/Reference/scaled/scaled_reference.json")
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = object["cases"] as? [[String: Any]] else { return [] }
        return cases.compactMap { entry in
            guard let id = entry["id"] as? String, let file = entry["data"] as? String,
                  let formula = entry["formula"] as? String, let family = entry["family"] as? String,
                  let names = entry["coef_names"] as? [String], let coefficients = entry["coefficients"] as? [Double],
                  let errors = entry["std_errors"] as? [Any], let rank = entry["rank"] as? Int,
                  let deviance = entry["deviance"] as? Double else { return nil }
            return Case(
                id: id, data: "Tests/GLMCoreTests/Reference/scaled/" + file, formula: formula, family: family,
                names: names, coefficients: coefficients, standardErrors: errors.map { $0 as? Double }, rank: rank,
                deviance: deviance)
        }
    }()

    @Test func referenceIsThere() {
        #expect(Self.cases.count == 5)
    }

    @Test(arguments: cases)
    func inMemoryAndChunkedMatchR(_ reference: Case) throws {
        var modes: [Int?] = [nil]
        // The chunked fit needs a fixed theta for the negative binomial (a documented refusal).
        if reference.family != "negative-binomial" { modes.append(5) }
        for chunkRows in modes {
            var request = FitRequest(path: Repository.path(reference.data), formula: reference.formula, family: reference.family)
            request.chunkRows = chunkRows
            let report = try Pipeline.fit(request)
            let what = "\(reference.id) (chunk rows \(chunkRows.map(String.init) ?? "none"))"
            #expect(report.fit.coefficientNames == reference.names, "\(what)")
            #expect(report.fit.rank == reference.rank, "\(what): rank")
            #expect(!report.fit.aliased.contains(true), "\(what): a scaled column was declared aliased")
            expectClose(report.fit.deviance, reference.deviance, relative: 1e-8, "\(what) deviance")
            for (index, coefficient) in report.summary.coefficients.enumerated() where index < reference.coefficients.count {
                expectClose(coefficient.estimate, reference.coefficients[index], relative: 1e-6, "\(what) \(coefficient.term)")
                // R's standard errors where both scales meet in one model are chol2inv's under-
                // and overflow (0 and Inf): compared only where they are a number.
                if let se = reference.standardErrors[index], se > 0, se.isFinite {
                    expectClose(coefficient.standardError, se, relative: 1e-6, "\(what) \(coefficient.term) se")
                } else if reference.standardErrors[index] == nil {
                    #expect(coefficient.standardError.map { !$0.isFinite } ?? true, "\(what) \(coefficient.term) se")
                }
            }
        }
    }

    /// The fit of a column times 10^k is the fit of the column with its coefficient divided
    /// by 10^k, for k from −300 to 300 (the rank test and the solvers do not see the scale).
    @Test func scaleInvarianceOverManyExponents() throws {
        let table = try loadExample("Examples/mtcars.csv")
        guard case let .numeric(hp)? = table.column(named: "hp"), case let .numeric(mpg)? = table.column(named: "mpg"),
              case let .numeric(wt)? = table.column(named: "wt") else {
            Issue.record("mtcars columns")
            return
        }
        func fit(scale: Double, chunkRows: Int?) throws -> [Double] {
            var text = "mpg,wt,hp\n"
            for row in hp.indices { text += "\(mpg[row]),\(wt[row]),\(hp[row] * scale)\n" }
            return try RobustnessTests.withCSV(text) { path in
                var request = FitRequest(path: path, formula: "mpg ~ wt + hp", family: "gamma")
                request.chunkRows = chunkRows
                return try Pipeline.fit(request).fit.coefficients
            }
        }
        let base = try fit(scale: 1, chunkRows: nil)
        var generator = SplitMix64(seed: 8)
        for _ in 0..<10 {
            let exponent = Int.random(in: -300...300, using: &generator)
            let scale = pow(10, Double(exponent))
            for chunkRows in [nil, 9] as [Int?] {
                let scaled = try fit(scale: scale, chunkRows: chunkRows)
                #expect(scaled.count == 3)
                #expect(!scaled.contains { $0.isNaN }, "1e\(exponent): aliased")
                expectClose(scaled[0], base[0], relative: 1e-8, "1e\(exponent) intercept")
                expectClose(scaled[1], base[1], relative: 1e-8, "1e\(exponent) wt")
                expectClose(scaled[2] * scale, base[2], relative: 1e-8, "1e\(exponent) hp × scale")
            }
        }
    }

    /// A GEE (geepack returns NaN for every coefficient here) of a column times 1e160 or
    /// 1e-210 is the GEE of the column, its coefficient and robust standard error scaled back.
    @Test func geeIsScaleInvariant() throws {
        let table = try loadExample("Examples/dietox.csv")
        guard case let .numeric(weight)? = table.column(named: "Weight"), case let .numeric(time)? = table.column(named: "Time"),
              case let .numeric(pig)? = table.column(named: "Pig") else {
            Issue.record("dietox columns")
            return
        }
        func fit(scale: Double) throws -> (coefficients: [Double], errors: [Double]) {
            var text = "Weight,Time,Pig\n"
            for row in weight.indices { text += "\(weight[row]),\(time[row] * scale),\(pig[row])\n" }
            return try RobustnessTests.withCSV(text) { path in
                let report = try Pipeline.fitGEE(
                    FitRequest(path: path, formula: "Weight ~ Time"), gee: GEERequest(idColumn: "Pig", structure: "exchangeable"))
                return (report.fit.coefficients, report.coefficients.map { $0.standardError ?? .nan })
            }
        }
        let base = try fit(scale: 1)
        for scale in [1e160, 1e-210, 1e130, 1e-130] {
            let scaled = try fit(scale: scale)
            expectClose(scaled.coefficients[0], base.coefficients[0], relative: 1e-8, "\(scale) intercept")
            expectClose(scaled.coefficients[1] * scale, base.coefficients[1], relative: 1e-8, "\(scale) Time")
            expectClose(scaled.errors[0], base.errors[0], relative: 1e-6, "\(scale) intercept se")
            // The scaled column's variance (its standard error squared, about 1e-323 or 1e420)
            // is beyond the range of normal doubles in the covariance, as in R's glm (chol2inv):
            // compared only where it is a normal number.
            if (scaled.errors[1] * scaled.errors[1]).isNormal {
                expectClose(scaled.errors[1] * scale, base.errors[1], relative: 1e-6, "\(scale) Time se")
            }
        }
    }

    /// Non-finite values in a numeric column are refused with the line, whatever their
    /// spelling; they never reach the fit.
    @Test func nonFiniteValuesAreRefused() throws {
        for spelling in ["Inf", "-Inf", "1e400", "-1e999", "inf"] {
            let text = "y,x\n1,2\n2,3\n3,\(spelling)\n4,5\n"
            try RobustnessTests.withCSV(text) { path in
                let failure = RobustnessTests.error { _ = try Pipeline.fit(FitRequest(path: path, formula: "y ~ x")) }
                #expect(failure == .nonFiniteValue(variable: "x", line: 4), "\(spelling): \(String(describing: failure))")
            }
        }
    }
}

/// `--start` (R's `glm(start =)`) against R on menarche (`Reference/start/make_start_reference.R`):
/// the log-binomial fit R cannot start from the family's means fits from a start, as in R.
@Suite("Starting coefficients as R's start =")
struct StartTests {
    static var cases: [[String: Any]] {
        let path = Repository.path("Tests/GLMCoreTests/Reference/start/start_reference.json")
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [] }
        return object["cases"] as? [[String: Any]] ?? []
    }

    static func request(_ reference: [String: Any]) -> FitRequest {
        var request = FitRequest(
            path: Repository.path("Examples/menarche.csv"), formula: "cbind(Menarche, Total - Menarche) ~ Age",
            family: "binomial", link: reference["link"] as? String)
        let start = reference["start"] as? [Double] ?? []
        request.start = start.isEmpty ? nil : start
        return request
    }

    @Test func matchesR() throws {
        #expect(Self.cases.count == 4)
        for reference in Self.cases {
            let id = reference["id"] as? String ?? "?"
            if let error = reference["error"] as? String {
                // R's words first; glmfit's advice replaces R's "please ..." (see IRLS).
                let failure = RobustnessTests.error { _ = try Pipeline.fit(Self.request(reference)) }
                guard case let .fitFailed(message)? = failure else {
                    Issue.record("\(id): \(String(describing: failure))")
                    continue
                }
                let rWhat = error.components(separatedBy: ": ")[0]
                #expect(message.hasPrefix(rWhat), "\(id): \(message)")
                continue
            }
            let report = try Pipeline.fit(Self.request(reference))
            let coefficients = reference["coefficients"] as? [Double] ?? []
            let errors = reference["std_errors"] as? [Double] ?? []
            #expect(report.fit.irls.iterations == reference["iterations"] as? Int, "\(id) iterations")
            #expect(report.fit.irls.converged == reference["converged"] as? Bool, "\(id) converged")
            expectClose(report.fit.deviance, reference["deviance"] as? Double, relative: 1e-8, "\(id) deviance")
            for (index, row) in report.summary.coefficients.enumerated() where index < coefficients.count {
                expectClose(row.estimate, coefficients[index], relative: 1e-6, "\(id) \(row.term)")
                expectClose(row.standardError, errors[index], relative: 1e-6, "\(id) \(row.term) se")
            }
            let rWarnings = Set(reference["warnings"] as? [String] ?? [])
            #expect(Set(report.fit.warnings) == rWarnings, "\(id): \(report.fit.warnings)")
        }
    }

    @Test func startIsCheckedAgainstTheModel() throws {
        var request = Self.request(["link": "logit", "start": [1.0, 2.0, 3.0]])
        #expect(RobustnessTests.error { _ = try Pipeline.fit(request) } == .invalidOption(
            name: "--start", message: "needs 2 values, one per coefficient ((Intercept), Age), got 3"))
        #expect(throws: GLMError.self) { _ = try Pipeline.parseStart("1,,2") }
        #expect(throws: GLMError.self) { _ = try Pipeline.parseStart("1,inf") }
        #expect(try Pipeline.parseStart(" -3, 0.1") == [-3, 0.1])
        request.start = [-20, 1.5]
        request.chunkRows = 10
        #expect(throws: GLMError.self) { _ = try Pipeline.fit(request) }
    }
}
