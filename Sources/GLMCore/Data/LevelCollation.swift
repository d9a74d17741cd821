import CICU
import Foundation

/// The order of text factor levels: R's, in the same environment.
///
/// R on Linux sorts the levels of `factor(x)` with `order()`, which compares strings by
/// `Scollate`: byte order (`strcmp`) when the collation locale is `C` or `POSIX`, and
/// otherwise ICU's collator for that locale (even under `C.UTF-8`, whose ICU rules are the
/// root ones). So `non-USA` < `USA` and `<1l` < `1-1.5l` in R's default locales, and the
/// other way round under `LC_ALL=C`. glmfit asks the same library, Debian's libicu, R links.
/// This is the one file that calls ICU.
public enum LevelCollation: Sendable, Equatable, CustomStringConvertible {
    /// Byte order (R under a `C` or `POSIX` collation locale); for UTF-8, code point order.
    case bytes
    /// ICU's collator for this locale name (a POSIX name such as `en_US.UTF-8` or an ICU one
    /// such as `sv_SE`; ICU falls back to its root rules for a locale it has no rules for).
    case icu(locale: String)

    /// The collation R would use in the process's environment.
    public static let processDefault = resolve(environment: ProcessInfo.processInfo.environment)

    /// R's rule (R 4.2's `Scollate`, run at its start-up `setlocale`): the collation locale
    /// is `LC_ALL`, else `LC_COLLATE`, else `LANG` (the first that is set and not empty; `C`
    /// when none is). A locale the C library does not have (not installed) cannot be set,
    /// and R then runs in `C` ("Setting LC_COLLATE failed, using "C"") and so does glmfit.
    /// `C` and `POSIX` give byte order; any other locale gives ICU's collator for
    /// `R_ICU_LOCALE` when that is set, else for the locale itself.
    ///
    /// - Parameter localeIsAvailable: whether the C library can load a locale (by default it
    ///   asks `newlocale`); tests pass their own.
    public static func resolve(
        environment: [String: String], localeIsAvailable: (String) -> Bool = LevelCollation.isAvailable
    ) -> LevelCollation {
        var name = "C"
        for variable in ["LC_ALL", "LC_COLLATE", "LANG"] {
            if let value = environment[variable], !value.isEmpty {
                name = value
                break
            }
        }
        if name != "C", name != "POSIX", !localeIsAvailable(name) { name = "C" }
        if name == "C" || name == "POSIX" { return .bytes }
        if let icuLocale = environment["R_ICU_LOCALE"], !icuLocale.isEmpty { return .icu(locale: icuLocale) }
        return .icu(locale: name)
    }

    /// Whether the C library has the locale `name` for collation (so that R's `setlocale`
    /// would succeed).
    public static func isAvailable(_ name: String) -> Bool {
        guard let locale = newlocale(LC_COLLATE_MASK, name, nil) else { return false }
        freelocale(locale)
        return true
    }

    public var description: String {
        switch self {
        case .bytes: return "byte order (C locale)"
        case let .icu(locale): return "ICU collation for \(locale)"
        }
    }

    /// The positions of `levels` in sorted order (`levels[order[0]]` first). Levels that
    /// collate equal (ICU ignores some characters) keep their order in `levels`, as R's
    /// `order()` keeps equal strings in their order of first appearance.
    ///
    /// Each level's ICU sort key is computed once; the sort compares keys, never re-collates.
    ///
    /// - Throws: `GLMError.invalidOption` when ICU cannot open a collator at all (its data
    ///   missing): R stops then too ("failed to open ICU collator").
    public func order(_ levels: [String]) throws(GLMError) -> [Int] {
        switch self {
        case .bytes:
            return levels.indices.sorted { lhs, rhs in
                let order = LevelCollation.compareBytes(levels[lhs], levels[rhs])
                return order != 0 ? order < 0 : lhs < rhs
            }
        case let .icu(locale):
            let collator = try ICUCollator(locale: locale)
            let keys = levels.map { collator.sortKey($0) }
            return levels.indices.sorted { lhs, rhs in
                keys[lhs] != keys[rhs] ? keys[lhs].lexicographicallyPrecedes(keys[rhs]) : lhs < rhs
            }
        }
    }

