import Foundation
import GLMCore

/// `--plot FILE.svg`: the four panels of R's `plot(glm)` (stats' `plot.lm`, `which = c(1, 2, 3, 5)`,
/// as R 4.2 draws them for a glm) in one self-contained SVG file:
///
/// 1. Residuals vs Fitted: Pearson residuals against the linear predictor ("Predicted values");
/// 2. Normal Q-Q: standardized Pearson residuals (`rstandard(fit, type = "pearson")`) against
///    normal quantiles of `ppoints(n)`, with `qqline` through the quartiles;
/// 3. Scale-Location: √|standardized Pearson residuals| against the linear predictor;
/// 4. Residuals vs Leverage: standardized Pearson residuals against hat values, with Cook's
///    distance contours at 0.5 and 1.
///
/// Panels 1, 3 and 4 carry R's `panel.smooth` curve (red, `lowess` with f = 2/3 and, for a glm,
/// `iter = 0`). The three rows with the largest |residual| (Cook's distance in panel 4) are
/// labelled with their data row numbers, as R's `id.n = 3`. Rows with zero prior weight are left
/// out, as R does. Above `densityThreshold` rows the points are drawn as a binned grid of shaded
/// cells so that the file stays small (the labelled points are still drawn).
public enum DiagnosticPlot {
    /// Rows above which points are binned.
    public static let densityThreshold = 2_000
    /// Cells per axis of the density grid.
    static let densityBins = 48
    /// R's `iter.smooth` for a glm.
    static let smootherIterations = 0

    /// The per-row quantities the panels need, zero-weight rows already left out.
    struct Rows {
        var labels: [Int] = []
        var predicted: [Double] = []
        var pearson: [Double] = []
        var leverage: [Double] = []
        var cooks: [Double] = []
        var standardized: [Double] = []
    }

    public static func render(_ report: ModelReport) -> String {
        let fit = report.fit
        let dispersion = report.summary.dispersion
        let diagnostics = ObservationDiagnostics(fit: fit, dispersion: dispersion)
        let rowIndices = fit.design.frame.rowIndices
        var rows = Rows()
        for i in 0..<diagnostics.count where diagnostics.priorWeights[i] != 0 {
            rows.labels.append(i < rowIndices.count ? rowIndices[i] + 1 : i + 1)
            rows.predicted.append(diagnostics.linearPredictor[i])
            rows.pearson.append(diagnostics.pearsonResiduals[i])
            let hat = diagnostics.hatValues[i] ?? .nan
            rows.leverage.append(hat)
            rows.cooks.append(diagnostics.cooksDistances[i] ?? .nan)
            // rstandard(type = "pearson"); plot.lm's dropInf makes leverage-one rows NaN.
            let value = diagnostics.pearsonResiduals[i] / (dispersion * (1 - hat)).squareRoot()
            rows.standardized.append(hat >= 1 || !value.isFinite ? .nan : value)
        }
        return render(rows, rank: fit.rank)
    }

    static func render(_ rows: Rows, rank: Int) -> String {
        var svg = SVGCanvas(width: 720, height: 720)
        residualsVsFitted(rows, into: &svg, at: (0, 0))
        normalQQ(rows, into: &svg, at: (360, 0))
        scaleLocation(rows, into: &svg, at: (0, 360))
        residualsVsLeverage(rows, rank: rank, into: &svg, at: (360, 360))
        return svg.finished()
    }

    // MARK: - The panels

    static func residualsVsFitted(_ rows: Rows, into svg: inout SVGCanvas, at origin: (Double, Double)) {
        let x = rows.predicted
        let y = rows.pearson
        let panel = PlotPanel(origin: origin, x: dataRange(x), y: extendedRange(dataRange(y)), number: 1)
        svg.beginPanel(panel, title: "Residuals vs Fitted", xLabel: "Predicted values", yLabel: "Residuals")
        svg.horizontalLine(panel, at: 0, color: "#BEBEBE", dash: "1,3")
        svg.points(panel, x: x, y: y)
        svg.smoother(panel, x: x, y: y)
        svg.labels(panel, x: x, y: y, indices: largest(y.map(abs), count: 3), names: rows.labels)
        svg.endPanel()
    }

