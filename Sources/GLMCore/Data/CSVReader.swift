import CKernels
import Foundation
import Synchronization

/// How CSV fields are read.
public struct CSVOptions: Sendable {
    /// R's `read.csv` missing value plus the empty field and `NaN`.
    public static let defaultNATokens = ["NA", "", "NaN"]

    /// Fields equal to one of these (after removing quotes) are missing values.
    public var naTokens: [String]
    /// How text levels are ordered (R's order in the process's environment by default).
    public var collation: LevelCollation
    /// The field delimiter and decimal mark (`--delimiter`, `--decimal`).
    public var dialect: CSVDialect = .standard

    public init(naTokens: [String] = CSVOptions.defaultNATokens, collation: LevelCollation = .processDefault) {
        self.naTokens = naTokens
        self.collation = collation
    }

    /// The default tokens plus `extra` (the command line's `--na`).
    public init(additionalNATokens extra: [String], collation: LevelCollation = .processDefault) {
        self.naTokens = CSVOptions.defaultNATokens + extra
        self.collation = collation
    }
}

/// Reads a CSV file into a `Table`, typing each column as R's `read.csv` does.
///
/// - The first record is the header: names unquoted and trimmed of surrounding spaces,
///   non-empty and unique. Separator `,` (other dialects are converted first: `CSVDialect`); RFC 4180 quoting (`""` for a quote, line breaks
///   inside quotes); LF, CRLF or CR line ends; a UTF-8 byte order mark is skipped; blank
///   lines are skipped (as R's `blank.lines.skip`).
/// - A field equal to a missing-value token (after unquoting) is missing.
/// - A column is numeric when every field that is not missing or blank is a number
///   (spaces around it, a leading `+`, `Inf`, `-Inf`, `NaN` and hexadecimal allowed, quoted
///   or not); missing values are NaN. A column with no values at all is numeric.
/// - Otherwise it is categorical: levels are the distinct texts in R's order
///   (`options.collation`: ICU's collation for the locale, or byte order under `C`), -1
///   marks a missing value, and `firstNonNumericRow` is the first row
///   whose field is neither a number nor missing. When every value is one of the logical
///   spellings of `read.csv` (`TRUE`, `FALSE`, `T`, `F`; not `true` or `True`, which R
///   keeps as text) the levels are exactly `["FALSE", "TRUE"]` and `isLogical` is set
///   (blanks are then missing too).
///
/// Files are memory-mapped; pipes and standard input are read whole into one buffer.
/// Inputs over a few megabytes are parsed in row-aligned chunks on all cores; the result
/// is identical to a single-threaded parse.
public enum CSVReader {
    /// Reads the CSV file at `path` ("-" for standard input).
    ///
    /// - Parameters:
    ///   - select: receives the header names and returns the indices of the columns to
    ///     materialise (nil for all); other columns are only checked for their field count.
    ///     Errors it throws (an unknown column, say) are passed on.
    /// - Throws: `GLMError` for input that cannot be read or is not well-formed CSV.
    public static func read(
        path: String, options: CSVOptions = .init(), select: ([String]) throws -> Set<Int>? = { _ in nil }
    ) throws -> Table {
        try read(path: path, options: options, tuning: .automatic, select: select)
    }

    static func read(
        path: String, options: CSVOptions, tuning: Tuning, select: ([String]) throws -> Set<Int>?
    ) throws -> Table {
        let source = path == "-" ? "<stdin>" : path
        let input = try CSVInputBuffer.load(path: path, source: source, dialect: options.dialect)
        return try withExtendedLifetime(input) {
            try read(bytes: input.bytes, source: source, options: options, tuning: tuning,
                     releasesPages: input.isFileMapping) { names in
                do {
                    return try select(names)
                } catch {
                    throw options.dialect.explain(error, header: names, source: source)
                }
            }
        }
    }

    /// Reads CSV text held in memory; `source` names it in messages.
    public static func read(
        bytes: UnsafeRawBufferPointer, source: String, options: CSVOptions = .init(),
        select: ([String]) throws -> Set<Int>? = { _ in nil }
    ) throws -> Table {
        try read(bytes: bytes, source: source, options: options, tuning: .automatic, select: select)
    }

