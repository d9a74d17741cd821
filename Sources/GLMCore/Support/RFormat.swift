#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// R's number formatting, reproduced digit for digit (R 4.2, `options(digits = 7, scipen = 0,
/// OutDec = ".", width = 80)`).
///
/// The rules follow R's C code (`formatReal`/`scientific` in format.c, `EncodeReal0`,
/// `fround`/`fprec`, the matrix printer) and its R code (`format.pval`, `printCoefmat`).
/// Digits go through the C library's `printf`, as in R, so rounding of the printed decimals
/// is the same correctly rounded conversion R gets from glibc.
public enum RFormat {

    // MARK: - format()

    /// R's `format(x, digits = digits, nsmall = nsmall)` of a numeric vector: one common
    /// choice of fixed or scientific notation and one common number of decimals, every
    /// element right-justified to the common width. `nil` is R's `NA` (printed as
    /// `naString`); `Double.nan` prints as `NaN`, infinities as `Inf` / `-Inf`.
    /// `digits` outside 1...22 (which R rejects) is clamped to that range.
    public static func format(
        _ values: [Double?], digits: Int = 7, nsmall: Int = 0, naString: String = "NA"
    ) -> [String] {
        let layout = realLayout(
            values, digits: digits, nsmall: nsmall, naWidth: displayWidth(naString))
        return values.map { encode($0, layout: layout, naString: naString) }
    }

    /// R's `format(x, digits = digits)` of one number.
    public static func format(_ value: Double, digits: Int = 7) -> String {
        format([value], digits: digits).first ?? ""
    }

    /// How R's `deparse()` writes a numeric constant: `format()` with 15 significant digits.
    public static func deparse(_ x: Double) -> String {
        format(x, digits: 15)
    }

    // MARK: - round() and signif()

    /// R's `round(x, digits)` (R >= 4.0.0): of the two neighbouring candidates with `digits`
    /// decimals, the one nearer to `x` as doubles, ties to the even last digit.
    public static func round(_ x: Double, digits: Int) -> Double {
        let maxDecimalExponent = 308  // DBL_MAX_10_EXP
        if x.isNaN || !x.isFinite { return x }
        if digits > maxDecimalExponent + 15 || x == 0 { return x }
        if digits < -maxDecimalExponent { return 0 }
        if digits == 0 { return x.rounded(.toNearestOrEven) }

        let sign: Double = x < 0 ? -1 : 1
        let magnitude = abs(x)
        // Cheap estimate of log10(|x|); beyond 15 significant digits nothing is rounded.
        let log10Estimate = log10Of2 * (0.5 + logb(magnitude))
        if log10Estimate + Double(digits) > 15 { return sign * magnitude }

        let scaled: Double, lower: Double, upper: Double
        if digits <= maxDecimalExponent {
            let scale = powerByRepeatedSquaring(10, digits)
            scaled = magnitude * scale
            lower = scaled.rounded(.down) / scale
            upper = scaled.rounded(.up) / scale
        } else {
            // 10^digits would overflow: scale in two steps (only for |x| near 1e-308).
            let extra = powerByRepeatedSquaring(10, digits - maxDecimalExponent)
            let scale = powerByRepeatedSquaring(10, maxDecimalExponent)
            scaled = (magnitude * scale) * extra
            lower = scaled.rounded(.down) / scale / extra
            upper = scaled.rounded(.up) / scale / extra
        }
        let distanceUp = upper - magnitude
        let distanceDown = magnitude - lower
        let lowerIsOdd = fmod(scaled.rounded(.down), 2) == 1
        let roundUp = distanceUp < distanceDown || (lowerIsOdd && distanceUp == distanceDown)
        return sign * (roundUp ? upper : lower)
    }

