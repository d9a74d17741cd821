import Foundation
import Testing

/// A two-way fixed-effects panel whose second factor is too wide for the dense remainder, as a
/// user runs it: solved as sparse, with the aliased columns of its connected sets and
/// coefficients that solve the normal equations, saved and predicted with standard errors;
/// what is not available yet is refused with a message.
@Suite("Two factors of many levels, end to end")
struct SparseFixedEffectsEndToEndTests {
    struct Panel {
        let csv: String
        /// Each row's worker, firm, x and y.
        let workers: [Int], firms: [Int], x: [Double], y: [Double]
    }

    /// 7,000 workers with 3 rows each at one or two of 6,000 firms: many connected sets. `wt`
    /// is 10⁻⁶ for three workers in ten, else 1.
    static func panel() -> Panel {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func uniform() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        var lines = ["y,x,worker,firm,wt"]
        var workers: [Int] = [], firms: [Int] = [], xs: [Double] = [], ys: [Double] = []
        for worker in 0..<7_000 {
            var firm = Int(uniform() * 6_000)
            let workerEffect = uniform() - 0.5
            for period in 0..<3 {
                if period == 2, uniform() < 0.3 { firm = (firm + 1 + Int(uniform() * 40)) % 6_000 }
                let x = (uniform() * 2000).rounded() / 1000
                let y = ((1 + 0.5 * x + workerEffect + Double(firm % 7) / 10 + uniform() - 0.5) * 1000).rounded() / 1000
                lines.append("\(y),\(x),w\(worker),f\(firm),\(worker % 10 < 3 ? "1e-6" : "1")")
                workers.append(worker)
                firms.append(firm)
                xs.append(x)
                ys.append(y)
            }
        }
        return Panel(csv: lines.joined(separator: "\n") + "\n", workers: workers, firms: firms, x: xs, y: ys)
    }

    /// The number of connected sets of workers and firms (union-find).
    static func connectedSets(_ panel: Panel) -> Int {
        var parent = Array(0..<(7_000 + 6_000))
        func find(_ node: Int) -> Int {
            var node = node
            while parent[node] != node {
                parent[node] = parent[parent[node]]
                node = parent[node]
            }
            return node
        }
        for (worker, firm) in zip(panel.workers, panel.firms) {
            let (a, b) = (find(worker), find(7_000 + firm))
            if a != b { parent[a] = b }
        }
        let seenFirms = Set(panel.firms)
        let nodes = Array(0..<7_000) + seenFirms.map { 7_000 + $0 }
        return Set(nodes.map(find)).count
    }

    /// The least-squares conditions, from the printed coefficients alone: the residuals are
    /// orthogonal to x and add up to zero over each worker's and each firm's rows. The
    /// largest of those sums over the sum of the terms' sizes.
    static func normalEquationsResidual(_ panel: Panel, coefficients: [String: Double]) -> Double {
        let intercept = coefficients["(Intercept)"] ?? 0, slope = coefficients["x"] ?? 0
        var workerSums = [Double](repeating: 0, count: 7_000), firmSums = [Double](repeating: 0, count: 6_000)
        var xSum = 0.0, scale = 0.0
        for row in panel.y.indices {
            let fitted = intercept + slope * panel.x[row] + (coefficients["workerw\(panel.workers[row])"] ?? 0)
                + (coefficients["firmf\(panel.firms[row])"] ?? 0)
            let residual = panel.y[row] - fitted
            workerSums[panel.workers[row]] += residual
            firmSums[panel.firms[row]] += residual
            xSum += residual * panel.x[row]
            scale += abs(panel.y[row]) * max(panel.x[row], 1)
        }
        let largest = ([abs(xSum)] + workerSums.map(abs) + firmSums.map(abs)).max() ?? 0
        return largest / scale
    }