    /// How a parse is split across threads (tests force chunking on small inputs).
    struct Tuning: Sendable {
        /// The fewest chunks a large input is split into.
        var chunkCount: Int
        /// Inputs with fewer bytes of records than this are parsed as one chunk.
        var minimumParallelBytes: Int
        /// A large input is split into chunks of about this many bytes (at least `chunkCount`,
        /// at most `maximumChunkCount`), which the cores take in turn: each counts its line
        /// breaks, then parses its bytes while they are still in cache and mapped.
        var chunkBytes = 4 << 20
        static let maximumChunkCount = 4_096
        /// A file's pages are dropped as the parse passes them, this many bytes at a time.
        var pageReleaseBytes = 16 << 20
        /// Numeric columns are parsed straight into their final arrays (each chunk at the row
        /// its line breaks give) rather than into buffers of its own that are then copied.
        var parsesIntoColumns = true

        static var automatic: Tuning {
            Tuning(chunkCount: min(8, max(1, ProcessInfo.processInfo.activeProcessorCount)),
                   minimumParallelBytes: 4 << 20)
        }

        /// One chunk, own buffers copied: the plain reference the tests compare against.
        static let serial = Tuning(chunkCount: 1, minimumParallelBytes: Int.max, parsesIntoColumns: false)
    }

    /// - Parameters:
    ///   - forcedCategorical: columns read as text whatever their fields look like (a chunk
    ///     of a larger input whose column is text elsewhere).
    ///   - lineOffset: added to every line number (a chunk that starts further into a file,
    ///     given with a copy of the file's header).
    ///   - releasesPages: `bytes` are a map of a file, whose pages the parse may drop once read
    ///     (the peak memory is then not the whole file plus its columns).
    static func read(
        bytes: UnsafeRawBufferPointer, source: String, options: CSVOptions, tuning: Tuning,
        forcedCategorical: Set<Int> = [], lineOffset: Int = 0, releasesPages: Bool = false,
        select: ([String]) throws -> Set<Int>?
    ) throws -> Table {
        var header = try self.header(bytes: bytes, source: source)
        guard let start = bytes.baseAddress else { throw GLMError.emptyInput(source: source) }
        let base = start.assumingMemoryBound(to: UInt8.self)
        let count = bytes.count
        header.firstDataLine += lineOffset
        let names = header.names
        let selection = try select(names)
        let kinds: [ColumnKind] = names.indices.map { index in
            guard selection?.contains(index) ?? true else { return .skipped }
            return forcedCategorical.contains(index) ? .categorical : .numeric
        }
        let parser = CSVChunkParser(
            base: base, count: count, kinds: kinds, na: NATokenSet(options.naTokens),
            pageReleaseBytes: releasesPages ? max(tuning.pageReleaseBytes, 1) : nil)
        let bounds = chunkBounds(parser, from: header.dataStart, tuning: tuning)
        let finish = { (chunks: [CSVChunk], placement: ColumnPlacement?) throws -> Table in
            try assemble(parser, chunks: chunks, placement: placement, header: header, source: source,
                         forcedCategorical: forcedCategorical, collation: options.collation)
        }
        guard tuning.parsesIntoColumns, let layout = ColumnLayout(parser, bounds: bounds) else {
            return try finish(parseChunks(parser, bounds: bounds, tuning: tuning), nil)
        }
        // The numeric columns' arrays are filled inside the calls that make them; the table is
        // assembled there too, with those columns left out, and they are added afterwards.
        var outcome: Result<Table, any Error> = .failure(
            GLMError.unreadableInput(source: source, reason: "the columns' memory could not be made"))
        let arrays = ParallelRows.withUninitializedArrays(
            count: layout.columns.count, capacity: layout.capacity, prepared: layout.expectedRows
        ) { starts in
            let placement = ColumnPlacement(layout: layout, starts: starts, chunkCount: bounds.count - 1)
            outcome = Result { try finish(parseChunks(parser, bounds: bounds, tuning: tuning, placement: placement), placement) }
            guard case let .success(table) = outcome else { return layout.columns.map { _ in 0 } }
            return layout.columns.map { table.columns[$0] == nil ? table.rowCount : 0 }
        }
        let table = try outcome.get()
        var columns = table.columns
        for (k, column) in layout.columns.enumerated() where columns[column] == nil {
            columns[column] = .numeric(arrays[k])
        }
        return Table(source: source, columnNames: table.columnNames, columns: columns, rowCount: table.rowCount,
                     recordLines: table.recordLines, finiteColumns: table.finiteColumns)
    }

