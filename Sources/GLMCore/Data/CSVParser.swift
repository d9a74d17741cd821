import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The byte-level CSV machinery behind `CSVReader`: a tokenizer for RFC 4180 fields, column
// builders that type a column as R's `read.csv` does while it is read, and a parser that
// turns a byte range of complete records (a "chunk") into one builder per column. Chunks
// are independent, so `CSVReader` can parse several at once and merge them in order.

enum CSVByte {
    static let comma: UInt8 = 0x2C
    static let quote: UInt8 = 0x22
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09

    /// A byte that ends an unquoted field.
    @inline(__always)
    static func isDelimiter(_ b: UInt8) -> Bool {
        b == comma || b == lf || b == cr
    }

    /// The offset of the first delimiter among the 8 bytes at `p`, or 8 when there is none
    /// (SWAR: each byte is compared with `,`, LF and CR at once). The classic zero-byte test
    /// can flag bytes above a true match, never below one, so the lowest flag is exact.
    @inline(__always)
    static func firstDelimiter(in8 p: UnsafePointer<UInt8>) -> Int {
        let word = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
        let ones: UInt64 = 0x0101_0101_0101_0101
        @inline(__always) func zeroBytes(_ v: UInt64) -> UInt64 {
            (v &- ones) & ~v & 0x8080_8080_8080_8080
        }
        let found = zeroBytes(word ^ (ones &* UInt64(comma))) | zeroBytes(word ^ (ones &* UInt64(lf)))
            | zeroBytes(word ^ (ones &* UInt64(cr)))
        return found.trailingZeroBitCount >> 3
    }
}

/// The missing-value tokens, compared byte for byte with each field (after unquoting).
///
/// A few tokens are compared one by one; many (`--na` given thousands of times) through a
/// hash table, so that reading stays linear in the input and the tokens.
final class NATokenSet: @unchecked Sendable {
    private struct Token {
        var offset: Int
        var length: Int
        /// fast_float reads the whole token as a number (other than NaN), so the parser's
        /// numeric fast path must compare such numbers against it.
        var isNumeric: Bool
    }

    private let bytes: UnsafeMutablePointer<UInt8>
    private let tokens: UnsafeMutablePointer<Token>
    private let tokenCount: Int
    /// Bit `n` is set when some numeric token other than a NaN spelling has `n` bytes
    /// (tokens of 64 bytes or more set bit 63), so most numbers are cleared by one test.
    let numericLengths: UInt64
    /// Bit `n` is set when some token has `n` bytes (63: 63 or more).
    private let lengths: UInt64
    /// Above this many tokens, the hash table is used.
    private static let linearLimit = 8
    /// Open addressing: token indices (-1 empty), a power of two in size; nil for few tokens.
    private let table: UnsafeMutablePointer<Int32>?
    private let tableMask: Int

