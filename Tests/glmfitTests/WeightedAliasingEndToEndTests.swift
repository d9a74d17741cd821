import Foundation
import Testing

/// A two-way panel whose reference worker and a third of the others have weight 10⁻⁶
/// (Reference/make_two_way_fixed_effects_weighted_reference.R's light panel, and what R
/// printed), fitted as a user does, by QR on X as R: an exactly dependent firm's remaining
/// norm at the first step is rounding near R's tolerance (firmf073: 6·10⁻¹² of its norm
/// against 10⁻¹¹). Kept, it took a coefficient of 3·10¹³ and the Poisson fit ended in
/// "inner loop 1; cannot correct step size"; the aliased columns are now R's, from X with
/// unit weights.
@Suite("Weights over six orders of magnitude keep R's aliased columns")
struct WeightedAliasingEndToEndTests {
    struct Reference {
        var header: [String: String] = [:]
        var aliased: [String] = []
        var coefficients: [String: (estimate: Double, error: Double)] = [:]
    }

    static func references() throws -> [Reference] {
        let text = try String(
            contentsOfFile: Glmfit.repositoryRoot.appendingPathComponent("Tests/glmfitTests/Reference/two_way_fixed_effects_light_reference.txt").path,
            encoding: .utf8)
        return text.components(separatedBy: "## model\n").dropFirst().map { block in
            var reference = Reference()
            for line in block.split(separator: "\n") {
                let fields = line.split(separator: "\t").map(String.init)
                if line.hasPrefix("# "), let colon = line.firstIndex(of: ":") {
                    reference.header[String(line[line.index(line.startIndex, offsetBy: 2)..<colon])] =
                        line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                } else if fields.count == 3, fields[1] == "NA" {
                    reference.aliased.append(fields[0])
                } else if fields.count == 3, let estimate = Double(fields[1]), let error = Double(fields[2]) {
                    reference.coefficients[fields[0]] = (estimate, error)
                }
            }
            return reference
        }
    }

    /// The weighted gaussian and the weighted Poisson with 25 zero-count workers (the one that
    /// failed). Coefficients with standard errors under 10 to 1e-6; the others (hundreds to
    /// millions: the light rows alone decide them, cond(√W X) ≈ 10⁶ and more) agree with R only
    /// to the digits that condition leaves, as in the heavy-aliasing tests.
    @Test(arguments: [0, 2])
    func fitsWithRsAliasedColumnsAndNumbers(_ index: Int) throws {
        let references = try Self.references()
        try #require(references.count == 3)
        let reference = references[index]
        let formula = try #require(reference.header["formula"]), family = try #require(reference.header["family"])
        let result = try Glmfit.run([
            "Tests/glmfitTests/Reference/two_way_fixed_effects_light.csv", "--formula", formula,
            "--family", family, "--weights", "wt", "--format", "json",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let rows = try #require(object["coefficients"] as? [[String: Any]])
        let aliased = rows.filter { $0["estimate"] == nil || $0["estimate"] is NSNull }.compactMap { $0["term"] as? String }
        #expect(aliased == reference.aliased)
        #expect(object["rank"] as? Int == Int(reference.header["rank"] ?? ""))
        let deviance = try #require(object["deviance"] as? Double), rDeviance = try #require(Double(reference.header["deviance"] ?? ""))
        #expect(abs(deviance - rDeviance) <= 1e-8 * rDeviance, "\(deviance) vs \(rDeviance)")
        var checked = 0
        for row in rows {
            guard let term = row["term"] as? String, let estimate = row["estimate"] as? Double,
                  let error = row["std_error"] as? Double, let r = reference.coefficients[term], r.error < 10 else { continue }
            checked += 1
            #expect(abs(estimate - r.estimate) <= 1e-6 * max(abs(r.estimate), 1e-3), "\(term): \(estimate) vs \(r.estimate)")
            #expect(abs(error - r.error) <= 1e-6 * r.error, "\(term) SE: \(error) vs \(r.error)")
        }
        #expect(checked > 40)
    }
}
