/// How the fields of a delimited text file are separated and how its numbers write their
/// decimal mark: R's `read.csv` (`,` and `.`, the reader's fast path), `read.delim` (tab)
/// and `read.csv2` (`;` and `,`).
///
/// Any dialect but the standard one is converted to standard CSV while it is read
/// (`DialectTranscoder`), so every reader (in memory, `--chunk-rows`, predict's new data)
/// sees the same text and reports the same lines.
public struct CSVDialect: Sendable, Equatable {
    /// The byte between fields.
    public var delimiter: UInt8
    /// Numbers are written with a decimal comma (`1,5`), as R's `write.csv2` writes them.
    public var decimalComma: Bool

    public init(delimiter: UInt8 = 0x2C, decimalComma: Bool = false) {
        self.delimiter = delimiter
        self.decimalComma = decimalComma
    }

    public static let standard = CSVDialect()

    public var isStandard: Bool { self == .standard }

    /// The delimiter as a user types it (`\t` for a tab).
    public var delimiterName: String { CSVDialect.name(of: delimiter) }

    static func name(of byte: UInt8) -> String {
        byte == CSVByte.tab ? "\\t" : String(UnicodeScalar(byte))
    }

    /// The delimiters `--delimiter` accepts, as bytes.
    static let allowedDelimiters: [UInt8] = [CSVByte.comma, 0x3B, 0x7C, CSVByte.tab]

    /// The dialect the command line asks for.
    ///
    /// - Parameters:
    ///   - delimiter: `--delimiter`: `,`, `;`, `|`, or a tab spelled `\t`, `tab` or as the
    ///     character itself; nil for the default, which is a tab for a `.tsv` or `.tab` file
    ///     (also compressed, `.tsv.gz`), `;` with `--decimal ,`, else `,`.
    ///   - decimal: `--decimal`: `.` (default) or `,`.
    /// - Throws: `GLMError.invalidOption` (status 64) for anything else, or a comma for both.
    public static func resolve(delimiter: String?, decimal: String?, path: String) throws(GLMError) -> CSVDialect {
        var dialect = CSVDialect()
        switch decimal {
        case nil, ".": break
        case ",": dialect.decimalComma = true
        case let other?:
            throw .invalidOption(name: "--decimal", message: "must be '.' or ',' (got '\(other)')")
        }
        if let delimiter {
            let byte: UInt8?
            switch delimiter {
            case "\\t", "tab", "\t": byte = CSVByte.tab
            default: byte = delimiter.utf8.count == 1 ? delimiter.utf8.first : nil
            }
            guard let byte, allowedDelimiters.contains(byte) else {
                throw .invalidOption(
                    name: "--delimiter", message: "must be ',', ';', '|' or a tab ('\\t' or 'tab') (got '\(delimiter)')")
            }
            dialect.delimiter = byte
        } else if dialect.decimalComma {
            dialect.delimiter = 0x3B
        } else if isTabSeparatedName(path) {
            dialect.delimiter = CSVByte.tab
        }
        if dialect.decimalComma && dialect.delimiter == CSVByte.comma {
            throw .invalidOption(
                name: "--decimal", message: "',' needs a field delimiter other than ',' (R's write.csv2 uses ';': --delimiter ';')")
        }
        return dialect
    }

    /// A `.tsv` or `.tab` file name, also with a compression suffix.
    static func isTabSeparatedName(_ path: String) -> Bool {
        var name = path.lowercased()
        for suffix in [".gz", ".xz", ".zst", ".bz2"] where name.hasSuffix(suffix) {
            name.removeLast(suffix.count)
        }
        return name.hasSuffix(".tsv") || name.hasSuffix(".tab")
    }

    /// When a header read with this dialect has one column whose name holds another likely
    /// delimiter, that delimiter: the file was probably written with it.
    func likelyDelimiter(header names: [String]) -> UInt8? {
        guard names.count == 1, let name = names.first else { return nil }
        return CSVDialect.allowedDelimiters.first { $0 != delimiter && name.utf8.contains($0) }
    }

    /// Passes `error` on, or, when it is a missing column of a one-column header that holds
    /// another delimiter, replaces it with `GLMError.wrongDelimiter`, which says so.
    func explain(_ error: Error, header names: [String], source: String) -> Error {
        guard let glmError = error as? GLMError, let likely = likelyDelimiter(header: names) else { return error }
        switch glmError {
        case .unknownColumn, .unknownColumns, .missingColumn:
            return GLMError.wrongDelimiter(
                source: source, delimiter: delimiterName, likely: CSVDialect.name(of: likely))
        default:
            return error
        }
    }
}