    init(_ strings: [String]) {
        var unique: [[UInt8]] = []
        var seen: Set<[UInt8]> = []
        for string in strings {
            let utf8 = Array(string.utf8)
            if seen.insert(utf8).inserted { unique.append(utf8) }
        }
        let total = unique.reduce(0) { $0 + $1.count }
        let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, total))
        let tokens = UnsafeMutablePointer<Token>.allocate(capacity: max(1, unique.count))
        var offset = 0
        var numericLengths: UInt64 = 0
        var lengths: UInt64 = 0
        for (i, token) in unique.enumerated() {
            token.withUnsafeBufferPointer { buffer in
                if let source = buffer.baseAddress { (bytes + offset).initialize(from: source, count: buffer.count) }
            }
            var isNumeric = false
            if !token.isEmpty {
                var value = 0.0
                let consumed = FastFloat.parsePrefix(bytes + offset, bytes + offset + token.count, &value)
                // A token read as NaN gives NaN either way: no need to compare.
                isNumeric = consumed == token.count && !value.isNaN
            }
            if isNumeric { numericLengths |= 1 << UInt64(min(token.count, 63)) }
            lengths |= 1 << UInt64(min(token.count, 63))
            (tokens + i).initialize(to: Token(offset: offset, length: token.count, isNumeric: isNumeric))
            offset += token.count
        }
        self.bytes = bytes
        self.tokens = tokens
        tokenCount = unique.count
        self.numericLengths = numericLengths
        self.lengths = lengths
        if unique.count > NATokenSet.linearLimit {
            var size = 16
            while size < 2 * unique.count { size *= 2 }
            let table = UnsafeMutablePointer<Int32>.allocate(capacity: size)
            table.initialize(repeating: -1, count: size)
            for i in 0..<unique.count {
                var slot = Int(truncatingIfNeeded: NATokenSet.hash(bytes + tokens[i].offset, tokens[i].length)) & (size - 1)
                while table[slot] >= 0 { slot = (slot + 1) & (size - 1) }
                table[slot] = Int32(truncatingIfNeeded: i)
            }
            self.table = table
            tableMask = size - 1
        } else {
            table = nil
            tableMask = 0
        }
    }

    deinit {
        bytes.deallocate()
        tokens.deallocate()
        table?.deallocate()
    }

    /// FNV-1a of the bytes.
    private static func hash(_ start: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in 0..<length { h = (h ^ UInt64(start[i])) &* 0x0000_0100_0000_01B3 }
        return h
    }

    /// The index of the token equal to `[start, start + length)`, or -1.
    @inline(__always)
    private func find(_ start: UnsafePointer<UInt8>, _ length: Int) -> Int {
        guard lengths & (1 << UInt64(min(length, 63))) != 0 else { return -1 }
        guard let table else {
            var i = 0
            while i < tokenCount {
                let token = tokens[i]
                if token.length == length, length == 0 || memcmp(bytes + token.offset, start, length) == 0 { return i }
                i += 1
            }
            return -1
        }
        return findHashed(start, length, table: table)
    }

    @inline(never)
    private func findHashed(_ start: UnsafePointer<UInt8>, _ length: Int, table: UnsafeMutablePointer<Int32>) -> Int {
        var slot = Int(truncatingIfNeeded: NATokenSet.hash(start, length)) & tableMask
        while true {
            let index = Int(table[slot])
            if index < 0 { return -1 }
            let token = tokens[index]
            if token.length == length, length == 0 || memcmp(bytes + token.offset, start, length) == 0 { return index }
            slot = (slot + 1) & tableMask
        }
    }

    /// True when `[start, start + length)` equals one of the tokens.
    @inline(__always)
    func matches(_ start: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        find(start, length) >= 0
    }

    /// As `matches`, for a field of `length` bytes that fast_float read whole as `value`:
    /// true when the field is a token that is a number (say `-999`).
    @inline(__always)
    func matchesNumber(_ start: UnsafePointer<UInt8>, _ length: Int, value: Double) -> Bool {
        guard numericLengths & (1 << UInt64(min(length, 63))) != 0, !value.isNaN else { return false }
        return matchesNumericToken(start, length)
    }

    @inline(never)
    private func matchesNumericToken(_ start: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        let index = find(start, length)
        return index >= 0 && tokens[index].isNumeric
    }
}

/// The spellings R's `type.convert` (so `read.csv`) reads as logical: `TRUE`, `T`,
/// `FALSE`, `F`. Not `true`, `True`, `false` or `False`, which `as.logical` accepts but
/// `read.csv` keeps as text (R's scan.c `ruleout_types`; checked with R 4.2.2:
/// `type.convert(c("true", "false"), as.is = TRUE)` is character).
enum LogicalToken {
    /// 1 for a spelling of true, 0 for false, nil for anything else.
    static func value(_ field: UnsafeBufferPointer<UInt8>) -> Int32? {
        switch field.count {
        case 1:
            if field[0] == UInt8(ascii: "T") { return 1 }
            if field[0] == UInt8(ascii: "F") { return 0 }
        case 4:
            if matches(field, "TRUE") { return 1 }
        case 5:
            if matches(field, "FALSE") { return 0 }
        default:
            break
        }
        return nil
    }

    private static func matches(_ field: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        guard field.count == word.utf8CodeUnitCount else { return false }
        let w = word.utf8Start
        for i in 0..<field.count where field[i] != w[i] { return false }
        return true
    }
}

