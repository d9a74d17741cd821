#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything `glmfit predict` needs from the command line.
public struct PredictRequest: Sendable {
    /// A model file written by `glmfit --save`.
    public var modelPath: String
    /// A CSV path, or "-" for standard input.
    public var inputPath: String
    public var options: PredictionOptions

    public init(modelPath: String, inputPath: String, options: PredictionOptions = PredictionOptions()) {
        self.modelPath = modelPath
        self.inputPath = inputPath
        self.options = options
    }
}

/// What a prediction run did, for the messages after it.
public struct PredictionOutcome: Sendable {
    public let rows: Int
    /// Rows written with an empty prediction because of a missing value (`--na pass`).
    public let rowsWithMissingValues: Int
    /// Warnings, R's wording where R warns.
    public let warnings: [String]
}

/// New data in, the same rows with predictions appended out, in bounded memory.
///
/// The input is read a block at a time (`CSVRecordStream`) and scored a batch of records at
/// a time. Output is the input's records, byte for byte as they were (quoting included),
/// each followed by the prediction fields, under the input's header extended with the
/// prediction columns.
///
/// Nothing is half-written: a regular file is read twice, once to check every row (so a bad
/// row stops the run before anything is written) and once to write, progressively; input
/// that cannot be read twice (standard input from a pipe) is scored into a temporary file
/// (in `TMPDIR`, removed at once), copied out only when every row has succeeded.
public enum PredictPipeline {
    /// Checks the options that need no data.
    public static func validate(_ options: PredictionOptions) throws {
        let level = options.confidenceLevel
        guard level > 0, level < 1 else {
            throw GLMError.invalidOption(name: "--conf-level", message: "must be between 0 and 1, exclusive (got \(level))")
        }
    }

    /// Checks that the options fit the model's kind: probs and class for a multinomial or
    /// ordinal model, response, zero and count for a zero-inflated or hurdle model (neither
    /// with --se or --interval), link and response for a GLM.
    static func validate(_ options: PredictionOptions, model: SavedModel) throws {
        let categoricalScale = options.scale == .probs || options.scale == .class
        let twoPartScale = options.scale == .zero || options.scale == .count
        if let twoPart = model.twoPart {
            guard options.scale == .response || twoPartScale else {
                throw GLMError.invalidOption(
                    name: "--type",
                    message: "\(twoPart.kind.withArticle) model predicts --type response (the expected count), zero or count, as pscl's predict (got \(options.scale.rawValue))")
            }
            if options.standardErrors || options.confidenceInterval {
                throw GLMError.invalidOption(
                    name: options.standardErrors ? "--se" : "--interval",
                    message: "is not available for \(twoPart.kind.withArticle) model's predictions (pscl's predict gives none)")
            }
        } else if twoPartScale {
            throw GLMError.invalidOption(
                name: "--type",
                message: "\(options.scale.rawValue) is for zero-inflated and hurdle models; "
                    + (model.categorical == nil ? "a GLM predicts link or response" : "\(model.categorical?.kind.withArticle ?? "this") model predicts probs or class"))
        } else if let categorical = model.categorical {
            guard categoricalScale else {
                throw GLMError.invalidOption(
                    name: "--type", message: "\(categorical.kind.withArticle) model predicts --type probs or --type class")
            }
            if options.standardErrors || options.confidenceInterval {
                throw GLMError.invalidOption(
                    name: options.standardErrors ? "--se" : "--interval",
                    message: "is not available for \(categorical.kind.withArticle) model's probabilities")
            }
        } else if categoricalScale {
            throw GLMError.invalidOption(
                name: "--type", message: "\(options.scale.rawValue) is for multinomial and ordinal models; a GLM predicts link or response")
        }
    }

    /// The scale without `--type`, as R's predict methods default: class for multinomial and
    /// ordinal models, response (the expected count) for zero-inflated and hurdle models;
    /// nil for a GLM, whose default is the options' (link).
    static func defaultScale(_ model: SavedModel) -> PredictionScale? {
        if model.categorical != nil { return .class }
        if model.twoPart != nil { return .response }
        return nil
    }