    /// R's `signif(x, digits)`: `x` rounded to `digits` significant digits (1...22).
    public static func signif(_ x: Double, digits: Int) -> Double {
        let maxDecimalExponent = 308
        let maxSignificantDigits = 22
        if x.isNaN || !x.isFinite || x == 0 { return x }
        if digits > maxSignificantDigits { return x }
        let significant = max(digits, 1)

        let sign: Double = x < 0 ? -1 : 1
        var magnitude = abs(x)
        let log10x = log10(magnitude)
        var exponent = significant - 1 - Int(log10x.rounded(.down))
        if abs(log10x) < Double(maxDecimalExponent - 2) {
            var extraScale = 1.0
            if exponent > maxDecimalExponent {
                // Below 10^(digits-1) * 1e-308: split the scaling so neither factor overflows.
                extraScale = powerByRepeatedSquaring(10, exponent - maxDecimalExponent)
                exponent = maxDecimalExponent
            }
            if exponent > 0 {
                // Multiply by a power >= 1, which is exact for small exponents.
                let scale = powerByRepeatedSquaring(10, exponent)
                let rounded = ((magnitude * scale) * extraScale).rounded(.toNearestOrEven)
                return sign * (rounded / scale) / extraScale
            } else {
                let scale = powerByRepeatedSquaring(10, -exponent)
                return sign * ((magnitude / scale).rounded(.toNearestOrEven) * scale)
            }
        } else {
            // Very large or very small |x|: scale in two steps, round half up.
            let roundHalfUp =
                Double(maxDecimalExponent) - log10x
                >= powerByRepeatedSquaring(10, -significant)
            let firstExponent = significant + (exponent > 0 ? 1 : -1) * maxSignificantDigits
            let firstScale = powerByRepeatedSquaring(10, firstExponent)
            let secondScale = powerByRepeatedSquaring(10, exponent - firstExponent)
            magnitude *= firstScale
            magnitude *= secondScale
            if roundHalfUp { magnitude += 0.5 }
            magnitude = magnitude.rounded(.down) / firstScale
            return sign * magnitude / secondScale
        }
    }

    // MARK: - format.pval()

    /// R's `format.pval(p, digits = digits, eps = eps)`: p-values below `eps` become
    /// `<eps` (e.g. `<2e-16` or `< 2e-16`), the others are formatted in two groups (fixed
    /// and scientific candidates), each group with one common format. `nil` and NaN give `NA`.
    public static func formatPValues(_ p: [Double?], digits: Int, eps: Double) -> [String] {
        var result = [String](repeating: "NA", count: p.count)
        let present = p.indices.compactMap { i -> (index: Int, value: Double)? in
            guard let value = p[i], !value.isNaN else { return nil }
            return (i, value)
        }
        let tiny = present.filter { $0.value < eps }
        let regular = present.filter { !($0.value < eps) }

        var regularTexts: [String] = []
        if !regular.isEmpty {
            // Values that would print in fixed notation are formatted apart from the others.
            let isFixed = regular.map { entry -> Bool in
                let exponent = log10(entry.value > 0 ? entry.value : 1e-50).rounded(.down)
                return exponent >= -3 || (exponent == -4 && digits > 1)
            }
            let fixedEntries = zip(regular, isFixed).filter { $0.1 }.map { $0.0 }
            let otherEntries = zip(regular, isFixed).filter { !$0.1 }.map { $0.0 }
            for group in [fixedEntries, otherEntries] where !group.isEmpty {
                let texts = format(group.map { Optional($0.value) }, digits: digits)
                for (entry, text) in zip(group, texts) {
                    result[entry.index] = text
                    regularTexts.append(text)
                }
            }
        }
        if !tiny.isEmpty {
            var epsDigits = max(1, digits - 2)
            let separator: String
            if let widest = regularTexts.map(displayWidth).max() {
                if epsDigits > 1 && epsDigits + 6 > widest { epsDigits = max(1, widest - 7) }
                separator = epsDigits == 1 && widest <= 6 ? "" : " "
            } else {
                separator = epsDigits == 1 ? "" : " "
            }
            let text = "<" + separator + format(eps, digits: epsDigits)
            for entry in tiny { result[entry.index] = text }
        }
        return result
    }

    // MARK: - printCoefmat()

    /// The lines R's `printCoefmat()` prints for the coefficient matrix of `summary.glm`
    /// (columns Estimate, Std. Error, statistic, p-value), with the defaults `print.summary.glm`
    /// uses: `digits = 4`, `dig.tst = 3`, p-values via `format.pval` with
    /// `eps = .Machine$double.eps`, `NA` for aliased coefficients, significance stars and
    /// their legend when any p-value is below 0.1. Another `digits` is printCoefmat's `digits`
    /// (as `summary(fit)` printed with `digits =`). Missing trailing values count as `NA`.
    public static func coefficientTable(
        rowNames: [String],
        estimate: [Double?], stdError: [Double?], statistic: [Double?], pValue: [Double?],
        statisticLabel: String, pValueLabel: String,
        digits: Int = 4, signifStars: Bool = true
    ) -> [String] {
        printCoefmat(
            rowNames: rowNames, columnNames: ["Estimate", "Std. Error", statisticLabel, pValueLabel],
            columns: [estimate, stdError, statistic, pValue], digits: digits, coefficientColumns: [0, 1],
            testColumns: [2], hasPValue: true, naPrint: "NA", signifStars: signifStars)
    }