/// True when the field is empty or only white space: R treats it as missing in a numeric
/// or logical column (but keeps it as a level of a text column).
@inline(__always)
func isBlankField(_ start: UnsafePointer<UInt8>, _ length: Int) -> Bool {
    var i = 0
    while i < length {
        if !FastFloat.isSpace(start[i]) { return false }
        i += 1
    }
    return true
}

/// Where one field lies in the buffer.
struct RawField {
    /// First content byte; when `escaped`, the opening quote.
    var start: UnsafePointer<UInt8>
    /// One past the last content byte; when `escaped`, equal to `stop`.
    var end: UnsafePointer<UInt8>
    /// The delimiter after the field (`,`, LF or CR) or the end of the buffer.
    var stop: UnsafePointer<UInt8>
    /// The content is not a plain byte range (doubled quotes, or text after the closing
    /// quote) and must be rebuilt by `CSVTokenizer.content`.
    var escaped: Bool
}

/// An error found while parsing a chunk; lines are counted from the chunk's first line (0).
enum ChunkFailure: Error, Equatable {
    case raggedRow(line: Int, found: Int)
    case unterminatedQuote(line: Int)
    case invalidUTF8(line: Int)
    case tooManyLevels(column: Int)
}

/// Field scanning, shared by the header, the records and the back-fill pass.
struct CSVTokenizer {
    let end: UnsafePointer<UInt8>

    /// Reads the field that starts at `p`.
    ///
    /// A field is quoted when its first byte other than spaces and tabs is `"`; the spaces
    /// before the opening quote and after the closing one are not part of it, `""` inside
    /// stands for one `"`, and any other bytes after the closing quote are kept (a lenient
    /// reading of malformed input). Elsewhere a quote is an ordinary byte.
    ///
    /// - Parameter line: advanced by the line breaks inside a quoted field.
    @inline(__always)
    func scanField(_ p: UnsafePointer<UInt8>, line: inout Int) throws(ChunkFailure) -> RawField {
        var q = p
        if q < end, q.pointee == CSVByte.space || q.pointee == CSVByte.tab {
            var r = q
            while r < end, r.pointee == CSVByte.space || r.pointee == CSVByte.tab { r += 1 }
            if r < end, r.pointee == CSVByte.quote { q = r }
        }
        if q < end, q.pointee == CSVByte.quote {
            return try scanQuoted(q, line: &line)
        }
        var r = p
        while end - r >= 8 {
            let offset = CSVByte.firstDelimiter(in8: r)
            r += offset
            if offset < 8 { return RawField(start: p, end: r, stop: r, escaped: false) }
        }
        while r < end, !CSVByte.isDelimiter(r.pointee) { r += 1 }
        return RawField(start: p, end: r, stop: r, escaped: false)
    }

    /// Steps over the delimiter at `p` that ends a field: true when a comma says another field
    /// of the same record follows; false at a line break (counted in `line`, CRLF as one) or at
    /// the end of the buffer.
    @inline(__always)
    func stepOverDelimiter(_ p: inout UnsafePointer<UInt8>, line: inout Int) -> Bool {
        guard p < end else { return false }
        let d = p.pointee
        p += 1
        if d == CSVByte.comma { return true }
        if d == CSVByte.cr, p < end, p.pointee == CSVByte.lf { p += 1 }
        line += 1
        return false
    }

    /// Steps over a blank line at `p` (a lone LF, CR or CRLF): true when there was one. Blank
    /// lines are not records; the parser, the back-fill pass and `stepOverRecord` skip them here.
    @inline(__always)
    func skipBlankLine(_ p: inout UnsafePointer<UInt8>, line: inout Int) -> Bool {
        guard p < end else { return false }
        let first = p.pointee
        guard first == CSVByte.lf || first == CSVByte.cr else { return false }
        p += 1
        if first == CSVByte.cr, p < end, p.pointee == CSVByte.lf { p += 1 }
        line += 1
        return true
    }

    /// What `stepOverRecord` found at its start.
    enum RecordStep: Equatable {
        /// A blank line, or a record with its line end (or running to the input's end).
        case blankLine, record
        /// The bytes end before the record or its line end does, and more may follow.
        case incomplete
    }

