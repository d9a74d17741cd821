import Foundation
import Testing

/// A GEE whose factor has 1,127 columns (InstEval's instructors) runs on the factor's codes,
/// and within a memory budget its dense p × p matrices would not fit.
@Suite("GEE with a large factor from the command line")
struct GEEStructuredEndToEndTests {
    static let arguments = ["Examples/insteval.csv.gz", "--family", "binomial", "-f", "good ~ d", "--id", "s"]

    @Test func fitsOnTheCodes() throws {
        let result = try Glmfit.run(Self.arguments + ["--format", "json"])
        #expect(result.status == 0, "\(result.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(object["n_clusters"] as? Int == 2972)
        let coefficients = try #require(object["coefficients"] as? [[String: Any]])
        #expect(coefficients.count == 1128)
        #expect(coefficients.allSatisfy { $0["robust_std_error"] is Double })
        // 1,128 coefficients: the three p × p matrices are left out of JSON, as a GLM's vcov.
        for member in ["vcov", "vcov_robust", "vcov_naive"] {
            #expect(object[member] is NSNull, "\(member)")
        }
        #expect((object["vcov_omitted"] as? String)?.contains("1128 estimated coefficients") == true)
    }

    @Test func fullCovarianceWritesTheMatrices() throws {
        let result = try Glmfit.run(Self.arguments + ["--format", "json", "--full-covariance"])
        #expect(result.status == 0, "\(result.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(object["vcov_omitted"] == nil)
        let robust = try #require(object["vcov_robust"] as? [String: Any])
        let matrix = try #require(robust["matrix"] as? [[Double]])
        #expect(matrix.count == 1128 && matrix.allSatisfy { $0.count == 1128 })
        // Its diagonal is the robust standard errors squared.
        let coefficients = try #require(object["coefficients"] as? [[String: Any]])
        for (index, coefficient) in coefficients.enumerated().prefix(20) {
            let standardError = try #require(coefficient["robust_std_error"] as? Double)
            #expect(abs(matrix[index][index].squareRoot() - standardError) <= 1e-12 * standardError)
        }
    }

    /// Under a 60 MB budget, where the ten dense 1,128 × 1,128 matrices (102 MB) could not be
    /// held (the old refusal): the information matrix is held as sparse, as it is without the
    /// budget (it costs less), with the same numbers.
    @Test func heldAsSparseUnderTheMemoryLimit() throws {
        let limited = try Glmfit.run(
            Self.arguments + ["--format", "json"], locale: ["LC_ALL": "C", "GLMFIT_MEMORY_LIMIT": "60MB"])
        #expect(limited.status == 0, "\(limited.standardError)")
        let plain = try Glmfit.run(Self.arguments + ["--format", "json"])
        #expect(plain.status == 0, "\(plain.standardError)")
        let first = try #require(try JSONSerialization.jsonObject(with: Data(limited.standardOutput.utf8)) as? [String: Any])
        let second = try #require(try JSONSerialization.jsonObject(with: Data(plain.standardOutput.utf8)) as? [String: Any])
        let limitedRows = try #require(first["coefficients"] as? [[String: Any]])
        let plainRows = try #require(second["coefficients"] as? [[String: Any]])
        #expect(limitedRows.count == 1128 && plainRows.count == 1128)
        for (a, b) in zip(limitedRows, plainRows) {
            for member in ["estimate", "robust_std_error", "naive_std_error"] {
                let x = try #require(a[member] as? Double), y = try #require(b[member] as? Double)
                #expect(abs(x - y) <= 1e-12 * abs(y), "\(a["term"] ?? "") \(member)")
            }
        }
    }
}
