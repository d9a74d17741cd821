#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A CSV input read a chunk of records at a time, over and over (one pass per IRLS
/// iteration), in memory bounded by the chunk: each chunk is handed out as a small CSV of
/// its own (a copy of the header, then the records), for the in-memory reader to parse on
/// every core. Standard input is first copied to an unlinked temporary file (`InputSpool`).
///
/// Records end where the in-memory reader ends them: the header is `CSVReader.header`'s, and
/// chunks are cut by `CSVTokenizer.stepOverRecord`, the parser's own field and line-end
/// reading. A chunk holds `rows` records and the blank lines before them (blank lines after
/// the last record are in no chunk).
///
/// Every pass reads the file again, so a file that changes between passes would mix two
/// inputs in one fit: each pass checks that the file is still the one the first pass read
/// (device, inode, size, modification and change times, and a checksum of every byte read).
final class ChunkedInput {
    let source: String
    private let descriptor: Int32
    /// The bytes from the start of the input to the first byte after the header's line end.
    private let header: [UInt8]
    /// The header as each chunk starts: `header`, but a lone CR at its end made a LF, which
    /// a chunk's first byte (a blank line's LF) cannot join into one CRLF line end.
    private let chunkHeader: [UInt8]
    let columnNames: [String]
    private static let blockSize = 8 << 20
    /// The file as the first pass found it, and the checksum of a whole pass.
    private let identity: FileIdentity
    /// The path the passes read, checked to name the same file on every pass; nil for standard
    /// input and for a private temporary copy (decompressed or converted input).
    private let namedPath: String?
    private var passChecksum: UInt64?