    /// Steps over the blank line or the record at `p`, with its line end, reading fields
    /// exactly as the parser does (`scanField`, `stepOverDelimiter`, `skipBlankLine`): the
    /// record boundaries of a streamed input (`ChunkedInput`) are the in-memory reader's.
    ///
    /// - Parameter inputEnds: whether `end` is the end of the whole input. When it is not,
    ///   a record whose field, quote or line end reaches `end` is `.incomplete` (a CR there
    ///   may be the first half of a CRLF, a quote the first of a doubled one), and `p` and
    ///   `line` are left as they were. At the input's end an unterminated quote runs to it
    ///   (the parser reports it).
    func stepOverRecord(_ p: inout UnsafePointer<UInt8>, line: inout Int, inputEnds: Bool) -> RecordStep {
        guard p < end else { return inputEnds ? .blankLine : .incomplete }
        if p.pointee == CSVByte.cr, p + 1 == end, !inputEnds { return .incomplete }
        if skipBlankLine(&p, line: &line) { return .blankLine }
        // Fast path: with no quote before the first line end, every field is unquoted and the
        // record ends at that line end (what the field-by-field reading below finds too),
        // found sixteen bytes at a time.
        var r = glm_find_line_end_or_quote(p, end) ?? end
        if r < end, r.pointee != CSVByte.quote {
            if r.pointee == CSVByte.cr, r + 1 == end, !inputEnds { return .incomplete }
            _ = stepOverDelimiter(&r, line: &line)
            p = r
            return .record
        }
        var q = p
        var lines = line
        while true {
            let field: RawField
            do {
                field = try scanField(q, line: &lines)
            } catch {
                guard inputEnds else { return .incomplete }
                p = end
                line = lines
                return .record
            }
            q = field.stop
            if q == end {
                guard inputEnds else { return .incomplete }
                break
            }
            if q.pointee == CSVByte.cr, q + 1 == end, !inputEnds { return .incomplete }
            if stepOverDelimiter(&q, line: &lines) {
                if q == end, !inputEnds { return .incomplete }
                continue
            }
            break
        }
        p = q
        line = lines
        return .record
    }

    @inline(never)
    private func scanQuoted(_ open: UnsafePointer<UInt8>, line: inout Int) throws(ChunkFailure) -> RawField {
        let startLine = line
        var escaped = false
        var r = open + 1
        while true {
            guard r < end else { throw .unterminatedQuote(line: startLine) }
            let b = r.pointee
            if b == CSVByte.quote {
                if r + 1 < end, r[1] == CSVByte.quote {
                    escaped = true
                    r += 2
                    continue
                }
                break
            }
            if b == CSVByte.lf {
                line += 1
            } else if b == CSVByte.cr, !(r + 1 < end && r[1] == CSVByte.lf) {
                line += 1
            }
            r += 1
        }
        let close = r
        var s = close + 1
        while s < end, s.pointee == CSVByte.space || s.pointee == CSVByte.tab { s += 1 }
        if s == end || CSVByte.isDelimiter(s.pointee) {
            if escaped { return RawField(start: open, end: s, stop: s, escaped: true) }
            return RawField(start: open + 1, end: close, stop: s, escaped: false)
        }
        while s < end, !CSVByte.isDelimiter(s.pointee) { s += 1 }
        return RawField(start: open, end: s, stop: s, escaped: true)
    }

    /// The content of `field`: its own bytes, or for an escaped field the unescaped bytes
    /// rebuilt in `scratch` (valid until `scratch` is next used).
    @inline(__always)
    static func content(
        _ field: RawField, scratch: inout RawBuffer<UInt8>
    ) -> (start: UnsafePointer<UInt8>, count: Int) {
        if !field.escaped { return (field.start, field.end - field.start) }
        return unescape(field, scratch: &scratch)
    }

