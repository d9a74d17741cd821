import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The device and inode of a file: two paths (a hard link, `./in.csv`, a symlink) name the
/// same file when these are equal.
public struct FileID: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }

    /// The file at `path` (symlinks followed), nil when there is none.
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(info)
    }

    /// The file open on `descriptor`, nil when it is not open.
    public init?(descriptor: Int32) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        self.init(info)
    }

    /// The regular file standard input reads, if it is one.
    public static var standardInputFile: FileID? { regularFile(descriptor: STDIN_FILENO) }
    /// The regular file standard output writes, if it is one.
    public static var standardOutputFile: FileID? { regularFile(descriptor: STDOUT_FILENO) }

    /// The regular file open on `descriptor`, nil for anything else (a pipe, a terminal).
    public static func regularFile(descriptor: Int32) -> FileID? {
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return FileID(info)
    }
}

/// Where an output file (`--save`, `--residuals`) goes, found and checked before any work:
///
/// - nothing there, or a regular file: the file is replaced atomically (see `AtomicFile`);
/// - a symlink: its target is (a dangling one's target is created), in the target's own
///   directory; the link stays;
/// - a FIFO or a character device (`/dev/null`, `/dev/stdout` on a pipe or terminal): the
///   finished output is written through it;
/// - a directory, a block device or a socket: refused.
///
/// A destination that is an input (the data file, the model file) or another output, by
/// path or by device and inode, is refused: an output never replaces its own input.
public struct OutputDestination: Sendable {
    /// The option that names it (`--save`), for messages.
    public let option: String
    /// The path as given.
    public let path: String
    /// The path that is replaced: `path` with symlinks resolved.
    let target: String
    /// A FIFO or character device: written through, not replaced.
    let writesThrough: Bool
    /// The existing file, if any.
    let existing: FileID?
    /// The target's directory, resolved, and its name there: equal for two paths of one file
    /// that does not exist yet.
    let canonicalPath: String

    /// The symlinks a destination may pass through before it is refused (as the kernel's ELOOP).
    static let maximumLinks = 40

    /// Finds what `path` names.
    ///
    /// - Throws: `GLMError.cannotWriteFile` (status 73) for a destination that can never be
    ///   written: a directory, a block device, a socket, a symlink loop, a missing or
    ///   unwritable directory.
    public init(option: String, path: String) throws(GLMError) {
        self.option = option
        self.path = path
        guard !path.isEmpty else { throw .cannotWriteFile(path: path, reason: "the file name is empty") }
        var info = stat()
        var target = path
        if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK {
            var followed = stat()
            if stat(path, &followed) == 0 {
                info = followed
                if followed.st_mode & S_IFMT == S_IFREG {
                    guard let resolved = OutputDestination.realPath(path) else {
                        throw .cannotWriteFile(path: path, reason: "its symlink cannot be resolved")
                    }
                    target = resolved
                }
            } else if errno == ENOENT {
                target = try OutputDestination.danglingTarget(of: path)
                info = stat()
                info.st_mode = 0
            } else {
                throw .cannotWriteFile(path: path, reason: AtomicFile.describe(errno))
            }
        } else if lstat(path, &info) != 0 {
            info.st_mode = 0
        }
        switch info.st_mode & S_IFMT {
        case 0:
            existing = nil
            writesThrough = false
        case S_IFREG:
            existing = FileID(info)
            writesThrough = false
        case S_IFIFO, S_IFCHR:
            existing = FileID(info)
            writesThrough = true
        case S_IFDIR:
            throw .cannotWriteFile(path: path, reason: "it is a directory")
        case S_IFBLK:
            throw .cannotWriteFile(path: path, reason: "it is a block device, not a regular file; glmfit never writes one")
        case S_IFSOCK:
            throw .cannotWriteFile(path: path, reason: "it is a socket, not a regular file")
        default:
            throw .cannotWriteFile(path: path, reason: "it is not a regular file")
        }
        self.target = target
        if writesThrough {
            canonicalPath = OutputDestination.realPath(path) ?? path
        } else {
            try AtomicFile.checkDirectory(of: target, for: path)
            let directory = AtomicFile.directory(of: target)
            canonicalPath = (OutputDestination.realPath(directory) ?? directory) + "/" + AtomicFile.fileName(of: target)
        }
    }