    /// R's `printCoefmat()`: the lines it prints for a numeric matrix given by columns.
    ///
    /// - Parameters:
    ///   - coefficientColumns: R's `cs.ind`, formatted together after rounding to enough
    ///     decimals for their smallest and largest magnitudes.
    ///   - testColumns: R's `tst.ind`, rounded to `dig.tst` decimals.
    ///   - zapColumns: R's `zap.ind`, passed through `zapsmall()` first.
    ///   - hasPValue: the last column holds p-values (`format.pval`, stars, legend).
    ///   - naPrint: what an NA cell shows (`"NA"` in summary tables, `""` in anova tables).
    public static func printCoefmat(
        rowNames: [String], columnNames: [String], columns rawColumns: [[Double?]], digits: Int,
        coefficientColumns: [Int], testColumns: [Int], zapColumns: [Int] = [], hasPValue: Bool,
        naPrint: String, signifStars: Bool = true
    ) -> [String] {
        let rowCount = rowNames.count
        let columnCount = rawColumns.count
        var columns = rawColumns.map { values in (0..<rowCount).map { $0 < values.count ? values[$0] : nil } }
        let testDigits = max(1, min(5, digits - 1))
        let pColumn = hasPValue ? columnCount - 1 : nil
        for index in zapColumns where index < columnCount { columns[index] = zapSmall(columns[index], digits: digits) }
        var texts = [[String]](repeating: [String](repeating: "", count: rowCount), count: columnCount)

        // Coefficient-like columns are formatted together, after rounding to enough decimals
        // for the smallest and largest nonzero magnitudes among them.
        let joint = coefficientColumns.flatMap { columns[$0] }
        if joint.contains(where: { $0?.isFinite == true }) {
            let magnitudes = joint.compactMap { $0 }.map(abs).filter { $0.isFinite && $0 != 0 }
            var decimals = max(1, digits - 1)
            if let smallest = magnitudes.min(), let largest = magnitudes.max() {
                let digitsBeforePoint = [smallest, largest].map { 1 + Int(log10($0).rounded(.down)) }
                decimals = max(1, digits - digitsBeforePoint[0], digits - digitsBeforePoint[1])
            }
            let formatted = format(joint.map { value in value.map { round($0, digits: decimals) } }, digits: digits)
            for (position, index) in coefficientColumns.enumerated() {
                texts[index] = Array(formatted[(position * rowCount)..<((position + 1) * rowCount)])
            }
        }
        for index in testColumns {
            texts[index] = format(columns[index].map { value in value.map { round($0, digits: testDigits) } }, digits: digits)
        }
        for index in 0..<columnCount where !coefficientColumns.contains(index) && !testColumns.contains(index) && index != pColumn {
            texts[index] = format(columns[index], digits: digits)
        }

        // A nonzero value that now reads as zero (or the reverse) is reformatted with one
        // digit fewer; R does all such cells in one call, column by column.
        var redo: [(column: Int, row: Int)] = []
        for index in 0..<columnCount where !testColumns.contains(index) && index != pColumn {
            for row in 0..<rowCount {
                guard let value = columns[index][row], !value.isNaN, let shown = parsedNumber(texts[index][row]) else { continue }
                if (value == 0) != (shown == 0) { redo.append((index, row)) }
            }
        }
        if !redo.isEmpty {
            let redone = format(redo.map { columns[$0.column][$0.row] }, digits: max(1, digits - 1))
            for (cell, text) in zip(redo, redone) { texts[cell.column][cell.row] = text }
        }
        for index in 0..<columnCount {
            for row in 0..<rowCount {
                if columns[index][row] == nil { texts[index][row] = naPrint }
                else if columns[index][row]?.isNaN == true { texts[index][row] = "NaN" }
            }
        }

        var showStars = false
        var stars: [String] = []
        if let pColumn {
            let pValues = columns[pColumn]
            let present = pValues.indices.filter { pValues[$0].map { !$0.isNaN } ?? false }
            if !present.isEmpty {
                let formatted = formatPValues(present.map { pValues[$0] }, digits: testDigits, eps: Double.ulpOfOne)
                for (row, text) in zip(present, formatted) { texts[pColumn][row] = text }
                showStars = signifStars && present.contains { (pValues[$0] ?? 1) < 0.1 }
                stars = pValues.map(significanceStars)
            }
        }
        var names = columnNames
        var cells = (0..<rowCount).map { row in (0..<columnCount).map { texts[$0][row] } }
        if showStars {
            let starWidth = stars.map(displayWidth).max() ?? 0
            for row in 0..<rowCount { cells[row].append(padRight(stars[row], to: starWidth)) }
            names.append("")
        }
        var lines = matrix(rowNames: rowNames, columnNames: names, cells: cells)
        if showStars {
            lines.append("---")
            lines.append("Signif. codes:  " + significanceLegend)
        }
        return lines
    }

