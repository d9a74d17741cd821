// Temporary until RFormat lands.
public enum RFormat {
    public static func deparse(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }
}
extension RFormat {
    public static func format(_ x: Double, digits: Int = 7) -> String { "\(x)" }
}
extension RFormat {
    public static func format(_ values: [Double?], digits: Int = 7, nsmall: Int = 0, naString: String = "NA") -> [String] { values.map { $0.map { "\($0)" } ?? naString } }
    public static func coefficientTable(rowNames: [String], estimate: [Double?], stdError: [Double?], statistic: [Double?], pValue: [Double?], statisticLabel: String, pValueLabel: String, digits: Int = 4, signifStars: Bool = true) -> [String] { rowNames }
    public static func matrix(rowNames: [String], columnNames: [String], cells: [[String]]) -> [String] { rowNames }
}