    /// Refuses destinations that are `inputs` (each a name for messages and its file) or
    /// each other, and a regular file that is also standard output (where the report goes).
    public static func checkDistinct(
        _ destinations: [OutputDestination], inputs: [(name: String, file: FileID)]
    ) throws(GLMError) {
        let standardOutput = FileID.regularFile(descriptor: STDOUT_FILENO)
        for (index, destination) in destinations.enumerated() {
            if let existing = destination.existing {
                for input in inputs where input.file == existing {
                    throw .cannotWriteFile(
                        path: destination.path,
                        reason: "it is \(input.name), which \(destination.option) would replace; choose another file")
                }
                if !destination.writesThrough, existing == standardOutput {
                    throw .cannotWriteFile(
                        path: destination.path,
                        reason: "it is the file standard output goes to, where the report is written; choose another file")
                }
            }
            for other in destinations[..<index] {
                let sameFile = destination.existing != nil && destination.existing == other.existing
                if sameFile || destination.canonicalPath == other.canonicalPath {
                    throw .cannotWriteFile(
                        path: destination.path,
                        reason: "\(other.option) writes the same file; give \(destination.option) another one")
                }
            }
        }
    }

    /// The final path of a symlink whose target does not exist, so that it can be created.
    private static func danglingTarget(of path: String) throws(GLMError) -> String {
        var current = path
        for _ in 0..<maximumLinks {
            var info = stat()
            guard lstat(current, &info) == 0 else {
                if errno == ENOENT { return current }
                throw .cannotWriteFile(path: path, reason: AtomicFile.describe(errno))
            }
            guard info.st_mode & S_IFMT == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(current, &buffer, buffer.count - 1)
            guard length > 0 else { throw .cannotWriteFile(path: path, reason: AtomicFile.describe(errno)) }
            let link = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = link.hasPrefix("/") ? link : AtomicFile.directory(of: current) + "/" + link
        }
        throw .cannotWriteFile(path: path, reason: "too many levels of symbolic links")
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// An output file written so that it is either complete or not there at all.
///
/// The bytes go first to an unnamed file in the destination's directory (O_TMPFILE), which
/// `commit()` links into place (and renames over an existing file): a process killed
/// before that leaves nothing. Where the filesystem cannot make unnamed files, a hidden
/// named one (`.name.tmp-XXXXXX`) is used instead, removed by `abort()`, by `deinit`, and on
/// SIGINT, SIGTERM, SIGHUP and SIGPIPE (`SignalCleanup`); only SIGKILL can leave it. A FIFO
/// or character device gets the finished bytes from an unlinked scratch file at `commit()`.
public final class AtomicFile {
    public let path: String
    private let destination: OutputDestination
    private var descriptor: Int32
    /// The named temporary file, if one was needed, and its slot for the signal handler.
    private var temporaryPath: String?
    private var signalSlot: Int32 = -1
    /// The FIFO or device written through, once opened.
    private var throughDescriptor: Int32 = -1
    private var buffer: [UInt8] = []
    private var finished = false
    private static let flushSize = 1 << 20

    /// Creates the file the output is written to until `commit()`.
    ///
    /// - Throws: `GLMError.cannotWriteFile` when the destination cannot be written.
    public convenience init(path: String) throws(GLMError) {
        try self.init(destination: OutputDestination(option: "output", path: path))
    }

    public init(destination: OutputDestination) throws(GLMError) {
        self.destination = destination
        path = destination.path
        if destination.writesThrough {
            descriptor = TemporaryFile.unlinkedDescriptor(prefix: "glmfit-output")
            if descriptor < 0 { throw .cannotWriteFile(path: path, reason: "no scratch file: \(AtomicFile.describe(errno))") }
            return
        }
        let mask = umask(0)
        umask(mask)
        let directory = AtomicFile.directory(of: destination.target)
        let unnamed = AtomicFile.namedOnly ? -1 : glm_open_unnamed(directory, UInt32(0o666 & ~mask))
        if unnamed >= 0 {
            descriptor = unnamed
            return
        }
        var template = Array("\(directory)/.\(AtomicFile.fileName(of: destination.target)).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return mkstemp(base)
        }
        if fd < 0 { throw .cannotWriteFile(path: path, reason: AtomicFile.describe(errno)) }
        descriptor = fd
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let named = template.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { String(cString: $0) } ?? ""
        }
        temporaryPath = named
        signalSlot = glm_temp_remember(named)
        // mkstemp creates the file 0600; give it the mode a plain creat() would (0666 less umask).
        _ = fchmod(fd, 0o666 & ~mask)
    }

    deinit { abort() }

    /// GLMFIT_NAMED_TEMPORARY_FILES set: always the named temporary file (for a filesystem
    /// whose unnamed files misbehave, and to test the named path where they do not).
    static let namedOnly = getenv("GLMFIT_NAMED_TEMPORARY_FILES") != nil

    /// Appends `text` (buffered; flushed a megabyte at a time).
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
        let failure = buffer.withUnsafeBytes { AtomicFile.writeAll($0, to: descriptor) }
        buffer.removeAll(keepingCapacity: true)
        if let failure {
            abort()
            throw .writeFailed(destination: "'\(path)'", reason: AtomicFile.describe(failure))
        }
    }