    /// R's `zapsmall(x, digits)` as R 4.2 has it: rounds to `digits − log10(max |x|)`
    /// decimals (R's round() takes the nearest whole number of decimals), so that values
    /// tiny beside the largest print as 0. (R 4.4 rounds log10 up first.)
    static func zapSmall(_ values: [Double?], digits: Int) -> [Double?] {
        let largest = values.compactMap { $0 }.filter { !$0.isNaN }.map(abs).max() ?? 0
        let fractional = max(0, Double(digits) - log10(largest))
        let decimals = largest > 0 ? Int((fractional + 0.5).rounded(.down)) : digits
        return values.map { value in value.map { $0.isNaN ? $0 : round($0, digits: decimals) } }
    }

    // MARK: - print.default() of a character matrix

    /// How R's `print.default(m, quote = FALSE, right = TRUE)` lays out a character matrix:
    /// row names left-justified, every column right-justified to the wider of its header and
    /// cells, one space between columns, and columns split into blocks that fit 80 characters.
    /// `cells` holds the rows.
    public static func matrix(
        rowNames: [String], columnNames: [String], cells: [[String]]
    ) -> [String] {
        let lineWidth = 80, gap = 1
        let rowCount = max(rowNames.count, cells.count)
        let columnCount = max(columnNames.count, cells.map(\.count).max() ?? 0)
        func cell(_ i: Int, _ j: Int) -> String {
            i < cells.count && j < cells[i].count ? cells[i][j] : ""
        }
        func rowName(_ i: Int) -> String { i < rowNames.count ? rowNames[i] : "" }
        func columnName(_ j: Int) -> String { j < columnNames.count ? columnNames[j] : "" }

        let rowLabelWidth = (0..<rowCount).map { displayWidth(rowName($0)) }.max() ?? 0
        let columnWidths = (0..<columnCount).map { j in
            max(displayWidth(columnName(j)),
                (0..<rowCount).map { displayWidth(cell($0, j)) }.max() ?? 0)
        }

        var lines: [String] = []
        if columnCount == 0 {
            lines.append(String(repeating: " ", count: rowLabelWidth))
            lines += (0..<rowCount).map { padRight(rowName($0), to: rowLabelWidth) }
            return lines
        }
        var first = 0
        while first < columnCount {
            // Take at least one column, then more while the line stays under the width.
            var end = first
            var width = rowLabelWidth
            repeat {
                width += columnWidths[end] + gap
                end += 1
            } while end < columnCount && width + columnWidths[end] + gap < lineWidth

            var header = String(repeating: " ", count: rowLabelWidth)
            for j in first..<end {
                header += String(repeating: " ", count: gap)
                    + padLeft(columnName(j), to: columnWidths[j])
            }
            lines.append(header)
            for i in 0..<rowCount {
                var line = padRight(rowName(i), to: rowLabelWidth)
                for j in first..<end {
                    line += String(repeating: " ", count: gap) + padLeft(cell(i, j), to: columnWidths[j])
                }
                lines.append(line)
            }
            first = end
        }
        return lines
    }
}

// MARK: - Internals

extension RFormat {

    /// The common layout `formatReal` chooses for a vector.
    struct RealLayout: Equatable {
        /// Field width every element is padded to.
        var width: Int
        /// Digits after the decimal point (fixed) or after the first digit (scientific).
        var decimals: Int
        /// 0 for fixed notation; otherwise scientific.
        var exponentDigits: Int
        var isScientific: Bool { exponentDigits != 0 }
    }

