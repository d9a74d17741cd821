import CFastFloat
import CKernels

/// Number parsing straight from bytes, with fast_float (round to nearest, as `strtod`).
///
/// The only file of the engine that imports `CFastFloat` (and the SIMD window from `CKernels`).
/// Nothing here allocates.
enum FastFloat {
    /// Parses the longest number at the start of `[first, last)`.
    ///
    /// Accepts what C++17 `from_chars` accepts: an optional `-`, digits with an optional
    /// fraction and exponent, `inf`, `infinity` and `nan` in any case. No leading `+`, no
    /// surrounding spaces: `parseNumber` adds R's rules on top.
    ///
    /// Plain decimals of at most 19 digits whose digits fit in 2^53 and that have at most
    /// 22 decimals, the usual CSV number, are read inline by Clinger's fast path (one exact
    /// conversion and one correctly rounded division by an exact power of ten, the same
    /// arithmetic fast_float uses for them); everything else goes to fast_float.
    ///
    /// - Returns: the number of bytes consumed, 0 when no number starts at `first`.
    @inline(__always)
    static func parsePrefix(
        _ first: UnsafePointer<UInt8>, _ last: UnsafePointer<UInt8>, _ value: inout Double
    ) -> Int {
        // The usual short field (at most 15 digits, 16 bytes readable) in a few SIMD steps
        // without a branch per byte; the same arithmetic as below, so the same double.
        let taken = glm_parse_short_decimal(first, last, &value)
        if taken > 0 { return taken }
        return parsePrefixByteByByte(first, last, &value)
    }

    /// `parsePrefix` without the SIMD window: a byte at a time, then fast_float.
    @inline(__always)
    static func parsePrefixByteByByte(
        _ first: UnsafePointer<UInt8>, _ last: UnsafePointer<UInt8>, _ value: inout Double
    ) -> Int {
        var p = first
        // The sign without branches: in a column of random signs a branch on it would be
        // mispredicted half the time.
        let negative = p < last && p.pointee == UInt8(ascii: "-")
        let signBit = UInt64(UInt8(truncatingIfNeeded: negative ? 1 : 0))
        p += Int(signBit)
        var mantissa: UInt64 = 0
        var digits = readDigits(&p, last, into: &mantissa)
        var decimals = 0
        if p < last, p.pointee == UInt8(ascii: ".") {
            p += 1
            decimals = readDigits(&p, last, into: &mantissa)
            digits += decimals
        }
        if digits > 0, digits <= 19, decimals <= 22, mantissa <= 1 << 53,
           !(p < last && p.pointee | 0x20 == UInt8(ascii: "e")) {
            var v = Double(mantissa)
            if decimals > 0 { v /= exactPowersOfTen[decimals] }
            value = Double(bitPattern: v.bitPattern | signBit << 63)
            return p - first
        }
        return parseWithFastFloat(first, last, &value)
    }

    /// Appends the decimal digits at `p` to `mantissa` (wrapping past 2^64, which the caller
    /// rules out by counting digits) and returns how many there were.
    @inline(__always)
    private static func readDigits(
        _ p: inout UnsafePointer<UInt8>, _ last: UnsafePointer<UInt8>, into mantissa: inout UInt64
    ) -> Int {
        let start = p
        // Eight at a time while they last; the cheap test of the second byte first skips the
        // attempt for the usual short integer part.
        while last - p >= 8, p[1] &- UInt8(ascii: "0") < 10, let eight = eightDigits(p) {
            mantissa = mantissa &* 100_000_000 &+ eight
            p += 8
        }
        while p < last {
            let d = p.pointee &- UInt8(ascii: "0")
            if d >= 10 { break }
            mantissa = mantissa &* 10 &+ UInt64(d)
            p += 1
        }
        return p - start
    }