    @inline(never)
    private static func unescape(
        _ field: RawField, scratch: inout RawBuffer<UInt8>
    ) -> (start: UnsafePointer<UInt8>, count: Int) {
        scratch.removeAll()
        let stop = field.stop
        var r = field.start + 1
        while r < stop {
            let b = r.pointee
            if b == CSVByte.quote {
                if r + 1 < stop, r[1] == CSVByte.quote {
                    scratch.append(CSVByte.quote)
                    r += 2
                    continue
                }
                r += 1
                break
            }
            scratch.append(b)
            r += 1
        }
        var s = r
        while s < stop, s.pointee == CSVByte.space || s.pointee == CSVByte.tab { s += 1 }
        if s < stop { scratch.append(r, count: stop - r) }
        return (UnsafePointer(scratch.base), scratch.count)
    }
}

enum ColumnKind: UInt8 {
    /// Not selected: only tokenised.
    case skipped
    /// Every non-missing field so far is a number.
    case numeric
    /// Some field was neither a number nor missing: codes into a level table.
    case categorical
}

/// One column of one chunk while it is being read.
///
/// A selected column starts numeric. At its first field that is neither a number nor
/// missing it becomes categorical: from that row on fields are interned; the rows before
/// it get their codes in a later pass over the bytes (`CSVChunkParser.backfill`), since
/// "1.0" and "1" must stay distinct levels.
struct ColumnBuilder {
    var kind: ColumnKind
    var numbers: RawBuffer<Double>
    var codes: RawBuffer<Int32>
    var levels: LevelTable
    /// The chunk row at which the column became categorical (-1: never).
    var firstNonNumericRow: Int
    /// No number so far is missing, infinite or NaN (the four-field path reads only plain
    /// decimals, always finite; the other paths check).
    var allFinite = true

    /// - Parameter target: where a numeric column's values go (until it is full), instead of
    ///   memory of the builder's own.
    init(kind: ColumnKind, capacity: Int, column: Int, target: UnsafeMutableBufferPointer<Double>? = nil) {
        self.kind = kind
        if kind == .numeric, let target, let start = target.baseAddress {
            numbers = RawBuffer(external: start, capacity: target.count)
        } else {
            numbers = RawBuffer(capacity: kind == .numeric ? capacity : 1, stagger: column)
        }
        codes = RawBuffer(capacity: 1, stagger: column)
        levels = LevelTable()
        firstNonNumericRow = -1
    }

    func release() {
        numbers.release()
        codes.release()
        levels.release()
    }
}

/// The parse of one byte range of records: a builder per column, the rows and lines read,
/// and the first error, if any (which stops the chunk).
final class CSVChunk: @unchecked Sendable {
    /// Offset of the chunk's first byte in the input.
    let start: Int
    let columnCount: Int
    let builders: UnsafeMutablePointer<ColumnBuilder>
    /// Offset just past the last record read: where the next chunk must begin.
    var stop = 0
    var rows = 0
    /// Line breaks between `start` and `stop`.
    var lines = 0
    var failure: ChunkFailure?
    /// The line (from the chunk's first, 0) of each record, kept only once some record is
    /// not on line `row` (a quoted line break or a skipped blank line came before it).
    var recordLines: RawBuffer<Int>?

    /// - Parameter targets: for each column, nil or where its numbers go (see `ColumnBuilder`).
    init(start: Int, kinds: [ColumnKind], capacity: Int, targets: [UnsafeMutableBufferPointer<Double>?] = []) {
        self.start = start
        columnCount = kinds.count
        builders = UnsafeMutablePointer<ColumnBuilder>.allocate(capacity: max(1, kinds.count))
        for (i, kind) in kinds.enumerated() {
            let target = i < targets.count ? targets[i] : nil
            (builders + i).initialize(to: ColumnBuilder(kind: kind, capacity: capacity, column: i, target: target))
        }
    }

    deinit {
        for i in 0..<columnCount { builders[i].release() }
        builders.deinitialize(count: columnCount)
        builders.deallocate()
        recordLines?.release()
    }
}

/// The numeric columns a record starts with (short of its last column, whose field ends the
/// line): the parser writes their fields by row straight into the builders' memory, and sets
/// the builders' counts only when something else is to append to them (`settle`).
struct LeadingNumericColumns {
    /// Each column's memory (`ColumnBuilder.numbers.base`).
    let columns: UnsafeMutablePointer<UnsafeMutablePointer<Double>?>
    private let columnCount: Int
    /// Columns 0..<count are numeric.
    private(set) var count = 0
    /// Rows every one of them has room for.
    private(set) var capacity = 0