    /// The table from parsed chunks: errors in input order, columns merged. With `placement`,
    /// the numeric columns whose every chunk filled its place in the final array are moved
    /// together there and left nil in the table (the caller fills them in).
    private static func assemble(
        _ parser: CSVChunkParser, chunks: [CSVChunk], placement: ColumnPlacement?, header: Header, source: String,
        forcedCategorical: Set<Int>, collation: LevelCollation
    ) throws -> Table {
        let names = header.names
        var lineBase = header.firstDataLine
        var rowCount = 0
        for chunk in chunks {
            if let failure = chunk.failure {
                throw error(for: failure, lineBase: lineBase, source: source, names: names)
            }
            lineBase += chunk.lines
            rowCount += chunk.rows
        }
        if rowCount == 0 { throw GLMError.headerOnly(source: source) }

        try completeCategoricalColumns(parser, chunks: chunks, source: source, names: names,
                                       firstDataLine: header.firstDataLine)
        let (columns, finiteColumns) = try assembleColumns(
            chunks: chunks, kinds: parser.kinds, rowCount: rowCount, source: source, names: names,
            textColumns: forcedCategorical, placement: placement, collation: collation)
        let recordLines = assembleRecordLines(chunks: chunks, firstDataLine: header.firstDataLine, rowCount: rowCount)
        return Table(source: source, columnNames: names, columns: columns, rowCount: rowCount,
                     recordLines: recordLines, finiteColumns: finiteColumns)
    }

    /// The header record at the start of `bytes` (a UTF-8 byte order mark skipped): the one
    /// reading of it, for the in-memory reader and the chunked one (`ChunkedInput`), which
    /// gives it the bytes up to the header's end as `stepOverRecord` finds it.
    ///
    /// - Throws: `GLMError.emptyInput` when there is nothing but line ends, and the
    ///   header's own errors (an empty or repeated name, invalid UTF-8, an unterminated quote).
    static func header(bytes: UnsafeRawBufferPointer, source: String) throws(GLMError) -> Header {
        guard let start = bytes.baseAddress, bytes.count > 0 else { throw GLMError.emptyInput(source: source) }
        let base = start.assumingMemoryBound(to: UInt8.self)
        let count = bytes.count
        try checkIsText(base, count: count, source: source)
        let offset = byteOrderMarkLength(base, count: count)
        var firstContent = offset
        while firstContent < count, base[firstContent] == CSVByte.lf || base[firstContent] == CSVByte.cr {
            firstContent += 1
        }
        if firstContent == count { throw GLMError.emptyInput(source: source) }
        return try readHeader(base: base, count: count, start: offset, source: source)
    }

    /// Refuses input that is plainly not CSV text, before its bytes are read as a header:
    /// binary data (in the first 4 KiB, control
    /// bytes other than tab, line feed, vertical tab, form feed and carriage return, at
    /// least 4 and one in 32 bytes, or one with text that is not UTF-8).
    ///
    /// Compressed input never reaches it: `CSVInputBuffer` and `ChunkedInput` decompress it.
    ///
    /// - Throws: `GLMError.notText`.
    static func checkIsText(_ base: UnsafePointer<UInt8>, count: Int, source: String) throws(GLMError) {
        let sample = min(count, 4096)
        var controls = 0
        for i in 0..<sample {
            let b = base[i]
            if (b < 0x20 && !(b >= 0x09 && b <= 0x0D)) || b == 0x7F { controls += 1 }
        }
        guard controls > 0 else { return }
        // A multi-byte character cut by the sample's end is not an error.
        var valid = sample
        if sample < count {
            var back = 0
            while back < 3, valid > 0, base[valid - 1] & 0xC0 == 0x80 {
                valid -= 1
                back += 1
            }
            if valid > 0, base[valid - 1] >= 0xC0 { valid -= 1 }
        }
        let isUTF8 = isValidUTF8(base, valid)
        if (controls >= 4 && controls * 32 >= sample) || !isUTF8 {
            throw .notText(
                source: source,
                reason: "its first bytes hold \(controls) control character\(controls == 1 ? "" : "s")"
                    + (isUTF8 ? "" : " and text that is not UTF-8") + " (binary data?); glmfit reads "
                    + "comma-separated text with a header line")
        }
    }

    /// 3 when the bytes start with a UTF-8 byte order mark, else 0.
    static func byteOrderMarkLength(_ base: UnsafePointer<UInt8>, count: Int) -> Int {
        count >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF ? 3 : 0
    }

    // MARK: Header

    struct Header {
        var names: [String]
        /// Offset of the first byte after the header record.
        var dataStart: Int
        /// The 1-based line on which the data starts.
        var firstDataLine: Int
    }