    static func normalQQ(_ rows: Rows, into svg: inout SVGCanvas, at origin: (Double, Double)) {
        let y = rows.standardized
        let quantiles = normalScores(y)
        var yRange = dataRange(y)
        yRange.upper += (yRange.upper - yRange.lower) * 0.075
        let panel = PlotPanel(origin: origin, x: dataRange(quantiles), y: yRange, number: 2)
        svg.beginPanel(panel, title: "Normal Q-Q", xLabel: "Theoretical Quantiles", yLabel: "Std. Pearson resid.")
        // qqline: through the first and third quartiles (quantile type 7).
        let finite = y.filter(\.isFinite).sorted()
        if finite.count >= 2 {
            let lowX = Distributions.qnorm(0.25)
            let highX = Distributions.qnorm(0.75)
            let lowY = typeSevenQuantile(finite, 0.25)
            let highY = typeSevenQuantile(finite, 0.75)
            let slope = (highY - lowY) / (highX - lowX)
            if slope.isFinite {
                let left = panel.x.lower
                let right = panel.x.upper
                svg.line(panel, from: (left, lowY + slope * (left - lowX)), to: (right, lowY + slope * (right - lowX)),
                         color: "#7F7F7F", dash: "1,3")
            }
        }
        svg.points(panel, x: quantiles, y: y)
        svg.labels(panel, x: quantiles, y: y, indices: largest(y.map(abs), count: 3), names: rows.labels)
        svg.endPanel()
    }

    static func scaleLocation(_ rows: Rows, into svg: inout SVGCanvas, at origin: (Double, Double)) {
        let x = rows.predicted
        let y = rows.standardized.map { abs($0).squareRoot() }
        let top = y.filter(\.isFinite).max() ?? 1
        let panel = PlotPanel(origin: origin, x: dataRange(x), y: ValueRange(lower: 0, upper: top > 0 ? top : 1), number: 3)
        svg.beginPanel(panel, title: "Scale-Location", xLabel: "Predicted values", yLabel: "\u{221A}|Std. Pearson resid.|")
        svg.points(panel, x: x, y: y)
        svg.smoother(panel, x: x, y: y)
        svg.labels(panel, x: x, y: y, indices: largest(rows.standardized.map(abs), count: 3), names: rows.labels)
        svg.endPanel()
    }

    static func residualsVsLeverage(_ rows: Rows, rank: Int, into svg: inout SVGCanvas, at origin: (Double, Double)) {
        let hats = rows.leverage.filter(\.isFinite)
        let lowest = hats.min() ?? 0
        let highest = hats.max() ?? 0
        let mean = hats.isEmpty ? 0 : hats.reduce(0, +) / Double(hats.count)
        let x = rows.leverage.map { $0 >= 1 ? Double.nan : $0 }
        let y = rows.standardized
        let xTop = x.filter(\.isFinite).max() ?? 1
        let panel = PlotPanel(origin: origin, x: ValueRange(lower: 0, upper: xTop > 0 ? xTop : 1),
                              y: extendedRange(dataRange(y)), number: 4)
        svg.beginPanel(panel, title: "Residuals vs Leverage", xLabel: "Leverage", yLabel: "Std. Pearson resid.")
        if (lowest == 0 && highest == 0) || highest - lowest < 1e-10 * mean {
            // R then plots against factor level combinations; glmfit says why it does not.
            svg.note(panel, "hat values (leverages) are all = \(RFormat.format(mean))")
            svg.endPanel()
            return
        }
        svg.horizontalLine(panel, at: 0, color: "#BEBEBE", dash: "1,3")
        svg.verticalLine(panel, at: 0, color: "#BEBEBE", dash: "1,3")
        svg.points(panel, x: x, y: y)
        svg.smoother(panel, x: x, y: y)
        // Cook's distance contours: |r| = sqrt(D·p·(1 − h)/h).
        let p = Double(rank)
        let start = min(lowest, highest / 100)
        let end = panel.x.upper
        let levels = [0.5, 1.0]
        for level in levels {
            var hs: [Double] = []
            var upper: [Double] = []
            for step in 0...100 {
                let h = start + (end - start) * Double(step) / 100
                hs.append(h)
                upper.append((level * p * (1 - h) / h).squareRoot())
            }
            svg.polyline(panel, x: hs, y: upper, color: "#BEBEBE", dash: "4,4")
            svg.polyline(panel, x: hs, y: upper.map { -$0 }, color: "#BEBEBE", dash: "4,4")
        }
        let xMax = min(0.99, end)
        let multiplier = (p * (1 - xMax) / xMax).squareRoot()
        for level in levels {
            let at = level.squareRoot() * multiplier
            let name = level == 1 ? "1" : "0.5"
            for value in [at, -at] where panel.y.contains(value) {
                svg.rightAxisLabel(panel, at: value, text: name, color: "#BEBEBE")
            }
        }
        svg.legend(panel, text: "Cook's distance", color: "#BEBEBE", dash: "4,4")
        svg.labels(panel, x: x, y: y, indices: largest(rows.cooks, count: 3), names: rows.labels)
        svg.endPanel()
    }

