// Writes the benchmark CSV files (synthetic, seeded, reproducible).
// Usage: generate <kind> <rows> <path>
//   kind: poisson | binomial | gamma   (10 normal predictors x1..x10, a 5-level factor g, response y)
//         logistic50                   (50 standard-normal predictors x1..x50, binary y)
//         wide200                      (200 numeric predictors x1..x200, gaussian y)
//         zip10                        (zero-inflated poisson y over 10 normal predictors x1..x10)
//         categorical5                 (a 5-level response, unordered y and ordered o, over x1..x10)
//         factor2k                     (poisson y over 2 normal predictors x1, x2 and a
//                                       2,000-level text factor f, levels f1..f2000)
//         factor100k                   (poisson y over 10 normal predictors x1..x10 and a
//                                       100,000-level text factor f, levels f1..f100000)
//         panel20k                     (poisson y over x1, x2, a 20,000-level worker factor w
//                                       and a 20,000-level firm factor f: 50 rows a worker, at
//                                       a nearby firm after each of its moves)
import Foundation

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

var rng = SplitMix(state: 20261122)
func uniform() -> Double { (Double(rng.next() >> 11) + 0.5) / 9007199254740992.0 }
func normal() -> Double { (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform()) }
func poisson(_ mean: Double) -> Int {
    // Knuth for small means, normal approximation above 30 (the benchmark's means stay small).
    if mean > 30 { return max(0, Int((mean + mean.squareRoot() * normal()).rounded())) }
    let limit = exp(-mean)
    var count = 0
    var product = uniform()
    while product > limit { count += 1; product *= uniform() }
    return count
}
func gamma(shape: Double, scale: Double) -> Double {
    // Marsaglia & Tsang (shape >= 1).
    let d = shape - 1.0 / 3.0, c = 1 / (9 * d).squareRoot()
    while true {
        var x = 0.0, v = 0.0
        repeat { x = normal(); v = 1 + c * x } while v <= 0
        v = v * v * v
        let u = uniform()
        if log(u) < 0.5 * x * x + d - d * v + d * log(v) { return d * v * scale }
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 4, let rows = Int(arguments[2]) else {
    FileHandle.standardError.write("usage: generate poisson|binomial|gamma|logistic50|wide200|zip10|categorical5|factor2k|factor100k|panel20k ROWS PATH\n".data(using: .utf8)!)
    exit(64)
}
let kind = arguments[1]
guard FileManager.default.createFile(atPath: arguments[3], contents: nil),
      let output = FileHandle(forWritingAtPath: arguments[3]) else { exit(66) }
var buffer: [UInt8] = []
buffer.reserveCapacity(1 << 22)
func flush(force: Bool = false) {
    if force || buffer.count > (1 << 21) {
        buffer.withUnsafeBytes { output.write(Data($0)) }
        buffer.removeAll(keepingCapacity: true)
    }
}
func emit(_ text: String) { buffer.append(contentsOf: text.utf8) }
func emitInteger(_ value: Int) {
    if value < 0 { buffer.append(UInt8(ascii: "-")) }
    var magnitude = abs(value)
    var digits: [UInt8] = []
    repeat {
        digits.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
        magnitude /= 10
    } while magnitude > 0
    buffer.append(contentsOf: digits.reversed())
}
/// A fixed-point decimal with `decimals` (1...9) decimals, written straight into the buffer.
func emitNumber(_ x: Double, decimals: Int = 9) {
    var unit = 1
    for _ in 0..<decimals { unit *= 10 }
    let scaled = Int((abs(x) * Double(unit)).rounded())
    if x < 0 && scaled != 0 { buffer.append(UInt8(ascii: "-")) }
    emitInteger(scaled / unit)
    buffer.append(UInt8(ascii: "."))
    var fraction = scaled % unit
    var digits = [UInt8](repeating: UInt8(ascii: "0"), count: decimals)
    for index in stride(from: decimals - 1, through: 0, by: -1) {
        digits[index] = UInt8(ascii: "0") + UInt8(fraction % 10)
        fraction /= 10
    }
    buffer.append(contentsOf: digits)
}

switch kind {
case "poisson", "binomial", "gamma":
    let levels = ["a", "b", "c", "d", "e"]
    let levelEffect = [0.0, 0.2, -0.1, 0.3, -0.25]
    let beta = [0.05, -0.04, 0.03, 0.06, -0.02, 0.01, -0.05, 0.04, 0.02, -0.03]
    emit("y," + (1...10).map { "x\($0)" }.joined(separator: ",") + ",g\n")
    var x = [Double](repeating: 0, count: 10)
    for _ in 0..<rows {
        for k in 0..<10 { x[k] = normal() }
        let level = Int(rng.next() % 5)
        var eta = levelEffect[level]
        for k in 0..<10 { eta += beta[k] * x[k] }
        switch kind {
        case "poisson": emitInteger(poisson(exp(0.5 + eta)))
        case "binomial": emitInteger(uniform() < 1 / (1 + exp(-eta)) ? 1 : 0)
        default: emitNumber(gamma(shape: 2, scale: exp(1 + eta) / 2))
        }
        for k in 0..<10 {
            buffer.append(UInt8(ascii: ","))
            emitNumber(x[k])
        }
        emit("," + levels[level] + "\n")
        flush()
    }
case "logistic50":
    emit("y," + (1...50).map { "x\($0)" }.joined(separator: ",") + "\n")
    var x = [Double](repeating: 0, count: 50)
    for _ in 0..<rows {
        for k in 0..<50 { x[k] = normal() }
        var eta = 0.1
        for k in 0..<50 { eta += (k % 2 == 0 ? 0.05 : -0.05) * x[k] }
        emitInteger(uniform() < 1 / (1 + exp(-eta)) ? 1 : 0)
        for k in 0..<50 {
            buffer.append(UInt8(ascii: ","))
            emitNumber(x[k])
        }
        buffer.append(UInt8(ascii: "\n"))
        flush()
    }
case "wide200":
    emit("y," + (1...200).map { "x\($0)" }.joined(separator: ",") + "\n")
    var x = [Double](repeating: 0, count: 200)
    for _ in 0..<rows {
        for k in 0..<200 { x[k] = normal() }
        var mean = 1.0
        for k in 0..<200 { mean += 0.01 * Double(k % 7 - 3) * x[k] }
        emitNumber(mean + normal())
        for k in 0..<200 {
            buffer.append(UInt8(ascii: ","))
            emitNumber(x[k])
        }
        buffer.append(UInt8(ascii: "\n"))
        flush()
    }
case "zip10":
    // Zero-heavy counts over 10 normal predictors: a poisson count mixed with structural
    // zeros (logit of the zero part on x1..x3), about 55% zeros.
    emit("y," + (1...10).map { "x\($0)" }.joined(separator: ",") + "\n")
    var x = [Double](repeating: 0, count: 10)
    for _ in 0..<rows {
        for k in 0..<10 { x[k] = normal() }
        var eta = 0.4
        for k in 0..<10 { eta += 0.04 * Double(k % 5 - 2) * x[k] }
        let zeroEta = -0.3 + 0.5 * x[0] - 0.4 * x[1] + 0.2 * x[2]
        let structuralZero = uniform() < 1 / (1 + exp(-zeroEta))
        emitInteger(structuralZero ? 0 : poisson(exp(eta)))
        for k in 0..<10 {
            buffer.append(UInt8(ascii: ","))
            emitNumber(x[k])
        }
        buffer.append(UInt8(ascii: "\n"))
        flush()
    }
case "categorical5":
    // A 5-level response two ways: y unordered (multinomial logits against level a), o
    // ordered 1-5 (a latent logistic cut at four thresholds), over 10 normal predictors.
    let levels = ["a", "b", "c", "d", "e"]
    let thresholds = [-1.5, -0.5, 0.5, 1.5]
    emit("y,o," + (1...10).map { "x\($0)" }.joined(separator: ",") + "\n")
    var x = [Double](repeating: 0, count: 10)
    var eta = [Double](repeating: 0, count: 5)
    for _ in 0..<rows {
        for k in 0..<10 { x[k] = normal() }
        var total = 1.0
        for level in 1..<5 {
            var value = 0.1 * Double(level)
            for k in 0..<10 { value += 0.05 * Double((k + level) % 5 - 2) * x[k] }
            eta[level] = exp(value)
            total += eta[level]
        }
        var u = uniform() * total
        var category = 0
        u -= 1
        while category < 4 && u > 0 {
            category += 1
            u -= eta[category]
        }
        var latent = log(1 / uniform() - 1) * -1
        for k in 0..<10 { latent += (k % 2 == 0 ? 0.1 : -0.08) * x[k] }
        let ordered = 1 + thresholds.filter { latent > $0 }.count
        emit(levels[category] + ",")
        emitInteger(ordered)
        for k in 0..<10 {
            buffer.append(UInt8(ascii: ","))
            emitNumber(x[k])
        }
        buffer.append(UInt8(ascii: "\n"))
        flush()
    }
case "factor2k", "factor100k":
    // One high-cardinality text factor f beside a few normal predictors: every row draws its
    // level uniformly (500 rows a level at 1 M x 2,000; 100 at 10 M x 100,000, so every level
    // is seen), level effects are normal with sd 0.3, and the numbers have 4 decimals (the
    // 1 M x 2,000 file is about 24 MB).
    let predictors = kind == "factor2k" ? 2 : 10
    let levelCount = kind == "factor2k" ? 2_000 : 100_000
    let levelEffect = (0..<levelCount).map { _ in 0.3 * normal() }
    let beta: [Double] = (0..<predictors).map { k -> Double in
        let sign: Double = k % 2 == 0 ? 0.05 : -0.04
        return sign * Double(1 + k % 3)
    }
    emit("y," + (1...predictors).map { "x\($0)" }.joined(separator: ",") + ",f\n")
    var x = [Double](repeating: 0, count: predictors)
    for _ in 0..<rows {
        for k in 0..<predictors { x[k] = normal() }
        let level = Int(rng.next() % UInt64(levelCount))
        var eta = 0.5 + levelEffect[level]
        for k in 0..<predictors { eta += beta[k] * x[k] }
        emitInteger(poisson(exp(eta)))
        for k in 0..<predictors {
            buffer.append(UInt8(ascii: ","))
            emitNumber(x[k], decimals: 4)
        }
        emit(",f")
        emitInteger(level + 1)
        buffer.append(UInt8(ascii: "\n"))
        flush()
    }
case "panel20k":
    // Two-way fixed effects: worker w1..w20000 with rows / 20,000 rows each, at a firm that,
    // every tenth row with probability 0.3, moves to one of the next 200 firms; worker and
    // firm effects normal with sd 0.3.
    let workers = 20_000, firms = 20_000
    let firmEffect = (0..<firms).map { _ in 0.3 * normal() }
    emit("y,x1,x2,w,f\n")
    let perWorker = max(rows / workers, 1)
    for worker in 0..<workers {
        let workerEffect = 0.3 * normal()
        var firm = Int(rng.next() % UInt64(firms))
        for row in 0..<perWorker {
            if row % 10 == 0, uniform() < 0.3 { firm = (firm + 1 + Int(rng.next() % 200)) % firms }
            let x1 = normal(), x2 = normal()
            emitInteger(poisson(exp(0.5 + 0.3 * x1 - 0.2 * x2 + workerEffect + firmEffect[firm])))
            buffer.append(UInt8(ascii: ","))
            emitNumber(x1, decimals: 4)
            buffer.append(UInt8(ascii: ","))
            emitNumber(x2, decimals: 4)
            emit(",w")
            emitInteger(worker + 1)
            emit(",f")
            emitInteger(firm + 1)
            buffer.append(UInt8(ascii: "\n"))
            flush()
        }
    }
default:
    FileHandle.standardError.write("unknown kind \(kind)\n".data(using: .utf8)!)
    exit(64)
}
flush(force: true)