    /// The value of the eight ASCII digits at `p`, or nil when they are not all digits
    /// (SWAR: all eight bytes are tested and combined with three multiplications).
    @inline(__always)
    private static func eightDigits(_ p: UnsafePointer<UInt8>) -> UInt64? {
        let word = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
        // Every byte is 0x30...0x39: its high nibble is 3, and adding 6 does not carry into it.
        let high = word & 0xF0F0_F0F0_F0F0_F0F0
        let carried = (word &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0
        guard high | (carried >> 4) == 0x3333_3333_3333_3333 else { return nil }
        // Digit values, first digit in the lowest byte; then pairs, quads, and the whole.
        var v = word &- 0x3030_3030_3030_3030
        v = (v &* 10) &+ (v >> 8)  // byte 2i holds the two-digit number of digits 2i, 2i+1
        let pairs02 = v & 0x0000_00FF_0000_00FF  // pairs 0 and 2 (bytes 0 and 4)
        let pairs13 = (v >> 16) & 0x0000_00FF_0000_00FF  // pairs 1 and 3
        return (pairs02 &* (100 + (1_000_000 << 32)) &+ pairs13 &* (1 + (10_000 << 32))) >> 32
    }

    /// 10^0 ... 10^22, every one exactly representable as a Double.
    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// fast_float's `from_chars` on `[first, last)`.
    static func parseWithFastFloat(
        _ first: UnsafePointer<UInt8>, _ last: UnsafePointer<UInt8>, _ value: inout Double
    ) -> Int {
        guard first < last else { return 0 }
        let f = UnsafeRawPointer(first).assumingMemoryBound(to: CChar.self)
        let l = UnsafeRawPointer(last).assumingMemoryBound(to: CChar.self)
        let consumed = Int(truncatingIfNeeded: cff_parse_double(f, l, &value))
        // fast_float never reads past `last`; a value outside [0, length] would be a bug in
        // the bridge, and is treated as "no number" rather than trusted.
        return consumed >= 0 && consumed <= last - first ? consumed : 0
    }

    /// Parses a whole field as R's `type.convert` would: surrounding white space is
    /// allowed, as is one leading `+`; `Inf`, `-Inf`, `NaN` (any case) and hexadecimal
    /// numbers (`0x1F`, `0x1.8p3`) are numbers, and so (an R quirk) is a number followed by
    /// an exponent marker without digits (`1e`, `2.5E+`).
    ///
    /// - Returns: the value, or nil when the field (trimmed) is empty or not a number.
    static func parseNumber(_ start: UnsafePointer<UInt8>, _ count: Int) -> Double? {
        var p = start
        var end = start + max(0, count)
        while p < end, isSpace(p.pointee) { p += 1 }
        while end > p, isSpace((end - 1).pointee) { end -= 1 }
        guard p < end else { return nil }
        var negative = false
        let sign = p.pointee
        if sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            // A sign must be followed by something that is not a sign.
            guard p + 1 < end else { return nil }
            let next = p[1]
            if next == UInt8(ascii: "+") || next == UInt8(ascii: "-") { return nil }
            if sign == UInt8(ascii: "+") { p += 1 }
            if sign == UInt8(ascii: "-"), p + 2 < end, p[1] == UInt8(ascii: "0"),
               p[2] | 0x20 == UInt8(ascii: "x") {
                negative = true
                p += 1
            }
        }
        if end - p > 2, p.pointee == UInt8(ascii: "0"), p[1] | 0x20 == UInt8(ascii: "x") {
            guard let value = parseHex(p + 2, end) else { return nil }
            return negative ? -value : value
        }
        var value = 0.0
        let consumed = parsePrefix(p, end, &value)
        guard consumed > 0 else { return nil }
        var rest = p + consumed
        // R's R_strtod reads an exponent marker without digits as exponent 0: "1e", "2.5E+".
        if rest < end, rest.pointee | 0x20 == UInt8(ascii: "e"), value.isFinite {
            rest += 1
            if rest < end, rest.pointee == UInt8(ascii: "+") || rest.pointee == UInt8(ascii: "-") { rest += 1 }
        }
        guard rest == end else { return nil }
        return value
    }

    /// R's `isspace` set: space, tab, newline, vertical tab, form feed, carriage return.
    @inline(__always)
    static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || (b >= 0x09 && b <= 0x0D)
    }

    /// Hexadecimal digits with an optional `.` fraction and an optional binary exponent
    /// `p[+-]digits`, as R's `R_strtod` reads them after `0x`. The whole range must be used.
    private static func parseHex(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Double? {
        var p = start
        var value = 0.0
        var digits = 0
        var fractionBits = 0
        var inFraction = false
        while p < end {
            let b = p.pointee
            let d: Int
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = Int(b &- UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = Int(b &- UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = Int(b &- UInt8(ascii: "A")) + 10
            case UInt8(ascii: "."):
                guard !inFraction else { return nil }
                inFraction = true
                p += 1
                continue
            default:
                d = -1
            }
            if d < 0 { break }
            value = value * 16 + Double(d)
            digits += 1
            if inFraction { fractionBits += 4 }
            p += 1
        }
        guard digits > 0 else { return nil }
        var exponent = 0
        if p < end, p.pointee | 0x20 == UInt8(ascii: "p") {
            p += 1
            var expNegative = false
            if p < end, p.pointee == UInt8(ascii: "-") || p.pointee == UInt8(ascii: "+") {
                expNegative = p.pointee == UInt8(ascii: "-")
                p += 1
            }
            while p < end, p.pointee >= UInt8(ascii: "0"), p.pointee <= UInt8(ascii: "9") {
                // Saturate: anything past 10 000 already over- or underflows a Double.
                if exponent < 100_000 { exponent = exponent * 10 + Int(p.pointee &- UInt8(ascii: "0")) }
                p += 1
            }
            // As R: "0x1p" and "0x10p+" have exponent 0.
            if expNegative { exponent = -exponent }
        }
        guard p == end else { return nil }
        return scaleByPowerOfTwo(value, exponent - fractionBits)
    }

    /// `value * 2^exponent`, stepping so that huge exponents saturate instead of trapping.
    private static func scaleByPowerOfTwo(_ value: Double, _ exponent: Int) -> Double {
        var result = value
        var e = exponent
        while e > 1000 { result *= 0x1p1000; e -= 1000 }
        while e < -1000 { result *= 0x1p-1000; e += 1000 }
        return result * Double(sign: .plus, exponent: e, significand: 1)
    }
}
