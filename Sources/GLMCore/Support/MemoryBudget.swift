import Dispatch
import Foundation
import Synchronization

/// The memory this process may still use, and the check every stage makes before it builds
/// something whose size grows with rows × coefficients, coefficients² or cluster size²: a
/// Swift array that cannot be allocated ends the process ("failed to allocate"), and an
/// allocation the kernel grants but cannot back ends it later (the OOM killer), so the size
/// is compared first and a clean error names it.
///
/// The budget is the smallest of: physical memory available (`MemAvailable` in
/// /proc/meminfo), what the cgroup still allows (v2 `memory.max − memory.current`, v1
/// `memory.limit_in_bytes − memory.usage_in_bytes`), and the address space left under
/// RLIMIT_AS (the limit minus `VmSize`). `GLMFIT_MEMORY_LIMIT` (bytes, or with a K, M, G or T
/// suffix, powers of 1024) lowers it further, for tests and for users who share a machine.
public struct MemoryBudget: Sendable, Equatable {
    /// Bytes the process may still allocate (nil: nothing is known, no limit is applied).
    public let availableBytes: Int?

    public init(availableBytes: Int?) {
        self.availableBytes = availableBytes
    }

    /// The environment variable that sets (lowers) the budget.
    public static let environmentVariable = "GLMFIT_MEMORY_LIMIT"

    /// A further limit for the code run inside `$limitForTesting.withValue(_:)` (tests that
    /// run side by side in one process cannot each set the environment variable).
    @TaskLocal public static var limitForTesting: Int?

    /// `GLMFIT_MEMORY_LIMIT`, read once (the environment does not change during a run).
    private static let configured = configuredLimit()

    /// The system's limits as last read, and when (monotonic nanoseconds).
    private struct Reading {
        var nanoseconds: UInt64
        var available: Int?
    }

    /// Reading /proc and /sys costs tens of microseconds, and a `--chunk-rows` fit checks every
    /// chunk: a reading is used for `readingLifetime`, less what `require` has granted since
    /// (as if it were already allocated).
    private static let lastReading = Mutex<Reading?>(nil)
    static let readingLifetime: UInt64 = 100_000_000

    /// The budget now: the system's limits (read again when the last reading is older than
    /// 0.1 s), `GLMFIT_MEMORY_LIMIT` and `limitForTesting`.
    public static func current() -> MemoryBudget {
        let now = DispatchTime.now().uptimeNanoseconds
        let system = lastReading.withLock { reading -> Int? in
            if let reading, now &- reading.nanoseconds < readingLifetime { return reading.available }
            let available = [physicalAvailable(), cgroupAvailable(), addressSpaceAvailable()].compactMap { $0 }.min()
            reading = Reading(nanoseconds: now, available: available)
            return available
        }
        let candidates = [limitForTesting, configured, system]
        return MemoryBudget(availableBytes: candidates.compactMap { $0 }.min())
    }

    /// Throws `GLMError.insufficientMemory` when `bytes` (nil: more than an Int counts) do not
    /// fit in the budget. `what` names the object and its sizes ("the model has 2,002 columns
    /// × 1,000,000 rows: its design"); `remedy` says what to change.
    public func require(_ bytes: Int?, for what: String, remedy: String) throws {
        guard let availableBytes else { return }
        if let bytes, bytes <= availableBytes {
            // Granted: the cached reading no longer has these bytes to give.
            MemoryBudget.lastReading.withLock { reading in
                if let available = reading?.available { reading?.available = max(0, available - bytes) }
            }
            return
        }
        throw GLMError.insufficientMemory(what: what, neededBytes: bytes, availableBytes: availableBytes, remedy: remedy)
    }

    /// The bytes of `count` doubles times each factor in `factors` (nil when the product
    /// overflows an Int).
    public static func bytes(doubles factors: Int...) -> Int? {
        bytes(of: MemoryLayout<Double>.stride, times: factors)
    }

    /// `size` × each of `factors`, nil on overflow or a negative factor.
    public static func bytes(of size: Int, times factors: [Int]) -> Int? {
        var total = size
        for factor in factors {
            guard factor >= 0 else { return nil }
            let (product, overflow) = total.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            total = product
        }
        return total
    }

    /// The sum of several needs (nil when any is nil or the sum overflows).
    public static func sum(_ parts: Int?...) -> Int? {
        var total = 0
        for part in parts {
            guard let part else { return nil }
            let (sum, overflow) = total.addingReportingOverflow(part)
            if overflow { return nil }
            total = sum
        }
        return total
    }

    // MARK: - Where the limits come from

    /// `GLMFIT_MEMORY_LIMIT`, parsed; nil when unset or not a size.
    static func configuredLimit() -> Int? {
        guard let text = ProcessInfo.processInfo.environment[environmentVariable] else { return nil }
        return parseSize(text)
    }