    /// Compressed input, or input in another `dialect`, is first written out decompressed
    /// and as standard CSV to an unlinked temporary file, which the passes then read.
    init(path: String, dialect: CSVDialect = .standard) throws {
        source = path == "-" ? "<stdin>" : path
        let opened: Int32
        if path == "-" {
            opened = try InputSpool.copyStandardInput(limit: InputSpool.limit())
        } else {
            var status = stat()
            guard stat(path, &status) == 0 else { throw GLMError.fileNotFound(path: path) }
            if (status.st_mode & S_IFMT) == S_IFDIR {
                throw GLMError.unreadableInput(source: path, reason: "it is a directory, not a file")
            }
            opened = open(path, O_RDONLY | O_CLOEXEC)
            guard opened >= 0 else {
                throw GLMError.unreadableInput(source: path, reason: String(cString: strerror(errno)))
            }
        }
        do {
            // The copy of standard input is read from its start (a pipe given by name cannot seek,
            // and is refused by the first pass's pread as before).
            _ = lseek(opened, 0, SEEK_SET)
            let prefix = try InputConversion.readPrefix(opened, source: source)
            if InputConversion.isNeeded(prefix: prefix, dialect: dialect) {
                descriptor = try InputConversion.spool(fd: opened, prefix: prefix, source: source, dialect: dialect)
                close(opened)
                namedPath = nil
            } else {
                descriptor = opened
                namedPath = path == "-" ? nil : path
            }
        } catch {
            close(opened)
            throw error
        }
        let source = self.source
        do {
            identity = try FileIdentity(descriptor: descriptor, source: source)
            // Read until the header record is complete: its line end found (a CR with the byte
            // after it, which may be the LF of a CRLF), or the input's end.
            var bytes: [UInt8] = []
            var atEnd = false
            while true {
                // Each read at least doubles what is held, so a header line of n bytes is
                // scanned O(log n) times (a fixed block made a long line quadratic).
                let block = try ChunkedInput.read(descriptor, at: bytes.count, count: max(1 << 16, bytes.count), source: source)
                atEnd = block.isEmpty
                bytes += block
                // Binary data (/dev/zero, a NUL-filled file) is refused from its first bytes.
                if bytes.count >= 4096 || atEnd {
                    try bytes.withUnsafeBufferPointer { buffer throws(GLMError) in
                        if let base = buffer.baseAddress { try CSVReader.checkIsText(base, count: buffer.count, source: source) }
                    }
                }
                let complete = bytes.withUnsafeBufferPointer { buffer -> Bool in
                    guard let base = buffer.baseAddress else { return atEnd }
                    let start = CSVReader.byteOrderMarkLength(base, count: buffer.count)
                    // Blank lines first: the in-memory reader calls the input empty when there
                    // is nothing else, so read on until some other byte or the end.
                    guard atEnd || buffer[start...].contains(where: { $0 != CSVByte.lf && $0 != CSVByte.cr }) else {
                        return false
                    }
                    var p = base + start
                    var line = 0
                    return CSVTokenizer(end: base + buffer.count).stepOverRecord(&p, line: &line, inputEnds: atEnd)
                        != .incomplete
                }
                if complete || atEnd { break }
            }
            let parsed = try bytes.withUnsafeBytes { buffer in try CSVReader.header(bytes: buffer, source: source) }
            header = Array(bytes[..<parsed.dataStart])
            var copy = header
            if copy.last == CSVByte.cr { copy[copy.count - 1] = CSVByte.lf }
            chunkHeader = copy
            columnNames = parsed.names
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit { close(descriptor) }

    /// Whether to read on after a chunk.
    enum Continuation { case next, stop }

    /// Calls `body` with each chunk of at most `rows` records (a CSV with the header) and the
    /// number of lines before its first byte, counted from the first line after the header.
    ///
    /// - Throws: `GLMError.headerOnly` when the input has no record, and
    ///   `GLMError.unreadableInput` when the file is not the one the first pass read.
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
        try identity.check(descriptor, source: source, path: namedPath)
        var checksum = Checksum()
        // The header again: a pass reads everything it uses from the file.
        let headerNow = try ChunkedInput.read(descriptor, at: 0, count: header.count, source: source)
        guard headerNow == header else { throw changed("its header is not the one read before") }
        headerNow.withUnsafeBytes { checksum.add($0) }

        let dataStart = header.count
        var capacity = dataStart + 2 * ChunkedInput.blockSize
        var storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        defer { storage.deallocate() }
        chunkHeader.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress { storage.copyMemory(from: base, byteCount: dataStart) }
        }
        var length = 0
        var offset = dataStart
        var linesBefore = 0
        var atEnd = false
        var chunks = 0
        // Where the scan stands in the bytes after the header: the next byte to look at, the
        // records and line ends found, and the end of the last record found.
        var scanned = 0
        var records = 0
        var lines = 0
        var lastRecordEnd = 0
        var linesAtCut = 0
        while true {
            while records < rows, !(atEnd && scanned == length) {
                let data = UnsafePointer<UInt8>((storage + dataStart).assumingMemoryBound(to: UInt8.self))
                var p = data + scanned
                var line = lines
                let step = CSVTokenizer(end: data + length).stepOverRecord(&p, line: &line, inputEnds: atEnd)
                switch step {
                case .record:
                    records += 1
                    lastRecordEnd = p - data
                    linesAtCut = line
                    fallthrough
                case .blankLine:
                    scanned = p - data
                    lines = line
                case .incomplete:
                    // The scan restarts at the record's start, so read at least as much as the
                    // record holds so far: a long record is then scanned O(log n) times.
                    let want = max(ChunkedInput.blockSize, length - scanned)
                    if dataStart + length + want > capacity {
                        capacity = 2 * (dataStart + length + want)
                        let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
                        grown.copyMemory(from: storage, byteCount: dataStart + length)
                        storage.deallocate()
                        storage = grown
                    }
                    let target = storage + dataStart + length
                    let got = try ChunkedInput.readFully(
                        descriptor, into: target, count: want, at: offset, source: source)
                    checksum.add(UnsafeRawBufferPointer(start: target, count: got))
                    if got == 0 { atEnd = true }
                    length += got
                    offset += got
                }
            }
            // Only blank lines (or nothing) are left.
            if records == 0 { break }
            let chunk = UnsafeRawBufferPointer(start: storage, count: dataStart + lastRecordEnd)
            chunks += 1
            if try body(chunk, linesBefore) == .stop {
                try identity.check(descriptor, source: source, path: namedPath)
                return
            }
            linesBefore += linesAtCut
            // What is left (part of a block) moves up behind the header.
            let cut = lastRecordEnd
            (storage + dataStart).copyMemory(from: storage + dataStart + cut, byteCount: length - cut)
            length -= cut
            scanned -= cut
            lines -= linesAtCut
            records = 0
            lastRecordEnd = 0
            linesAtCut = 0
        }
        if chunks == 0 { throw GLMError.headerOnly(source: source) }
        try identity.check(descriptor, source: source, path: namedPath)
        let total = checksum.value
        if let first = passChecksum, first != total {
            throw changed("the bytes one pass read differ from those the first read")
        }
        passChecksum = total
    }

