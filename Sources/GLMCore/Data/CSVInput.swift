#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The whole input as one contiguous, read-only byte buffer: a private memory map of a
/// regular file, or a heap copy of everything read from a pipe or terminal.
///
/// The memory is released when the value is deinitialised; `bytes` must not escape it.
final class CSVInputBuffer {
    private enum Storage {
        case mapped(UnsafeMutableRawPointer, length: Int)
        case heap(UnsafeMutableRawPointer)
        case empty
    }

    private let storage: Storage
    /// The bytes of the input (for a map, from the file offset the stream was at).
    let bytes: UnsafeRawBufferPointer

    /// True for a memory map of a file: its pages can be dropped once read (they come back
    /// from the file if touched again); a heap buffer's cannot.
    var isFileMapping: Bool {
        if case .mapped = storage { return true }
        return false
    }

    private init(storage: Storage, bytes: UnsafeRawBufferPointer) {
        self.storage = storage
        self.bytes = bytes
    }

    deinit {
        switch storage {
        case let .mapped(address, length): _ = munmap(address, length)
        case let .heap(address): free(address)
        case .empty: break
        }
    }

    /// Opens `path` ("-" for standard input) and loads it: decompressed when it is compressed
    /// (gzip, xz, zstd, bzip2, by its first bytes), converted to standard CSV when `dialect`
    /// is another (`InputConversion`).
    ///
    /// - Throws: `GLMError.fileNotFound` when the path does not exist,
    ///   `GLMError.unreadableInput` for a directory, a permission error or a failed read,
    ///   `GLMError.notText` for corrupt or truncated compressed data.
    static func load(path: String, source: String, dialect: CSVDialect = .standard) throws -> CSVInputBuffer {
        if path == "-" {
            return try load(fd: STDIN_FILENO, source: source, dialect: dialect)
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR && !path.hasSuffix("/") {
                throw GLMError.fileNotFound(path: path)
            }
            throw GLMError.unreadableInput(source: source, reason: describe(errno: code))
        }
        defer { _ = close(fd) }
        return try load(fd: fd, source: source, dialect: dialect)
    }

    /// Loads everything readable from `fd` (not closed here): by `mmap` when it is a regular
    /// file, otherwise by `read` into one growing heap buffer; compressed input, or input in
    /// another dialect, through a temporary file that is mapped in turn.
    static func load(fd: Int32, source: String, dialect: CSVDialect = .standard) throws -> CSVInputBuffer {
        var info = stat()
        if fstat(fd, &info) != 0 {
            throw GLMError.unreadableInput(source: source, reason: describe(errno: errno))
        }
        let type = info.st_mode & S_IFMT
        if type == S_IFDIR {
            throw GLMError.unreadableInput(source: source, reason: "it is a directory, not a file")
        }
        let prefix = try InputConversion.readPrefix(fd, source: source)
        if InputConversion.isNeeded(prefix: prefix, dialect: dialect) {
            let spool = try InputConversion.spool(fd: fd, prefix: prefix, source: source, dialect: dialect)
            defer { _ = close(spool) }
            return try load(plainFD: spool, source: source, prefix: [])
        }
        if type == S_IFREG, lseek(fd, off_t(-prefix.count), SEEK_CUR) >= 0 {
            return try load(plainFD: fd, source: source, prefix: [])
        }
        return try load(plainFD: fd, source: source, prefix: prefix)
    }

    /// Loads plain text from `fd`; `prefix` holds bytes already read from it (a pipe's first).
    private static func load(plainFD fd: Int32, source: String, prefix: [UInt8]) throws(GLMError) -> CSVInputBuffer {
        var info = stat()
        if fstat(fd, &info) != 0 {
            throw .unreadableInput(source: source, reason: describe(errno: errno))
        }
        let type = info.st_mode & S_IFMT
        if prefix.isEmpty, type == S_IFREG, info.st_size > 0 {
            // Standard input redirected from a file may already be partway through it.
            let offset = lseek(fd, 0, SEEK_CUR)
            let size = Int(info.st_size)
            if offset >= 0, Int(offset) <= size, let mapped = map(fd: fd, size: size) {
                let start = Int(offset)
                let bytes = UnsafeRawBufferPointer(start: mapped + start, count: size - start)
                return CSVInputBuffer(storage: .mapped(mapped, length: size), bytes: bytes)
            }
        }
        return try readAll(fd: fd, source: source, sizeHint: type == S_IFREG ? Int(info.st_size) : 0, prefix: prefix)
    }

    private static func map(fd: Int32, size: Int) -> UnsafeMutableRawPointer? {
        // Not prefaulted (MAP_POPULATE): the pages come in as the parse reaches them and are
        // dropped behind it, so the whole file is never resident at once (same speed, measured).
        let flags = MAP_PRIVATE
        guard let address = mmap(nil, size, PROT_READ, flags, fd, 0), address != MAP_FAILED else {
            return nil
        }
        _ = madvise(address, size, MADV_SEQUENTIAL)
        return address
    }

    /// Reads until end of file into one heap buffer that doubles as it fills.
    private static func readAll(fd: Int32, source: String, sizeHint: Int, prefix: [UInt8]) throws(GLMError) -> CSVInputBuffer {
        var capacity = max(1 << 16, sizeHint + 1, prefix.count)
        guard var buffer = malloc(capacity) else {
            throw .unreadableInput(source: source, reason: "out of memory")
        }
        prefix.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress { memcpy(buffer, base, bytes.count) }
        }
        var count = prefix.count
        // Binary data is refused from its first bytes, not after reading an endless device or
        // pipe (/dev/zero, /dev/urandom) into memory.
        var sniffed = false
        while true {
            if !sniffed, count >= 4096 {
                sniffed = true
                do {
                    try CSVReader.checkIsText(buffer.assumingMemoryBound(to: UInt8.self), count: count, source: source)
                } catch {
                    free(buffer)
                    throw error
                }
            }
            if count == capacity {
                let newCapacity = capacity * 2
                guard let grown = realloc(buffer, newCapacity) else {
                    free(buffer)
                    throw .unreadableInput(source: source, reason: "out of memory")
                }
                buffer = grown
                capacity = newCapacity
            }
            let n = read(fd, buffer + count, capacity - count)
            if n > 0 {
                count += n
            } else if n == 0 {
                break
            } else if errno != EINTR {
                let code = errno
                free(buffer)
                if code == EISDIR {
                    throw .unreadableInput(source: source, reason: "it is a directory, not a file")
                }
                throw .unreadableInput(source: source, reason: describe(errno: code))
            }
        }
        if count == 0 {
            free(buffer)
            return CSVInputBuffer(storage: .empty, bytes: UnsafeRawBufferPointer(start: nil, count: 0))
        }
        return CSVInputBuffer(storage: .heap(buffer), bytes: UnsafeRawBufferPointer(start: buffer, count: count))
    }

    private static func describe(errno code: Int32) -> String {
        switch code {
        case EACCES, EPERM: return "permission denied"
        case EISDIR: return "it is a directory, not a file"
        default:
            if let message = strerror(code) { return String(cString: message) }
            return "error \(code)"
        }
    }
}
