#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import GLMCore

// The executable only parses arguments, runs the pipeline, and maps errors to exit
// statuses: 64 usage, 65 bad data, 66 unreadable input, 73 an output file that cannot be
// created, 74 a write that failed; SIGINT, SIGTERM, SIGHUP and SIGPIPE end it by the signal
// after removing temporary files (see README). `glmfit predict ...` scores new data with a saved model; anything
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
            do {
                try Console.writeOutput(type.fullMessage(for: error) + "\n")
            } catch let failure as GLMError {
                Console.error(failure.message)
                exit(failure.exitStatus)
            } catch {}
            exit(0)
        }
        let message = type.message(for: error)
        Console.error(message.isEmpty ? "\(error)" : message)
        Console.writeUsageHint(usage)
        exit(code == .validationFailure ? 64 : code.rawValue)
    }
}

Console.guardStandardDescriptors()
SignalCleanup.install()
// Past the file size limit (ulimit -f) a write fails with EFBIG, reported with status 74,
// instead of SIGXFSZ killing the process (status 153) with no word of what was lost.
_ = signal(SIGXFSZ, SIG_IGN)
Distributions.discardLibraryMessages()
Console.reportShrunkInputOnBusError()
LinearAlgebra.stopBLASThreadPool()
let arguments = Array(CommandLine.arguments.dropFirst())
// `--version` and `-V` (before a `--`), for `glmfit` and `glmfit predict`, whatever else is given.
if (arguments.firstIndex(of: "--") ?? arguments.endIndex) > (arguments.firstIndex { $0 == "--version" || $0 == "-V" } ?? arguments.endIndex) {
    do {
        try Console.writeOutput("glmfit \(GLMFitVersion)\n")
    } catch let failure as GLMError {
        Console.error(failure.message)
        exit(failure.exitStatus)
    } catch {}
    exit(0)
}
if arguments.first == "predict" {
    execute(PredictCommand.self, Array(arguments.dropFirst()),
            usage: "glmfit predict <model> <file> [--type link|response|probs|class] [--se] [--interval confidence] [--na fail|pass]")
} else {
    // `--na` may be given thousands of times, and swift-argument-parser takes time quadratic
    // in the repeats of one option: the tokens are taken out here, in order, and handed over.
    let (remaining, tokens) = RepeatedOption.extract("--na", from: arguments)
    FitCommand.extractedMissingTokens = tokens
    execute(FitCommand.self, remaining,
            usage: "glmfit <file> --formula <formula> [--family <family>] [--link <link>] [options]")
}

/// Takes the values of a repeatable option out of the command line.
enum RepeatedOption {
    /// The arguments without `name VALUE` and `name=VALUE` (before a `--`), and the values in
    /// order. `name` followed by nothing, or by an argument that starts with `-` (and is
    /// not `-` itself), is left for the parser, which reports the missing value.
    static func extract(_ name: String, from arguments: [String]) -> (remaining: [String], values: [String]) {
        var remaining: [String] = []
        var values: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                remaining += arguments[index...]
                break
            }
            if argument.hasPrefix(name + "=") {
                values.append(String(argument.dropFirst(name.count + 1)))
            } else if argument == name, index + 1 < arguments.count,
                      !arguments[index + 1].hasPrefix("-") || arguments[index + 1] == "-" {
                values.append(arguments[index + 1])
                index += 1
            } else {
                remaining.append(argument)
            }
            index += 1
        }
        return (remaining, values)
    }
}
