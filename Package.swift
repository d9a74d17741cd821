// swift-tools-version:6.0
import Foundation
import PackageDescription

/// On an x86-64 machine with AVX2 and FMA (every one since 2013), the Swift code is built for
/// x86-64-v3, so that the SIMD4<Double> kernels of the fit are single AVX instructions; older
/// machines get the baseline build. The build is for the machine it runs on, as `make` does.
/// Swift does not contract a * b + c into a fused multiply-add, so the numbers are the same.
let hostSwiftSettings: [SwiftSetting] = {
    #if arch(x86_64) && os(Linux)
    if ProcessInfo.processInfo.environment["GLMFIT_BASELINE_CPU"] == nil,
       let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
       let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) {
        let present = Set(flags.split(separator: " ").map(String.init))
        if ["avx2", "fma", "bmi1", "bmi2", "movbe"].allSatisfy(present.contains) {
            return [.unsafeFlags(["-Xcc", "-march=x86-64-v3"])]
        }
    }
    #endif
    return []
}()

let package = Package(
    name: "glmfit",
    products: [
        .executable(name: "glmfit", targets: ["glmfit"]),
        .library(name: "GLMCore", targets: ["GLMCore"]),
        .library(name: "GLMReport", targets: ["GLMReport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CLapack", path: "Sources/CLapack", pkgConfig: "lapack",
            providers: [.apt(["liblapack-dev", "libblas-dev"])]),
        .systemLibrary(
            name: "CRmath", path: "Sources/CRmath", pkgConfig: "libRmath",
            providers: [.apt(["r-mathlib"])]),
        .systemLibrary(
            name: "CICU", path: "Sources/CICU", pkgConfig: "icu-i18n",
            providers: [.apt(["libicu-dev"])]),
        .target(
            name: "CFastFloat", path: "Sources/CFastFloat"),
        .target(
            name: "CKernels", path: "Sources/CKernels"),
        .target(
            name: "GLMCore",
            dependencies: ["CLapack", "CRmath", "CICU", "CFastFloat", "CKernels"],
            path: "Sources/GLMCore", swiftSettings: hostSwiftSettings),
        .target(
            name: "GLMReport", dependencies: ["GLMCore"], path: "Sources/GLMReport", swiftSettings: hostSwiftSettings),
        .executableTarget(
            name: "glmfit",
            dependencies: [
                "GLMCore", "GLMReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/glmfit", swiftSettings: hostSwiftSettings),
        .testTarget(
            name: "GLMCoreTests", dependencies: ["GLMCore"], path: "Tests/GLMCoreTests", exclude: ["Reference", "FuzzCorpus"],
            swiftSettings: hostSwiftSettings),
        .testTarget(
            name: "GLMReportTests", dependencies: ["GLMReport", "GLMCore"], path: "Tests/GLMReportTests", exclude: ["Golden"],
            swiftSettings: hostSwiftSettings),
        .testTarget(
            name: "glmfitTests", dependencies: ["glmfit", "GLMCore"], path: "Tests/glmfitTests", exclude: ["Golden", "Reference"],
            swiftSettings: hostSwiftSettings),
    ],
    cxxLanguageStandard: .cxx17
)
