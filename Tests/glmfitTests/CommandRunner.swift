import Foundation
import Testing

/// Runs the built glmfit binary as a user would, capturing output and exit status.
struct CommandResult {
    let status: Int32
    let standardOutput: String
    let standardError: String
}

enum Glmfit {
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// GLMFIT_BIN (set by `make test` to the release build), else the binary built beside
    /// the test bundle.
    static let binary: URL? = {
        var candidates: [URL] = []
        if let path = ProcessInfo.processInfo.environment["GLMFIT_BIN"] { candidates.append(URL(fileURLWithPath: path)) }
        let runner = URL(fileURLWithPath: CommandLine.arguments[0])
        candidates.append(runner.deletingLastPathComponent().appendingPathComponent("glmfit"))
        candidates.append(Bundle.main.bundleURL.appendingPathComponent("glmfit"))
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("glmfit"))
        candidates.append(repositoryRoot.appendingPathComponent(".build/debug/glmfit"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    static func example(_ name: String) -> String {
        repositoryRoot.appendingPathComponent("Examples").appendingPathComponent(name).path
    }

    /// The locale variables R reads for its collation; a run sets them itself.
    static let localeVariables = ["LC_ALL", "LC_COLLATE", "LANG", "R_ICU_LOCALE"]

    /// Runs glmfit with `arguments` in the repository root, feeding `input` to standard input.
    /// - Parameter locale: the collation environment (`LC_ALL=C` unless given: byte order,
    ///   as the R references were made), so that no result depends on the machine's locale.
    static func run(_ arguments: [String], input: Data? = nil, locale: [String: String] = ["LC_ALL": "C"]) throws -> CommandResult {
        guard let binary else {
            Issue.record("glmfit binary not found; build it first (swift build) or set GLMFIT_BIN")
            return CommandResult(status: -1, standardOutput: "", standardError: "")
        }
        // Files, not pipes: no reader threads, and output of any size cannot block the child.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputURL = directory.appendingPathComponent("stdin")
        let outputURL = directory.appendingPathComponent("stdout")
        let errorURL = directory.appendingPathComponent("stderr")
        try (input ?? Data()).write(to: inputURL)
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        for variable in localeVariables { environment[variable] = nil }
        environment.merge(locale) { $1 }
        process.environment = environment
        process.currentDirectoryURL = repositoryRoot
        process.standardInput = try FileHandle(forReadingFrom: inputURL)
        process.standardOutput = try FileHandle(forWritingTo: outputURL)
        process.standardError = try FileHandle(forWritingTo: errorURL)
        try process.run()
        process.waitUntilExit()
        let outputData = try Data(contentsOf: outputURL)
        let errorData = try Data(contentsOf: errorURL)
        return CommandResult(
            status: process.terminationStatus,
            standardOutput: String(decoding: outputData, as: UTF8.self),
            standardError: String(decoding: errorData, as: UTF8.self))
    }
}
