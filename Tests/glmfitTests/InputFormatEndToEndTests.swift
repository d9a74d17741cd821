import Foundation
import Testing

/// Input as it comes in practice: compressed (gzip, xz, zstd, bzip2, as a file or on standard
/// input, with and without --chunk-rows), tab- or semicolon-separated, with decimal commas.
/// Each gives the same report as the plain CSV, byte for byte apart from the data's name.
/// The inputs are under Reference/input_formats, made by its make_input_formats.sh.
@Suite("Input formats, end to end: compression and dialects")
struct InputFormatEndToEndTests {
    static let directory = Glmfit.repositoryRoot.appendingPathComponent("Tests/glmfitTests/Reference/input_formats")
    static func reference(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static let dietoxModel = ["-f", "Weight ~ Time + Cu + Feed", "--family", "gaussian"]
    static let catsModel = ["-f", "Hwt ~ Bwt * Sex", "--family", "gamma", "--link", "log"]

    /// The report without its call (the one place that names the data); JSON as it is.
    static func report(_ result: CommandResult) -> String {
        let text = result.standardOutput
        guard text.hasPrefix("\nCall:"), let end = text.range(of: ")\n\n") else { return text }
        return String(text[end.upperBound...])
    }

    static func plain(_ arguments: [String]) throws -> CommandResult {
        let result = try Glmfit.run(arguments)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("Coefficients:") || result.standardOutput.contains("\"coefficients\""))
        return result
    }

    @Test(arguments: ["dietox.csv.gz", "dietox.csv.xz", "dietox.csv.zst", "dietox.csv.bz2", "dietox_members.csv.gz"])
    func compressedFileFitsAsThePlainFile(name: String) throws {
        for extra in [[], ["--chunk-rows", "100"], ["--format", "json"]] {
            let expected = try Self.plain([Glmfit.example("dietox.csv")] + Self.dietoxModel + extra)
            let file = try Glmfit.run([Self.reference(name)] + Self.dietoxModel + extra)
            #expect(file.status == 0, "\(name) \(extra): \(file.standardError)")
            #expect(Self.report(file) == Self.report(expected), "\(name) \(extra)")
            let input = try Data(contentsOf: URL(fileURLWithPath: Self.reference(name)))
            let piped = try Glmfit.run(["-"] + Self.dietoxModel + extra, input: input)
            #expect(piped.status == 0, "\(name) on stdin \(extra): \(piped.standardError)")
            #expect(Self.report(piped) == Self.report(expected), "\(name) on stdin \(extra)")
        }
    }

