#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The header of a streamed CSV input.
struct CSVStreamHeader {
    let names: [String]
    /// The header record's bytes as they were (without a byte order mark or line end).
    let raw: [UInt8]
}

/// A batch of consecutive records: each record's bytes exactly as they were in the input
/// (without its line end), the line it starts on, and the unquoted contents of the
/// selected columns' fields.
struct CSVRecordBatch {
    /// The records' bytes, one after another; record `i` is `raw[recordStarts[i]..<recordStarts[i + 1]]`.
    var raw: [UInt8] = []
    var recordStarts: [Int] = [0]
    /// The 1-based line on which each record starts.
    var lines: [Int] = []
    /// The contents of the selected fields, record by record (row-major), one after another.
    var fieldBytes: [UInt8] = []
    /// `fieldBytes` offsets: field `k` of record `i` is
    /// `fieldBytes[fieldStarts[i * width + k]..<fieldStarts[i * width + k + 1]]`.
    var fieldStarts: [Int] = [0]
    /// The number of selected columns.
    let width: Int
    /// A record that could not be read; the batch holds the records before it, and the
    /// stream stops there.
    var failure: GLMError?

    init(width: Int) { self.width = width }

    var count: Int { lines.count }

    func record(_ i: Int) -> ArraySlice<UInt8> { raw[recordStarts[i]..<recordStarts[i + 1]] }

    /// Calls `body` with the bytes of selected field `k` of record `i`.
    func withField<R>(_ i: Int, _ k: Int, _ body: (UnsafePointer<UInt8>, Int) throws -> R) rethrows -> R {
        let slot = i * width + k
        let start = fieldStarts[slot]
        let end = fieldStarts[slot + 1]
        return try fieldBytes.withUnsafeBufferPointer { buffer in
            // A non-null pointer even for an empty array (a 1-byte stand-in).
            guard let base = buffer.baseAddress else {
                var zero: UInt8 = 0
                return try body(&zero, 0)
            }
            return try body(base + start, end - start)
        }
    }
}

/// Reads a CSV input one block at a time, so that an input of any size is read in bounded
/// memory: records are handed out in batches, and only the bytes of the records not yet
/// handed out (at least one block, more only for a record longer than that) are held.
///
/// The syntax is `CSVReader`'s (its `CSVTokenizer`): a header record, RFC 4180 quoting,
/// LF, CRLF or CR line ends, an optional UTF-8 byte order mark, blank lines skipped.
final class CSVRecordStream {
    let source: String
    private let fd: Int32
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes read into `buffer`.
    private var filled = 0
    /// The first byte not yet handed out.
    private var position = 0
    private var atEnd = false
    /// The line of the byte at `position`.
    private var line = 1
    private var columnCount = 0
    private var failed = false

    /// - Parameters:
    ///   - fd: an open descriptor positioned at the start of the CSV text (not closed here).
    ///   - blockSize: the bytes asked of each `read`; the buffer grows past it only for a
    ///     record longer than a block.
    init(fd: Int32, source: String, blockSize: Int = 1 << 20) {
        self.fd = fd
        self.source = source
        capacity = max(16, blockSize)
        buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    }

    deinit { buffer.deallocate() }

    /// Reads more bytes after the unconsumed ones; sets `atEnd` at the end of the input.
    private func refill() throws(GLMError) {
        if position > 0 {
            let remaining = filled - position
            if remaining > 0 { memmove(buffer, buffer + position, remaining) }
            filled = remaining
            position = 0
        }
        if filled == capacity {
            // One record longer than the buffer: make room for it.
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
            grown.initialize(from: buffer, count: filled)
            buffer.deallocate()
            buffer = grown
            capacity *= 2
        }
        while true {
            let n = read(fd, buffer + filled, capacity - filled)
            if n > 0 {
                filled += n
                return
            }
            if n == 0 {
                atEnd = true
                return
            }
            if errno == EINTR { continue }
            let code = errno
            if code == EISDIR { throw .unreadableInput(source: source, reason: "it is a directory, not a file") }
            throw .unreadableInput(source: source, reason: String(cString: strerror(code)))
        }
    }

