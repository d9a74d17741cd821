import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// `--plot FILE.svg`, run as a user runs it: the file is well-formed XML with R's four panels
/// and their captions, rsvg-convert (Debian's librsvg2-bin, installed by `make setup`) draws
/// it, and it is refused where `--save` and `--residuals` are.
@Suite("Diagnostic plot, end to end")
struct PlotEndToEndTests {
    /// Collects the panels and every text of an SVG document.
    final class SVGSummary: NSObject, XMLParserDelegate {
        var panels = 0
        var texts: [String] = []
        var circles = 0
        private var inText = false
        private var current = ""

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if name == "g", attributes["class"] == "panel" { panels += 1 }
            if name == "circle" { circles += 1 }
            if name == "text" {
                inText = true
                current = ""
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if inText { current += string }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "text" {
                texts.append(current)
                inText = false
            }
        }
    }

    static func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-plot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static let rsvgConvert = ["/usr/bin/rsvg-convert", "/usr/local/bin/rsvg-convert"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("a binomial fit's plot parses as SVG with four panels, R's captions and labels, and renders")
    func plotParsesAndRenders() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plot = directory.appendingPathComponent("diagnostics.svg")
        let result = try Glmfit.run([
            Glmfit.example("budworm.csv"), "--family", "binomial", "-f", "cbind(numdead, 20 - numdead) ~ sex*ldose",
            "--plot", plot.path,
        ])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("Coefficients:"))
        let data = try Data(contentsOf: plot)
        let parser = XMLParser(data: data)
        let summary = SVGSummary()
        parser.delegate = summary
        #expect(parser.parse(), "not well-formed: \(String(describing: parser.parserError))")
        #expect(summary.panels == 4)
        for caption in ["Residuals vs Fitted", "Normal Q-Q", "Scale-Location", "Residuals vs Leverage",
                        "Predicted values", "Residuals", "Theoretical Quantiles", "Std. Pearson resid.",
                        "Leverage", "Cook's distance"] {
            #expect(summary.texts.contains(caption), "no text \(caption)")
        }
        // Twelve rows, each drawn in the four panels; three row numbers labelled in each.
        #expect(summary.circles == 48)
        #expect(summary.texts.filter { Int($0).map { (1...12).contains($0) } ?? false }.count >= 12)

        guard let rsvgConvert = Self.rsvgConvert else {
            Issue.record("rsvg-convert is missing (apt-get install librsvg2-bin, or make setup); the render was not checked")
            return
        }
        let png = directory.appendingPathComponent("diagnostics.png")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: rsvgConvert)
        process.arguments = ["-o", png.path, plot.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let image = try Data(contentsOf: png)
        #expect(image.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        // IHDR: the width and height of the drawing, 720 × 720.
        #expect(image.count > 24 && image[16..<24] == Data([0, 0, 2, 0xD0, 0, 0, 2, 0xD0]))
    }

    @Test("--plot is refused where the other outputs are: the input file, --chunk-rows, --id")
    func refusals() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.csv")
        try FileManager.default.copyItem(atPath: Glmfit.example("dobson.csv"), toPath: input.path)
        let before = try Data(contentsOf: input)
        let formula = ["-f", "counts ~ outcome + treatment", "--family", "poisson"]
        let intoInput = try Glmfit.run([input.path] + formula + ["--plot", input.path])
        #expect(intoInput.status == 73)
        #expect(intoInput.standardOutput.isEmpty)
        #expect(intoInput.standardError.contains("--plot"))
        #expect(try Data(contentsOf: input) == before)

        let sameAsResiduals = try Glmfit.run([input.path] + formula + [
            "--plot", directory.appendingPathComponent("out").path, "--residuals", directory.appendingPathComponent("out").path,
        ])
        #expect(sameAsResiduals.status == 73)
        #expect(sameAsResiduals.standardOutput.isEmpty)

        let chunked = try Glmfit.run([input.path] + formula + ["--chunk-rows", "3", "--plot", directory.appendingPathComponent("p.svg").path])
        #expect(chunked.status == 64)
        #expect(chunked.standardError.contains("--plot"))
        #expect(chunked.standardOutput.isEmpty)

        let gee = try Glmfit.run([input.path] + formula + ["--id", "treatment", "--plot", directory.appendingPathComponent("p.svg").path])
        #expect(gee.status == 64)
        #expect(gee.standardError.contains("--plot"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("p.svg").path))
    }
}