    /// Writes what is buffered and syncs it to disk, leaving the destination as it was:
    /// what can fail in writing fails here, before `commit()`.
    public func prepare() throws(GLMError) {
        guard !finished else { return }
        try flush()
        if destination.writesThrough, throughDescriptor < 0 { try openThrough() }
        if !destination.writesThrough, fsync(descriptor) != 0, errno != EINVAL {
            let reason = AtomicFile.describe(errno)
            abort()
            throw .writeFailed(destination: "'\(path)'", reason: reason)
        }
    }

    /// Puts the output in place: links (or renames) the file over the destination, or copies
    /// it through a FIFO or device.
    public func commit() throws(GLMError) {
        guard !finished else { return }
        try prepare()
        if destination.writesThrough {
            try copyThrough()
        } else if let temporaryPath {
            if rename(temporaryPath, destination.target) != 0 {
                let reason = AtomicFile.describe(errno)
                abort()
                throw .cannotWriteFile(path: path, reason: reason)
            }
            glm_temp_forget(signalSlot)
            self.temporaryPath = nil
        } else {
            try linkIntoPlace()
        }
        finished = true
        if descriptor >= 0 { _ = close(descriptor) }
        descriptor = -1
        if throughDescriptor >= 0, close(throughDescriptor) != 0 {
            throughDescriptor = -1
            throw .writeFailed(destination: "'\(path)'", reason: AtomicFile.describe(errno))
        }
        throughDescriptor = -1
    }

    /// Names the unnamed file: at the destination when nothing is there, else at a hidden
    /// name renamed over it (the one moment a name exists that is not the destination's).
    private func linkIntoPlace() throws(GLMError) {
        let target = destination.target
        if glm_link_unnamed(descriptor, target) == 0 { return }
        guard errno == EEXIST else {
            let reason = AtomicFile.describe(errno)
            abort()
            throw .cannotWriteFile(path: path, reason: reason)
        }
        let directory = AtomicFile.directory(of: target)
        let name = AtomicFile.fileName(of: target)
        for attempt in 0..<100 {
            let hidden = "\(directory)/.\(name).tmp-\(getpid())-\(attempt)-\(UInt32.random(in: 0...UInt32.max))"
            let slot = glm_temp_remember(hidden)
            defer { glm_temp_forget(slot) }
            if glm_link_unnamed(descriptor, hidden) != 0 {
                if errno == EEXIST { continue }
                let reason = AtomicFile.describe(errno)
                abort()
                throw .cannotWriteFile(path: path, reason: reason)
            }
            if rename(hidden, target) != 0 {
                let reason = AtomicFile.describe(errno)
                _ = unlink(hidden)
                abort()
                throw .cannotWriteFile(path: path, reason: reason)
            }
            return
        }
        abort()
        throw .cannotWriteFile(path: path, reason: "no free temporary name in '\(directory)'")
    }

