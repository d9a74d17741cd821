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