    // MARK: - Numbers

    /// `qqnorm`'s x: qnorm(ppoints(n)) in the order of y (NaN rows get NaN).
    static func normalScores(_ y: [Double]) -> [Double] {
        let used = y.indices.filter { !y[$0].isNaN }.sorted { y[$0] < y[$1] || (y[$0] == y[$1] && $0 < $1) }
        let n = Double(used.count)
        let a = used.count <= 10 ? 3.0 / 8.0 : 0.5
        var scores = [Double](repeating: .nan, count: y.count)
        for (rank, index) in used.enumerated() {
            scores[index] = Distributions.qnorm((Double(rank + 1) - a) / (n + 1 - 2 * a))
        }
        return scores
    }

    static func typeSevenQuantile(_ sorted: [Double], _ probability: Double) -> Double {
        let h = Double(sorted.count - 1) * probability
        let low = h.rounded(.down)
        guard low >= 0, low < Double(sorted.count) else { return .nan }
        let index = Int(low)
        let next = min(index + 1, sorted.count - 1)
        return sorted[index] + (h - low) * (sorted[next] - sorted[index])
    }

    /// The indices of the `count` largest values (R's `sort.list(decreasing = TRUE)`: NaN
    /// last, ties in order).
    static func largest(_ values: [Double], count: Int) -> [Int] {
        let order = values.indices.filter { !values[$0].isNaN }.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
        return Array(order.prefix(count))
    }

    static func dataRange(_ values: [Double]) -> ValueRange {
        let finite = values.filter(\.isFinite)
        guard let lower = finite.min(), let upper = finite.max() else { return ValueRange(lower: 0, upper: 1) }
        return ValueRange(lower: lower, upper: upper)
    }

    /// `extendrange(f = 0.08)`.
    static func extendedRange(_ range: ValueRange) -> ValueRange {
        let width = range.upper - range.lower
        return ValueRange(lower: range.lower - 0.08 * width, upper: range.upper + 0.08 * width)
    }
}

struct ValueRange {
    var lower: Double
    var upper: Double

    func contains(_ value: Double) -> Bool { value >= lower && value <= upper }
}

/// One panel's place on the page and its user coordinates (R's `xaxs = "r"`: the limits
/// widened by 4% on each side).
struct PlotPanel {
    let number: Int
    let left: Double
    let right: Double
    let top: Double
    let bottom: Double
    let x: ValueRange
    let y: ValueRange

    init(origin: (Double, Double), x: ValueRange, y: ValueRange, number: Int) {
        self.number = number
        left = origin.0 + 58
        right = origin.0 + 360 - 22
        top = origin.1 + 30
        bottom = origin.1 + 360 - 50
        self.x = PlotPanel.widened(x)
        self.y = PlotPanel.widened(y)
    }

    static func widened(_ range: ValueRange) -> ValueRange {
        var lower = range.lower
        var upper = range.upper
        if !(upper > lower) {
            // R's plot of a constant: ±40% of the value, or ±1 at zero.
            let half = lower == 0 ? 1 : abs(lower) * 0.4
            lower -= half
            upper += half
        }
        let margin = (upper - lower) * 0.04
        return ValueRange(lower: lower - margin, upper: upper + margin)
    }

