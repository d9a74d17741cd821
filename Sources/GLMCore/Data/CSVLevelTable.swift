#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The distinct strings of one text column, interned by their bytes: an open-addressing
/// hash table over byte ranges kept in one arena, so a field that repeats a known level
/// costs a hash and a `memcmp`, and only a new level copies bytes.
///
/// Level indices are in order of first appearance. Like `RawBuffer`, a value holding
/// pointers: the owner calls `release()` once.
struct LevelTable {
    struct Entry {
        var offset: Int
        var length: Int
        var hash: UInt64
    }

    private var slots: UnsafeMutablePointer<Int32>
    private var mask: Int
    private(set) var entries: RawBuffer<Entry>
    private(set) var arena: RawBuffer<UInt8>

    init() {
        let capacity = 16
        slots = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        slots.initialize(repeating: -1, count: capacity)
        mask = capacity - 1
        entries = RawBuffer(capacity: 8)
        arena = RawBuffer(capacity: 64)
    }

    func release() {
        slots.deallocate()
        entries.release()
        arena.release()
    }

    var count: Int { entries.count }

    /// Where the bytes of level `index` start (valid until the next insertion).
    @inline(__always)
    func start(of index: Int) -> UnsafePointer<UInt8> {
        UnsafePointer(arena.base + entries.base[index].offset)
    }

    @inline(__always)
    func length(of index: Int) -> Int { entries.base[index].length }

    /// The bytes of level `index` (valid until the next insertion).
    @inline(__always)
    func bytes(of index: Int) -> UnsafeBufferPointer<UInt8> {
        let entry = entries.base[index]
        return UnsafeBufferPointer(start: arena.base + entry.offset, count: entry.length)
    }

    /// The index of the level spelled by `[start, start + length)`.
    ///
    /// - Parameter validate: check a new level for well-formed UTF-8; when it is not,
    ///   nothing is inserted and the result is `.rejected`.
    @inline(__always)
    mutating func index(of start: UnsafePointer<UInt8>, length: Int, validate: Bool) -> LookupResult {
        let h = LevelTable.hash(start, length)
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let candidate = slots[slot]
            if candidate < 0 { break }
            let entry = entries.base[Int(candidate)]
            if entry.hash == h, entry.length == length,
               length == 0 || memcmp(arena.base + entry.offset, start, length) == 0 {
                return .found(candidate)
            }
            slot = (slot + 1) & mask
        }
        if validate, !isValidUTF8(start, length) { return .rejected }
        guard entries.count < Int(Int32.max) else { return .full }
        let index = Int32(truncatingIfNeeded: entries.count)
        entries.append(Entry(offset: arena.count, length: length, hash: h))
        arena.append(start, count: length)
        slots[slot] = index
        if entries.count * 2 > mask + 1 { rehash() }
        return .found(index)
    }

    enum LookupResult {
        case found(Int32)
        case rejected
        case full
    }

    private mutating func rehash() {
        let capacity = (mask + 1) * 2
        let fresh = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        fresh.initialize(repeating: -1, count: capacity)
        let newMask = capacity - 1
        for i in 0..<entries.count {
            var slot = Int(truncatingIfNeeded: entries.base[i].hash) & newMask
            while fresh[slot] >= 0 { slot = (slot + 1) & newMask }
            fresh[slot] = Int32(truncatingIfNeeded: i)
        }
        slots.deallocate()
        slots = fresh
        mask = newMask
    }

    /// A fast, well-mixing hash of a short byte string (eight bytes at a time).
    @inline(__always)
    static func hash(_ start: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: length)
        let raw = UnsafeRawPointer(start)
        var i = 0
        while i + 8 <= length {
            let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ word) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < length {
            tail |= UInt64(start[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 29
        h = h &* 0x9E37_79B9_7F4A_7C15
        return h ^ (h >> 32)
    }
}

/// Byte-wise comparison of two byte strings (memcmp order, then shorter first): the order
/// of R's `sort` under `LC_COLLATE=C`, which for UTF-8 is code point order.
@inline(__always)
func bytesPrecede(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    let n = min(a.count, b.count)
    if n > 0, let pa = a.baseAddress, let pb = b.baseAddress {
        let c = memcmp(pa, pb, n)
        if c != 0 { return c < 0 }
    }
    return a.count < b.count
}

/// True when `[start, start + length)` is well-formed UTF-8 (RFC 3629: no overlong forms,
/// no surrogates, nothing above U+10FFFF).
func isValidUTF8(_ start: UnsafePointer<UInt8>, _ length: Int) -> Bool {
    var i = 0
    while i < length {
        let b0 = start[i]
        if b0 < 0x80 { i += 1; continue }
        let need: Int
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: return false
        }
        guard length - i > need else { return false }
        let b1 = start[i + 1]
        guard b1 >= lo, b1 <= hi else { return false }
        var k = 2
        while k <= need {
            let b = start[i + k]
            guard b >= 0x80, b <= 0xBF else { return false }
            k += 1
        }
        i += need + 1
    }
    return true
}