    private static func readHeader(
        base: UnsafePointer<UInt8>, count: Int, start: Int, source: String
    ) throws(GLMError) -> Header {
        let end = base + count
        let tokenizer = CSVTokenizer(end: end)
        var scratch = RawBuffer<UInt8>(capacity: 64)
        defer { scratch.release() }
        var p = base + start
        var line = 0
        var names: [String] = []
        while true {
            let fieldLine = line
            let field: RawField
            do {
                field = try tokenizer.scanField(p, line: &line)
            } catch {
                throw self.error(for: error, lineBase: 1, source: source, names: names)
            }
            var content = CSVTokenizer.content(field, scratch: &scratch)
            while content.count > 0, FastFloat.isSpace(content.start.pointee) {
                content.start += 1
                content.count -= 1
            }
            while content.count > 0, FastFloat.isSpace(content.start[content.count - 1]) {
                content.count -= 1
            }
            guard isValidUTF8(content.start, content.count) else {
                throw GLMError.invalidUTF8(source: source, line: 1 + fieldLine)
            }
            let name = String(decoding: UnsafeBufferPointer(start: content.start, count: content.count), as: UTF8.self)
            names.append(name)
            p = field.stop
            if tokenizer.stepOverDelimiter(&p, line: &line) { continue }
            break
        }
        // Compared by bytes, as levels are: "é" and "e\u{301}" are different names.
        var firstIndex: [[UInt8]: Int] = [:]
        for (index, name) in names.enumerated() {
            if name.isEmpty { throw GLMError.emptyColumnName(source: source, column: index + 1) }
            let key = Array(name.utf8)
            if let first = firstIndex[key] {
                throw GLMError.duplicateColumnName(source: source, name: name, firstColumn: first + 1,
                                                   secondColumn: index + 1)
            }
            firstIndex[key] = index
        }
        return Header(names: names, dataStart: p - base, firstDataLine: 1 + line)
    }

    // MARK: Chunks

    /// Where the chunks of the records from `start` begin (see `Tuning` for how many, each
    /// just after a line break, or at `start`), then the input's end.
    static func chunkBounds(_ parser: CSVChunkParser, from start: Int, tuning: Tuning) -> [Int] {
        let count = parser.count
        let size = count - start
        guard size > 0 else { return [] }
        var guesses = [start]
        if size >= tuning.minimumParallelBytes {
            let chunks = max(tuning.chunkCount, min(size / max(tuning.chunkBytes, 1), Tuning.maximumChunkCount))
            let step = size / max(chunks, 1)
            for k in 1..<max(chunks, 1) {
                let target = max(start + step * k, guesses[guesses.count - 1])
                guard target < count,
                      let found = memchr(parser.base + target, Int32(CSVByte.lf), count - target) else { break }
                let boundary = UnsafeRawPointer(found) - UnsafeRawPointer(parser.base) + 1
                if boundary >= count { break }
                if boundary > guesses[guesses.count - 1] { guesses.append(boundary) }
            }
        }
        return guesses + [count]
    }

    /// Parses the chunks between `bounds` on all cores (with `placement`, each numeric column
    /// into its place in the final array).
    ///
    /// The boundaries are guesses at line starts, checked afterwards: a chunk is kept only
    /// when the chunk before it stopped exactly where it began. A guess that fell inside a
    /// quoted field is caught that way, and everything from the true end of the chunk before
    /// it is parsed again (into buffers of its own), so the result never depends on the guesses.
    static func parseChunks(
        _ parser: CSVChunkParser, bounds: [Int], tuning: Tuning, placement: ColumnPlacement? = nil
    ) -> [CSVChunk] {
        let n = bounds.count - 1
        guard n > 0 else { return [] }
        // Every chunk but the last counts its line breaks first: where the next chunk's rows
        // start, and its own buffers' size. The count also maps its bytes and brings them into
        // cache for the parse right after (the parse drops the pages behind it).
        let results = ParallelRows.mapInOrder(items: n) { i in
            let lines = i + 1 < n ? countLineBreaks(parser, from: bounds[i], to: bounds[i + 1]) : nil
            let targets = placement?.targets(chunk: i, lines: lines, columnCount: parser.columnCount) ?? []
            return parser.parse(
                start: bounds[i], limit: bounds[i + 1],
                capacityHint: lines.map { $0 + 1 } ?? estimateRows(parser, from: bounds[i], to: bounds[i + 1]),
                targets: targets)
        }

        var kept: [CSVChunk] = []
        for (i, chunk) in results.enumerated() {
            kept.append(chunk)
            if chunk.failure != nil { break }
            if i + 1 < n, chunk.stop != bounds[i + 1] {
                // The guessed start of the next chunk was inside a quoted field.
                kept += parseChunks(parser, bounds: chunkBounds(parser, from: chunk.stop, tuning: tuning), tuning: tuning)
                break
            }
        }
        return kept
    }