    private func changed(_ what: String) -> GLMError {
        GLMError.unreadableInput(
            source: source,
            reason: "it changed while it was being read (--chunk-rows reads it once for every iteration, and \(what)); "
                + "leave the file alone during the fit, or fit a copy")
    }

    static func read(_ descriptor: Int32, at offset: Int, count: Int, source: String) throws -> [UInt8] {
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
}

/// What identifies a file's contents without reading them: a rewrite in place changes the
/// modification and change times (and usually the size), a replacement the inode.
struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: timespec
    let changed: timespec

    init(descriptor: Int32, source: String) throws {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw GLMError.unreadableInput(source: source, reason: String(cString: strerror(errno)))
        }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = info.st_mtim
        changed = info.st_ctim
    }

    /// Throws when the open file is no longer as it was (or `path`, when given, now names
    /// another file).
    func check(_ descriptor: Int32, source: String, path: String?) throws {
        let now = try FileIdentity(descriptor: descriptor, source: source)
        var replaced = false
        if let path {
            var info = stat()
            replaced = stat(path, &info) != 0 || UInt64(info.st_dev) != device || UInt64(info.st_ino) != inode
        }
        guard now == self, !replaced else {
            let what = replaced ? "the path now names another file"
                : now.size != size ? "its size went from \(size) to \(now.size) bytes"
                : "its modification time changed"
            throw GLMError.unreadableInput(
                source: source,
                reason: "it changed while it was being read (--chunk-rows reads it once for every iteration, and "
                    + "\(what)); leave the file alone during the fit, or fit a copy")
        }
    }

    static func == (a: FileIdentity, b: FileIdentity) -> Bool {
        a.device == b.device && a.inode == b.inode && a.size == b.size
            && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
            && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
    }
}

/// A 64-bit checksum of a byte stream, fed in pieces of any size (the same bytes in other
/// pieces give the same value): four lanes of multiply-xor over 32-byte groups.
struct Checksum {
    private var lanes: (UInt64, UInt64, UInt64, UInt64) = (0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F, 0x1656_67B1_9E37_79F9, 0x85EB_CA77_C2B2_AE63)
    private var pending: [UInt8] = []
    private var total: UInt64 = 0

    private static let prime: UInt64 = 0x0000_0100_0000_01B3

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var count = bytes.count
        total &+= UInt64(count)
        if !pending.isEmpty {
            let take = min(32 - pending.count, count)
            pending.append(contentsOf: UnsafeRawBufferPointer(start: p, count: take))
            p += take
            count -= take
            if pending.count == 32 {
                pending.withUnsafeBytes { mix($0.baseAddress ?? p) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        while count >= 32 {
            mix(p)
            p += 32
            count -= 32
        }
        if count > 0 { pending.append(contentsOf: UnsafeRawBufferPointer(start: p, count: count)) }
    }

    @inline(__always)
    private mutating func mix(_ p: UnsafeRawPointer) {
        lanes.0 = (lanes.0 ^ p.loadUnaligned(as: UInt64.self)) &* Checksum.prime
        lanes.1 = (lanes.1 ^ p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) &* Checksum.prime
        lanes.2 = (lanes.2 ^ p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)) &* Checksum.prime
        lanes.3 = (lanes.3 ^ p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)) &* Checksum.prime
    }

    var value: UInt64 {
        var h = lanes.0 ^ (lanes.1 << 1 | lanes.1 >> 63) ^ (lanes.2 << 7 | lanes.2 >> 57) ^ (lanes.3 << 13 | lanes.3 >> 51)
        for byte in pending { h = (h ^ UInt64(byte)) &* Checksum.prime }
        return (h ^ total) &* Checksum.prime
    }
}
