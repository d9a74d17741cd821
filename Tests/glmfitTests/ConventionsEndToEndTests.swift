import Foundation
import Testing

/// What people who live in shells expect: --version, completions, a manual page that is
/// current, and help that lists every family and fits in 80 columns.
@Suite("Shell conventions, end to end: version, completions, help, manual page")
struct ConventionsEndToEndTests {
    /// The version in Sources/GLMCore/Support/Version.swift, read from the source itself.
    static func sourceVersion() throws -> String {
        let text = try String(
            contentsOf: Glmfit.repositoryRoot.appendingPathComponent("Sources/GLMCore/Support/Version.swift"), encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.contains("GLMFitVersion =") }),
              let value = line.split(separator: "\"").dropFirst().first
        else { return "" }
        return String(value)
    }

    @Test(arguments: [["--version"], ["-V"], ["predict", "--version"], ["predict", "-V"], ["data.csv", "-f", "y ~ x", "--version"]])
    func versionIsPrinted(arguments: [String]) throws {
        let result = try Glmfit.run(arguments)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput == "glmfit \(try Self.sourceVersion())\n")
        #expect(result.standardError.isEmpty)
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScriptsAreWritten(shell: String) throws {
        let result = try Glmfit.run(["--generate-completion-script", shell])
        #expect(result.status == 0, "\(result.standardError)")
        for option in ["formula", "family", "delimiter", "decimal", "chunk-rows"] {
            #expect(result.standardOutput.contains(option), "\(shell) completion lacks \(option)")
        }
    }

    /// The families in the --family table of HelpText.swift (the one list of them).
    static func families() throws -> [String] {
        let text = try String(
            contentsOf: Glmfit.repositoryRoot.appendingPathComponent("Sources/glmfit/HelpText.swift"), encoding: .utf8)
        let start = try #require(text.range(of: "static let families"))
        let end = try #require(text.range(of: "]\n", range: start.upperBound..<text.endIndex))
        return text[start.upperBound..<end.lowerBound].split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "\"")
            return line.contains("(\"") && parts.count > 1 ? String(parts[1]) : nil
        }
    }

    @Test func helpListsEveryFamilyAndFitsIn80Columns() throws {
        let families = try Self.families()
        #expect(families.contains("negative-binomial"))
        #expect(families.count >= 8)
        for arguments in [["--help"], ["predict", "--help"]] {
            // The width a terminal would give is not used: help goes to a file here.
            let result = try Glmfit.run(arguments)
            #expect(result.status == 0)
            let wide = result.standardOutput.split(separator: "\n").filter { $0.count > 80 }
            #expect(wide.isEmpty, "\(arguments): lines over 80 columns:\n\(wide.joined(separator: "\n"))")
            if arguments == ["--help"] {
                let familyLine = result.standardOutput.components(separatedBy: "--family <family>").dropFirst().first ?? ""
                let optionHelp = familyLine.components(separatedBy: "\n  -").first ?? ""
                for family in families {
                    #expect(optionHelp.contains(family), "--family help lacks \(family)")
                    #expect(result.standardOutput.contains("\n  \(family) "), "the families table lacks \(family)")
                }
            }
        }
    }

    /// Every example in --help runs (those on Examples/ data), so none goes stale.
    @Test func helpExamplesRun() throws {
        let help = try Glmfit.run(["--help"]).standardOutput
        let joined = help.replacingOccurrences(of: "\\\n", with: " ")
        let commands = joined.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("glmfit Examples/") }
        #expect(commands.count >= 5)
        for command in commands {
            var arguments: [String] = []
            var current = ""
            var quoted = false
            for character in command.dropFirst("glmfit ".count) {
                if character == "\"" { quoted.toggle(); continue }
                if character == " ", !quoted {
                    if !current.isEmpty { arguments.append(current) }
                    current = ""
                } else {
                    current.append(character)
                }
            }
            if !current.isEmpty { arguments.append(current) }
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-help-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            if let save = arguments.firstIndex(of: "--save"), save + 1 < arguments.count {
                arguments[save + 1] = scratch.appendingPathComponent(arguments[save + 1]).path
            }
            let result = try Glmfit.run(arguments)
            #expect(result.status == 0, "\(command): \(result.standardError)")
        }
    }

    /// The committed manual page documents every option the binary has (`make man` remakes it).
    @Test func manualPageIsCurrent() throws {
        let page = try String(
            contentsOf: Glmfit.repositoryRoot.appendingPathComponent("Documentation/glmfit.1"), encoding: .utf8)
        let dump = try Glmfit.run(["--experimental-dump-help"])
        #expect(dump.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(dump.standardOutput.utf8)) as? [String: Any])
        let command = try #require(json["command"] as? [String: Any])
        let arguments = try #require(command["arguments"] as? [[String: Any]])
        var names: [String] = []
        for argument in arguments {
            guard let preferred = argument["preferredName"] as? [String: Any], preferred["kind"] as? String == "long",
                  let name = preferred["name"] as? String else { continue }
            names.append(name)
        }
        #expect(names.contains("delimiter"))
        for name in names {
            #expect(page.contains("Fl \\-\(name.replacingOccurrences(of: "-", with: "\\-"))")
                        || page.contains("Fl -\(name)"), "glmfit.1 lacks --\(name): run make man")
        }
    }
}