    /// An upper-leaning guess at the records in `[from, to)`, from the line density of its
    /// first 64 KiB, so the column buffers rarely grow.
    private static func estimateRows(_ parser: CSVChunkParser, from: Int, to: Int) -> Int {
        let size = to - from
        guard size > 0 else { return 16 }
        let sample = min(size, 1 << 16)
        var lines = 0
        let p = parser.base + from
        for i in 0..<sample where p[i] == CSVByte.lf { lines += 1 }
        let estimate = lines == 0 ? 16 : size / sample * lines + (size % sample) * lines / sample
        // A record takes at least two bytes (one and a line break), except perhaps the last.
        return min(estimate + estimate / 16 + 16, size / 2 + 16)
    }

    // MARK: Numeric columns in place

    /// The arrays the numeric columns are parsed straight into, each chunk's rows at the
    /// number of line breaks before the chunk. That is the number of records before it unless
    /// blank lines or quoted line breaks come first (rows then close up; see
    /// `ColumnPlacement.closeUp`).
    struct ColumnLayout {
        /// The columns parsed in place: those numeric from the start.
        let columns: [Int]
        /// The records expected, from the line density sampled across the input; the memory
        /// prepared ahead (`FreshMemory`).
        let expectedRows: Int
        /// Rows each array has room for: a quarter more than expected (untouched, the room
        /// past the rows costs address space only). A chunk that would pass it is parsed into
        /// buffers of its own instead, and its columns are then merged.
        let capacity: Int

        /// Nil when nothing is numeric, or for more than 256 numeric columns (each array is
        /// made inside the one before's initialiser, a few hundred bytes of stack deeper).
        init?(_ parser: CSVChunkParser, bounds: [Int]) {
            let n = bounds.count - 1
            columns = parser.kinds.indices.filter { parser.kinds[$0] == .numeric }
            guard n > 0, !columns.isEmpty, columns.count <= 256 else { return nil }
            // One more for a last record without a line break.
            expectedRows = CSVReader.estimateLineBreaks(parser, from: bounds[0], to: bounds[n]) + 1
            capacity = expectedRows + expectedRows / 4 + 1_024
        }
    }

    /// A layout, the arrays' memory, and where each chunk's rows begin there, which the chunks
    /// learn in turn while they are parsed (`targets`).
    final class ColumnPlacement: @unchecked Sendable {
        let layout: ColumnLayout
        let starts: [UnsafeMutablePointer<Double>]
        /// The chunks placed (those of the bounds the parse began with).
        let chunkCount: Int
        private let slot: [Int: Int]
        /// The line breaks before each chunk's first byte; -1 until the chunk before has
        /// counted its own.
        private let linesBefore: UnsafeMutablePointer<Atomic<Int>>

        init(layout: ColumnLayout, starts: [UnsafeMutablePointer<Double>], chunkCount: Int) {
            self.layout = layout
            self.starts = starts
            self.chunkCount = max(chunkCount, 0)
            slot = Dictionary(uniqueKeysWithValues: layout.columns.enumerated().map { ($1, $0) })
            linesBefore = .allocate(capacity: self.chunkCount + 1)
            for i in 0...self.chunkCount { (linesBefore + i).initialize(to: Atomic(i == 0 ? 0 : -1)) }
        }

        deinit {
            linesBefore.deinitialize(count: chunkCount + 1)
            linesBefore.deallocate()
        }

        /// For each of the input's columns, nil or the memory chunk `chunk` fills, given its
        /// line breaks (`lines`; nil for the last chunk, which gets all the room left). Waits
        /// for the chunk before to have counted its own, then tells the chunk after. Called
        /// once for each chunk, under `ParallelRows.mapInOrder` (the chunk before has started).
        func targets(chunk: Int, lines: Int?, columnCount: Int) -> [UnsafeMutableBufferPointer<Double>?] {
            guard chunk < chunkCount else { return [] }
            let row = rowStart(chunk: chunk)
            if let lines { linesBefore[chunk + 1].store(row + lines, ordering: .releasing) }
            let room = lines ?? layout.capacity - row
            guard room >= 0, row + room <= layout.capacity else { return [] }
            var targets = [UnsafeMutableBufferPointer<Double>?](repeating: nil, count: columnCount)
            for (k, column) in layout.columns.enumerated() where column < columnCount {
                targets[column] = UnsafeMutableBufferPointer(start: starts[k] + row, count: room)
            }
            return targets
        }

