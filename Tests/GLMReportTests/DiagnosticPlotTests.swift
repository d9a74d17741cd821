import Foundation
import Testing
import GLMCore
@testable import GLMReport

/// `--plot`'s renderer against R: its lowess is R's `lowess` (ties, robustness passes and
/// the delta skipping included), the smoother of the first panel is R's `panel.smooth` of the
/// same fit, and the rows labelled in each panel are the ones `plot(glm)` labels. The numbers
/// come from Golden/make_plot_reference.R (R 4.2), printed to Golden/plot_reference.json.
@Suite("Diagnostic plot: lowess and the labelled rows against R")
struct DiagnosticPlotTests {
    struct Reference: Decodable {
        let lowess_x: [Double]
        let lowess_y: [Double]
        let lowess_iter3: [Double]
        let lowess_iter0: [Double]
        let panel1_smoother: [Double]
        let panel1_labels: [Int]
        let qq_labels: [Int]
        let leverage_labels: [Int]
    }

    static func reference() throws -> Reference {
        let url = PrintedCases.root.appendingPathComponent("Tests/GLMReportTests/Golden/plot_reference.json")
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    static func expectClose(_ actual: [Double], _ expected: [Double], tolerance: Double) {
        #expect(actual.count == expected.count)
        for (a, e) in zip(actual, expected) {
            #expect(abs(a - e) <= tolerance * max(1, abs(e)), "\(a) vs R's \(e)")
        }
    }

    @Test("lowess with f = 2/3 and iter = 3 or 0 equals R's on data with many ties")
    func lowessMatchesR() throws {
        let reference = try Self.reference()
        let robust = Lowess.smooth(x: reference.lowess_x, y: reference.lowess_y, iterations: 3)
        Self.expectClose(robust.y, reference.lowess_iter3, tolerance: 1e-12)
        let plain = Lowess.smooth(x: reference.lowess_x, y: reference.lowess_y, iterations: 0)
        Self.expectClose(plain.y, reference.lowess_iter0, tolerance: 1e-12)
        #expect(robust.x == reference.lowess_x.sorted())
    }

    static func quineReport() throws -> ModelReport {
        try Pipeline.fit(FitRequest(
            path: PrintedCases.root.appendingPathComponent("Examples/quine.csv").path,
            formula: "Days ~ Eth + Sex + Age + Lrn", family: "poisson"))
    }

    @Test("the residuals-vs-fitted smoother is R's panel.smooth of the same glm")
    func panelSmootherMatchesR() throws {
        let reference = try Self.reference()
        let report = try Self.quineReport()
        let diagnostics = ObservationDiagnostics(fit: report.fit, dispersion: report.summary.dispersion)
        let curve = Lowess.smooth(x: diagnostics.linearPredictor, y: diagnostics.pearsonResiduals,
                                  iterations: DiagnosticPlot.smootherIterations)
        // The fit itself agrees with R's to about 1e-9; the smoother inherits that.
        Self.expectClose(curve.y, reference.panel1_smoother, tolerance: 1e-7)
    }

    @Test("each panel labels the rows R labels, with R's captions and axis labels")
    func labelsAndCaptions() throws {
        let reference = try Self.reference()
        let svg = DiagnosticPlot.render(try Self.quineReport())
        let panels = svg.components(separatedBy: "<g class=\"panel\"").dropFirst()
        #expect(panels.count == 4)
        func labels(_ panel: Substring) -> [Int] {
            panel.components(separatedBy: "<text class=\"id\"").dropFirst().compactMap { piece in
                piece.split(separator: ">", maxSplits: 1).last.flatMap { Int($0.prefix { $0.isNumber }) }
            }
        }
        let texts = Array(panels).map { Substring($0) }
        guard texts.count == 4 else { return }
        #expect(labels(texts[0]) == reference.panel1_labels)
        #expect(labels(texts[1]) == reference.qq_labels)
        #expect(labels(texts[2]) == reference.qq_labels)
        #expect(labels(texts[3]) == reference.leverage_labels)
        for (panel, words) in zip(texts, [
            ["Residuals vs Fitted", "Predicted values", ">Residuals<"],
            ["Normal Q-Q", "Theoretical Quantiles", "Std. Pearson resid."],
            ["Scale-Location", "Predicted values", "\u{221A}|Std. Pearson resid.|"],
            ["Residuals vs Leverage", "Leverage", "Std. Pearson resid.", "Cook&apos;s distance"],
        ]) {
            for word in words { #expect(panel.contains(word.replacingOccurrences(of: "&apos;", with: "'")), "\(word)") }
        }
    }

    @Test("above the threshold the points are binned and the file stays small")
    func densityKeepsTheFileSmall() {
        var rows = DiagnosticPlot.Rows()
        let n = 20_000
        for i in 0..<n {
            let t = Double(i) / Double(n)
            rows.labels.append(i + 1)
            rows.predicted.append(t * 4)
            rows.pearson.append(sin(Double(i)) * (1 + t))
            rows.leverage.append(0.001 + 0.01 * t)
            rows.cooks.append(t * 1e-3)
            rows.standardized.append(sin(Double(i)) * (1 + t) * 1.1)
        }
        let svg = DiagnosticPlot.render(rows, rank: 3)
        #expect(svg.contains("class=\"density\""))
        #expect(!svg.contains("class=\"points\""))
        #expect(svg.utf8.count < 1_500_000)
        // The three labelled rows of each panel are still drawn.
        #expect(svg.components(separatedBy: "<text class=\"id\"").count - 1 == 12)
    }

    /// R: plot.new(); plot.window(xlim, ylim, xaxs = "i", yaxs = "i"); axTicks(1); axTicks(2).
    @Test("axis ticks are the ones R's axis() draws")
    func ticks() {
        #expect(AxisTicks.ticks(ValueRange(lower: -2.3, upper: 4.1)).map(\.label) == ["-2", "-1", "0", "1", "2", "3", "4"])
        #expect(AxisTicks.ticks(ValueRange(lower: 0, upper: 0.31)).map(\.label) == ["0.00", "0.05", "0.10", "0.15", "0.20", "0.25", "0.30"])
        #expect(AxisTicks.ticks(ValueRange(lower: 0.7, upper: 13.2)).map(\.value) == [2, 4, 6, 8, 10, 12])
        #expect(AxisTicks.ticks(ValueRange(lower: -0.021, upper: 0.0093)).map(\.label)
            == ["-0.020", "-0.015", "-0.010", "-0.005", "0.000", "0.005"])
    }
}