    init(columnCount: Int) {
        self.columnCount = columnCount
        columns = .allocate(capacity: max(1, columnCount))
        columns.initialize(repeating: nil, count: max(1, columnCount))
    }

    /// Looks at the builders again (after appends that may have moved their memory or made a
    /// column categorical).
    mutating func refresh(_ builders: UnsafeMutablePointer<ColumnBuilder>) {
        count = 0
        capacity = Int.max
        while count < columnCount - 1, builders[count].kind == .numeric {
            columns[count] = builders[count].numbers.base
            capacity = min(capacity, builders[count].numbers.capacity)
            count += 1
        }
        if count == 0 { capacity = 0 }
    }

    /// Sets the builders' counts to `row`, and one more for the first `written` columns (the
    /// ones this record's fields were written to).
    func settle(_ builders: UnsafeMutablePointer<ColumnBuilder>, row: Int, written: Int) {
        for column in 0..<count {
            builders[column].numbers.assumeWritten(count: column < written ? row + 1 : row)
        }
    }

    func release() {
        columns.deinitialize(count: max(1, columnCount))
        columns.deallocate()
    }
}

/// Parses records from a shared read-only buffer; safe to use from several threads at once.
struct CSVChunkParser: @unchecked Sendable {
    let base: UnsafePointer<UInt8>
    let count: Int
    let kinds: [ColumnKind]
    let na: NATokenSet
    /// For a map of a file: drop the pages of a chunk's bytes behind the parse, this many bytes
    /// at a time (they are read back from the file if touched again). Nil for other buffers,
    /// whose dropped pages would read back as zeros.
    let pageReleaseBytes: Int?

    var columnCount: Int { kinds.count }
    private var end: UnsafePointer<UInt8> { base + count }

