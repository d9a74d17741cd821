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
    static func writeOutput(_ text: String) {
        emit(text, to: STDOUT_FILENO)
    }

    static func warn(_ message: String) {
        emit("glmfit: warning: \(message)\n", to: STDERR_FILENO)
    }

    static func error(_ message: String) {
        emit("glmfit: error: \(message)\n", to: STDERR_FILENO)
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
        var offset = 0
        while offset < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let written = Glibc.write(STDOUT_FILENO, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw GLMError.cannotWriteFile(path: "<stdout>", reason: String(cString: strerror(errno)))
            }
            offset += written
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
