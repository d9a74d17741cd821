import GLMCore

/// A JSON value with object keys kept in insertion order, so output is stable for scripts.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case integer(Int)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        lhs.rendered() == rhs.rendered()
    }

    /// A number, or null when it is missing or not finite (JSON has no NaN or Inf).
    public static func number(_ value: Double?) -> JSONValue {
        guard let value, value.isFinite else { return .null }
        return .number(value)
    }

    public static func string(_ value: String?) -> JSONValue {
        value.map { .string($0) } ?? .null
    }

    /// Compact when `indent` is nil, else pretty-printed with that many spaces.
    public func rendered(indent: Int? = 2) -> String {
        var output = ""
        write(into: &output, indent: indent, level: 0)
        return output
    }

    private func write(into output: inout String, indent: Int?, level: Int) {
        switch self {
        case .null: output += "null"
        case let .bool(value): output += value ? "true" : "false"
        case let .integer(value): output += String(value)
        case let .number(value): output += JSONValue.format(value)
        case let .string(value): JSONValue.writeString(value, into: &output)
        case let .array(values):
            if values.isEmpty { output += "[]"; return }
            // Arrays of scalars stay on one line: vcov rows and warnings read better so.
            let scalars = values.allSatisfy { if case .array = $0 { return false }; if case .object = $0 { return false }; return true }
            if scalars || indent == nil {
                output += "["
                for (index, value) in values.enumerated() {
                    if index > 0 { output += indent == nil ? "," : ", " }
                    value.write(into: &output, indent: indent, level: level + 1)
                }
                output += "]"
                return
            }
            output += "[\n"
            for (index, value) in values.enumerated() {
                output += JSONValue.padding(indent, level + 1)
                value.write(into: &output, indent: indent, level: level + 1)
                output += index + 1 < values.count ? ",\n" : "\n"
            }
            output += JSONValue.padding(indent, level) + "]"
        case let .object(members):
            if members.isEmpty { output += "{}"; return }
            guard let indent else {
                output += "{"
                for (index, member) in members.enumerated() {
                    if index > 0 { output += "," }
                    JSONValue.writeString(member.0, into: &output)
                    output += ":"
                    member.1.write(into: &output, indent: nil, level: level + 1)
                }
                output += "}"
                return
            }
            output += "{\n"
            for (index, member) in members.enumerated() {
                output += JSONValue.padding(indent, level + 1)
                JSONValue.writeString(member.0, into: &output)
                output += ": "
                member.1.write(into: &output, indent: indent, level: level + 1)
                output += index + 1 < members.count ? ",\n" : "\n"
            }
            output += JSONValue.padding(indent, level) + "}"
        }
    }

    private static func padding(_ indent: Int?, _ level: Int) -> String {
        String(repeating: " ", count: (indent ?? 0) * level)
    }

    /// The shortest decimal that reads back as the same double.
    static func format(_ value: Double) -> String {
        value.isFinite ? NumberText.shortest(value) : "null"
    }

    private static func writeString(_ value: String, into output: inout String) {
        output += JSONEscaping.quoted(value)
    }
}