    /// Parses the records that start in `[start, limit)`, the last of which may run past
    /// `limit`. `start` must be the start of a line that is not inside a quoted field for
    /// the result to mean anything; `CSVReader` checks that afterwards by comparing the
    /// `stop` of the chunk before with this `start`.
    func parse(
        start: Int, limit: Int, capacityHint: Int, targets: [UnsafeMutableBufferPointer<Double>?] = []
    ) -> CSVChunk {
        let chunk = CSVChunk(start: start, kinds: kinds, capacity: capacityHint, targets: targets)
        let tokenizer = CSVTokenizer(end: end)
        let builders = chunk.builders
        let ncols = columnCount
        let na = self.na
        let numericNALengths = na.numericLengths
        let end = self.end
        let limitPointer = base + min(max(limit, start), count)
        var p = base + start
        var line = 0
        var row = 0
        var scratch = RawBuffer<UInt8>(capacity: 256)
        defer { scratch.release() }
        var recordLines: RawBuffer<Int>?
        // Whole pages of [start, limit) behind the parse may be dropped (a step at a time, the
        // rest at the end; the chunk's own first and last partial pages stay).
        var released = base + start
        let releaseStep = pageReleaseBytes ?? Int.max
        // The record's leading numeric columns are written by row, their counts set later.
        var leading = LeadingNumericColumns(columnCount: ncols)
        defer { leading.release() }
        if numericNALengths == 0 { leading.refresh(builders) }
        do throws(ChunkFailure) {
            while p < limitPointer {
                if p - released >= releaseStep {
                    CSVChunkParser.dropPages(from: released, to: p)
                    released = p
                }
                if tokenizer.skipBlankLine(&p, line: &line) { continue }
                let recordLine = line
                var col = 0
                // Whether this record appends to the leading columns (their counts must be
                // right first) and may change their kinds or memory (look at them again after).
                var appendsToLeading = false
                if leading.count > 0 {
                    if row < leading.capacity {
                        p = CSVChunkParser.leadingRun(from: p, end: end, leading: leading, builders: builders, row: row, column: &col)
                    }
                    if col < leading.count {
                        leading.settle(builders, row: row, written: col)
                        appendsToLeading = true
                    }
                }
                while true {
                    if col < ncols {
                        let b = builders + col
                        let kind = b.pointee.kind
                        if kind == .numeric {
                            // Fast path: fast_float reads the number where the field starts
                            // and the byte after it is the delimiter.
                            var value = 0.0
                            let n = FastFloat.parsePrefix(p, end, &value)
                            let q = p + n
                            if n > 0, q == end || CSVByte.isDelimiter(q.pointee) {
                                // The mask test first, from a local: most inputs have no numeric
                                // missing-value token, and the token set (a class) stays untouched.
                                if numericNALengths != 0, na.matchesNumber(p, n, value: value) { value = .nan }
                                if !value.isFinite { b.pointee.allFinite = false }
                                b.pointee.numbers.append(value)
                                p = q
                            } else {
                                let fieldLine = line
                                let field = try tokenizer.scanField(p, line: &line)
                                let content = CSVTokenizer.content(field, scratch: &scratch)
                                try addNumericSlow(b, content.start, content.count, row: row, line: fieldLine, column: col)
                                p = field.stop
                            }
                        } else if kind == .categorical {
                            let fieldLine = line
                            let field = try tokenizer.scanField(p, line: &line)
                            let content = CSVTokenizer.content(field, scratch: &scratch)
                            try addCategorical(b, content.start, content.count, line: fieldLine, column: col)
                            p = field.stop
                        } else {
                            p = try tokenizer.scanField(p, line: &line).stop
                        }
                    } else {
                        p = try tokenizer.scanField(p, line: &line).stop
                    }
                    col += 1
                    if tokenizer.stepOverDelimiter(&p, line: &line) { continue }
                    break
                }
                if col != ncols { throw .raggedRow(line: recordLine, found: col) }
                if recordLines == nil, recordLine != row {
                    var lines = RawBuffer<Int>(capacity: max(capacityHint, row + 1))
                    for r in 0..<row { lines.append(r) }
                    recordLines = lines
                }
                recordLines?.append(recordLine)
                row += 1
                if appendsToLeading { leading.refresh(builders) }
            }
        } catch {
            chunk.failure = error
        }
        if pageReleaseBytes != nil { CSVChunkParser.dropPages(from: released, to: min(p, limitPointer)) }
        // Looked at again first: a record that failed may have made a leading column
        // categorical, or moved its memory.
        leading.refresh(builders)
        leading.settle(builders, row: row, written: 0)
        chunk.recordLines = recordLines
        chunk.stop = p - base
        chunk.rows = row
        chunk.lines = line
        return chunk
    }

    /// Reads the leading numeric columns' fields from `column` on while each is a plain number
    /// followed by a comma, writing them at `row`, and returns where the next field starts.
    /// Nearly every field of a numeric table goes through here: four at a time in C where the
    /// CPU can, else (and for a field the C loop does not take) by fast_float. Anything else
    /// (text, a missing value, quotes) is left to the general loop.
    @inline(never)
    static func leadingRun(
        from start: UnsafePointer<UInt8>, end: UnsafePointer<UInt8>, leading: LeadingNumericColumns,
        builders: UnsafeMutablePointer<ColumnBuilder>, row: Int, column: inout Int
    ) -> UnsafePointer<UInt8> {
        var p = start
        var col = column
        let count = leading.count
        while true {
            var reached = col
            p += glm_parse_decimal_record(p, end, leading.columns, row, col, count, &reached)
            col = reached
            guard col < count, let target = leading.columns[col] else { break }
            var value = 0.0
            let n = FastFloat.parsePrefix(p, end, &value)
            let q = p + n
            guard n > 0, q < end, q.pointee == CSVByte.comma else { break }
            if !value.isFinite { builders[col].allFinite = false }
            target[row] = value
            p = q + 1
            col += 1
        }
        column = col
        return p
    }

    /// Drops the whole pages between `from` and `to` (their first and last partial pages
    /// stay: the chunk next door may be reading them). A file map's pages read back from the
    /// file if touched again, other memory's as zeros.
    static func dropPages(from: UnsafeRawPointer, to: UnsafeRawPointer) {
        #if os(Linux)
        let page = UInt(max(1, sysconf(Int32(_SC_PAGESIZE))))
        let first = (UInt(bitPattern: from) + page - 1) & ~(page - 1)
        let last = UInt(bitPattern: to) & ~(page - 1)
        guard last > first, let address = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(address, Int(bitPattern: last - first), MADV_DONTNEED)
        #endif
    }

