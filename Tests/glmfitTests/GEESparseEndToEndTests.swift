import Foundation
import Testing

/// A GEE on the two-way fixed-effects panel (9,109 estimated coefficients: 7,000 workers, the
/// clusters, and the firms they work at), as a user runs it: its information matrix is held
/// as sparse, and for the independence model its numbers are the GLM's (geeglm's identities):
/// the same coefficients, naive SEs the GLM's times √((n − p)/n) (the GEE's scale divides by
/// n), robust SEs the GLM's cluster-robust HC0 ones without the G/(G − 1) adjustment.
@Suite("GEE with two factors of many levels, end to end")
struct GEESparseEndToEndTests {
    static func rows(_ output: String) throws -> (object: [String: Any], rows: [String: [String: Any]]) {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let list = try #require(object["coefficients"] as? [[String: Any]])
        var rows: [String: [String: Any]] = [:]
        for row in list { if let term = row["term"] as? String { rows[term] = row } }
        return (object, rows)
    }

    @Test func independenceGEEIsTheGLMWithClusterRobustErrors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-gee-sparse-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let panel = SparseFixedEffectsEndToEndTests.panel()
        let file = folder.appendingPathComponent("panel.csv")
        try Data(panel.csv.utf8).write(to: file)
        let model = [file.path, "-f", "y ~ x + worker + firm", "--format", "json"]

        let gee = try Glmfit.run(model + ["--id", "worker"])
        #expect(gee.status == 0, "\(gee.standardError)")
        let glm = try Glmfit.run(model + ["--cluster", "worker", "--vcov", "HC0"])
        #expect(glm.status == 0, "\(glm.standardError)")
        let (geeObject, geeRows) = try Self.rows(gee.standardOutput)
        let (_, glmRows) = try Self.rows(glm.standardOutput)
        #expect(geeObject["n_clusters"] as? Int == 7_000)
        #expect(geeObject["converged"] as? Bool == true)
        // Past 1,000 coefficients the matrices are left out; every SE is there.
        #expect(geeObject["vcov_robust"] is NSNull)
        #expect((geeObject["vcov_omitted"] as? String)?.contains("9109 estimated coefficients") == true)
        #expect(geeObject["qic"] is [String: Any])
        #expect(geeRows.count == glmRows.count)

        let n = Double(panel.y.count), p = 9_109.0, clusters = 7_000.0
        let naiveFactor = ((n - p) / n).squareRoot(), robustFactor = ((clusters - 1) / clusters).squareRoot()
        var compared = 0
        for (term, glmRow) in glmRows {
            let geeRow = try #require(geeRows[term], "\(term)")
            guard let estimate = glmRow["estimate"] as? Double else {
                #expect(geeRow["estimate"] == nil || geeRow["estimate"] is NSNull, "\(term) aliased in both")
                continue
            }
            let glmStandardError = try #require(glmRow["std_error"] as? Double)
            let geeEstimate = try #require(geeRow["estimate"] as? Double)
            let robust = try #require(geeRow["robust_std_error"] as? Double, "\(term) robust")
            let naive = try #require(geeRow["naive_std_error"] as? Double, "\(term) naive")
            // The GEE's Fisher-scoring steps from the GLM's solution move the levels of a set
            // joined by one mover together by some 3e-10, within 1e-8 of their SEs.
            #expect(abs(geeEstimate - estimate) <= 1e-8 * max(abs(estimate), naive), "\(term) estimate")
            // A worker's own cluster adds nothing to its level's robust variance (its residuals
            // sum to zero): some are 1e-4 of the naive SE, found by cancellation, so their
            // error is measured against the naive SE as well.
            #expect(abs(robust - glmStandardError * robustFactor) <= 1e-8 * robust + 1e-10 * naive,
                    "\(term) robust: \(robust) vs \(glmStandardError)")
            compared += 1
        }
        #expect(compared == 9_109)

        // The naive SEs against the GLM's model-based ones.
        let plain = try Glmfit.run(model)
        #expect(plain.status == 0, "\(plain.standardError)")
        let (_, plainRows) = try Self.rows(plain.standardOutput)
        for (term, plainRow) in plainRows {
            guard let standardError = plainRow["std_error"] as? Double else { continue }
            let naive = try #require(geeRows[term]?["naive_std_error"] as? Double, "\(term) naive")
            #expect(abs(naive - standardError * naiveFactor) <= 1e-8 * naive, "\(term) naive: \(naive) vs \(standardError)")
        }
    }
}
