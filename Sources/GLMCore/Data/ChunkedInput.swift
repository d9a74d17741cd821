#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A CSV input read a chunk of records at a time, over and over (one pass per IRLS
/// iteration), in memory bounded by the chunk: each chunk is handed out as a small CSV of
/// its own (a copy of the header, then the records), for the in-memory reader to parse on
/// every core. Standard input is first copied to an unlinked temporary file.
final class ChunkedInput {
    let source: String
    private let descriptor: Int32
    /// The header record and its line end, as in the input.
    private let header: [UInt8]
    let columnNames: [String]
    private let headerEnd: Int
    private static let blockSize = 8 << 20

    init(path: String) throws {
        source = path == "-" ? "<stdin>" : path
        if path == "-" {
            descriptor = try ChunkedInput.spoolStandardInput()
        } else {
            var status = stat()
            guard stat(path, &status) == 0 else { throw GLMError.fileNotFound(path: path) }
            if (status.st_mode & S_IFMT) == S_IFDIR {
                throw GLMError.unreadableInput(source: path, reason: "it is a directory, not a file")
            }
            let opened = open(path, O_RDONLY)
            guard opened >= 0 else {
                throw GLMError.unreadableInput(source: path, reason: String(cString: strerror(errno)))
            }
            descriptor = opened
        }
        // The header: the first record, quotes respected (the same scan as the chunks').
        var bytes: [UInt8] = []
        var offset = 0
        var scan = RecordScan()
        while scan.records == 0 {
            let block = try ChunkedInput.read(descriptor, at: offset, count: 1 << 16, source: source)
            if block.isEmpty { break }
            bytes += block
            offset += block.count
            bytes.withUnsafeBytes { buffer in
                if let base = buffer.baseAddress { scan.advance(base, length: buffer.count, wanted: 1) }
            }
        }
        let complete = scan.records > 0
        headerEnd = complete ? scan.lastRecordEnd : bytes.count
        header = Array(bytes[..<headerEnd]) + (complete ? [] : [UInt8(ascii: "\n")])
        let name = source
        columnNames = try header.withUnsafeBytes { buffer in
            try CSVReader.headerNames(bytes: buffer, source: name)
        }
    }

    deinit { close(descriptor) }

    /// Whether to read on after a chunk.
    enum Continuation { case next, stop }

    /// Calls `body` with each chunk of at most `rows` records (a CSV with the header) and the
    /// number of lines before its first record, from the first record to the last.
    func forEachChunk(rows: Int, _ body: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        try readChunks(rows: rows, until: { bytes, linesBefore -> Continuation in
            try body(bytes, linesBefore)
            return .next
        })
    }

