#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GLMCore
import Synchronization

/// Set by the first thread to take SIGBUS (both parse threads may touch the missing pages at
/// once): only that one reports. Global because a signal handler can reach nothing else.
private let busErrorReported = Atomic<Bool>(false)

/// Writing to the standard streams: a fit's output is written whole, once, after the fit
/// succeeded; predictions are written as they are made, once every row is known to succeed.
enum Console {
    /// Standard output was closed when glmfit started (`>&-`): descriptor 1 then holds
    /// /dev/null (so that no file glmfit opens takes it), and writing the output fails.
    nonisolated(unsafe) private static var standardOutputClosed = false

    /// Opens /dev/null on any of descriptors 0, 1 and 2 that is closed, before anything else
    /// is opened: otherwise the next file opened (the input, an output's temporary file)
    /// would become standard output, and the report would be written into it.
    static func guardStandardDescriptors() {
        for descriptor in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            let opened = open("/dev/null", descriptor == STDIN_FILENO ? O_RDONLY : O_WRONLY)
            if opened >= 0, opened != descriptor {
                _ = dup2(opened, descriptor)
                _ = close(opened)
            }
            if descriptor == STDOUT_FILENO { standardOutputClosed = true }
        }
    }

    /// Writes the output (a report, --help) to standard output.
    ///
    /// - Throws: `GLMError.writeFailed` (status 74) when any of it cannot be written: a full
    ///   disk, a closed descriptor, an I/O error. (A pipe closed by its reader ends the
    ///   process by SIGPIPE instead, as for other filters: status 141.)
    static func writeOutput(_ text: String) throws {
        var text = text
        try text.withUTF8 { try writeOutput(bytes: UnsafeRawBufferPointer($0)) }
    }

    static func warn(_ message: String) {
        emit("glmfit: warning: \(MessageText.escaped(message))\n", to: STDERR_FILENO)
    }

    static func error(_ message: String) {
        emit("glmfit: error: \(MessageText.escaped(message))\n", to: STDERR_FILENO)
    }

    /// A line on standard error (timings).
    static func note(_ message: String) {
        emit(message + "\n", to: STDERR_FILENO)
    }

    /// Overwrites the current terminal line on standard error.
    static func progress(_ message: String) {
        emit("\r\u{1B}[K" + message, to: STDERR_FILENO)
    }

    /// A regular input file is read through a memory map; should it become shorter while it
    /// is read (another program rewriting it), touching its missing pages raises SIGBUS.
    /// Report that as unreadable input (status 66) instead of crashing. The handler calls only
    /// write(2) and _exit(2), which are safe in a signal handler; nothing has been written to
    /// standard output or to output files by then (they are written once the input is read).
    static func reportShrunkInputOnBusError() {
        // Initialised here: a global's lazy initialisation is not safe inside the handler.
        _ = busErrorReported.load(ordering: .relaxed)
        _ = signal(SIGBUS) { _ in
            // Another thread is reporting and exiting: wait for the process to end.
            while busErrorReported.exchange(true, ordering: .acquiringAndReleasing) { pause() }
            let message: StaticString = """
                glmfit: error: the input file became shorter while it was being read \
                (was it being rewritten?); nothing was written

                """
            _ = Glibc.write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
            _exit(66)
        }
    }

    static func writeUsageHint(_ usage: String) {
        let command = usage.hasPrefix("glmfit predict") ? "glmfit predict --help" : "glmfit --help"
        emit("Usage: \(usage)\nSee '\(command)'.\n", to: STDERR_FILENO)
    }

    /// Writes output bytes as they are produced (glmfit predict); a failed write (a full
    /// disk, a closed pipe) is an error.
    static func writeOutput(bytes: UnsafeRawBufferPointer) throws {
        if standardOutputClosed {
            throw GLMError.writeFailed(destination: "standard output", reason: "it is closed")
        }
        if let failure = AtomicFile.writeAll(bytes, to: STDOUT_FILENO) {
            throw GLMError.writeFailed(destination: "standard output", reason: AtomicFile.describe(failure))
        }
    }

    /// Writes all bytes, retrying after partial writes and interrupts.
    private static func emit(_ text: String, to descriptor: Int32) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { buffer in
                Glibc.write(descriptor, buffer.baseAddress, buffer.count)
            }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}