    /// Reads the header record.
    ///
    /// - Throws: `GLMError.emptyInput` for an input with no text, and `CSVReader`'s errors
    ///   for a malformed header (an empty or repeated name, invalid UTF-8).
    func readHeader() throws(GLMError) -> CSVStreamHeader {
        while filled < 4096, !atEnd { try refill() }
        try CSVReader.checkIsText(buffer, count: filled, source: source)
        if filled >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF { position = 3 }
        var firstContent = position
        while true {
            while firstContent < filled, buffer[firstContent] == CSVByte.lf || buffer[firstContent] == CSVByte.cr {
                firstContent += 1
            }
            if firstContent < filled || atEnd { break }
            try refill()
            firstContent = position
        }
        if firstContent >= filled { throw .emptyInput(source: source) }

        var fields: [[UInt8]] = []
        var scan: Scan
        while true {
            fields.removeAll()
            scan = scanRecord(from: position, line: line) { _, start, count in
                fields.append(Array(UnsafeBufferPointer(start: start, count: count)))
            }
            if case .incomplete = scan, !atEnd {
                try refill()
                continue
            }
            break
        }
        let raw: [UInt8]
        switch scan {
        case let .complete(contentEnd, next, nextLine, _):
            raw = Array(UnsafeBufferPointer(start: buffer + position, count: contentEnd - position))
            position = next
            line = nextLine
        case let .failed(failure):
            throw error(failure, lineBase: 1)
        case .incomplete:
            throw .unterminatedQuote(source: source, line: line)
        }
        var names: [String] = []
        for (index, content) in fields.enumerated() {
            var bytes = content[...]
            while let first = bytes.first, FastFloat.isSpace(first) { bytes = bytes.dropFirst() }
            while let last = bytes.last, FastFloat.isSpace(last) { bytes = bytes.dropLast() }
            let valid = Array(bytes).withUnsafeBufferPointer { buffer in
                buffer.baseAddress.map { isValidUTF8($0, buffer.count) } ?? true
            }
            guard valid else { throw .invalidUTF8(source: source, line: 1) }
            if bytes.isEmpty { throw .emptyColumnName(source: source, column: index + 1) }
            names.append(String(decoding: bytes, as: UTF8.self))
        }
        var firstIndex: [[UInt8]: Int] = [:]
        for (index, name) in names.enumerated() {
            let key = Array(name.utf8)
            if let first = firstIndex[key] {
                throw .duplicateColumnName(source: source, name: name, firstColumn: first + 1, secondColumn: index + 1)
            }
            firstIndex[key] = index
        }
        columnCount = names.count
        return CSVStreamHeader(names: names, raw: raw)
    }

    /// The next records, at most `maxRecords` of them (and about `maxBytes` of text), with
    /// the contents of the fields of `columns` (header indices); nil at the end of the input.
    ///
    /// A record that cannot be read (a wrong number of fields, an unterminated quote) ends
    /// the batch with `failure` set; the records before it are in the batch.
    func nextBatch(columns: [Int], maxRecords: Int = 4096, maxBytes: Int = 4 << 20) throws(GLMError) -> CSVRecordBatch? {
        guard !failed else { return nil }
        var slotOfColumn = [Int](repeating: -1, count: columnCount)
        for (slot, column) in columns.enumerated() where column < columnCount { slotOfColumn[column] = slot }
        let width = columns.count
        var batch = CSVRecordBatch(width: width)
        var pendingBytes: [UInt8] = []
        var pendingStarts = [Int](repeating: 0, count: width)
        var pendingCounts = [Int](repeating: 0, count: width)
        while batch.count < maxRecords, batch.raw.count < maxBytes {
            // Blank lines between records are skipped (a CR at the very end of the bytes read
            // may be the first half of a CRLF: read on before deciding).
            while position < filled {
                let b = buffer[position]
                if b == CSVByte.lf {
                    position += 1
                } else if b == CSVByte.cr {
                    if position + 1 < filled {
                        position += buffer[position + 1] == CSVByte.lf ? 2 : 1
                    } else if atEnd {
                        position += 1
                    } else {
                        break
                    }
                } else {
                    break
                }
                line += 1
            }
            if position >= filled || buffer[position] == CSVByte.cr {
                if atEnd, position >= filled { break }
                if batch.count > 0 { break }
                try refill()
                continue
            }
            pendingBytes.removeAll(keepingCapacity: true)
            for k in 0..<width { pendingCounts[k] = 0 }
            let scan = scanRecord(from: position, line: line) { column, start, count in
                guard column < slotOfColumn.count else { return }
                let slot = slotOfColumn[column]
                guard slot >= 0 else { return }
                pendingStarts[slot] = pendingBytes.count
                pendingCounts[slot] = count
                pendingBytes.append(contentsOf: UnsafeBufferPointer(start: start, count: count))
            }
            switch scan {
            case .incomplete:
                if batch.count > 0 { return batch }
                try refill()
                continue
            case let .failed(failure):
                failed = true
                batch.failure = error(failure, lineBase: line)
                return batch
            case let .complete(contentEnd, next, nextLine, fieldCount):
                if fieldCount != columnCount {
                    failed = true
                    batch.failure = .raggedRow(source: source, line: line, expected: columnCount, found: fieldCount)
                    return batch
                }
                batch.raw.append(contentsOf: UnsafeBufferPointer(start: buffer + position, count: contentEnd - position))
                batch.recordStarts.append(batch.raw.count)
                batch.lines.append(line)
                for k in 0..<width {
                    let start = pendingStarts[k]
                    batch.fieldBytes.append(contentsOf: pendingBytes[start..<start + pendingCounts[k]])
                    batch.fieldStarts.append(batch.fieldBytes.count)
                }
                position = next
                line = nextLine
            }
        }
        return batch.count == 0 && batch.failure == nil ? nil : batch
    }

