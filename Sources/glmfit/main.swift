#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import GLMCore

// The executable only parses arguments, runs the pipeline, and maps errors to exit
// statuses: 64 usage, 65 bad data, 66 unreadable input (see README).
Distributions.discardLibraryMessages()
let arguments = Array(CommandLine.arguments.dropFirst())
do {
    var command = try FitCommand.parseAsRoot(arguments)
    try command.run()
    exit(0)
} catch let error as GLMError {
    Console.error(error.message)
    exit(error.exitStatus)
} catch {
    let code = FitCommand.exitCode(for: error)
    if code == .success {
        // --help, --version: the message is the requested output.
        Console.writeOutput(FitCommand.fullMessage(for: error) + "\n")
        exit(0)
    }
    let message = FitCommand.message(for: error)
    Console.error(message.isEmpty ? "\(error)" : message)
    Console.writeUsageHint()
    exit(code == .validationFailure ? 64 : code.rawValue)
}
