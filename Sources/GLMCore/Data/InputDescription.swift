/// How a column of the input was typed when it was read (R's `read.csv` typing).
public enum InputColumnType: String, Sendable, Equatable {
    case numeric, text, logical
}

/// What later stages need to know about the input a model was fitted to, without keeping
/// its data: where it came from, how many records it had and on which lines, how its
/// columns were typed, and which tokens were missing values.
public struct InputDescription: Sendable {
    public let source: String
    public let rowCount: Int
    /// The type of every column that was read (materialised).
    public let columnTypes: [String: InputColumnType]
    public let naTokens: [String]
    private let recordLines: [Int]?

    public init(table: Table, naTokens: [String]) {
        source = table.source
        rowCount = table.rowCount
        recordLines = table.recordLines
        self.naTokens = naTokens
        var types: [String: InputColumnType] = [:]
        for (name, column) in zip(table.columnNames, table.columns) {
            switch column {
            case .numeric?: types[name] = .numeric
            case let .categorical(categorical)?: types[name] = categorical.isLogical ? .logical : .text
            case nil: break
            }
        }
        columnTypes = types
    }

    /// The 1-based line on which data row `row` (0-based) starts, the header being line 1.
    public func line(ofRow row: Int) -> Int {
        if let recordLines, row >= 0, row < recordLines.count { return recordLines[row] }
        return row + 2
    }
}
