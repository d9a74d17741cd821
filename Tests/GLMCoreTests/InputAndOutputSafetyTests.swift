#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import GLMCore

/// Missing-value tokens, message escaping and the not-CSV check.
@Suite("Input checks: NA tokens, escaped messages, data that is not CSV text")
struct InputCheckTests {
    /// Many tokens (the hash table) and few (the loop) answer as a plain set would, for
    /// fields that are tokens, near misses, and the empty field.
    @Test(arguments: [3, 9, 20_000])
    func naTokensMatchAsASet(count: Int) {
        var random = SplitMix64(seed: UInt64(count))
        let tokens = (0..<count).map { "t\($0 * 7)" } + ["-999", ""]
        let set = NATokenSet(tokens)
        let expected = Set(tokens)
        var fields = tokens.shuffled(using: &random).prefix(500).map { $0 }
        fields += (0..<500).map { _ in "t\(Int.random(in: 0..<(count * 8), using: &random))" }
        fields += ["-999.0", "NA", "t", "t0x", "-999"]
        for field in fields {
            // One byte more, so that even the empty field has an address.
            let bytes = Array(field.utf8) + [0]
            let found = bytes.withUnsafeBufferPointer { buffer -> Bool in
                guard let base = buffer.baseAddress else { return false }
                return set.matches(base, buffer.count - 1)
            }
            #expect(found == expected.contains(field), "field '\(field)' with \(count) tokens")
        }
        let minus = Array("-999".utf8)
        #expect(minus.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { set.matchesNumber($0, buffer.count, value: -999) } ?? false
        })
    }

    @Test func messagesEscapeWhatDoesNotShow() {
        #expect(MessageText.escaped("\u{FEFF}y") == "<U+FEFF>y")
        #expect(MessageText.escaped("a\u{0}b\tc\u{1B}[31m") == "a<U+0000>b<U+0009>c<U+001B>[31m")
        #expect(MessageText.escaped("zero\u{200B}width") == "zero<U+200B>width")
        // Printable text, line feeds between a message's lines and non-Latin letters stay.
        #expect(MessageText.escaped("é, 名前\nnext") == "é, 名前\nnext")
        let once = MessageText.escaped("x\u{FEFF}\u{0}")
        #expect(MessageText.escaped(once) == once)
        let error = GLMError.duplicateColumnName(source: "f.csv", name: "x\u{0}z", firstColumn: 1, secondColumn: 2)
        #expect(error.message.contains("'x<U+0000>z'"))
    }

    static func check(_ bytes: [UInt8], source: String = "f.csv") throws {
        try bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            try CSVReader.checkIsText(base, count: buffer.count, source: source)
        }
    }

    @Test(arguments: [
        ("gzip", [0x1F, 0x8B, 0x08, 0x00] as [UInt8]),
        ("xz", [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 0x00]),
        ("zstd", [0x28, 0xB5, 0x2F, 0xFD, 0x20]),
        ("bzip2", Array("BZh91AY&SY".utf8)),
    ])
    func compressedInputIsRecognisedByItsFirstBytes(format: String, magic: [UInt8]) {
        #expect(CompressionFormat.detect(magic + Array("y,x\n1,2\n".utf8))?.rawValue == format)
    }

    @Test func aHeaderThatStartsLikeBzip2IsText() {
        #expect(CompressionFormat.detect(Array("BZh,x,y,z\n1,2,3,4\n".utf8)) == nil)
        #expect(CompressionFormat.detect(Array("BZh9\n".utf8)) == nil)
        #expect(CompressionFormat.detect(Array("y,x\n1,2\n".utf8)) == nil)
    }

    @Test func binaryIsNotCSVButOddTextIs() throws {
        var random = SplitMix64(seed: 4)
        for length in [40, 300, 3_000, 10_000] {
            let garbage = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            #expect(throws: GLMError.self, "\(length) random bytes") { try Self.check(garbage) }
        }
        // Text with one NUL or tabs in a name, a BOM, Latin letters in UTF-8: not refused here.
        for text in ["y,x\u{0}z\n1,2\n", "y\tz,x\n1,2\n", "\u{FEFF}y,x\n1,2\n", "año,x\n1,2\n"] {
            try Self.check(Array(text.utf8))
        }
    }
}