    /// A field of a column that is still numeric, which fast_float did not read whole.
    @inline(never)
    private func addNumericSlow(
        _ b: UnsafeMutablePointer<ColumnBuilder>, _ start: UnsafePointer<UInt8>, _ length: Int,
        row: Int, line: Int, column: Int
    ) throws(ChunkFailure) {
        if na.matches(start, length) || isBlankField(start, length) {
            b.pointee.allFinite = false
            b.pointee.numbers.append(.nan)
            return
        }
        if let value = FastFloat.parseNumber(start, length) {
            if !value.isFinite { b.pointee.allFinite = false }
            b.pointee.numbers.append(value)
            return
        }
        // The first text: the column becomes categorical. Rows before this one are given
        // their codes by `backfill`.
        b.pointee.kind = .categorical
        b.pointee.firstNonNumericRow = row
        b.pointee.codes.reserve(max(b.pointee.numbers.capacity, row + 1))
        b.pointee.codes.append(repeating: -1, count: row)
        b.pointee.numbers.shrinkToMinimum()
        try addCategorical(b, start, length, line: line, column: column)
    }

    @inline(__always)
    private func addCategorical(
        _ b: UnsafeMutablePointer<ColumnBuilder>, _ start: UnsafePointer<UInt8>, _ length: Int,
        line: Int, column: Int
    ) throws(ChunkFailure) {
        if na.matches(start, length) {
            b.pointee.codes.append(-1)
            return
        }
        switch b.pointee.levels.index(of: start, length: length, validate: true) {
        case let .found(code): b.pointee.codes.append(code)
        case .rejected: throw .invalidUTF8(line: line)
        case .full: throw .tooManyLevels(column: column)
        }
    }

    /// Turns a column that is numeric in this chunk into a categorical one whose codes
    /// all come from `backfill` (used when another chunk found text in the column).
    func makeCategorical(_ chunk: CSVChunk, column: Int) {
        let b = chunk.builders + column
        guard b.pointee.kind == .numeric else { return }
        b.pointee.kind = .categorical
        b.pointee.codes.reserve(chunk.rows)
        b.pointee.codes.append(repeating: -1, count: chunk.rows - b.pointee.codes.count)
        b.pointee.numbers.shrinkToMinimum()
    }

    /// Gives codes to the rows a categorical column read while it was still numeric:
    /// rows `0..<upTo[c]` of column `c` are read again from the bytes and interned.
    ///
    /// These fields are numbers, missing-value tokens or blanks, so no error is expected;
    /// the chunk must have been parsed without failure.
    func backfill(_ chunk: CSVChunk, upTo: [Int]) throws(ChunkFailure) {
        let rowsNeeded = min(upTo.max() ?? 0, chunk.rows)
        guard rowsNeeded > 0 else { return }
        let tokenizer = CSVTokenizer(end: end)
        let end = self.end
        let ncols = min(columnCount, upTo.count)
        var scratch = RawBuffer<UInt8>(capacity: 256)
        defer { scratch.release() }
        var p = base + chunk.start
        var line = 0
        var row = 0
        while row < rowsNeeded, p < end {
            if tokenizer.skipBlankLine(&p, line: &line) { continue }
            var col = 0
            while true {
                let field = try tokenizer.scanField(p, line: &line)
                if col < ncols, row < upTo[col] {
                    let b = chunk.builders + col
                    if row < b.pointee.codes.count {
                        let content = CSVTokenizer.content(field, scratch: &scratch)
                        var code: Int32 = -1
                        if !na.matches(content.start, content.count) {
                            switch b.pointee.levels.index(of: content.start, length: content.count, validate: true) {
                            case let .found(found): code = found
                            case .rejected: throw .invalidUTF8(line: line)
                            case .full: throw .tooManyLevels(column: col)
                            }
                        }
                        b.pointee.codes.base[row] = code
                    }
                }
                p = field.stop
                col += 1
                if tokenizer.stepOverDelimiter(&p, line: &line) { continue }
                break
            }
            row += 1
        }
    }
}