        /// The first row of chunk `chunk`'s part of the arrays, once the chunk before it has
        /// told: a short wait, as counting a chunk is much quicker than parsing one.
        private func rowStart(chunk: Int) -> Int {
            var spins = 0
            while true {
                let row = linesBefore[chunk].load(ordering: .acquiring)
                if row >= 0 { return row }
                spins += 1
                if spins > 100 { sched_yield() }
            }
        }

        /// When every chunk read `column` as numbers into its place (none outgrew it, none
        /// was parsed again from another start, the column stayed numeric), moves each chunk's
        /// rows down to follow the rows before it and returns whether all are finite; nil
        /// when the column must be merged instead.
        func closeUp(column: Int, chunks: [CSVChunk]) -> Bool? {
            guard let k = slot[column], chunks.count == chunkCount else { return nil }
            for (i, chunk) in chunks.enumerated() {
                let numbers = chunk.builders[column].numbers
                guard chunk.builders[column].kind == .numeric, numbers.isExternal, numbers.count == chunk.rows,
                      numbers.base == starts[k] + linesBefore[i].load(ordering: .acquiring) else { return nil }
            }
            var row = 0
            var finite = true
            for chunk in chunks {
                let numbers = chunk.builders[column].numbers
                if numbers.base != starts[k] + row {
                    // Down only (a chunk has at most as many records as line breaks): memmove.
                    memmove(starts[k] + row, numbers.base, chunk.rows * MemoryLayout<Double>.stride)
                }
                row += chunk.rows
                finite = finite && chunk.builders[column].allFinite
            }
            // The room past the last row: a huge page there may hold nothing else.
            CSVChunkParser.dropPages(from: starts[k] + row, to: starts[k] + layout.capacity)
            return finite
        }
    }

    /// Line feeds in `[from, to)`.
    static func countLineBreaks(_ parser: CSVChunkParser, from: Int, to: Int) -> Int {
        to > from ? glm_count_byte(parser.base + from, to - from, CSVByte.lf) : 0
    }

    /// An upper-leaning guess at the line feeds in `[from, to)`: at the density of the densest
    /// of up to 16 windows of 64 KiB spread evenly over it.
    static func estimateLineBreaks(_ parser: CSVChunkParser, from: Int, to: Int) -> Int {
        let size = to - from
        guard size > 0 else { return 0 }
        let window = min(size, 1 << 16)
        let windows = min(16, size / window)
        var densest = 0
        for k in 0..<windows {
            let start = from + (size - window) / max(windows - 1, 1) * k
            densest = max(densest, countLineBreaks(parser, from: start, to: start + window))
        }
        // size * densest / window without overflow (densest <= window <= 64 Ki).
        return size / window * densest + size % window * densest / window
    }

    // MARK: Merging

    /// Makes every column that is categorical in some chunk categorical in all of them,
    /// and gives codes to the rows read while such a column still looked numeric.
    private static func completeCategoricalColumns(
        _ parser: CSVChunkParser, chunks: [CSVChunk], source: String, names: [String], firstDataLine: Int
    ) throws {
        let columnCount = parser.columnCount
        var upTo = Array(repeating: Array(repeating: 0, count: columnCount), count: chunks.count)
        var anyWork = false
        for column in 0..<columnCount {
            let categorical = chunks.contains { $0.builders[column].kind == .categorical }
            guard categorical else { continue }
            for (i, chunk) in chunks.enumerated() {
                let builder = chunk.builders[column]
                if builder.kind == .numeric {
                    parser.makeCategorical(chunk, column: column)
                    upTo[i][column] = chunk.rows
                } else if builder.firstNonNumericRow > 0 {
                    upTo[i][column] = builder.firstNonNumericRow
                }
                anyWork = anyWork || upTo[i][column] > 0
            }
        }
        guard anyWork else { return }
        let upToRows = upTo
        let failures: [ChunkFailure?] = ParallelRows.map(items: chunks.count, parallel: true) { i in
            do throws(ChunkFailure) {
                try parser.backfill(chunks[i], upTo: upToRows[i])
                return nil
            } catch {
                return error
            }
        }
        var lineBase = firstDataLine
        for (i, chunk) in chunks.enumerated() {
            if let failure = failures[i] {
                throw error(for: failure, lineBase: lineBase, source: source, names: names)
            }
            lineBase += chunk.lines
        }
    }

