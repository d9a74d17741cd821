// swift-tools-version:6.0
import PackageDescription

/// The default build runs on any x86-64 machine (the C kernels choose their instructions at run
/// time). `make native` tunes the Swift code for the build machine with
/// `-Xswiftc -Xcc -Xswiftc -march=native` on the command line instead (see README); Swift does
/// not contract a * b + c into a fused multiply-add, so the numbers are the same.
let hostSwiftSettings: [SwiftSetting] = []

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
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CLzma", path: "Sources/CLzma", pkgConfig: "liblzma",
            providers: [.apt(["liblzma-dev"])]),
        .systemLibrary(
            name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(
            name: "CAMD", path: "Sources/CAMD", providers: [.apt(["libsuitesparse-dev"])]),
        .systemLibrary(
            name: "CBzip2", path: "Sources/CBzip2", providers: [.apt(["libbz2-dev"])]),
        .target(
            name: "CFastFloat", path: "Sources/CFastFloat"),
        .target(
            name: "CKernels", path: "Sources/CKernels"),
        .target(
            name: "GLMCore",
            dependencies: ["CLapack", "CRmath", "CICU", "CFastFloat", "CKernels", "CZlib", "CLzma", "CZstd", "CBzip2", "CAMD"],
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