    @Test(arguments: ["dietox.csv.gz", "dietox.csv.xz", "dietox.csv.zst", "dietox.csv.bz2"])
    func truncatedOrCorruptCompressedInputIsAnError(name: String) throws {
        let whole = try Data(contentsOf: URL(fileURLWithPath: Self.reference(name)))
        let format = ["gz": "gzip", "xz": "xz", "zst": "zstd", "bz2": "bzip2"][(name as NSString).pathExtension] ?? ""
        var corrupt = whole
        for i in stride(from: 40, to: corrupt.count - 40, by: 97) { corrupt[i] ^= 0x5A }
        for (label, bytes) in [("truncated", whole.prefix(whole.count / 2)), ("corrupt", corrupt)] {
            for extra in [[], ["--chunk-rows", "100"]] {
                let result = try Glmfit.run(["-"] + Self.dietoxModel + extra, input: Data(bytes))
                #expect(result.status == 65, "\(name) \(label) \(extra): \(result.standardError)")
                #expect(result.standardError.contains("the data is \(format)-compressed and "),
                        "\(name) \(label): \(result.standardError)")
                #expect(result.standardOutput.isEmpty)
            }
        }
    }

    /// Standard input as a pipe (the other tests give it a file): the first bytes, read to
    /// recognise the format, must not be lost from plain text, and compressed text streams.
    @Test(arguments: ["dietox.csv", "dietox.csv.gz", "dietox.csv.zst"])
    func pipedInputFitsAsThePlainFile(name: String) throws {
        let binary = try #require(Glmfit.binary)
        let file = name == "dietox.csv" ? Glmfit.example(name) : Self.reference(name)
        let expected = try Self.plain([Glmfit.example("dietox.csv")] + Self.dietoxModel)
        for extra in [[], ["--chunk-rows", "100"]] {
            let arguments = ["-"] + Self.dietoxModel + extra
            let quoted = arguments.map { "'" + $0 + "'" }.joined(separator: " ")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "cat '\(file)' | '\(binary.path)' \(quoted)"]
            var environment = ProcessInfo.processInfo.environment
            environment["LC_ALL"] = "C"
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(name) \(extra)")
            let piped = CommandResult(status: process.terminationStatus, standardOutput: String(decoding: data, as: UTF8.self), standardError: "")
            #expect(Self.report(piped) == Self.report(expected), "\(name) piped \(extra)")
        }
    }

    @Test func predictReadsCompressedNewData() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-formats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let model = scratch.appendingPathComponent("m.json").path
        let fit = try Glmfit.run([Glmfit.example("dietox.csv"), "--save", model] + Self.dietoxModel)
        #expect(fit.status == 0, "\(fit.standardError)")
        let expected = try Glmfit.run(["predict", model, Glmfit.example("dietox.csv"), "--na", "pass"])
        #expect(expected.status == 0, "\(expected.standardError)")
        let compressed = try Glmfit.run(["predict", model, Self.reference("dietox.csv.xz"), "--na", "pass"])
        #expect(compressed.status == 0, "\(compressed.standardError)")
        #expect(compressed.standardOutput == expected.standardOutput)
        let piped = try Glmfit.run(
            ["predict", model, "-", "--na", "pass"], input: try Data(contentsOf: URL(fileURLWithPath: Self.reference("dietox.csv.gz"))))
        #expect(piped.standardOutput == expected.standardOutput, "\(piped.standardError)")
    }

    /// R's write.csv2 of the cats data (';', decimal commas) and write.table with tabs.
    @Test func dialectsFitAsThePlainFile() throws {
        let expected = try Self.plain([Glmfit.example("cats.csv")] + Self.catsModel)
        let runs: [(String, [String], Data?)] = [
            ("csv2 with --decimal ,", [Self.reference("cats_csv2.csv"), "--decimal", ","], nil),
            ("csv2 with both options", [Self.reference("cats_csv2.csv"), "--delimiter", ";", "--decimal", ","], nil),
            ("csv2 in chunks", [Self.reference("cats_csv2.csv"), "--decimal", ",", "--chunk-rows", "7"], nil),
            ("tsv by its name", [Self.reference("cats.tsv")], nil),
            ("tsv in chunks", [Self.reference("cats.tsv"), "--chunk-rows", "10"], nil),
            ("tabs on stdin, \\t", ["-", "--delimiter", "\\t"], try Data(contentsOf: URL(fileURLWithPath: Self.reference("cats.tsv")))),
            ("tabs on stdin, tab", ["-", "--delimiter", "tab"], try Data(contentsOf: URL(fileURLWithPath: Self.reference("cats.tsv")))),
        ]
        for (label, arguments, input) in runs {
            let result = try Glmfit.run(arguments + Self.catsModel, input: input)
            #expect(result.status == 0, "\(label): \(result.standardError)")
            #expect(Self.report(result) == Self.report(expected), "\(label)")
        }
        let pipes = String(decoding: try Data(contentsOf: URL(fileURLWithPath: Self.reference("cats.tsv"))), as: UTF8.self)
            .replacingOccurrences(of: "\t", with: "|")
        let piped = try Glmfit.run(["-", "--delimiter", "|"] + Self.catsModel, input: Data(pipes.utf8))
        #expect(Self.report(piped) == Self.report(expected), "\(piped.standardError)")
    }

    @Test func predictReadsADialect() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-formats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let model = scratch.appendingPathComponent("m.json").path
        let fit = try Glmfit.run([Glmfit.example("cats.csv"), "--save", model] + Self.catsModel)
        #expect(fit.status == 0, "\(fit.standardError)")
        let expected = try Glmfit.run(["predict", model, Glmfit.example("cats.csv"), "--se"])
        let csv2 = try Glmfit.run(["predict", model, Self.reference("cats_csv2.csv"), "--decimal", ",", "--se"])
        #expect(csv2.status == 0, "\(csv2.standardError)")
        // The rows are written back as standard CSV, so the two outputs are the same text.
        #expect(csv2.standardOutput == expected.standardOutput)
    }

    @Test func aFileInAnotherDialectIsNamed() throws {
        let result = try Glmfit.run([Self.reference("cats_csv2.csv")] + Self.catsModel)
        #expect(result.status == 64)
        #expect(result.standardError.contains(
            "line 1: the header is one column when fields are separated by ',', but it holds ';': the file looks "
                + "';'-separated; read it with --delimiter ';' (and --decimal ,"), "\(result.standardError)")
        #expect(result.standardOutput.isEmpty)
        let tabs = try Glmfit.run(["-"] + Self.catsModel, input: try Data(contentsOf: URL(fileURLWithPath: Self.reference("cats.tsv"))))
        #expect(tabs.status == 64)
        #expect(tabs.standardError.contains("read it with --delimiter '\\t'"), "\(tabs.standardError)")
        let chunked = try Glmfit.run([Self.reference("cats_csv2.csv"), "--chunk-rows", "5"] + Self.catsModel)
        #expect(chunked.status == 64)
        #expect(chunked.standardError.contains("--delimiter ';'"), "\(chunked.standardError)")
    }

    @Test func badDialectOptionsAreUsageErrors() throws {
        let cases: [([String], String)] = [
            (["--delimiter", "::"], "--delimiter: must be ',', ';', '|' or a tab"),
            (["--decimal", ";"], "--decimal: must be '.' or ','"),
            (["--delimiter", ",", "--decimal", ","], "needs a field delimiter other than ','"),
        ]
        for (options, message) in cases {
            let result = try Glmfit.run([Glmfit.example("cats.csv")] + options + Self.catsModel)
            #expect(result.status == 64, "\(options)")
            #expect(result.standardError.contains(message), "\(result.standardError)")
            #expect(result.standardOutput.isEmpty)
        }
    }
}
