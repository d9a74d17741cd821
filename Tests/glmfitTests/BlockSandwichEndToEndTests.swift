import Foundation
import Testing

/// Robust standard errors of a model beyond the covariance limit (InstEval, 1,128
/// instructors: 1,128 coefficients), end to end: every SE, no matrix, no refusal.
@Suite("Sandwich and cluster SEs of large factor models, end to end")
struct BlockSandwichEndToEndTests {
    static func json(_ extra: [String]) throws -> (CommandResult, [String: Any]) {
        let result = try Glmfit.run(
            [Glmfit.example("insteval.csv.gz"), "--family", "binomial", "--formula", "good ~ d", "--format", "json"] + extra)
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        return (result, object ?? [:])
    }

    static func standardErrors(_ object: [String: Any]) -> [Double] {
        let rows = object["coefficients"] as? [[String: Any]] ?? []
        return rows.compactMap { $0["std_error"] as? Double }
    }

    @Test(arguments: [["--vcov", "HC1"], ["--cluster", "s"], ["--cluster", "d", "--vcov", "HC1"]])
    func everyRobustStandardErrorBeyondTheLimit(_ options: [String]) throws {
        let (model, modelObject) = try Self.json([])
        let (robust, object) = try Self.json(options)
        #expect(model.status == 0 && robust.status == 0, "\(robust.standardError)")
        #expect(!robust.standardError.contains("error"))
        #expect(object["se_type"] as? String == (options[0] == "--vcov" ? "HC1" : "cluster-\(options.count > 2 ? "HC1" : "HC0")"))
        #expect(object["vcov"] is NSNull)
        #expect((object["vcov_omitted"] as? String)?.contains("1128 estimated coefficients") == true)
        let modelErrors = Self.standardErrors(modelObject)
        let robustErrors = Self.standardErrors(object)
        #expect(modelErrors.count == 1128 && robustErrors.count == 1128)
        #expect(robustErrors.allSatisfy { $0.isFinite && $0 > 0 })
        // Robust, not the model's: they differ (by more than rounding) for most coefficients.
        let differing = zip(modelErrors, robustErrors).count { abs($0 - $1) > 1e-6 * $0 }
        #expect(differing > 1000)
    }

    @Test func textReportAndWaldTestWithClusteredErrors() throws {
        let result = try Glmfit.run(
            [Glmfit.example("insteval.csv.gz"), "--family", "binomial", "--formula", "good ~ d", "--cluster", "s",
             "--wald", "dI1002 = dI1050"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("cluster-robust by s, 2972 clusters"))
        #expect(result.standardOutput.contains("Wald test (as car::linearHypothesis) of dI1002 - dI1050 = 0:\n  Chisq = "))
    }
}