    /// Loads the model, reads the input and passes the output to `write` in pieces.
    ///
    /// - Throws: the model file's errors (`SavedModel.load`), the input's (missing column 64,
    ///   malformed CSV, unseen level, missing value 65, unreadable 66); `write`'s errors are
    ///   passed on.
    public static func run(
        _ request: PredictRequest, write: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> PredictionOutcome {
        try run(request, blockSize: 1 << 20, write: write)
    }

    /// `run` reading `blockSize` bytes at a time (tests use tiny blocks).
    static func run(
        _ request: PredictRequest, blockSize: Int, write: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> PredictionOutcome {
        var request = request
        try validate(request.options)
        let model = try SavedModel.load(path: request.modelPath)
        if request.options.scaleIsDefault { request.options.scale = defaultScale(model) ?? request.options.scale }
        try validate(request.options, model: model)
        let design = try NewDataDesign(model: model)
        let source = request.inputPath == "-" ? "<stdin>" : request.inputPath
        let (fd, owned) = try openInput(request.inputPath, source: source, dialect: request.options.dialect)
        defer { if owned { _ = close(fd) } }

        var info = stat()
        let start = lseek(fd, 0, SEEK_CUR)
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, start >= 0 {
            // Read twice: check everything, then write as we go.
            _ = try score(design: design, fd: fd, source: source, options: request.options, blockSize: blockSize,
                          checkOnly: true) { _ in }
            guard lseek(fd, start, SEEK_SET) == start else {
                throw GLMError.unreadableInput(source: source, reason: "cannot read it a second time (seek failed)")
            }
            return try score(design: design, fd: fd, source: source, options: request.options, blockSize: blockSize,
                             checkOnly: false, output: write)
        }
        // Read once, into a spool file (or memory) that is copied out only at the end.
        let spool = Spool()
        let outcome = try score(design: design, fd: fd, source: source, options: request.options, blockSize: blockSize,
                                checkOnly: false) { bytes in
            try spool.append(bytes)
        }
        try spool.copy(to: write)
        return outcome
    }

    /// Every prediction for the rows of the CSV file at `path` ("-" for standard input),
    /// held in memory: for tests and for library users with data of modest size.
    public static func predictions(model: SavedModel, path: String, options: PredictionOptions) throws -> Predictions {
        try predictions(model: model, path: path, options: options, blockSize: 1 << 20)
    }

    static func predictions(model: SavedModel, path: String, options: PredictionOptions, blockSize: Int) throws -> Predictions {
        var options = options
        if options.scaleIsDefault { options.scale = defaultScale(model) ?? options.scale }
        try validate(options)
        try validate(options, model: model)
        let design = try NewDataDesign(model: model)
        let source = path == "-" ? "<stdin>" : path
        let (fd, owned) = try openInput(path, source: source, dialect: options.dialect)
        defer { if owned { _ = close(fd) } }
        var all = Predictions(
            fit: [], standardErrors: options.standardErrors ? [] : nil, lower: options.confidenceInterval ? [] : nil,
            upper: options.confidenceInterval ? [] : nil, lines: [])
        _ = try stream(design: design, fd: fd, source: source, options: options, blockSize: blockSize, predict: true) { _, _, predictions in
            if let predictions { all.append(predictions) }
        }
        return all
    }

    // MARK: Scoring

    /// One pass over the input; with `checkOnly` it only checks the rows, writing nothing.
    private static func score(
        design: NewDataDesign, fd: Int32, source: String, options: PredictionOptions, blockSize: Int, checkOnly: Bool,
        output: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> PredictionOutcome {
        let columns = design.model.categorical.map { options.columnNames(levels: $0.levels) } ?? options.columnNames
        var text: [UInt8] = []
        text.reserveCapacity(1 << 16)
        return try stream(
            // The checking pass computes standard errors too: one that overflows is an error
            // found before anything is written.
            design: design, fd: fd, source: source, options: options, blockSize: blockSize,
            predict: !checkOnly || options.standardErrors || options.confidenceInterval
        ) { header, batch, predictions in
            if checkOnly { return }
            text.removeAll(keepingCapacity: true)
            if let header {
                text += header.raw
                for name in columns {
                    text.append(CSVByte.comma)
                    text += name.utf8
                }
                text.append(CSVByte.lf)
            }
            if let batch, let predictions {
                for i in 0..<batch.count {
                    text += batch.record(i)
                    for field in predictions.textFields(i) {
                        text.append(CSVByte.comma)
                        text += field.utf8
                    }
                    text.append(CSVByte.lf)
                }
            }
            try text.withUnsafeBytes { try output($0) }
        }
    }

    /// Reads the header and the records batch by batch, calling `body` with the header
    /// (once, first) and with each batch and its predictions (nil unless `predict`).
    private static func stream(
        design: NewDataDesign, fd: Int32, source: String, options: PredictionOptions, blockSize: Int, predict: Bool,
        body: (CSVStreamHeader?, CSVRecordBatch?, Predictions?) throws -> Void
    ) throws -> PredictionOutcome {
        let stream = CSVRecordStream(fd: fd, source: source, blockSize: blockSize)
        let header = try stream.readHeader()
        let typer: NewDataTyper
        do {
            typer = try NewDataTyper(design: design, header: header.names, source: source)
        } catch {
            throw options.dialect.explain(error, header: header.names, source: source)
        }
        var warnings: [String] = []
        if design.model.isRankDeficient { warnings.append("prediction from a rank-deficient fit may be misleading") }
        let outputColumns = design.model.categorical.map { options.columnNames(levels: $0.levels) } ?? options.columnNames
        for name in outputColumns where header.names.contains(name) {
            warnings.append("the input already has a column named '\(name)'; the output has two")
        }
        try body(header, nil, nil)
        let predictor = Predictor(model: design.model, options: options)
        let categoricalPredictor = design.model.categorical.map { CategoricalPredictor(parameters: $0, options: options) }
        let twoPartPredictor = design.model.twoPart.map { TwoPartPredictor(parameters: $0, design: design, options: options) }
        var rows = 0
        var missingRows = 0
        while let batch = try stream.nextBatch(columns: typer.indices) {
            let (table, failure) = typer.table(from: batch)
            let designRows = try design.rows(table, passMissing: options.missing == .pass)
            if let failure { throw failure }
            try requireFinite(designRows, table: table, design: design)
            rows += table.rowCount
            missingRows += designRows.missing.reduce(0) { $0 + ($1 ? 1 : 0) }
            let predictions = !predict ? nil
                : try categoricalPredictor?.predict(designRows, lines: batch.lines)
                    ?? twoPartPredictor?.predict(designRows, lines: batch.lines)
                    ?? predictor.predict(designRows, lines: batch.lines)
            try body(nil, batch, predictions)
        }
        return PredictionOutcome(rows: rows, rowsWithMissingValues: missingRows, warnings: warnings)
    }

    /// A row whose model-matrix values or offset are infinite (the fit refuses such values:
    /// a prediction from them would be ±Inf or NaN) stops the run, naming the column.
    private static func requireFinite(_ rows: NewDataDesign.Rows, table: Table, design: NewDataDesign) throws {
        guard rows.count > 0 else { return }
        let width = rows.x.count / rows.count
        let zeroWidth = rows.zeroX.map { $0.count / rows.count } ?? 0
        for row in 0..<rows.count where !rows.missing[row] {
            let offsetFinite = (rows.offset.map { $0[row].isFinite } ?? true) && (rows.zeroOffset.map { $0[row].isFinite } ?? true)
            let zeroFinite = rows.zeroX.map { !$0[(row * zeroWidth)..<((row + 1) * zeroWidth)].contains { !$0.isFinite } } ?? true
            let valuesFinite: Bool
            if let entries = rows.entries {
                valuesFinite = !entries.nonFinite[row] && entries.values[entries.range(ofRow: row)].allSatisfy(\.isFinite)
            } else {
                let start = row * width
                valuesFinite = rows.x[start..<(start + width)].allSatisfy(\.isFinite)
            }
            guard !valuesFinite || !offsetFinite || !zeroFinite else { continue }
            let column = table.columnNames.first { name in
                if case let .numeric(values)? = table.column(named: name) { return values[row].isInfinite }
                return false
            }
            throw GLMError.nonFiniteNewValue(
                source: table.source, line: table.line(ofRow: row), column: column,
                term: (design.model.variables + (design.zeroPart?.model.variables ?? [])).map(\.label).joined(separator: ", "))
        }
    }

    /// The input to read, and whether it is to be closed after: the file, standard input, or
    /// (compressed input, another dialect, or a pipe whose first bytes were read to tell) an
    /// unlinked temporary file holding it as plain CSV (`InputConversion`).
    private static func openInput(_ path: String, source: String, dialect: CSVDialect) throws -> (Int32, Bool) {
        let fd = try openPlainInput(path, source: source)
        do {
            var info = stat()
            let isFile = fstat(fd, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
            let start = lseek(fd, 0, SEEK_CUR)
            if isFile, start >= 0 {
                var prefix = [UInt8](repeating: 0, count: CompressionFormat.magicLength)
                let got = prefix.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, start) }
                prefix = Array(prefix[..<max(0, got)])
                if !InputConversion.isNeeded(prefix: prefix, dialect: dialect) { return (fd, path != "-") }
            }
            let prefix = try InputConversion.readPrefix(fd, source: source)
            let spool = try InputConversion.spool(fd: fd, prefix: prefix, source: source, dialect: dialect)
            if path != "-" { _ = close(fd) }
            return (spool, true)
        } catch {
            if path != "-" { _ = close(fd) }
            throw error
        }
    }

    private static func openPlainInput(_ path: String, source: String) throws -> Int32 {
        let fd: Int32
        if path == "-" {
            fd = STDIN_FILENO
        } else {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                let code = errno
                if code == ENOENT || code == ENOTDIR && !path.hasSuffix("/") { throw GLMError.fileNotFound(path: path) }
                throw GLMError.unreadableInput(source: source, reason: AtomicFile.describe(code))
            }
        }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            if path != "-" { _ = close(fd) }
            throw GLMError.unreadableInput(source: source, reason: "it is a directory, not a file")
        }
        #if os(Linux)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        #endif
        return fd
    }
}