    /// One finite number written with `digits` significant digits, as R's `scientific()`
    /// sees it: |x| ~ alpha * 10^exponent with 1 <= alpha < 10.
    struct SignificantDecomposition: Equatable {
        var isNegative: Bool
        /// Decimal exponent of the leading digit after rounding to `digits` digits.
        var exponent: Int
        /// Significant digits left once trailing zeros are dropped (at most `digits`).
        var significantDigits: Int
        /// True when rounding to `digits` digits carries into a new leading digit
        /// (9996 -> 1.00e+04) although fixed notation would not widen (9996).
        var roundingWidens: Bool
    }

    /// Significant digits R's formatting accepts (R_MIN_DIGITS_OPT is 0, but 0 behaves as 1).
    static func clampDigits(_ digits: Int) -> Int { min(max(digits, 1), 22) }

    static func decompose(_ x: Double, digits requested: Int) -> SignificantDecomposition {
        let digits = clampDigits(requested)
        if x == 0 {
            return SignificantDecomposition(
                isNegative: false, exponent: 0, significantDigits: 1, roundingWidens: false)
        }
        let isNegative = x < 0
        let magnitude = abs(x)
        // No decimal exponent for ±Inf and NaN (Int(log10) of them would trap): callers print
        // those by name.
        guard magnitude.isFinite else {
            return SignificantDecomposition(isNegative: isNegative, exponent: 0, significantDigits: 1, roundingWidens: false)
        }

        // More digits than a double holds: let printf do the rounding.
        if digits >= 16 {
            // "d.ddd…e±xx": the digits sit at offsets 0 and 2...digits, the exponent after 'e'.
            let characters = Array(cFormat("%#.\(digits - 1)e", magnitude).utf8)
            guard characters.count > digits + 2 else {
                return SignificantDecomposition(
                    isNegative: isNegative, exponent: 0, significantDigits: digits,
                    roundingWidens: false)
            }
            var lastNonZero = digits
            while lastNonZero >= 2 && characters[lastNonZero] == UInt8(ascii: "0") {
                lastNonZero -= 1
            }
            let exponentText = String(decoding: characters[(digits + 2)...], as: UTF8.self)
            return SignificantDecomposition(
                isNegative: isNegative, exponent: Int(exponentText) ?? 0,
                significantDigits: lastNonZero, roundingWidens: false)
        }

        // Scale |x| to an integer-sized alpha with `digits` digits, in extended precision
        // as R does on x86_64 (where long double has a 64-bit mantissa).
        var shift = Int(log10(magnitude).rounded(.down)) - digits + 1
        var scaled = ExtendedFloat(magnitude)
        if abs(shift) <= exactPowerOfTenLimit {
            if shift > 0 {
                scaled /= exactPowerOfTen(shift)
            } else if shift < 0 {
                scaled *= exactPowerOfTen(-shift)
            }
        } else {
            scaled /= extendedPowerOfTen(shift)
        }
        if scaled < exactPowerOfTen(digits - 1) {
            scaled *= 10
            shift -= 1
        }
        var alpha = Double(scaled.rounded(.toNearestOrEven))

        var significantDigits = digits
        for _ in 0..<digits {
            alpha /= 10
            if alpha == alpha.rounded(.down) {
                significantDigits -= 1
            } else {
                break
            }
        }
        if significantDigits == 0 {
            // alpha rounded up to 10^digits: one digit, one decade higher.
            significantDigits = 1
            shift += 1
        }
        let exponent = shift + digits - 1

        // Rounding to `digits` significant digits may carry into a new leading digit
        // (9996 with 3 digits -> 1.00e+04) while fixed notation would print 9996.
        let droppedPlace = min(max(digits - exponent, 0), exactPowerOfTenLimit)
        let fuzz = 0.5 / Double(exactPowerOfTen(droppedPlace))
        let roundingWidens =
            exponent > 0 && exponent <= exactPowerOfTenLimit
            && ExtendedFloat(magnitude) < exactPowerOfTen(exponent) - ExtendedFloat(fuzz)
        return SignificantDecomposition(
            isNegative: isNegative, exponent: exponent,
            significantDigits: significantDigits, roundingWidens: roundingWidens)
    }