    /// Opens the FIFO or device at the destination (in `prepare`, so that one nobody reads
    /// is found before the report is written).
    private func openThrough() throws(GLMError) {
        // Not blocking on a FIFO nobody reads: that is an error, not a hang.
        let output = open(destination.path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        if output < 0 {
            let code = errno
            abort()
            if code == ENXIO { throw .cannotWriteFile(path: path, reason: "it is a FIFO that no process is reading") }
            throw .cannotWriteFile(path: path, reason: AtomicFile.describe(code))
        }
        let flags = fcntl(output, F_GETFL)
        if flags >= 0 { _ = fcntl(output, F_SETFL, flags & ~O_NONBLOCK) }
        throughDescriptor = output
    }

    /// Copies the scratch file through the FIFO or device at the destination.
    private func copyThrough() throws(GLMError) {
        let output = throughDescriptor
        var block = [UInt8](repeating: 0, count: 1 << 16)
        var offset = 0
        while true {
            let got = block.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
            if got < 0 {
                if errno == EINTR { continue }
                let reason = AtomicFile.describe(errno)
                abort()
                throw .writeFailed(destination: "'\(path)'", reason: reason)
            }
            if got == 0 { break }
            if let failure = block.withUnsafeBytes({ AtomicFile.writeAll(UnsafeRawBufferPointer(rebasing: $0[..<got]), to: output) }) {
                abort()
                throw .writeFailed(destination: "'\(path)'", reason: AtomicFile.describe(failure))
            }
            offset += got
        }
    }

    /// Discards the output; the destination is left as it was.
    public func abort() {
        guard !finished else { return }
        finished = true
        if descriptor >= 0 { _ = close(descriptor) }
        descriptor = -1
        if throughDescriptor >= 0 { _ = close(throughDescriptor) }
        throughDescriptor = -1
        if let temporaryPath {
            _ = unlink(temporaryPath)
            glm_temp_forget(signalSlot)
        }
        temporaryPath = nil
    }

    /// Writes every byte, retrying after partial writes and interrupts: nil, or the errno.
    public static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) -> Int32? {
        guard let base = bytes.baseAddress else { return nil }
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if written == 0 { return EIO }
            offset += written
        }
        return nil
    }

    /// Checks, before any work, that `path` could be written (see `OutputDestination`).
    public static func checkWritable(_ path: String) throws(GLMError) {
        _ = try OutputDestination(option: "output", path: path)
    }

    /// Checks that the directory `target` would be created in exists and is writable.
    static func checkDirectory(of target: String, for path: String) throws(GLMError) {
        let directory = directory(of: target)
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

    public static func describe(_ code: Int32) -> String {
        switch code {
        case EACCES, EPERM: return "permission denied"
        case ENOSPC: return "no space left on the device"
        case EFBIG: return "the file would pass the file size limit (ulimit -f)"
        case EISDIR: return "it is a directory"
        case EBADF: return "it is closed"
        default:
            if let message = strerror(code) { return String(cString: message) }
            return "error \(code)"
        }
    }
}

/// Scratch space on disk that nobody else can see.
enum TemporaryFile {
    /// $TMPDIR, or /tmp.
    static var directory: String {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        return directory.isEmpty ? "/tmp" : directory
    }

    /// A new file in `directory` that has no name, so that it vanishes with its last
    /// descriptor: the descriptor, or -1 when none can be made.
    static func unlinkedDescriptor(prefix: String) -> Int32 {
        let directory = self.directory
        let unnamed = glm_open_unnamed(directory, 0o600)
        if unnamed >= 0 { return unnamed }
        var template = Array("\(directory)/\(prefix)-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            let descriptor = mkstemp(base)
            if descriptor >= 0 {
                _ = unlink(base)
                _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            }
            return descriptor
        }
    }
}

/// Removal of named temporary files when a signal ends the process (see `AtomicFile`).
public enum SignalCleanup {
    /// Installs the handler for SIGINT, SIGTERM, SIGHUP and SIGPIPE: it removes the named
    /// temporary files, then ends the process by the same signal (status 128 + its number).
    public static func install() { glm_install_signal_cleanup() }
}
