#if canImport(Glibc)
import Glibc
#endif

/// Standard input copied to disk for `--chunk-rows`, which reads its input once per pass: an
/// unlinked temporary file in $TMPDIR (or /tmp), so nothing is left behind however the
/// process ends.
///
/// The copy is bounded: it stops with an error (status 66) before it would leave less free
/// space on the spool's filesystem than the reserve (5% of the filesystem, at most 1 GiB),
/// checked every 64 MiB as it grows, or when it passes `GLMFIT_SPOOL_LIMIT` bytes if that is
/// set. SIGINT and SIGTERM end the copy at once (see `SignalCleanup`).
enum InputSpool {
    /// The free space on the spool's filesystem is looked at again after this many bytes.
    static let checkInterval = 64 << 20

    /// The byte limit from `GLMFIT_SPOOL_LIMIT`, nil when it is unset or not a positive whole number.
    static func limit() -> Int? {
        guard let text = getenv("GLMFIT_SPOOL_LIMIT").map({ String(cString: $0) }), let value = Int(text), value > 0
        else { return nil }
        return value
    }

    /// The space a spool must leave free on a filesystem of `size` bytes.
    static func reserve(filesystemSize size: Int) -> Int {
        min(1 << 30, size / 20)
    }

    /// Whether `more` bytes may be added to a spool, given the filesystem's free and total
    /// bytes: they must leave the reserve free.
    static func fits(_ more: Int, free: Int, filesystemSize: Int) -> Bool {
        free - more >= reserve(filesystemSize: filesystemSize)
    }

    /// Copies standard input to an unlinked temporary file and returns its descriptor.
    static func copyStandardInput(limit: Int?) throws -> Int32 {
        let directory = TemporaryFile.directory
        let file = TemporaryFile.unlinkedDescriptor(prefix: "glmfit-stdin")
        guard file >= 0 else {
            throw GLMError.unreadableInput(
                source: "<stdin>", reason: "cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))")
        }
        do {
            try copy(from: STDIN_FILENO, to: file, directory: directory, limit: limit)
        } catch {
            close(file)
            throw error
        }
        return file
    }

    static func copy(from input: Int32, to file: Int32, directory: String, limit: Int?) throws {
        let writer = SpoolWriter(file: file, directory: directory, limit: limit, purpose: .standardInputForChunks)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let got = buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw GLMError.unreadableInput(source: "<stdin>", reason: String(cString: strerror(errno)))
            }
            if got == 0 { break }
            try buffer.withUnsafeBytes { try writer.append(UnsafeRawBufferPointer(rebasing: $0[..<got])) }
        }
    }
}

/// Appends bytes to a spool file, within the bounds `InputSpool` describes: `GLMFIT_SPOOL_LIMIT`
/// and the free-space reserve of the spool's filesystem.
final class SpoolWriter {
    /// Why the spool is written, which its messages say.
    enum Purpose {
        /// `--chunk-rows` reading standard input more than once.
        case standardInputForChunks
        /// Compressed input, or a dialect other than commas and decimal points, written out as
        /// plain CSV for the reader (`InputConversion`).
        case convertedInput(source: String)
    }

    let file: Int32
    private let directory: String
    private let limit: Int?
    private let purpose: Purpose
    private(set) var written = 0
    private var checkedAt = -InputSpool.checkInterval

    init(file: Int32, directory: String, limit: Int?, purpose: Purpose) {
        self.file = file
        self.directory = directory
        self.limit = limit
        self.purpose = purpose
    }

    private var source: String {
        switch purpose {
        case .standardInputForChunks: return "<stdin>"
        case let .convertedInput(source): return source
        }
    }

    private var action: String {
        switch purpose {
        case .standardInputForChunks: return "--chunk-rows copies standard input to \(directory)"
        case .convertedInput: return "glmfit writes the decompressed or converted input to \(directory)"
        }
    }

    private var advice: String {
        switch purpose {
        case .standardInputForChunks: return "Give the data as a file"
        case .convertedInput: return "Decompress or convert the data to a file first"
        }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        let got = bytes.count
        guard got > 0, let base = bytes.baseAddress else { return }
        if let limit, written + got > limit {
            throw GLMError.unreadableInput(
                source: source,
                reason: "\(action) and stops at GLMFIT_SPOOL_LIMIT (\(limit) bytes); the input is longer. "
                    + "\(advice), or raise the limit")
        }
        if written + got - checkedAt >= InputSpool.checkInterval {
            var info = statvfs()
            if fstatvfs(file, &info) == 0 {
                let unit = Int(info.f_frsize)
                let (free, overflowFree) = Int(clamping: info.f_bavail).multipliedReportingOverflow(by: unit)
                let (size, overflowSize) = Int(clamping: info.f_blocks).multipliedReportingOverflow(by: unit)
                if !overflowFree, !overflowSize, !InputSpool.fits(InputSpool.checkInterval, free: free, filesystemSize: size) {
                    throw GLMError.unreadableInput(
                        source: source,
                        reason: "\(action), and after \(written) bytes "
                            + "the filesystem there has \(free) bytes free, too little to go on (it keeps "
                            + "\(InputSpool.reserve(filesystemSize: size)) bytes free). \(advice), or set "
                            + "TMPDIR to a filesystem with more room")
                }
            }
            checkedAt = written + got
        }
        var done = 0
        while done < got {
            let put = Glibc.write(file, base + done, got - done)
            if put < 0 {
                if errno == EINTR { continue }
                let reason: String
                switch purpose {
                case .standardInputForChunks:
                    reason = "cannot copy standard input to \(directory) for --chunk-rows: \(String(cString: strerror(errno)))"
                case .convertedInput:
                    reason = "cannot write the decompressed or converted input to \(directory): \(String(cString: strerror(errno)))"
                }
                throw GLMError.unreadableInput(source: source, reason: reason)
            }
            done += put
        }
        written += got
    }
}
