/// A categorical column: one code per row into `levels`, which are sorted as R sorts them
/// (`CSVOptions.collation`: ICU's collation, or byte order under `C`). A missing value has
/// code -1.
public struct CategoricalColumn: Sendable, Equatable {
    public var codes: [Int32]
    public var levels: [String]
    /// True for a column of R logicals (TRUE/FALSE, T/F, true/false): levels are then
    /// exactly ["FALSE", "TRUE"].
    public var isLogical: Bool
    /// The first row whose field is neither a number nor a missing-value token, so that a
    /// column used as numeric can be reported with the row and value at fault.
    public var firstNonNumericRow: Int?

    public init(codes: [Int32], levels: [String], isLogical: Bool = false, firstNonNumericRow: Int? = nil) {
        self.codes = codes
        self.levels = levels
        self.isLogical = isLogical
        self.firstNonNumericRow = firstNonNumericRow
    }
}

/// One column of the input, as R's `read.csv` would type it.
public enum Column: Sendable, Equatable {
    /// Every non-missing field parsed as a number; NaN marks a missing value.
    case numeric([Double])
    case categorical(CategoricalColumn)

    public var count: Int {
        switch self {
        case let .numeric(values): return values.count
        case let .categorical(column): return column.codes.count
        }
    }
}

/// The parsed input: column names from the header and the columns that were asked for.
public struct Table: Sendable {
    /// Where the data came from, for messages: a path or "<stdin>".
    public let source: String
    public let columnNames: [String]
    /// One entry per header column; nil for columns that were not materialised.
    public let columns: [Column?]
    public let rowCount: Int
    /// The physical line on which each record starts, present only when some quoted
    /// field spans lines (otherwise record `i` is on line `i + 2`).
    public let recordLines: [Int]?
    /// Numeric columns known to hold only finite numbers (no missing value), found as the
    /// reader assembles them, so that the model frame need not look again.
    public let finiteColumns: Set<Int>

    public init(
        source: String, columnNames: [String], columns: [Column?], rowCount: Int, recordLines: [Int]? = nil,
        finiteColumns: Set<Int> = []
    ) {
        self.source = source
        self.columnNames = columnNames
        self.columns = columns
        self.rowCount = rowCount
        self.recordLines = recordLines
        self.finiteColumns = finiteColumns
    }

    public func index(of name: String) -> Int? {
        columnNames.firstIndex(of: name)
    }

    public func column(named name: String) -> Column? {
        guard let index = index(of: name) else { return nil }
        return columns[index]
    }

    /// The 1-based line number of data row `row` (0-based), header being line 1.
    public func line(ofRow row: Int) -> Int {
        if let recordLines, row >= 0, row < recordLines.count { return recordLines[row] }
        return row + 2
    }
}
