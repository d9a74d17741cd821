#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GLMCore

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