    /// As above, stopping when `body` says so (reading only as far as it needs).
    ///
    /// One buffer holds the header and, after it, the bytes read but not yet handed out: a
    /// chunk is the buffer's start, so nothing is copied to make it, and the file is read
    /// straight into the buffer's free end.
    func readChunks(rows: Int, until body: (UnsafeRawBufferPointer, Int) throws -> Continuation) throws {
        let dataStart = header.count
        var capacity = dataStart + 2 * ChunkedInput.blockSize
        var storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        defer { storage.deallocate() }
        header.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress { storage.copyMemory(from: base, byteCount: dataStart) }
        }
        var length = 0
        var offset = headerEnd
        var scan = RecordScan()
        var linesBefore = 0
        var atEnd = false
        while true {
            // Find `rows` complete records (a line end outside quotes ends one).
            while scan.records < rows, !atEnd {
                scan.advance(UnsafeRawPointer(storage + dataStart), length: length, wanted: rows)
                if scan.records < rows {
                    if dataStart + length + ChunkedInput.blockSize > capacity {
                        capacity = 2 * (dataStart + length + ChunkedInput.blockSize)
                        let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
                        grown.copyMemory(from: storage, byteCount: dataStart + length)
                        storage.deallocate()
                        storage = grown
                    }
                    let got = try ChunkedInput.readFully(
                        descriptor, into: storage + dataStart + length, count: ChunkedInput.blockSize, at: offset,
                        source: source)
                    if got == 0 {
                        atEnd = true
                    } else {
                        length += got
                        offset += got
                    }
                }
            }
            var cut = scan.lastRecordEnd
            var cutLines = scan.linesAtCut
            if atEnd, scan.records < rows {
                cut = length
                cutLines = scan.lines
            }
            if cut == 0 { break }
            let chunk = UnsafeRawBufferPointer(start: storage, count: dataStart + cut)
            if try body(chunk, linesBefore) == .stop { break }
            linesBefore += cutLines
            // What is left (part of a block) moves up behind the header.
            (storage + dataStart).copyMemory(from: storage + dataStart + cut, byteCount: length - cut)
            length -= cut
            scan.dropFirst(cut, lines: cutLines)
            if atEnd && length == 0 { break }
        }
    }

    /// Where the search for record ends stands in the bytes after the header.
    private struct RecordScan {
        var scanned = 0
        var inQuotes = false
        var records = 0
        var lastRecordEnd = 0
        /// Line ends seen, inside quotes too (for the line numbers of messages).
        var lines = 0
        var linesAtCut = 0

        /// Looks at the bytes from `scanned` to `length` until `wanted` records end. Outside
        /// quotes it jumps from line end to line end with `memchr`, checking each line for a
        /// quote; inside quotes it goes a byte at a time.
        mutating func advance(_ data: UnsafeRawPointer, length: Int, wanted: Int) {
            let quote = Int32(UInt8(ascii: "\""))
            let lineFeed = Int32(UInt8(ascii: "\n"))
            while scanned < length, records < wanted {
                let here = data + scanned
                if inQuotes {
                    let byte = here.load(as: UInt8.self)
                    scanned += 1
                    if byte == UInt8(ascii: "\"") {
                        inQuotes = false
                    } else if byte == UInt8(ascii: "\n") {
                        lines += 1
                    }
                    continue
                }
                let remaining = length - scanned
                let lineEnd = memchr(here, lineFeed, remaining)
                let searched = lineEnd.map { UnsafeRawPointer($0) - here } ?? remaining
                if let quoteAt = memchr(here, quote, searched) {
                    scanned += UnsafeRawPointer(quoteAt) - here + 1
                    inQuotes = true
                    continue
                }
                guard lineEnd != nil else {
                    scanned = length
                    break
                }
                scanned += searched + 1
                lines += 1
                records += 1
                lastRecordEnd = scanned
                linesAtCut = lines
            }
        }

        /// Forgets the first `count` bytes (handed out, with `lines` line ends).
        mutating func dropFirst(_ count: Int, lines dropped: Int) {
            scanned -= count
            lines -= dropped
            records = 0
            lastRecordEnd = 0
            linesAtCut = 0
        }
    }

    private static func read(_ descriptor: Int32, at offset: Int, count: Int, source: String) throws -> [UInt8] {
        var block = [UInt8](repeating: 0, count: count)
        let filled = try block.withUnsafeMutableBytes { buffer -> Int in
            guard let base = buffer.baseAddress else { return 0 }
            return try readFully(descriptor, into: base, count: count, at: offset, source: source)
        }
        block.removeLast(count - filled)
        return block
    }

    /// Reads up to `count` bytes at `offset` into `target`; fewer only at the end of the file.
    private static func readFully(
        _ descriptor: Int32, into target: UnsafeMutableRawPointer, count: Int, at offset: Int, source: String
    ) throws -> Int {
        var filled = 0
        while filled < count {
            let got = pread(descriptor, target + filled, count - filled, off_t(offset + filled))
            if got < 0 {
                if errno == EINTR { continue }
                throw GLMError.unreadableInput(source: source, reason: String(cString: strerror(errno)))
            }
            if got == 0 { break }
            filled += got
        }
        return filled
    }

    /// Copies standard input to a temporary file that is unlinked at once.
    private static func spoolStandardInput() throws -> Int32 {
        let file = TemporaryFile.unlinkedDescriptor(prefix: "glmfit-stdin")
        guard file >= 0 else {
            throw GLMError.unreadableInput(source: "<stdin>", reason: "cannot create a temporary file: \(String(cString: strerror(errno)))")
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let got = buffer.withUnsafeMutableBytes { Glibc.read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw GLMError.unreadableInput(source: "<stdin>", reason: String(cString: strerror(errno)))
            }
            if got == 0 { break }
            var written = 0
            while written < got {
                let put = buffer.withUnsafeBytes { Glibc.write(file, $0.baseAddress.map { $0 + written }, got - written) }
                if put < 0 {
                    if errno == EINTR { continue }
                    throw GLMError.unreadableInput(source: "<stdin>", reason: "cannot buffer standard input: \(String(cString: strerror(errno)))")
                }
                written += put
            }
        }
        return file
    }
}