    private enum Scan {
        /// `contentEnd`: where the record's last field ends; `next`: the first byte after
        /// its line end; `nextLine`: the line there.
        case complete(contentEnd: Int, next: Int, nextLine: Int, fields: Int)
        /// The record runs past the bytes read so far.
        case incomplete
        case failed(ChunkFailure)
    }

    /// Scans one record from `start`, calling `keep` with each field's column and content.
    private func scanRecord(
        from start: Int, line startLine: Int, keep: (Int, UnsafePointer<UInt8>, Int) -> Void
    ) -> Scan {
        let end = buffer + filled
        let tokenizer = CSVTokenizer(end: UnsafePointer(end))
        var scratch = RawBuffer<UInt8>(capacity: 64)
        defer { scratch.release() }
        var p = UnsafePointer(buffer + start)
        var lineCursor = 0
        var column = 0
        while true {
            let field: RawField
            do {
                field = try tokenizer.scanField(p, line: &lineCursor)
            } catch {
                if case .unterminatedQuote = error, !atEnd { return .incomplete }
                return .failed(error)
            }
            let content = CSVTokenizer.content(field, scratch: &scratch)
            keep(column, content.start, content.count)
            column += 1
            p = field.stop
            if p == UnsafePointer(end) {
                if !atEnd { return .incomplete }
                let offset = UnsafePointer(buffer).distance(to: p)
                return .complete(contentEnd: offset, next: offset, nextLine: startLine + lineCursor, fields: column)
            }
            let delimiter = p.pointee
            let contentEnd = UnsafePointer(buffer).distance(to: p)
            p += 1
            if delimiter == CSVByte.comma { continue }
            if delimiter == CSVByte.cr {
                if p == UnsafePointer(end), !atEnd { return .incomplete }
                if p < UnsafePointer(end), p.pointee == CSVByte.lf { p += 1 }
            }
            return .complete(contentEnd: contentEnd, next: UnsafePointer(buffer).distance(to: p),
                             nextLine: startLine + lineCursor + 1, fields: column)
        }
    }

    private func error(_ failure: ChunkFailure, lineBase: Int) -> GLMError {
        switch failure {
        case let .raggedRow(line, found):
            return .raggedRow(source: source, line: lineBase + line, expected: columnCount, found: found)
        case let .unterminatedQuote(line):
            return .unterminatedQuote(source: source, line: lineBase + line)
        case let .invalidUTF8(line):
            return .invalidUTF8(source: source, line: lineBase + line)
        case .tooManyLevels:
            return .unreadableInput(source: source, reason: "too many distinct values")
        }
    }
}