    func px(_ value: Double) -> Double { left + (value - x.lower) / (x.upper - x.lower) * (right - left) }
    func py(_ value: Double) -> Double { bottom - (value - y.lower) / (y.upper - y.lower) * (bottom - top) }
}

/// The SVG text being written.
struct SVGCanvas {
    private var text: String
    private let font = "font-family=\"Helvetica, Arial, sans-serif\""

    init(width: Int, height: Int) {
        text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)">
            <rect width="\(width)" height="\(height)" fill="white"/>

            """
    }

    func finished() -> String { text + "</svg>\n" }

    static func number(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == 0 ? "0" : String(format: "%.2f", rounded)
    }

    static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    mutating func beginPanel(_ panel: PlotPanel, title: String, xLabel: String, yLabel: String) {
        let n = SVGCanvas.number
        let id = "panel\(panel.number)"
        text += "<g class=\"panel\" id=\"\(id)\">\n"
        text += "<clipPath id=\"\(id)-clip\"><rect x=\"\(n(panel.left))\" y=\"\(n(panel.top))\" width=\"\(n(panel.right - panel.left))\" height=\"\(n(panel.bottom - panel.top))\"/></clipPath>\n"
        text += "<rect x=\"\(n(panel.left))\" y=\"\(n(panel.top))\" width=\"\(n(panel.right - panel.left))\" height=\"\(n(panel.bottom - panel.top))\" fill=\"none\" stroke=\"black\"/>\n"
        text += "<text class=\"caption\" x=\"\(n((panel.left + panel.right) / 2))\" y=\"\(n(panel.top - 6))\" text-anchor=\"middle\" font-size=\"13\" \(font)>\(SVGCanvas.escaped(title))</text>\n"
        text += "<text class=\"xlab\" x=\"\(n((panel.left + panel.right) / 2))\" y=\"\(n(panel.bottom + 40))\" text-anchor=\"middle\" font-size=\"12\" \(font)>\(SVGCanvas.escaped(xLabel))</text>\n"
        let yMiddle = (panel.top + panel.bottom) / 2
        text += "<text class=\"ylab\" x=\"\(n(panel.left - 40))\" y=\"\(n(yMiddle))\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 \(n(panel.left - 40)) \(n(yMiddle)))\" \(font)>\(SVGCanvas.escaped(yLabel))</text>\n"
        for tick in AxisTicks.ticks(panel.x) {
            let x = panel.px(tick.value)
            text += "<line x1=\"\(n(x))\" y1=\"\(n(panel.bottom))\" x2=\"\(n(x))\" y2=\"\(n(panel.bottom + 5))\" stroke=\"black\"/>"
            text += "<text x=\"\(n(x))\" y=\"\(n(panel.bottom + 18))\" text-anchor=\"middle\" font-size=\"11\" \(font)>\(tick.label)</text>\n"
        }
        for tick in AxisTicks.ticks(panel.y) {
            let y = panel.py(tick.value)
            let labelX = panel.left - 10
            text += "<line x1=\"\(n(panel.left - 5))\" y1=\"\(n(y))\" x2=\"\(n(panel.left))\" y2=\"\(n(y))\" stroke=\"black\"/>"
            text += "<text x=\"\(n(labelX))\" y=\"\(n(y))\" text-anchor=\"middle\" font-size=\"11\" transform=\"rotate(-90 \(n(labelX)) \(n(y)))\" \(font)>\(tick.label)</text>\n"
        }
    }

    mutating func endPanel() { text += "</g>\n" }

    mutating func horizontalLine(_ panel: PlotPanel, at value: Double, color: String, dash: String) {
        guard panel.y.contains(value) else { return }
        line(panel, from: (panel.x.lower, value), to: (panel.x.upper, value), color: color, dash: dash)
    }

    mutating func verticalLine(_ panel: PlotPanel, at value: Double, color: String, dash: String) {
        guard panel.x.contains(value) else { return }
        line(panel, from: (value, panel.y.lower), to: (value, panel.y.upper), color: color, dash: dash)
    }

    mutating func line(_ panel: PlotPanel, from start: (Double, Double), to end: (Double, Double), color: String, dash: String) {
        polyline(panel, x: [start.0, end.0], y: [start.1, end.1], color: color, dash: dash)
    }

    /// A line through the finite points in order, clipped to the plot box; a non-finite
    /// point breaks it.
    mutating func polyline(_ panel: PlotPanel, x: [Double], y: [Double], color: String, dash: String? = nil, width: Double = 1) {
        let n = SVGCanvas.number
        var path = ""
        var penDown = false
        for i in 0..<min(x.count, y.count) {
            let px = panel.px(x[i])
            let py = panel.py(y[i])
            // Far-off values (a contour near h = 0) are kept to a bounded coordinate.
            guard px.isFinite, py.isFinite else {
                penDown = false
                continue
            }
            let clampedY = min(max(py, panel.top - 1000), panel.bottom + 1000)
            path += (penDown ? " L" : " M") + "\(n(px)),\(n(clampedY))"
            penDown = true
        }
        guard !path.isEmpty else { return }
        let dashes = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
        text += "<path d=\"\(path.dropFirst())\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(width)\"\(dashes) clip-path=\"url(#panel\(panel.number)-clip)\"/>\n"
    }

    /// Open circles (R's pch = 1), or above the threshold a grid of cells shaded by count.
    mutating func points(_ panel: PlotPanel, x: [Double], y: [Double]) {
        let n = SVGCanvas.number
        let count = min(x.count, y.count)
        if count <= DiagnosticPlot.densityThreshold {
            text += "<g class=\"points\" fill=\"none\" stroke=\"black\" stroke-width=\"0.8\">"
            for i in 0..<count where x[i].isFinite && y[i].isFinite {
                text += "<circle cx=\"\(n(panel.px(x[i])))\" cy=\"\(n(panel.py(y[i])))\" r=\"2.7\"/>"
            }
            text += "</g>\n"
            return
        }
        let bins = DiagnosticPlot.densityBins
        var counts = [Int](repeating: 0, count: bins * bins)
        for i in 0..<count where x[i].isFinite && y[i].isFinite {
            let u = (x[i] - panel.x.lower) / (panel.x.upper - panel.x.lower) * Double(bins)
            let v = (y[i] - panel.y.lower) / (panel.y.upper - panel.y.lower) * Double(bins)
            guard u >= 0, v >= 0, u < Double(bins), v < Double(bins) else { continue }
            counts[Int(v) * bins + Int(u)] += 1
        }
        let most = Double(counts.max() ?? 1)
        let cellWidth = (panel.right - panel.left) / Double(bins)
        let cellHeight = (panel.bottom - panel.top) / Double(bins)
        text += "<g class=\"density\" fill=\"black\">"
        for row in 0..<bins {
            for column in 0..<bins where counts[row * bins + column] > 0 {
                let shade = 0.12 + 0.88 * log1p(Double(counts[row * bins + column])) / log1p(most)
                text += "<rect x=\"\(n(panel.left + Double(column) * cellWidth))\" y=\"\(n(panel.bottom - Double(row + 1) * cellHeight))\" width=\"\(n(cellWidth))\" height=\"\(n(cellHeight))\" fill-opacity=\"\(n(shade))\"/>"
            }
        }
        text += "</g>\n"
    }

    /// R's panel.smooth curve: lowess of the finite points, red.
    mutating func smoother(_ panel: PlotPanel, x: [Double], y: [Double]) {
        let used = x.indices.filter { x[$0].isFinite && y[$0].isFinite }
        guard !used.isEmpty else { return }
        let curve = Lowess.smooth(x: used.map { x[$0] }, y: used.map { y[$0] }, iterations: DiagnosticPlot.smootherIterations)
        // Consecutive points closer than a pixel add nothing to the drawing.
        var xs: [Double] = []
        var ys: [Double] = []
        var lastX = -Double.infinity
        for i in curve.x.indices {
            let px = panel.px(curve.x[i])
            if px - lastX >= 0.5 || i == curve.x.count - 1 {
                xs.append(curve.x[i])
                ys.append(curve.y[i])
                lastX = px
            }
        }
        text += "<g class=\"smoother\">"
        polyline(panel, x: xs, y: ys, color: "red", width: 1.2)
        text += "</g>\n"
    }

    /// The row numbers of the points at `indices`, right of a point in the left half, left of
    /// one in the right half (R's text.id); the labelled points are drawn even in density mode.
    mutating func labels(_ panel: PlotPanel, x: [Double], y: [Double], indices: [Int], names: [Int]) {
        let n = SVGCanvas.number
        for index in indices where x[index].isFinite && y[index].isFinite {
            let px = panel.px(x[index])
            let py = panel.py(y[index]) + (y[index] < 0 ? 3 : 0)
            let right = x[index] <= (panel.x.lower + panel.x.upper) / 2
            if x.count > DiagnosticPlot.densityThreshold {
                text += "<circle cx=\"\(n(px))\" cy=\"\(n(panel.py(y[index])))\" r=\"2.7\" fill=\"none\" stroke=\"black\" stroke-width=\"0.8\"/>"
            }
            text += "<text class=\"id\" x=\"\(n(px + (right ? 5 : -5)))\" y=\"\(n(py))\" dy=\"0.35em\" text-anchor=\"\(right ? "start" : "end")\" font-size=\"9\" \(font)>\(names[index])</text>\n"
        }
    }

    mutating func rightAxisLabel(_ panel: PlotPanel, at value: Double, text label: String, color: String) {
        let n = SVGCanvas.number
        text += "<text x=\"\(n(panel.right + 3))\" y=\"\(n(panel.py(value)))\" dy=\"0.35em\" font-size=\"9\" fill=\"\(color)\" \(font)>\(label)</text>\n"
    }

    mutating func legend(_ panel: PlotPanel, text label: String, color: String, dash: String) {
        let n = SVGCanvas.number
        let y = panel.bottom - 10
        text += "<line x1=\"\(n(panel.left + 6))\" y1=\"\(n(y))\" x2=\"\(n(panel.left + 24))\" y2=\"\(n(y))\" stroke=\"\(color)\" stroke-dasharray=\"\(dash)\"/>"
        text += "<text x=\"\(n(panel.left + 28))\" y=\"\(n(y))\" dy=\"0.35em\" font-size=\"10\" fill=\"\(color)\" \(font)>\(SVGCanvas.escaped(label))</text>\n"
    }

    mutating func note(_ panel: PlotPanel, _ message: String) {
        let n = SVGCanvas.number
        text += "<text x=\"\(n((panel.left + panel.right) / 2))\" y=\"\(n((panel.top + panel.bottom) / 2))\" text-anchor=\"middle\" font-size=\"10\" \(font)>\(SVGCanvas.escaped(message))</text>\n"
    }
}

/// Tick positions as R's axis() chooses them for a range (GEPretty: R_pretty with about five
/// intervals and the graphics engine's biases 0.8 and 1.7), labelled with a common number of decimals.
enum AxisTicks {
    static func ticks(_ range: ValueRange) -> [(value: Double, label: String)] {
        let span = range.upper - range.lower
        guard span > 0, span.isFinite else { return [] }
        let cell = span / 5
        let base = pow(10, (log10(cell)).rounded(.down))
        var unit = base
        let bias = 0.8
        let bias5 = 1.7
        if 2 * base - cell < bias * (cell - unit) {
            unit = 2 * base
            if 5 * base - cell < bias5 * (cell - unit) {
                unit = 5 * base
                if 10 * base - cell < bias * (cell - unit) { unit = 10 * base }
            }
        }
        guard unit > 0, unit.isFinite else { return [] }
        let first = (range.lower / unit - 1e-7).rounded(.up)
        let last = (range.upper / unit + 1e-7).rounded(.down)
        guard first.isFinite, last.isFinite, last >= first, last - first <= 50 else { return [] }
        let decimals = max(0, -Int((log10(unit) + 1e-9).rounded(.down)))
        var ticks: [(value: Double, label: String)] = []
        var step = first
        while step <= last {
            let value = step * unit
            var label = String(format: "%.\(min(decimals, 15))f", value)
            if label.hasPrefix("-"), Double(label) == 0 { label.removeFirst() }
            ticks.append((value: value, label: label))
            step += 1
        }
        return ticks
    }
}
