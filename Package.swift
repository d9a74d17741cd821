// swift-tools-version:6.0
import PackageDescription

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
        .target(
            name: "CFastFloat", path: "Sources/CFastFloat"),
        .target(
            name: "GLMCore",
            dependencies: ["CLapack", "CRmath", "CFastFloat"],
            path: "Sources/GLMCore"),
        .target(
            name: "GLMReport", dependencies: ["GLMCore"], path: "Sources/GLMReport"),
        .executableTarget(
            name: "glmfit",
            dependencies: [
                "GLMCore", "GLMReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/glmfit"),
        .testTarget(
            name: "GLMCoreTests", dependencies: ["GLMCore"], path: "Tests/GLMCoreTests", exclude: ["Reference", "FuzzCorpus"]),
        .testTarget(
            name: "GLMReportTests", dependencies: ["GLMReport", "GLMCore"], path: "Tests/GLMReportTests", exclude: ["Golden"]),
        .testTarget(
            name: "glmfitTests", dependencies: ["glmfit", "GLMCore"], path: "Tests/glmfitTests", exclude: ["Golden"]),
    ],
    cxxLanguageStandard: .cxx17
)
