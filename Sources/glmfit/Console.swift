#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing to the standard streams; output is written whole, once, after the fit succeeded.
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

    static func writeUsageHint() {
        emit("Usage: glmfit <file> --formula <formula> [--family <family>] [--link <link>] [options]\n"
             + "See 'glmfit --help'.\n", to: STDERR_FILENO)
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
