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
        // The header: the first record, quotes respected.
        var bytes: [UInt8] = []
        var offset = 0
        var end: Int?
        var inQuotes = false
        var scanned = 0
        while end == nil {
            let block = try ChunkedInput.read(descriptor, at: offset, count: 1 << 16, source: source)
            if block.isEmpty { break }
            bytes += block
            offset += block.count
            while scanned < bytes.count {
                let byte = bytes[scanned]
                scanned += 1
                if byte == UInt8(ascii: "\"") { inQuotes.toggle() }
                if byte == UInt8(ascii: "\n"), !inQuotes {
                    end = scanned
                    break
                }
            }
        }
        headerEnd = end ?? bytes.count
        header = Array(bytes[..<headerEnd]) + (end == nil ? [UInt8(ascii: "\n")] : [])
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
    func readChunks(rows: Int, until body: (UnsafeRawBufferPointer, Int) throws -> Continuation) throws {
        var carry: [UInt8] = []
        var offset = headerEnd
        var scanned = 0
        var inQuotes = false
        var records = 0
        var lastRecordEnd = 0
        var linesInCarry = 0
        var linesBefore = 0
        var linesAtCut = 0
        var atEnd = false
        while true {
            // Find `rows` complete records (a line end outside quotes ends one).
            while records < rows, !atEnd {
                while scanned < carry.count, records < rows {
                    let byte = carry[scanned]
                    scanned += 1
                    if byte == UInt8(ascii: "\"") {
                        inQuotes.toggle()
                    } else if byte == UInt8(ascii: "\n") {
                        linesInCarry += 1
                        if !inQuotes {
                            records += 1
                            lastRecordEnd = scanned
                            linesAtCut = linesInCarry
                        }
                    }
                }
                if records < rows {
                    let block = try ChunkedInput.read(descriptor, at: offset, count: ChunkedInput.blockSize, source: source)
                    if block.isEmpty {
                        atEnd = true
                    } else {
                        carry += block
                        offset += block.count
                    }
                }
            }
            var cut = lastRecordEnd
            var cutLines = linesAtCut
            if atEnd, records < rows {
                cut = carry.count
                cutLines = linesInCarry
            }
            if cut == 0 { break }
            let chunk = header + carry[..<cut]
            if try chunk.withUnsafeBytes({ try body($0, linesBefore) }) == .stop { break }
            linesBefore += cutLines
            carry.removeFirst(cut)
            scanned -= cut
            linesInCarry -= cutLines
            records = 0
            lastRecordEnd = 0
            linesAtCut = 0
            if atEnd && carry.isEmpty { break }
        }
    }

    private static func read(_ descriptor: Int32, at offset: Int, count: Int, source: String) throws -> [UInt8] {
        var block = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = block.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress.map { $0 + filled }, count - filled, off_t(offset + filled))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw GLMError.unreadableInput(source: source, reason: String(cString: strerror(errno)))
            }
            if got == 0 { break }
            filled += got
        }
        block.removeLast(count - filled)
        return block
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