/// Output held back until a run has succeeded: an unlinked temporary file (in `TMPDIR`,
/// else /tmp), or memory when no temporary file can be made.
private final class Spool {
    private var fd: Int32 = -1
    private var memory: [UInt8] = []

    init() {
        fd = TemporaryFile.unlinkedDescriptor(prefix: "glmfit-predict")
    }

    deinit { if fd >= 0 { _ = close(fd) } }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else {
            memory.append(contentsOf: bytes)
            return
        }
        var offset = 0
        while offset < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let n = write(fd, base + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw GLMError.unreadableInput(
                    source: "temporary file", reason: "cannot hold the output: \(AtomicFile.describe(errno))")
            }
            offset += n
        }
    }

    func copy(to write: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard fd >= 0 else {
            try memory.withUnsafeBytes { try write($0) }
            return
        }
        guard lseek(fd, 0, SEEK_SET) == 0 else {
            throw GLMError.unreadableInput(source: "temporary file", reason: "cannot read back the output")
        }
        let size = 1 << 20
        let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { block.deallocate() }
        while true {
            let n = read(fd, block, size)
            if n == 0 { return }
            if n < 0 {
                if errno == EINTR { continue }
                throw GLMError.unreadableInput(source: "temporary file", reason: "cannot read back the output")
            }
            try write(UnsafeRawBufferPointer(start: block, count: n))
        }
    }
}
