/// A JSON value for files glmfit writes and reads back (saved models): objects keep their
/// keys in order, and numbers are written as the shortest decimal that reads back as the
/// same double and are read with correct rounding, so a double survives a round trip
/// bit for bit.
enum JSONText: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONText])
    case object([(String, JSONText)])

    static func == (lhs: JSONText, rhs: JSONText) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// A number, or null when it is nil or not finite (JSON has no NaN or Inf).
    static func number(_ value: Double?) -> JSONText {
        guard let value, value.isFinite else { return .null }
        return .number(value)
    }

    /// The member named `key` of an object (nil for other values or an absent key).
    subscript(key: String) -> JSONText? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    // MARK: Writing

    /// Pretty-printed with two-space indentation; arrays of scalars stay on one line.
    func rendered() -> String {
        var output = ""
        write(into: &output, level: 0)
        output += "\n"
        return output
    }

    private func write(into output: inout String, level: Int) {
        switch self {
        case .null: output += "null"
        case let .bool(value): output += value ? "true" : "false"
        case let .number(value): output += value.isFinite ? NumberText.shortest(value) : "null"
        case let .string(value): JSONText.writeString(value, into: &output)
        case let .array(values):
            if values.isEmpty { output += "[]"; return }
            if values.allSatisfy(\.isScalar) {
                output += "["
                for (index, value) in values.enumerated() {
                    if index > 0 { output += ", " }
                    value.write(into: &output, level: level + 1)
                }
                output += "]"
                return
            }
            output += "[\n"
            for (index, value) in values.enumerated() {
                output += String(repeating: "  ", count: level + 1)
                value.write(into: &output, level: level + 1)
                output += index + 1 < values.count ? ",\n" : "\n"
            }
            output += String(repeating: "  ", count: level) + "]"
        case let .object(members):
            if members.isEmpty { output += "{}"; return }
            // Small objects of scalars (a column, a coefficient's part) stay on one line.
            if members.count <= 3, members.allSatisfy({ $0.1.isScalar }) {
                output += "{"
                for (index, member) in members.enumerated() {
                    if index > 0 { output += ", " }
                    JSONText.writeString(member.0, into: &output)
                    output += ": "
                    member.1.write(into: &output, level: level + 1)
                }
                output += "}"
                return
            }
            output += "{\n"
            for (index, member) in members.enumerated() {
                output += String(repeating: "  ", count: level + 1)
                JSONText.writeString(member.0, into: &output)
                output += ": "
                member.1.write(into: &output, level: level + 1)
                output += index + 1 < members.count ? ",\n" : "\n"
            }
            output += String(repeating: "  ", count: level) + "}"
        }
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    private static func writeString(_ value: String, into output: inout String) {
        output += JSONEscaping.quoted(value)
    }

    // MARK: Reading

    /// Why a text is not JSON, with the 1-based line and column where reading stopped.
    struct SyntaxError: Error, Equatable {
        let message: String
        let line: Int
        let column: Int

        var description: String { "\(message) at line \(line), column \(column)" }
    }

    /// Parses one JSON value (RFC 8259) filling the whole text, white space around it allowed.
    static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSONText {
        var parser = Parser(bytes: bytes)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        if parser.index < bytes.count { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0
        static let maximumDepth = 512

        init(bytes: [UInt8]) { self.bytes = bytes }

        func error(_ message: String) -> SyntaxError {
            var line = 1
            var column = 1
            for byte in bytes[..<min(index, bytes.count)] {
                if byte == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else if byte & 0xC0 != 0x80 {
                    column += 1
                }
            }
            return SyntaxError(message: message, line: line, column: column)
        }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func expect(_ word: String, _ value: JSONText) throws(SyntaxError) -> JSONText {
            let utf8 = Array(word.utf8)
            guard index + utf8.count <= bytes.count, Array(bytes[index..<index + utf8.count]) == utf8 else {
                throw error("unexpected character")
            }
            index += utf8.count
            return value
        }

        mutating func value(depth: Int) throws(SyntaxError) -> JSONText {
            guard depth < Parser.maximumDepth else { throw error("nested too deeply") }
            guard index < bytes.count else { throw error("unexpected end of text") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw error("unexpected character")
            }
        }

        mutating func object(depth: Int) throws(SyntaxError) -> JSONText {
            index += 1
            var members: [(String, JSONText)] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a key in quotes") }
                let key = try string()
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
                index += 1
                skipSpace()
                members.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard index < bytes.count else { throw error("unexpected end of text in an object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "}") else { throw error("expected ',' or '}' in an object") }
                index += 1
                return .object(members)
            }
        }

        mutating func array(depth: Int) throws(SyntaxError) -> JSONText {
            index += 1
            var values: [JSONText] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(values)
            }
            while true {
                skipSpace()
                values.append(try value(depth: depth + 1))
                skipSpace()
                guard index < bytes.count else { throw error("unexpected end of text in an array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "]") else { throw error("expected ',' or ']' in an array") }
                index += 1
                return .array(values)
            }
        }

        mutating func number() throws(SyntaxError) -> Double {
            let start = index
            func digits(_ parser: inout Parser) -> Int {
                let first = parser.index
                while parser.index < parser.bytes.count, parser.bytes[parser.index] >= UInt8(ascii: "0"),
                      parser.bytes[parser.index] <= UInt8(ascii: "9") { parser.index += 1 }
                return parser.index - first
            }
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            let integerStart = index
            let integerDigits = digits(&self)
            guard integerDigits > 0 else { throw error("malformed number") }
            if integerDigits > 1, bytes[integerStart] == UInt8(ascii: "0") { throw error("malformed number (leading zero)") }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits(&self) > 0 else { throw error("malformed number") }
            }
            if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits(&self) > 0 else { throw error("malformed number") }
            }
            let end = index
            var value = 0.0
            let consumed = bytes.withUnsafeBufferPointer { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return FastFloat.parseWithFastFloat(base + start, base + end, &value)
            }
            guard consumed == end - start else {
                index = start
                throw error("malformed number")
            }
            return value
        }

        mutating func hex4() throws(SyntaxError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("unexpected end of text in a \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[index]
                let digit: UInt32
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
                default: throw error("malformed \\u escape")
                }
                value = value * 16 + digit
                index += 1
            }
            return value
        }

        mutating func string() throws(SyntaxError) -> String {
            index += 1
            var utf8: [UInt8] = []
            while true {
                guard index < bytes.count else { throw error("unterminated string") }
                let b = bytes[index]
                if b == UInt8(ascii: "\"") {
                    index += 1
                    break
                }
                if b < 0x20 { throw error("control character in a string") }
                if b != UInt8(ascii: "\\") {
                    utf8.append(b)
                    index += 1
                    continue
                }
                index += 1
                guard index < bytes.count else { throw error("unterminated string") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): utf8.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): utf8.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "/"): utf8.append(UInt8(ascii: "/"))
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate in a \\u escape")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in a \\u escape") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw error("unpaired surrogate in a \\u escape")
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
                    utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    throw error("invalid escape in a string")
                }
            }
            let valid = utf8.withUnsafeBufferPointer { buffer in
                buffer.baseAddress.map { isValidUTF8($0, buffer.count) } ?? true
            }
            guard valid else { throw error("a string is not valid UTF-8") }
            return String(decoding: utf8, as: UTF8.self)
        }
    }
}

/// JSON string literals, for every JSON glmfit writes.
public enum JSONEscaping {
    /// `value` in double quotes, with quotes, backslashes and control characters escaped.
    public static func quoted(_ value: String) -> String {
        var output = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        return output + "\""
    }
}

/// Numbers as glmfit writes them in files meant to be read back (CSV predictions and
/// residuals, saved models).
public enum NumberText {
    /// The shortest decimal that reads back as the same double: whole numbers below 1e15
    /// without a decimal point, others as Swift prints them (`0.1`, `1e-05`, `1.5e+20`).
    public static func shortest(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 {
            return String(Int64(value))
        }
        return "\(value)"
    }

    /// A CSV field: `shortest` for finite numbers, `Inf` and `-Inf` as R writes them, and an
    /// empty field for a missing value (NaN).
    public static func csvField(_ value: Double) -> String {
        if value.isNaN { return "" }
        if value.isInfinite { return value > 0 ? "Inf" : "-Inf" }
        return shortest(value)
    }
}