    /// "123", "512M", "2G", "1.5GiB", "2GB" (powers of 1024); nil for anything else.
    static func parseSize(_ text: String) -> Int? {
        var digits = text.trimmingCharacters(in: .whitespaces).uppercased()
        if digits.hasSuffix("B") { digits.removeLast() }
        if digits.hasSuffix("I") { digits.removeLast() }
        var multiplier = 1.0
        if let last = digits.last, let power = ["K": 1.0, "M": 2, "G": 3, "T": 4][String(last)] {
            multiplier = pow(1024, power)
            digits.removeLast()
        }
        guard let value = Double(digits), value >= 0, value.isFinite else { return nil }
        let bytes = value * multiplier
        guard bytes < 9.0e18 else { return Int.max }
        return Int(bytes)
    }

    /// `MemAvailable` of /proc/meminfo (kB there).
    static func physicalAvailable() -> Int? {
        guard let text = readSmallFile("/proc/meminfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kilobytes = Int(fields[1]), kilobytes > 0 else { return nil }
            return bytes(of: 1024, times: [kilobytes])
        }
        return nil
    }

    /// What the process's cgroup still allows, v2 first, then v1.
    static func cgroupAvailable() -> Int? {
        guard let text = readSmallFile("/proc/self/cgroup") else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(parts[2])
            if parts[0] == "0", parts[1].isEmpty {
                // cgroup v2: the limit may be set on the group or any group above it.
                var directory = "/sys/fs/cgroup" + (path == "/" ? "" : path)
                var smallest: Int?
                while directory.hasPrefix("/sys/fs/cgroup") {
                    if let limit = readNumber(directory + "/memory.max"),
                       let used = readNumber(directory + "/memory.current") {
                        // Page cache the kernel can drop counts as used: inactive file pages
                        // are left out, as `docker stats` leaves them out.
                        let reclaimable = statField(directory + "/memory.stat", "inactive_file") ?? 0
                        let left = max(0, limit - max(0, used - reclaimable))
                        smallest = min(smallest ?? left, left)
                    }
                    if directory == "/sys/fs/cgroup" { break }
                    directory = (directory as NSString).deletingLastPathComponent
                }
                if let smallest { return smallest }
            } else if parts[1].split(separator: ",").contains("memory") {
                for base in ["/sys/fs/cgroup/memory" + path, "/sys/fs/cgroup/memory"] {
                    if let limit = readNumber(base + "/memory.limit_in_bytes"),
                       let used = readNumber(base + "/memory.usage_in_bytes") {
                        // v1 reports "no limit" as a huge page-rounded number.
                        let reclaimable = statField(base + "/memory.stat", "total_inactive_file") ?? 0
                        return limit >= 1 << 60 ? nil : max(0, limit - max(0, used - reclaimable))
                    }
                }
            }
        }
        return nil
    }

    /// RLIMIT_AS minus the address space already mapped (VmSize, /proc/self/statm's first field).
    static func addressSpaceAvailable() -> Int? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        let cap = limit.rlim_cur > UInt64(Int.max) ? Int.max : Int(limit.rlim_cur)
        guard let text = readSmallFile("/proc/self/statm"),
              let first = text.split(separator: " ").first, let pages = Int(first) else { return cap }
        let mapped = bytes(of: max(1, sysconf(Int32(_SC_PAGESIZE))), times: [pages]) ?? Int.max
        return max(0, cap - mapped)
    }

    /// A /proc or /sys file's text, read to its end with read(2) (such files report size 0;
    /// nil when it cannot be opened or read, or is larger than 64 kB).
    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = close(fd) }
        let capacity = 1 << 16
        var bytes = [UInt8](repeating: 0, count: capacity)
        var length = 0
        while length < capacity {
            let count = bytes.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return -1 }
                return read(fd, base + length, capacity - length)
            }
            if count < 0, errno == EINTR { continue }
            if count < 0 { return nil }
            if count == 0 { return String(decoding: bytes[..<length], as: UTF8.self) }
            length += count
        }
        return nil
    }

    /// The number after `name` in a cgroup `memory.stat` file ("name value" lines).
    static func statField(_ path: String, _ name: String) -> Int? {
        guard let text = readSmallFile(path) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == name { return Int(fields[1]) }
        }
        return nil
    }

    /// A file holding one decimal number ("max" and anything else: nil).
    private static func readNumber(_ path: String) -> Int? {
        guard let text = readSmallFile(path) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    // MARK: - Sizes in messages

    /// 8.0 TB, 23 GB, 512 MB, 12 kB, 100 bytes (powers of 1000, as `df -H` prints them).
    public static func describe(bytes: Int) -> String {
        let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        if unit == 0 { return "\(bytes) bytes" }
        return String(format: value < 10 ? "%.1f" : "%.0f", value) + " " + units[unit]
    }

    /// 1,000,000: a count with thousands separators.
    public static func describe(count: Int) -> String {
        let digits = String(count.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return (count < 0 ? "-" : "") + grouped
    }
}
