import Foundation

/// `--frequency-weights COL` (Stata's `fweight`): each row stands for COL identical
/// observations, so a table aggregated by its covariate pattern and response (`GROUP BY`,
/// `count(*)`) fits exactly as its expanded rows would.
///
/// The count multiplies the prior weights in the likelihood (coefficients, deviance,
/// Pearson statistic, AIC sums are then the expanded rows' sums), and replaces the row in
/// every count of observations (n, residual and null degrees of freedom, BIC's n).
public enum FrequencyWeights {
    /// The largest count a row may carry, and the largest total: 2^53, beyond which a count
    /// held as a Double is no longer a whole number exactly.
    public static let maximum: Double = 9_007_199_254_740_992

    /// The counts of `rows` (table rows, in order) from `column`: whole numbers from 0 to
    /// `maximum`, none missing.
    ///
    /// - Throws: `invalidFrequencyWeight` naming the line and value of the first row whose
    ///   count is text, missing, negative, fractional or too large.
    static func values(table: Table, column name: String, rows: [Int]) throws -> (values: [Double], total: Int) {
        guard let index = table.index(of: name), let column = table.columns[index] else {
            throw GLMError.unknownColumn(name: name, suggestions: NameSuggestions.nearest(to: name, in: table.columnNames))
        }
        func failure(_ row: Int, _ value: String, _ message: String) -> GLMError {
            .invalidFrequencyWeight(source: table.source, line: table.line(ofRow: row), column: name, value: value, message: message)
        }
        // The used rows' values; a column read as text (all of it, or in one chunk of a
        // streamed input where another chunk holds text) counts when its fields are numbers.
        var numbers = [Double](repeating: .nan, count: rows.count)
        switch column {
        case let .categorical(categorical):
            for (position, row) in rows.enumerated() where row < categorical.codes.count {
                let code = Int(categorical.codes[row])
                guard code >= 0, code < categorical.levels.count else { continue }
                let level = categorical.levels[code]
                guard !categorical.isLogical, let value = Double(level.trimmingCharacters(in: .whitespaces)) else {
                    throw failure(row, level, "is not a number; a frequency weight is a count of observations")
                }
                numbers[position] = value
            }
        case let .numeric(values):
            for (position, row) in rows.enumerated() where row < values.count { numbers[position] = values[row] }
        }
        var total = 0.0
        for (position, value) in numbers.enumerated() {
            let row = rows[position]
            if value.isNaN {
                throw failure(row, "", "the count is missing; every row needs the number of observations it stands for")
            }
            if value < 0 {
                throw failure(row, RFormat.deparse(value), "is negative; a frequency weight is a count of observations (0 or more)")
            }
            if value.isInfinite || value > maximum {
                throw failure(row, RFormat.deparse(value), "is too large; a row may stand for at most 2^53 observations")
            }
            if value.rounded(.towardZero) != value {
                throw failure(row, RFormat.deparse(value), "is not a whole number; a frequency weight counts observations "
                    + "(for fractional weights use --weights)")
            }
            // Both whole and at most 2^53, so the difference is exact (a sum past 2^53 may round).
            if value > maximum - total {
                throw failure(row, RFormat.deparse(value), "brings the total past 2^53 observations, more than a count can hold exactly")
            }
            total += value
        }
        // Whole and at most 2^53: the conversion is exact.
        return (numbers, Int(exactly: total) ?? 0)
    }

    /// The sum of `counts` (each a checked whole number) over the rows where `include` holds.
    static func total(_ counts: [Double], where include: (Int) -> Bool) -> Int {
        var total = 0
        for row in counts.indices where include(row) {
            // Checked counts total at most 2^53; saturate rather than trap on any others.
            let (sum, overflow) = total.addingReportingOverflow(Int(exactly: counts[row]) ?? 0)
            total = overflow ? Int.max : sum
        }
        return total
    }
}
