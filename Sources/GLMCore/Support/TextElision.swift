/// Bounds what glmfit prints of user-supplied text (a column name, a factor level, a
/// formula) in reports and messages: a 57 MB level must not make a report run for minutes.
/// JSON output never elides.
public enum TextElision {
    /// The characters of a label that text and CSV reports and error messages print.
    public static let labelLimit = 200

    /// `text` itself when it has at most `limit` characters; else its first `limit`
    /// characters and how long it was: `abc…(57,000,000 characters)`. Only the first
    /// `limit + 1` characters are looked at unless the text is long.
    public static func elided(_ text: String, limit: Int = labelLimit) -> String {
        // Fewer bytes than the limit: no need to count characters.
        if text.utf8.count <= limit { return text }
        let end = text.index(text.startIndex, offsetBy: limit, limitedBy: text.endIndex) ?? text.endIndex
        if end == text.endIndex { return text }
        return String(text[..<end]) + "…(\(groupedInteger(text.count)) characters)"
    }

    /// `text` with at most `limit` characters either side of character `position`, each
    /// cut side marked `…`; and the position within the result. For a caret under a long
    /// formula.
    public static func window(_ text: String, around position: Int, limit: Int = 80) -> (text: String, position: Int) {
        if text.utf8.count <= 2 * limit { return (text, position) }
        let characters = Array(text)
        let clamped = min(max(position, 0), characters.count)
        let start = max(0, clamped - limit)
        let end = min(characters.count, clamped + limit)
        let prefix = start > 0 ? "…" : ""
        let suffix = end < characters.count ? "…" : ""
        return (prefix + String(characters[start..<end]) + suffix, clamped - start + prefix.count)
    }

    /// 57000000 as `57,000,000`.
    public static func groupedInteger(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (offset, digit) in digits.enumerated() {
            if offset > 0, (digits.count - offset) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return value < 0 ? "-" + result : result
    }
}
