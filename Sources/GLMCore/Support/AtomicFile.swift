#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written atomically: the bytes go to a temporary file in the destination's
/// directory, which replaces the destination by `rename(2)` only on `commit()`. Until
/// then the destination is untouched; a file that is never committed (an error, a
/// crash before the commit) leaves at most the temporary file, which `abort()` and
/// `deinit` remove.
public final class AtomicFile {
    public let path: String
    private let temporaryPath: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private var finished = false
    private static let flushSize = 1 << 20

    /// Creates the temporary file next to `path`.
    ///
    /// - Throws: `GLMError.cannotWriteFile` when the directory does not exist or is not
    ///   writable, or when `path` is a directory.
    public init(path: String) throws(GLMError) {
        try AtomicFile.checkWritable(path)
        self.path = path
        let directory = AtomicFile.directory(of: path)
        let name = AtomicFile.fileName(of: path)
        var template = Array("\(directory)/.\(name).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return mkstemp(base)
        }
        if fd < 0 { throw .cannotWriteFile(path: path, reason: AtomicFile.describe(errno)) }
        descriptor = fd
        temporaryPath = template.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { String(cString: $0) } ?? ""
        }
        // mkstemp creates the file 0600; give it the mode a plain creat() would (0666 less umask).
        let mask = umask(0)
        umask(mask)
        _ = fchmod(fd, 0o666 & ~mask)
    }

    deinit { abort() }

    /// Appends `text` (buffered; flushed to the temporary file a megabyte at a time).
    public func write(_ text: String) throws(GLMError) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= AtomicFile.flushSize { try flush() }
    }

    /// Appends raw bytes.
    public func write(bytes: UnsafeRawBufferPointer) throws(GLMError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= AtomicFile.flushSize { try flush() }
    }

    private func flush() throws(GLMError) {
        guard !finished else { return }
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.write(descriptor, base + offset, raw.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                let reason = AtomicFile.describe(errno)
                abort()
                throw .cannotWriteFile(path: path, reason: reason)
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes what is buffered, syncs it to disk and renames the temporary file to `path`.
    public func commit() throws(GLMError) {
        guard !finished else { return }
        try flush()
        if fsync(descriptor) != 0, errno != EINVAL {
            let reason = AtomicFile.describe(errno)
            abort()
            throw .cannotWriteFile(path: path, reason: reason)
        }
        if close(descriptor) != 0 {
            let reason = AtomicFile.describe(errno)
            descriptor = -1
            abort()
            throw .cannotWriteFile(path: path, reason: reason)
        }
        descriptor = -1
        if rename(temporaryPath, path) != 0 {
            let reason = AtomicFile.describe(errno)
            abort()
            throw .cannotWriteFile(path: path, reason: reason)
        }
        finished = true
    }

    /// Discards the temporary file; the destination is left as it was.
    public func abort() {
        guard !finished else { return }
        finished = true
        if descriptor >= 0 { _ = close(descriptor) }
        descriptor = -1
        _ = unlink(temporaryPath)
    }

    /// Checks, before any work, that `path` could be created: its directory exists and is
    /// writable, and `path` itself is not a directory.
    public static func checkWritable(_ path: String) throws(GLMError) {
        guard !path.isEmpty else { throw .cannotWriteFile(path: path, reason: "the file name is empty") }
        let directory = directory(of: path)
        var info = stat()
        if stat(directory, &info) != 0 {
            throw .cannotWriteFile(path: path, reason: "directory '\(directory)' does not exist")
        }
        if info.st_mode & S_IFMT != S_IFDIR {
            throw .cannotWriteFile(path: path, reason: "'\(directory)' is not a directory")
        }
        if access(directory, W_OK) != 0 {
            throw .cannotWriteFile(path: path, reason: "directory '\(directory)' is not writable")
        }
        if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            throw .cannotWriteFile(path: path, reason: "it is a directory")
        }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    static func fileName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    static func describe(_ code: Int32) -> String {
        switch code {
        case EACCES, EPERM: return "permission denied"
        case ENOSPC: return "no space left on the device"
        case EISDIR: return "it is a directory"
        default:
            if let message = strerror(code) { return String(cString: message) }
            return "error \(code)"
        }
    }
}

/// Scratch space on disk that nobody else can see.
enum TemporaryFile {
    /// A new file in $TMPDIR (or /tmp), already unlinked so that it vanishes with its last
    /// descriptor: the descriptor, or -1 when none can be made.
    static func unlinkedDescriptor(prefix: String) -> Int32 {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(directory.isEmpty ? "/tmp" : directory)/\(prefix)-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            let descriptor = mkstemp(base)
            if descriptor >= 0 { _ = unlink(base) }
            return descriptor
        }
    }
}