    @Test func fitsWithTheAliasedSetsAndSolvesTheNormalEquations() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-sparse-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let panel = Self.panel()
        let file = folder.appendingPathComponent("panel.csv")
        try Data(panel.csv.utf8).write(to: file)
        let arguments = [file.path, "-f", "y ~ x + worker + firm", "--format", "json"]
        let result = try Glmfit.run(arguments)
        #expect(result.status == 0, "\(result.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let rows = try #require(object["coefficients"] as? [[String: Any]])
        let firmCount = Set(panel.firms).count
        #expect(rows.count == 2 + 6_999 + firmCount - 1)
        // One column aliased per connected set beyond the first; the later of each set's
        // dependency (a firm, the factor after the workers).
        let aliased = rows.filter { $0["estimate"] == nil || $0["estimate"] is NSNull }
        #expect(aliased.count == Self.connectedSets(panel) - 1)
        #expect(aliased.allSatisfy { ($0["term"] as? String)?.hasPrefix("firm") == true })
        #expect(rows.allSatisfy { row in
            row["estimate"] == nil || row["estimate"] is NSNull || (row["std_error"] as? Double).map { $0 > 0 } == true
        })
        var coefficients: [String: Double] = [:]
        for row in rows {
            if let term = row["term"] as? String, let estimate = row["estimate"] as? Double { coefficients[term] = estimate }
        }
        #expect(Self.normalEquationsResidual(panel, coefficients: coefficients) < 1e-12)
        #expect((object["vcov_omitted"] as? String)?.contains("9109 estimated coefficients") == true)

        // In chunks of 5,000 rows: coefficients that solve the normal equations as well (the
        // sums in another order move the weakly connected levels' estimates by some 4e-10),
        // the same standard errors and deviance.
        let chunked = try Glmfit.run(arguments + ["--chunk-rows", "5000"])
        #expect(chunked.status == 0, "\(chunked.standardError)")
        let chunkedObject = try #require(
            try JSONSerialization.jsonObject(with: Data(chunked.standardOutput.utf8)) as? [String: Any])
        let chunkedRows = try #require(chunkedObject["coefficients"] as? [[String: Any]])
        #expect(chunkedRows.count == rows.count)
        for (a, b) in zip(rows, chunkedRows) {
            #expect(a["term"] as? String == b["term"] as? String)
            switch (a["std_error"] as? Double, b["std_error"] as? Double) {
            case (nil, nil): break
            case let (x?, y?): #expect(abs(x - y) <= 1e-9 * x, "\(a["term"] ?? "") std_error: \(x) vs \(y)")
            default: Issue.record("\(a["term"] ?? "") std_error: \(String(describing: a["std_error"])) vs \(String(describing: b["std_error"]))")
            }
        }
        var chunkedCoefficients: [String: Double] = [:]
        for row in chunkedRows {
            if let term = row["term"] as? String, let estimate = row["estimate"] as? Double { chunkedCoefficients[term] = estimate }
        }
        #expect(Set(chunkedCoefficients.keys) == Set(coefficients.keys))
        #expect(Self.normalEquationsResidual(panel, coefficients: chunkedCoefficients) < 1e-12)
        let chunkedDeviance = try #require(chunkedObject["deviance"] as? Double), deviance = try #require(object["deviance"] as? Double)
        #expect(abs(chunkedDeviance - deviance) <= 1e-10 * deviance)

        // Weights over six orders of magnitude do not change which columns are aliased (R's
        // QR finds the same), in memory or in chunks.
        for extra in [[], ["--chunk-rows", "5000"]] {
            let weighted = try Glmfit.run(arguments + ["--weights", "wt"] + extra)
            #expect(weighted.status == 0, "\(weighted.standardError)")
            let weightedObject = try #require(
                try JSONSerialization.jsonObject(with: Data(weighted.standardOutput.utf8)) as? [String: Any])
            let weightedRows = try #require(weightedObject["coefficients"] as? [[String: Any]])
            let weightedAliased = weightedRows.filter { $0["estimate"] == nil || $0["estimate"] is NSNull }
            let weightedNames = weightedAliased.compactMap { $0["term"] as? String }
            let sameAliased = weightedNames == aliased.compactMap { $0["term"] as? String }
            #expect(sameAliased, "\(extra): \(weightedNames.count) aliased, the first \(weightedNames.prefix(3))")
        }

        // Sandwich and clustered standard errors from the sparse factor: every coefficient's
        // (their numbers against QR's are checked in SparseSolverTests), the estimates unchanged.
        for robust in [["--vcov", "HC0"], ["--cluster", "firm"]] {
            let sandwich = try Glmfit.run(arguments + robust)
            #expect(sandwich.status == 0, "\(sandwich.standardError)")
            let sandwichObject = try #require(
                try JSONSerialization.jsonObject(with: Data(sandwich.standardOutput.utf8)) as? [String: Any])
            let sandwichRows = try #require(sandwichObject["coefficients"] as? [[String: Any]])
            #expect(sandwichRows.count == rows.count)
            for (plain, robustRow) in zip(rows, sandwichRows) {
                #expect(plain["estimate"] as? Double == robustRow["estimate"] as? Double)
                if plain["estimate"] as? Double != nil {
                    #expect((robustRow["std_error"] as? Double).map { $0 > 0 && $0.isFinite } == true, "\(robust) \(robustRow)")
                }
            }
            #expect((sandwichObject["se_type"] as? String)?.isEmpty == false)
        }
        // The model saved with its covariance as the sparse factor, and predicted from it.
        let saved = folder.appendingPathComponent("model.json")
        let save = try Glmfit.run(arguments + ["--save", saved.path])
        #expect(save.status == 0, "\(save.standardError)")
        let modelText = try String(contentsOf: saved, encoding: .utf8)
        #expect(modelText.contains("\"vcov_factor\""))
        #expect(modelText.utf8.count < 20_000_000)
        let newRows = folder.appendingPathComponent("new.csv")
        try Data("x,worker,firm\n0.5,w1,f\(panel.firms[3])\n1.5,w6999,f\(panel.firms[100])\n".utf8).write(to: newRows)
        let predicted = try Glmfit.run(["predict", saved.path, newRows.path, "--se"])
        #expect(predicted.status == 0, "\(predicted.standardError)")
        let lines = predicted.standardOutput.split(separator: "\n")
        #expect(lines.count == 3, "\(predicted.standardOutput)")
        #expect(lines.first == "x,worker,firm,fit,se_fit")
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",").compactMap { Double($0) }
            // x, the fit and its standard error.
            #expect(fields.count == 3 && fields.allSatisfy(\.isFinite) && fields[2] > 0, "\(line)")
        }
    }
}