    /// The columns, and the numeric ones whose values are all finite.
    ///
    /// - Parameter textColumns: columns that stay text even when every value is an R logical.
    private static func assembleColumns(
        chunks: [CSVChunk], kinds: [ColumnKind], rowCount: Int, source: String, names: [String], textColumns: Set<Int> = [],
        placement: ColumnPlacement? = nil, collation: LevelCollation
    ) throws(GLMError) -> ([Column?], finite: Set<Int>) {
        let selected = kinds.indices.filter { kinds[$0] != .skipped }
        typealias Merged = (column: Column?, finite: Bool, placed: Bool, failure: GLMError?)
        let merged: [Merged] = ParallelRows.map(items: selected.count, parallel: rowCount >= 100_000) { k in
            let column = selected[k]
            if let placement, let finite = placement.closeUp(column: column, chunks: chunks) {
                return (nil, finite, true, nil)
            }
            let kind = chunks.first?.builders[column].kind ?? .numeric
            let merged: (Column?, finite: Bool)
            var failure: GLMError?
            if kind == .categorical {
                // nil only past 2^31 - 1 distinct levels in all chunks together.
                do throws(GLMError) {
                    merged = (try mergeCategorical(
                        chunks: chunks, column: column, rowCount: rowCount, allowLogical: !textColumns.contains(column),
                        collation: collation
                    ).map(Column.categorical), false)
                } catch {
                    merged = (nil, false)
                    failure = error
                }
            } else {
                let (numbers, finite) = mergeNumeric(chunks: chunks, column: column, rowCount: rowCount)
                merged = (.numeric(numbers), finite)
            }
            // Free the chunks' copy at once, so that peak memory is about one copy of the data.
            for chunk in chunks {
                chunk.builders[column].numbers.shrinkToMinimum()
                chunk.builders[column].codes.shrinkToMinimum()
            }
            return (merged.0, merged.finite, false, failure)
        }
        var columns = [Column?](repeating: nil, count: kinds.count)
        var finite: Set<Int> = []
        for (column, result) in zip(selected, merged) {
            if let failure = result.failure { throw failure }
            columns[column] = result.column
            if result.finite { finite.insert(column) }
            // nil only past 2^31 - 1 distinct levels, unless the column is in place.
            if result.column == nil, !result.placed {
                throw error(for: .tooManyLevels(column: column), lineBase: 0, source: source, names: names)
            }
        }
        return (columns, finite)
    }

    /// The column's values from every chunk, and whether all are finite (found while copying).
    private static func mergeNumeric(chunks: [CSVChunk], column: Int, rowCount: Int) -> ([Double], finite: Bool) {
        var finite = true
        let numbers = [Double](unsafeUninitializedCapacity: rowCount) { buffer, initialized in
            guard let destination = buffer.baseAddress else { return }
            FreshMemory.prepare(destination, count: rowCount)
            var offset = 0
            for chunk in chunks {
                let numbers = chunk.builders[column].numbers
                let n = min(numbers.count, chunk.rows, rowCount - offset)
                if glm_copy_checking_finite(numbers.base, destination + offset, n) == 0 { finite = false }
                // Never expected: a builder shorter than its chunk. Pad rather than leave
                // memory uninitialised.
                let missing = min(chunk.rows - n, rowCount - offset - n)
                if missing > 0 {
                    (destination + offset + n).initialize(repeating: .nan, count: missing)
                    finite = false
                }
                offset += n + max(0, missing)
            }
            initialized = offset
        }
        return (numbers, finite)
    }