    /// `levels` sorted (see `order(_:)`).
    public func sorted(_ levels: [String]) throws(GLMError) -> [String] {
        try order(levels).map { levels[$0] }
    }

    /// -1, 0 or 1 as `lhs` sorts before, with or after `rhs`: `strcmp`, or ICU's
    /// `ucol_strcoll` (tests compare it with the sort keys' order).
    public func compare(_ lhs: String, _ rhs: String) throws(GLMError) -> Int {
        switch self {
        case .bytes:
            return LevelCollation.compareBytes(lhs, rhs)
        case let .icu(locale):
            return try ICUCollator(locale: locale).compare(lhs, rhs)
        }
    }

    /// The ICU locale whose rules a collator for `locale` uses (`root` for the root rules),
    /// as R's `icuGetCollate()` reports it; nil for byte order.
    public func actualICULocale() throws(GLMError) -> String? {
        guard case let .icu(locale) = self else { return nil }
        return try ICUCollator(locale: locale).actualLocale
    }

    private static func compareBytes(_ lhs: String, _ rhs: String) -> Int {
        var lhs = lhs, rhs = rhs
        return lhs.withUTF8 { a in
            rhs.withUTF8 { b in
                let n = min(a.count, b.count)
                if n > 0, let pa = a.baseAddress, let pb = b.baseAddress {
                    let c = memcmp(pa, pb, n)
                    if c != 0 { return c < 0 ? -1 : 1 }
                }
                return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
            }
        }
    }
}

/// An open ICU collator, closed when released.
private final class ICUCollator {
    private let handle: OpaquePointer

    init(locale: String) throws(GLMError) {
        var error: Int32 = 0
        guard let handle = glm_collator_open(locale, &error) else {
            throw GLMError.invalidOption(
                name: "LC_COLLATE", message: "ICU cannot open a collator for the locale '\(locale)' (ICU error \(error))")
        }
        self.handle = handle
    }

    deinit { glm_collator_close(handle) }

    var actualLocale: String {
        String(cString: glm_collator_actual_locale(handle))
    }

    /// The ICU sort key of `text`, without its final zero byte.
    func sortKey(_ text: String) -> [UInt8] {
        let units = Array(text.utf16)
        let length = Int32(clamping: units.count)
        var key = [UInt8](repeating: 0, count: max(16, units.count * 4 + 8))
        while true {
            let capacity = Int32(clamping: key.count)
            let needed = units.withUnsafeBufferPointer { text in
                key.withUnsafeMutableBufferPointer { buffer in
                    glm_collator_sort_key(handle, text.baseAddress, length, buffer.baseAddress, capacity)
                }
            }
            if needed <= 0 { return [] }
            if needed <= capacity {
                key.removeLast(key.count - Int(needed - 1))
                return key
            }
            key = [UInt8](repeating: 0, count: Int(needed))
        }
    }

    func compare(_ lhs: String, _ rhs: String) throws(GLMError) -> Int {
        var lhs = lhs, rhs = rhs
        let result = lhs.withUTF8 { a in
            rhs.withUTF8 { b in
                a.withMemoryRebound(to: CChar.self) { a in
                    b.withMemoryRebound(to: CChar.self) { b in
                        glm_collator_compare_utf8(
                            handle, a.baseAddress, Int32(clamping: a.count), b.baseAddress, Int32(clamping: b.count))
                    }
                }
            }
        }
        guard result != 2 else {
            throw GLMError.invalidOption(name: "LC_COLLATE", message: "ICU could not compare '\(lhs)' and '\(rhs)'")
        }
        return Int(result)
    }
}