/// Output destinations: what each kind of path becomes, and which are refused.
@Suite("Output destinations: never the input, the other output, or a non-regular file replaced")
struct OutputDestinationTests {
    final class Scratch {
        let url: URL
        init() throws {
            url = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-dest-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(at: url) }
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }
        func listing() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted() }
    }

    /// The kinds of destination, each made fresh in a scratch folder holding `in.csv`.
    enum Kind: String, CaseIterable, Sendable {
        case absent, regular, symlink, danglingSymlink, fifo, devNull, input, hardLinkToInput, dotSlashInput, directory
    }

    /// Makes the destination and returns its path and whether it must be refused, and for
    /// one that is written, whether it is written through (not replaced).
    static func make(_ kind: Kind, in scratch: Scratch) throws -> (path: String, refused: Bool, through: Bool) {
        let manager = FileManager.default
        switch kind {
        case .absent: return (scratch.path("out.json"), false, false)
        case .regular:
            try Data("old".utf8).write(to: URL(fileURLWithPath: scratch.path("out.json")))
            return (scratch.path("out.json"), false, false)
        case .symlink:
            try Data("old".utf8).write(to: URL(fileURLWithPath: scratch.path("target.json")))
            try manager.createSymbolicLink(atPath: scratch.path("out.json"), withDestinationPath: "target.json")
            return (scratch.path("out.json"), false, false)
        case .danglingSymlink:
            try manager.createSymbolicLink(atPath: scratch.path("out.json"), withDestinationPath: "made.json")
            return (scratch.path("out.json"), false, false)
        case .fifo:
            #expect(mkfifo(scratch.path("out.fifo"), 0o600) == 0)
            return (scratch.path("out.fifo"), false, true)
        case .devNull: return ("/dev/null", false, true)
        case .input: return (scratch.path("in.csv"), true, false)
        case .hardLinkToInput:
            try manager.linkItem(atPath: scratch.path("in.csv"), toPath: scratch.path("hard.csv"))
            return (scratch.path("hard.csv"), true, false)
        case .dotSlashInput: return (scratch.url.path + "/./in.csv", true, false)
        case .directory:
            try manager.createDirectory(atPath: scratch.path("dir"), withIntermediateDirectories: false)
            return (scratch.path("dir"), true, false)
        }
    }

    @Test(arguments: Kind.allCases)
    func destinationIsResolvedOrRefused(kind: Kind) throws {
        let scratch = try Scratch()
        try Data("y,x\n1,2\n".utf8).write(to: URL(fileURLWithPath: scratch.path("in.csv")))
        let (path, refused, through) = try Self.make(kind, in: scratch)
        let input = try #require(FileID(path: scratch.path("in.csv")))
        do {
            let destination = try OutputDestination(option: "--save", path: path)
            try OutputDestination.checkDistinct([destination], inputs: [(name: "the input", file: input)])
            #expect(!refused, "\(kind) was accepted")
            #expect(destination.writesThrough == through, "\(kind)")
            if kind == .symlink || kind == .danglingSymlink {
                #expect(destination.target.hasSuffix(kind == .symlink ? "/target.json" : "/made.json"), "\(destination.target)")
            }
        } catch {
            #expect(refused, "\(kind): \(error.message)")
            #expect(error.exitStatus == 73)
        }
    }

    /// Two outputs that are one file, by path or by inode, are refused.
    @Test func twoOutputsOfOneFileAreRefused() throws {
        let scratch = try Scratch()
        try Data("x".utf8).write(to: URL(fileURLWithPath: scratch.path("a.json")))
        try FileManager.default.linkItem(atPath: scratch.path("a.json"), toPath: scratch.path("b.json"))
        for (first, second) in [("new.json", "./new.json"), ("a.json", "b.json")] {
            let one = try OutputDestination(option: "--save", path: scratch.path(first))
            let two = try OutputDestination(option: "--residuals", path: scratch.path(second))
            #expect(throws: GLMError.self, "\(first), \(second)") { try OutputDestination.checkDistinct([one, two], inputs: []) }
        }
    }

    /// A file that is written is complete or absent; the symlink stays a symlink; nothing
    /// else is left in the folder.
    @Test(arguments: [Kind.absent, .regular, .symlink, .danglingSymlink])
    func committedFileReplacesTheTarget(kind: Kind) throws {
        let scratch = try Scratch()
        let (path, _, _) = try Self.make(kind, in: scratch)
        let before = scratch.listing()
        let file = try AtomicFile(destination: OutputDestination(option: "--save", path: path))
        try file.write("{\"ok\": true}\n")
        try file.prepare()
        #expect(scratch.listing() == before, "nothing named before the commit")
        try file.commit()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == "{\"ok\": true}\n")
        var after = before
        if kind == .absent { after.append("out.json") }
        if kind == .danglingSymlink { after.append("made.json") }
        #expect(scratch.listing() == after.sorted())
        if kind == .symlink || kind == .danglingSymlink {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect(attributes[.type] as? FileAttributeType == .typeSymbolicLink)
        }
    }

    /// An output that is abandoned leaves the destination and the folder as they were.
    @Test func abortedFileLeavesNothing() throws {
        let scratch = try Scratch()
        let (path, _, _) = try Self.make(.regular, in: scratch)
        let before = scratch.listing()
        do {
            let file = try AtomicFile(destination: OutputDestination(option: "--save", path: path))
            try file.write(String(repeating: "x", count: 3 << 20))
        }
        #expect(scratch.listing() == before)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old")
    }

    @Test func spoolLimitKeepsAReserve() {
        #expect(InputSpool.reserve(filesystemSize: 100 << 30) == 1 << 30)
        #expect(InputSpool.reserve(filesystemSize: 1 << 30) == (1 << 30) / 20)
        #expect(InputSpool.fits(1 << 20, free: 2 << 30, filesystemSize: 100 << 30))
        #expect(!InputSpool.fits(1 << 30, free: (2 << 30) - 1, filesystemSize: 100 << 30))
    }
}