/// Rewrites delimited text of any dialect as standard CSV (`,` between fields, `.` in
/// numbers), byte by byte as it streams past, keeping every line break where it was so that
/// line numbers in messages are the input's own.
///
/// A field that holds a comma is quoted (its quotes doubled); with a decimal comma, a field
/// that is a number written with one (`-1,5`, `,5`, `2,5e-3`, quoted or not, spaces around
/// it) has it made a point. Quoted fields keep their quotes, line breaks and delimiters.
final class DialectTranscoder {
    private let dialect: CSVDialect
    private let sink: (UnsafeRawBufferPointer) throws -> Void
    private var field: [UInt8] = []
    private var inQuotes = false
    private var output: [UInt8] = []
    private static let flushBytes = 1 << 20

    init(dialect: CSVDialect, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.dialect = dialect
        self.sink = sink
        output.reserveCapacity(DialectTranscoder.flushBytes + 4096)
    }

    func feed(_ bytes: UnsafeRawBufferPointer) throws {
        let delimiter = dialect.delimiter
        for byte in bytes {
            if inQuotes {
                field.append(byte)
                if byte == CSVByte.quote { inQuotes = false }
            } else if byte == delimiter {
                emitField()
                output.append(CSVByte.comma)
            } else if byte == CSVByte.lf || byte == CSVByte.cr {
                emitField()
                output.append(byte)
            } else {
                // A quote that follows a closing quote reopens it: `""` inside quotes.
                if byte == CSVByte.quote { inQuotes = true }
                field.append(byte)
            }
            if output.count >= DialectTranscoder.flushBytes { try flush() }
        }
    }

    /// Writes out what is left (a last line without a line break).
    func finish() throws {
        emitField()
        try flush()
    }

    private func flush() throws {
        try output.withUnsafeBytes { try sink($0) }
        output.removeAll(keepingCapacity: true)
    }

    private func emitField() {
        defer { field.removeAll(keepingCapacity: true) }
        if dialect.decimalComma, let comma = DialectTranscoder.decimalCommaPosition(field) {
            field[comma] = 0x2E
        }
        let firstContent = field.firstIndex { $0 != CSVByte.space && $0 != CSVByte.tab }
        let quoted = firstContent.map { field[$0] == CSVByte.quote } ?? false
        if !quoted, field.contains(CSVByte.comma) {
            output.append(CSVByte.quote)
            for byte in field {
                output.append(byte)
                if byte == CSVByte.quote { output.append(CSVByte.quote) }
            }
            output.append(CSVByte.quote)
        } else {
            output.append(contentsOf: field)
        }
    }

    /// The index of the decimal comma when `field` is a number written with one: spaces, an
    /// optional quote, a sign, digits with one comma among or before them (at least one
    /// digit), an optional exponent, the closing quote, spaces.
    static func decimalCommaPosition(_ field: [UInt8]) -> Int? {
        var i = 0
        let n = field.count
        func skipSpaces() { while i < n, field[i] == CSVByte.space || field[i] == CSVByte.tab { i += 1 } }
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        skipSpaces()
        let quoted = i < n && field[i] == CSVByte.quote
        if quoted { i += 1 }
        if i < n, field[i] == 0x2B || field[i] == 0x2D { i += 1 }
        var digits = 0
        while i < n, isDigit(field[i]) { i += 1; digits += 1 }
        guard i < n, field[i] == CSVByte.comma else { return nil }
        let comma = i
        i += 1
        while i < n, isDigit(field[i]) { i += 1; digits += 1 }
        guard digits > 0 else { return nil }
        if i < n, field[i] == 0x65 || field[i] == 0x45 {
            i += 1
            if i < n, field[i] == 0x2B || field[i] == 0x2D { i += 1 }
            var exponentDigits = 0
            while i < n, isDigit(field[i]) { i += 1; exponentDigits += 1 }
            guard exponentDigits > 0 else { return nil }
        }
        if quoted {
            guard i < n, field[i] == CSVByte.quote else { return nil }
            i += 1
        }
        skipSpaces()
        return i == n ? comma : nil
    }
}
