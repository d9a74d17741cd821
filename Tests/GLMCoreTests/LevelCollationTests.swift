import Foundation
import Testing
@testable import GLMCore

/// The collation API against the level orders R printed for the same labels
/// (Tests/glmfitTests/Reference/make_collation_reference.R, `level_orders`), and R's rule
/// for choosing the collation from the environment.
@Suite("Level collation")
struct LevelCollationTests {
    struct Order: Decodable, Sendable, CustomTestStringConvertible {
        struct Tie: Decodable, Sendable {
            let input: [String]
            let levels: [String]
        }

        let collation: String
        let labels: [String]
        let levels: [String]
        let ties: [Tie]
        var testDescription: String { collation }
    }

    struct ReferenceFile: Decodable {
        let level_orders: [Order]
    }

    static let orders: [Order] = {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: Repository.path("Tests/glmfitTests/Reference/collation_reference.json"))),
              let file = try? JSONDecoder().decode(ReferenceFile.self, from: data) else { return [] }
        return file.level_orders
    }()

    /// Each of R's environments as the collation glmfit resolves it to.
    static func collation(for name: String) -> LevelCollation? {
        let environments: [String: [String: String]] = [
            "C": ["LC_ALL": "C"],
            "C.UTF-8": ["LC_ALL": "C.UTF-8"],
            "en_US.UTF-8": ["LANG": "en_US.UTF-8"],
            "sv_SE": ["LC_ALL": "C.UTF-8", "R_ICU_LOCALE": "sv_SE"],
        ]
        return environments[name].map { LevelCollation.resolve(environment: $0, localeIsAvailable: { _ in true }) }
    }

    @Test func referenceOrdersAreRead() {
        #expect(Self.orders.map(\.collation) == ["C", "sv_SE", "C.UTF-8", "en_US.UTF-8"])
    }

    @Test(arguments: orders)
    func sortsAsR(_ order: Order) throws {
        let collation = try #require(Self.collation(for: order.collation))
        #expect(try collation.sorted(order.labels) == order.levels)
        #expect(try collation.sorted(order.labels.reversed()) == order.levels)
    }

    /// The sort keys give ucol_strcoll's order, pair by pair.
    @Test(arguments: ["C.UTF-8", "sv_SE"])
    func sortKeysAgreeWithStrcoll(_ name: String) throws {
        let collation = try #require(Self.collation(for: name))
        let labels = try #require(Self.orders.first).labels
        let order = try collation.order(labels)
        var rank = [Int](repeating: 0, count: labels.count)
        for (position, index) in order.enumerated() { rank[index] = position }
        for i in labels.indices {
            for j in labels.indices where i != j {
                let compared = try collation.compare(labels[i], labels[j])
                #expect(compared != 0, "\(labels[i]) vs \(labels[j])")
                #expect((compared < 0) == (rank[i] < rank[j]), "\(labels[i]) vs \(labels[j])")
            }
        }
    }

    /// Levels ICU collates equal (canonically equivalent spellings) keep the order they
    /// were given in, as R's order() keeps them in their order of first appearance.
    @Test func equalLevelsKeepTheirOrder() throws {
        let collation = LevelCollation.icu(locale: "C.UTF-8")
        let composed = "\u{E9}t\u{E9}", decomposed = "e\u{301}te\u{301}"
        #expect(try collation.compare(composed, decomposed) == 0)
        #expect(try collation.order(["f", composed, "a", decomposed]) == [2, 1, 3, 0])
        #expect(try collation.order(["f", decomposed, "a", composed]) == [2, 1, 3, 0])
        // Byte order tells them apart.
        #expect(try LevelCollation.bytes.order(["f", composed, "a", decomposed]) == [2, 3, 0, 1])
    }

    /// The same through the reader, against R's read.csv: levels that collate equal come
    /// in their order of first appearance in the file. (Compared as bytes: Swift's String
    /// equality would not tell the two spellings apart.)
    @Test(arguments: orders)
    func readerKeepsFirstAppearanceForEqualLevels(_ order: Order) throws {
        let collation = try #require(Self.collation(for: order.collation))
        #expect(order.ties.count == 2)
        for tie in order.ties {
            let text = "label\n" + tie.input.map { "\"\($0)\"" }.joined(separator: "\n") + "\n"
            let table = try Array(text.utf8).withUnsafeBytes { raw in
                try CSVReader.read(bytes: raw, source: "t.csv", options: CSVOptions(collation: collation), select: { _ in nil })
            }
            guard case let .categorical(column)? = table.columns[0] else {
                Issue.record("label is not categorical")
                continue
            }
            #expect(column.levels.map { Array($0.utf8) } == tie.levels.map { Array($0.utf8) }, "\(tie.input)")
        }
    }

    @Test func icuReportsTheRulesItUses() throws {
        #expect(try LevelCollation.icu(locale: "C.UTF-8").actualICULocale() == "root")
        #expect(try LevelCollation.icu(locale: "sv_SE").actualICULocale() == "sv")
        #expect(try LevelCollation.bytes.actualICULocale() == nil)
    }

    /// R's rule: LC_ALL, else LC_COLLATE, else LANG (empty counts as unset); C and POSIX
    /// are byte order; a locale the C library cannot load is C; otherwise ICU, for
    /// R_ICU_LOCALE when set.
    @Test func resolvesAsR() {
        let available: (String) -> Bool = { $0 != "en_US.UTF-8" }
        func resolve(_ environment: [String: String]) -> LevelCollation {
            LevelCollation.resolve(environment: environment, localeIsAvailable: available)
        }
        #expect(resolve([:]) == .bytes)
        #expect(resolve(["LANG": "C"]) == .bytes)
        #expect(resolve(["LANG": "POSIX"]) == .bytes)
        #expect(resolve(["LANG": "C.UTF-8"]) == .icu(locale: "C.UTF-8"))
        #expect(resolve(["LANG": "C.UTF-8", "LC_COLLATE": "C"]) == .bytes)
        #expect(resolve(["LANG": "C", "LC_COLLATE": "C.UTF-8"]) == .icu(locale: "C.UTF-8"))
        #expect(resolve(["LC_ALL": "C.UTF-8", "LC_COLLATE": "C"]) == .icu(locale: "C.UTF-8"))
        #expect(resolve(["LC_ALL": "", "LC_COLLATE": "", "LANG": "de_DE.UTF-8"]) == .icu(locale: "de_DE.UTF-8"))
        #expect(resolve(["LC_ALL": "C", "R_ICU_LOCALE": "sv_SE"]) == .bytes)
        #expect(resolve(["LANG": "C.UTF-8", "R_ICU_LOCALE": "sv_SE"]) == .icu(locale: "sv_SE"))
        #expect(resolve(["LANG": "en_US.UTF-8"]) == .bytes)
        #expect(resolve(["LANG": "en_US.UTF-8", "R_ICU_LOCALE": "en_US"]) == .bytes)
    }

    @Test func theCLibraryKnowsItsOwnLocales() {
        #expect(LevelCollation.isAvailable("C.UTF-8"))
        #expect(LevelCollation.isAvailable("POSIX"))
        #expect(!LevelCollation.isAvailable("xx_NOWHERE.UTF-8"))
    }

    /// The reader orders a text column's levels by its options' collation, with every
    /// row's code following its level, serial or in parallel chunks.
    @Test func readerOrdersLevelsByTheCollation() throws {
        let labels = try #require(Self.orders.first).labels
        // Each label on several rows, so that the input is large enough to parse in chunks.
        var rows: [String] = []
        for repeatIndex in 0..<4_000 { rows.append(labels[(repeatIndex * 7) % labels.count]) }
        let text = "label\n" + rows.map { "\"\($0)\"" }.joined(separator: "\n") + "\n"
        for order in Self.orders {
            let collation = try #require(Self.collation(for: order.collation))
            for tuning in [CSVReader.Tuning.serial, CSVReader.Tuning(chunkCount: 4, minimumParallelBytes: 0, chunkBytes: 4_096)] {
                let table = try Array(text.utf8).withUnsafeBytes { raw in
                    try CSVReader.read(
                        bytes: raw, source: "t.csv", options: CSVOptions(collation: collation), tuning: tuning,
                        select: { _ in nil })
                }
                guard case let .categorical(column)? = table.columns[0] else {
                    Issue.record("label is not categorical")
                    continue
                }
                #expect(column.levels == order.levels, "\(order.collation)")
                #expect(column.codes.map { column.levels[Int($0)] } == rows, "\(order.collation)")
            }
        }
    }
}
