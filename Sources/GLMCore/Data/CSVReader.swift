// TEMPORARY naive reader until the real one lands (not committed).
import Foundation
public struct CSVOptions: Sendable { public var naTokens: [String] = ["NA", "", "NaN"]; public init() {} }
public enum CSVReader {
    public static func read(path: String, options: CSVOptions = .init(), select: ([String]) throws -> Set<Int>?) throws -> Table {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw GLMError.fileNotFound(path: path) }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"\r")) } }
        let header = lines.removeFirst()
        var columns: [Column?] = []
        for j in 0..<header.count {
            let fields = lines.map { $0[j] }
            let nums = fields.map { f -> Double? in (f == "NA" || f == "") ? Double.nan : Double(f) }
            if nums.allSatisfy({ $0 != nil }) { columns.append(.numeric(nums.map { $0! })) }
            else {
                let logical = fields.allSatisfy { ["TRUE","FALSE","NA"].contains($0) }
                let levels = logical ? ["FALSE","TRUE"] : Array(Set(fields.filter { $0 != "NA" && $0 != "" })).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
                columns.append(.categorical(CategoricalColumn(codes: fields.map { f in Int32(levels.firstIndex(of: f) ?? -1) }, levels: levels, isLogical: logical)))
            }
        }
        return Table(source: path, columnNames: header, columns: columns, rowCount: lines.count)
    }
}
