#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import GLMCore

// The executable only parses arguments, runs the pipeline, and maps errors to exit
// statuses: 64 usage, 65 bad data, 66 unreadable input, 73 an output file that cannot be
// written (see README). `glmfit predict ...` scores new data with a saved model; anything
// else is a fit.

func execute<Command: ParsableCommand>(_ type: Command.Type, _ arguments: [String], usage: String) -> Never {
    do {
        var command = try type.parseAsRoot(arguments)
        try command.run()
        exit(0)
    } catch let error as GLMError {
        Console.error(error.message)
        exit(error.exitStatus)
    } catch {
        let code = type.exitCode(for: error)
        if code == .success {
            // --help, --version: the message is the requested output.
            Console.writeOutput(type.fullMessage(for: error) + "\n")
            exit(0)
        }
        let message = type.message(for: error)
        Console.error(message.isEmpty ? "\(error)" : message)
        Console.writeUsageHint(usage)
        exit(code == .validationFailure ? 64 : code.rawValue)
    }
}

Distributions.discardLibraryMessages()
Console.reportShrunkInputOnBusError()
LinearAlgebra.stopBLASThreadPool()
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "predict" {
    execute(PredictCommand.self, Array(arguments.dropFirst()),
            usage: "glmfit predict <model> <file> [--type link|response|probs|class] [--se] [--interval confidence] [--na fail|pass]")
} else {
    execute(FitCommand.self, arguments,
            usage: "glmfit <file> --formula <formula> [--family <family>] [--link <link>] [options]")
}