    /// R's `formatReal`: fixed notation whenever it is no wider than scientific notation
    /// while still showing `digits` significant digits of every element.
    static func realLayout(
        _ values: [Double?], digits: Int, nsmall: Int, naWidth: Int
    ) -> RealLayout {
        var hasNA = false, hasNaN = false, hasPositiveInfinity = false, hasNegativeInfinity = false
        var anyNegative = false
        var maxLeft = Int.min, minLeft = Int.max, maxRight = Int.min
        var maxSignedLeft = Int.min, maxSignificant = Int.min

        for value in values {
            guard let x = value else { hasNA = true; continue }
            if x.isNaN { hasNaN = true; continue }
            if x.isInfinite {
                if x > 0 { hasPositiveInfinity = true } else { hasNegativeInfinity = true }
                continue
            }
            let parts = decompose(x, digits: digits)
            // Digits left of the decimal point in fixed notation.
            var left = parts.exponent + 1
            if parts.roundingWidens { left -= 1 }
            let signedLeft = (parts.isNegative ? 1 : 0) + (left <= 0 ? 1 : left)
            let right = parts.significantDigits - left
            if parts.isNegative { anyNegative = true }
            maxRight = max(maxRight, right)
            maxLeft = max(maxLeft, left)
            minLeft = min(minLeft, left)
            maxSignedLeft = max(maxSignedLeft, signedLeft)
            maxSignificant = max(maxSignificant, parts.significantDigits)
        }

        let sign = anyNegative ? 1 : 0
        if maxLeft < 0 { maxSignedLeft = 1 + sign }  // numbers below 1 print a leading 0
        var right = max(maxRight, 0)
        var fixedWidth = maxSignedLeft + right + (right != 0 ? 1 : 0)

        var layout = RealLayout(width: 0, decimals: 0, exponentDigits: 0)
        if maxSignificant != Int.min {
            // Three exponent digits are needed beyond 1e+100 / below 1e-99.
            let exponentDigits = (maxLeft > 100 || minLeft <= -99) ? 2 : 1
            let mantissaDecimals = maxSignificant - 1
            let scientificWidth =
                sign + (mantissaDecimals > 0 ? 1 : 0) + mantissaDecimals + 4 + exponentDigits
            if fixedWidth <= scientificWidth {  // + scipen, which is 0
                if nsmall > right {
                    right = nsmall
                    fixedWidth = maxSignedLeft + right + (right != 0 ? 1 : 0)
                }
                layout = RealLayout(width: fixedWidth, decimals: right, exponentDigits: 0)
            } else {
                layout = RealLayout(
                    width: scientificWidth, decimals: mantissaDecimals,
                    exponentDigits: exponentDigits)
            }
        }
        if hasNA { layout.width = max(layout.width, naWidth) }
        if hasNaN || hasPositiveInfinity { layout.width = max(layout.width, 3) }
        if hasNegativeInfinity { layout.width = max(layout.width, 4) }
        return layout
    }

    /// R's `EncodeReal0`: one element in the given layout, right-justified to its width.
    static func encode(_ value: Double?, layout: RealLayout, naString: String) -> String {
        guard let x = value else { return padLeft(naString, to: layout.width) }
        if x.isNaN { return padLeft("NaN", to: layout.width) }
        if x.isInfinite { return padLeft(x > 0 ? "Inf" : "-Inf", to: layout.width) }
        let number = x == 0 ? 0 : x  // no "-0"
        let specifier: String
        if layout.isScientific {
            // '#' keeps the decimal point of a mantissa such as "1.0e+05".
            specifier = layout.decimals > 0
                ? "%#\(layout.width).\(layout.decimals)e" : "%\(layout.width).\(layout.decimals)e"
        } else {
            specifier = "%\(layout.width).\(layout.decimals)f"
        }
        return cFormat(specifier, number)
    }

    /// printCoefmat's `symnum` coding of a p-value; empty for NA.
    static func significanceStars(_ p: Double?) -> String {
        guard let p, !p.isNaN else { return "" }
        if p <= 0.001 { return "***" }
        if p <= 0.01 { return "**" }
        if p <= 0.05 { return "*" }
        if p <= 0.1 { return "." }
        if p <= 1 { return " " }
        return "NA"  // symnum's cut() leaves values above 1 uncoded
    }

    static let significanceLegend = "0 \u{2018}***\u{2019} 0.001 \u{2018}**\u{2019} 0.01 \u{2018}*\u{2019} 0.05 \u{2018}.\u{2019} 0.1 \u{2018} \u{2019} 1"