    private static func mergeCategorical(
        chunks: [CSVChunk], column: Int, rowCount: Int, allowLogical: Bool = true, collation: LevelCollation
    ) throws(GLMError) -> CategoricalColumn? {
        // Global level indices (in order of first appearance) for each chunk's levels.
        var merged = LevelTable()
        defer { merged.release() }
        var localToGlobal: [[Int32]] = []
        for chunk in chunks {
            let levels = chunk.builders[column].levels
            var map: [Int32] = []
            map.reserveCapacity(levels.count)
            for l in 0..<levels.count {
                guard case let .found(index) = merged.index(of: levels.start(of: l), length: levels.length(of: l),
                                                            validate: false) else { return nil }
                map.append(index)
            }
            localToGlobal.append(map)
        }
        let levelCount = merged.count
        let isLogical = allowLogical && (0..<levelCount).allSatisfy { g in
            LogicalToken.value(merged.bytes(of: g)) != nil
                || isBlankField(merged.start(of: g), merged.length(of: g))
        }
        var finalCode = [Int32](repeating: -1, count: levelCount)
        let levels: [String]
        if isLogical {
            for g in 0..<levelCount { finalCode[g] = LogicalToken.value(merged.bytes(of: g)) ?? -1 }
            levels = ["FALSE", "TRUE"]
        } else if collation == .bytes {
            let order = (0..<levelCount).sorted { bytesPrecede(merged.bytes(of: $0), merged.bytes(of: $1)) }
            for (rank, g) in order.enumerated() { finalCode[g] = Int32(truncatingIfNeeded: rank) }
            levels = order.map { String(decoding: merged.bytes(of: $0), as: UTF8.self) }
        } else {
            // The distinct levels once, in order of first appearance (R's order() keeps
            // levels that collate equal in that order).
            let appearing = (0..<levelCount).map { String(decoding: merged.bytes(of: $0), as: UTF8.self) }
            let order = try collation.order(appearing)
            for (rank, g) in order.enumerated() { finalCode[g] = Int32(truncatingIfNeeded: rank) }
            levels = order.map { appearing[$0] }
        }

        var firstNonNumericRow: Int?
        var rowBase = 0
        let codes = [Int32](unsafeUninitializedCapacity: rowCount) { buffer, initialized in
            if let start = buffer.baseAddress { FreshMemory.prepare(start, count: rowCount) }
            var offset = 0
            for (i, chunk) in chunks.enumerated() {
                let builder = chunk.builders[column]
                if firstNonNumericRow == nil, builder.firstNonNumericRow >= 0 {
                    firstNonNumericRow = rowBase + builder.firstNonNumericRow
                }
                rowBase += chunk.rows
                let map = localToGlobal[i]
                let n = min(chunk.rows, rowCount - offset)
                for r in 0..<n {
                    let local = r < builder.codes.count ? builder.codes.base[r] : -1
                    // Local codes index `map`, whose entries index `finalCode`, by construction.
                    let code: Int32 = local >= 0 && Int(local) < map.count ? finalCode[Int(map[Int(local)])] : -1
                    buffer.initializeElement(at: offset + r, to: code)
                }
                offset += n
            }
            initialized = offset
        }
        return CategoricalColumn(codes: codes, levels: levels, isLogical: isLogical,
                                 firstNonNumericRow: firstNonNumericRow)
    }

    private static func assembleRecordLines(chunks: [CSVChunk], firstDataLine: Int, rowCount: Int) -> [Int]? {
        var regular = true
        var lineBase = firstDataLine
        var rowBase = 0
        for chunk in chunks {
            // (A chunk of blank lines only has no record whose line could be off.)
            if chunk.rows > 0, chunk.recordLines != nil || lineBase != rowBase + 2 { regular = false }
            lineBase += chunk.lines
            rowBase += chunk.rows
        }
        if regular { return nil }
        var lines: [Int] = []
        lines.reserveCapacity(rowCount)
        lineBase = firstDataLine
        for chunk in chunks {
            for r in 0..<chunk.rows {
                if let relative = chunk.recordLines, r < relative.count {
                    lines.append(lineBase + relative.base[r])
                } else {
                    lines.append(lineBase + r)
                }
            }
            lineBase += chunk.lines
        }
        return lines
    }

    // MARK: Errors

    private static func error(for failure: ChunkFailure, lineBase: Int, source: String, names: [String]) -> GLMError {
        switch failure {
        case let .raggedRow(line, found):
            return .raggedRow(source: source, line: lineBase + line, expected: names.count, found: found)
        case let .unterminatedQuote(line):
            return .unterminatedQuote(source: source, line: lineBase + line)
        case let .invalidUTF8(line):
            return .invalidUTF8(source: source, line: lineBase + line)
        case let .tooManyLevels(column):
            let name = column < names.count ? names[column] : "\(column + 1)"
            return .unreadableInput(source: source,
                                    reason: "column '\(name)' has more than \(Int32.max) distinct values")
        }
    }
}