    /// log10(2), as C's M_LOG10_2.
    static let log10Of2 = 0.301029995663981195213738894724493027

    /// R's `R_pow_di`: x^n by repeated squaring in double precision (its rounding differs
    /// from `pow` for large n, and R's rounding functions depend on it).
    static func powerByRepeatedSquaring(_ base: Double, _ exponent: Int) -> Double {
        if base.isNaN { return base }
        if exponent == 0 { return 1 }
        if !base.isFinite { return pow(base, Double(exponent)) }
        var result = 1.0, factor = base, remaining = exponent.magnitude
        while true {
            if remaining & 1 == 1 { result *= factor }
            remaining >>= 1
            if remaining == 0 { break }
            factor *= factor
        }
        return exponent < 0 ? 1 / result : result
    }

    /// The number as R's `as.numeric()` reads a formatted cell; nil when it is no number.
    static func parsedNumber(_ text: String) -> Double? {
        let trimmed = text.trimmingSpaces()
        switch trimmed {
        case "Inf": return .infinity
        case "-Inf": return -.infinity
        default: return Double(trimmed)
        }
    }

    /// Columns a string occupies on screen, as R measures it for padding: combining marks
    /// take none, East Asian wide characters and emoji take two, everything else one.
    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + displayWidth($1) }
    }

    static func displayWidth(_ scalar: Unicode.Scalar) -> Int {
        if scalar.isASCII { return 1 }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if scalar.properties.isEmojiPresentation { return 2 }
        let wideRanges: [ClosedRange<UInt32>] = [
            0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF,
            0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3,
            0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60,
            0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD,
            0x30000...0x3FFFD,
        ]
        return wideRanges.contains { $0.contains(scalar.value) } ? 2 : 1
    }

    static func padLeft(_ text: String, to width: Int) -> String {
        let missing = width - displayWidth(text)
        return missing > 0 ? String(repeating: " ", count: missing) + text : text
    }

    static func padRight(_ text: String, to width: Int) -> String {
        let missing = width - displayWidth(text)
        return missing > 0 ? text + String(repeating: " ", count: missing) : text
    }

    /// C's `snprintf` with one double argument, as R uses it.
    static func cFormat(_ specifier: String, _ value: Double) -> String {
        withVaList([value]) { arguments -> String in
            var buffer = [CChar](repeating: 0, count: 512)
            let length = Int(vsnprintf(&buffer, buffer.count, specifier, arguments))
            if length < buffer.count {
                return String(decoding: buffer.prefix(max(length, 0)).map { UInt8(bitPattern: $0) },
                              as: UTF8.self)
            }
            return withVaList([value]) { retry -> String in
                var larger = [CChar](repeating: 0, count: length + 1)
                _ = vsnprintf(&larger, larger.count, specifier, retry)
                return String(decoding: larger.prefix(length).map { UInt8(bitPattern: $0) },
                              as: UTF8.self)
            }
        }
    }

    // MARK: Extended precision, as R's long double

    #if arch(x86_64) || arch(i386)
    typealias ExtendedFloat = Float80
    /// Powers of ten up to 1e27 are exact in a 64-bit mantissa.
    static let exactPowerOfTenLimit = 27
    static func extendedPowerOfTen(_ exponent: Int) -> ExtendedFloat {
        powl(10, ExtendedFloat(exponent))
    }
    #else
    typealias ExtendedFloat = Double
    static let exactPowerOfTenLimit = 22
    static func extendedPowerOfTen(_ exponent: Int) -> ExtendedFloat {
        pow(10, Double(exponent))
    }
    #endif

    /// 10^0 ... 10^exactPowerOfTenLimit, each exact in ExtendedFloat (built by exact products).
    static let exactPowersOfTen: [ExtendedFloat] = (0...exactPowerOfTenLimit).map { exponent in
        (0..<exponent).reduce(ExtendedFloat(1)) { power, _ in power * 10 }
    }

    /// 10^exponent for 0 <= exponent <= exactPowerOfTenLimit (clamped to that range).
    static func exactPowerOfTen(_ exponent: Int) -> ExtendedFloat {
        exactPowersOfTen[min(max(exponent, 0), exactPowerOfTenLimit)]
    }
}

private extension String {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while slice.first == " " { slice.removeFirst() }
        while slice.last == " " { slice.removeLast() }
        return String(slice)
    }
}
