import Foundation

/// Every way glmfit can refuse an input or fail a fit, with the place at fault.
///
/// Each case maps to one exit status (see `exitStatus`): 64 for a usage error
/// (bad option, formula syntax, unknown family or link), 65 for data that cannot
/// be fitted as asked, 66 for input that cannot be read at all, 73 for an output file
/// that cannot be created, 74 for a write that failed.
public enum GLMError: Error, Equatable, Sendable {
    // MARK: Input that cannot be read (66)
    case fileNotFound(path: String)
    case unreadableInput(source: String, reason: String)

    // MARK: Malformed CSV (65)
    case emptyInput(source: String)
    case headerOnly(source: String)
    case emptyColumnName(source: String, column: Int)
    case duplicateColumnName(source: String, name: String, firstColumn: Int, secondColumn: Int)
    case raggedRow(source: String, line: Int, expected: Int, found: Int)
    case unterminatedQuote(source: String, line: Int)
    case invalidUTF8(source: String, line: Int)
    case nonNumericValue(source: String, line: Int, column: String, value: String)
    /// Input that is not CSV text: compressed, or binary (`reason` says which, and what to do).
    case notText(source: String, reason: String)
    /// A one-column header that holds another delimiter, where the model needs columns:
    /// the file was read with `delimiter` but looks like it was written with `likely`.
    case wrongDelimiter(source: String, delimiter: String, likely: String)

    // MARK: Formula and options (64)
    case formulaSyntax(formula: String, position: Int, message: String)
    case unknownColumn(name: String, suggestions: [String])
    /// Several names the formula uses are not columns: all of them, in formula order, with
    /// the suggestions for the first `unknownColumnsShown`.
    case unknownColumns(names: [String], suggestions: [[String]])
    case unknownFamily(name: String, known: [String])
    case unknownLink(name: String, known: [String])
    case linkNotAllowed(link: String, family: String, allowed: [String])
    case invalidOption(name: String, message: String)
    /// A named argument glmfit does not support, as `base` in `log(x, base = 2)`.
    case unsupportedArgument(function: String, argument: String)

    // MARK: Data that cannot be fitted as asked (65)
    case invalidTerm(term: String, message: String)
    case invalidWeights(column: String, line: Int, value: Double, message: String)
    /// A `--frequency-weights` count that is not a whole number from 0 up (65).
    case invalidFrequencyWeight(source: String, line: Int, column: String, value: String, message: String)
    case responseOutOfDomain(family: String, line: Int?, message: String)
    case nonFiniteValue(variable: String, line: Int)
    case noCompleteRows(variables: [String])
    case tooFewObservations(observations: Int, coefficients: Int)
    case singleLevelFactor(variable: String, level: String)
    case fitFailed(message: String)
    case strictWarning(messages: [String])
    /// A cluster variable for robust standard errors that cannot be used (missing value).
    case invalidCluster(column: String, line: Int, message: String)
    /// Something the fit would build does not fit in the memory the process may use
    /// (`neededBytes` nil: more than a 64-bit size counts). See `MemoryBudget`.
    case insufficientMemory(what: String, neededBytes: Int?, availableBytes: Int, remedy: String)
    /// Fewer rows with a positive prior weight than coefficients (none at all: `positive` 0).
    /// `column` is nil when the weights are a cbind response's totals.
    case tooFewPositiveWeights(column: String?, positive: Int, coefficients: Int)

    // MARK: Inference requests (restrictions and coefficient names: 64; the rest: 65)
    /// A restriction names a coefficient the model does not have.
    case unknownCoefficient(name: String, suggestions: [String])
    /// A restriction involves a coefficient that is aliased (NA) in the fit.
    case aliasedCoefficient(name: String)
    /// A restriction that cannot be read as a linear equation in the coefficients.
    case invalidRestriction(restriction: String, message: String)
    /// A restriction that is a linear combination of the ones before it (redundant or contradictory).
    case redundantRestriction(restriction: String, earlier: [String])
    /// A model comparison whose smaller model is not nested in the larger one.
    case modelsNotNested(reduced: String, full: String, reason: String)
    /// Profiling found a smaller deviance than the fit's: the fit had not converged.
    case profileFoundBetterFit(coefficient: String)

    // MARK: GEE clusters and waves (65)
    /// Every row used has the same cluster id: a GEE needs two or more clusters.
    case singleCluster(column: String, value: String)
    /// A wave occurs twice in one cluster (ar1 and unstructured need distinct waves).
    case repeatedWave(column: String, wave: String, idColumn: String, cluster: String, lines: [Int])
    /// No cluster has two or more observations, so no correlation can be estimated.
    case clustersTooSmall(structure: String, column: String)
    /// Two waves never occur in the same cluster, so their unstructured correlation has no
    /// data. `column` is nil when the waves are the positions inside each cluster.
    case unobservedWavePair(column: String?, first: String, second: String)
    // MARK: Saved models and prediction (missing column: 64; model files and new data: 65)
    /// A saved model file that is not JSON, not a glmfit model, or inconsistent.
    case invalidModelFile(path: String, reason: String)
    /// A saved model written in a model format this glmfit cannot read.
    case incompatibleModelFile(path: String, writtenBy: String, formatVersion: Int, supported: Int)
    /// New data lacks a column the model needs.
    case missingColumn(source: String, name: String, suggestions: [String])
    /// A factor value in new data that the model was not fitted with (R's "factor has new levels").
    case unseenLevel(source: String, line: Int, column: String, level: String, known: [String])
    /// A missing value in a variable the model needs, without `--na pass`.
    case missingValue(source: String, line: Int, column: String?, term: String)
    /// An infinite number in new data (`Inf`, or a number beyond the double range such as
    /// 1e400), which the fit would have refused; `column` nil when a transform made it.
    case nonFiniteNewValue(source: String, line: Int, column: String?, term: String)
    /// An output file (`--save`, `--residuals`) that cannot be written.
    case cannotWriteFile(path: String, reason: String)
    /// A write that failed (standard output, or an output file once created): a full disk,
    /// a closed descriptor, an I/O error (74).
    case writeFailed(destination: String, reason: String)

    /// The process exit status for this error (sysexits.h: EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_CANTCREAT, EX_IOERR).
    public var exitStatus: Int32 {
        switch self {
        case .fileNotFound, .unreadableInput:
            return 66
        case .formulaSyntax, .unknownColumn, .unknownColumns, .wrongDelimiter, .unknownFamily, .unknownLink, .linkNotAllowed,
             .invalidOption, .unsupportedArgument, .unknownCoefficient, .invalidRestriction, .missingColumn:
            return 64
        case .cannotWriteFile:
            return 73
        case .writeFailed:
            return 74
        case .strictWarning:
            return 3
        default:
            return 65
        }
    }
}

extension GLMError {
    /// How many missing names `unknownColumns` lists (with suggestions); the rest are counted.
    public static let unknownColumnsShown = 10
}

extension GLMError: LocalizedError, CustomStringConvertible {
    public var description: String { message }
    public var errorDescription: String? { message }

    /// One or more lines saying what is wrong, where, and how to fix it; characters that
    /// would not show (controls, a byte order mark, NUL) as `<U+XXXX>`.
    public var message: String { MessageText.escaped(rawMessage) }

    private var rawMessage: String {
        switch self {
        case let .fileNotFound(path):
            return "cannot open '\(path)': no such file"
        case let .unreadableInput(source, reason):
            return "cannot read '\(source)': \(reason)"
        case let .emptyInput(source):
            return "\(source) is empty: expected a header line and at least one data row"
        case let .headerOnly(source):
            return "\(source) has a header but no data rows"
        case let .emptyColumnName(source, column):
            return "\(source), line 1: column \(column) has an empty name; every column needs a name"
        case let .duplicateColumnName(source, name, first, second):
            return "\(source), line 1: column name '\(TextElision.elided(name))' appears twice (columns \(first) and \(second)); column names must be unique"
        case let .raggedRow(source, line, expected, found):
            return "\(source), line \(line): expected \(expected) fields as in the header, found \(found)"
        case let .unterminatedQuote(source, line):
            return "\(source), line \(line): a quoted field starts here and is never closed"
        case let .invalidUTF8(source, line):
            return "\(source), line \(line): the text is not valid UTF-8"
        case let .nonNumericValue(source, line, column, value):
            return "\(source), line \(line), column '\(TextElision.elided(column))': '\(TextElision.elided(value))' is not a number, but the column is used as numeric"
        case let .notText(source, reason):
            return "\(source) does not look like CSV text: \(reason)"
        case let .wrongDelimiter(source, delimiter, likely):
            let decimal = likely == ";" ? " (and --decimal , if its numbers have decimal commas, as R's write.csv2 writes)" : ""
            return "\(source), line 1: the header is one column when fields are separated by '\(delimiter)', "
                + "but it holds '\(likely)': the file looks '\(likely)'-separated; read it with --delimiter '\(likely)'\(decimal)"
        case let .formulaSyntax(formula, position, message):
            // A long formula is shown around the fault.
            let shown = TextElision.window(formula, around: position)
            let caret = String(repeating: " ", count: max(0, shown.position)) + "^"
            return "invalid formula: \(message)\n  \(shown.text)\n  \(caret)"
        case let .unknownColumn(name, suggestions):
            if suggestions.isEmpty { return "no column named '\(TextElision.elided(name))' in the data" }
            let list = suggestions.map { "'\(TextElision.elided($0))'" }.joined(separator: ", ")
            return "no column named '\(TextElision.elided(name))' in the data; did you mean \(list)?"
        case let .unknownColumns(names, suggestions):
            let shown = names.prefix(GLMError.unknownColumnsShown).enumerated().map { index, name in
                let hint = index < suggestions.count && !suggestions[index].isEmpty
                    ? " (did you mean " + suggestions[index].map { "'\(TextElision.elided($0))'" }.joined(separator: ", ") + "?)"
                    : ""
                return "'\(TextElision.elided(name))'\(hint)"
            }
            let more = names.count > shown.count ? ", and \(names.count - shown.count) more" : ""
            return "\(names.count) names in the formula are not columns of the data: \(shown.joined(separator: ", "))\(more)"
        case let .unknownFamily(name, known):
            return "unknown family '\(name)'; choose one of: \(known.joined(separator: ", "))"
        case let .unknownLink(name, known):
            return "unknown link '\(name)'; choose one of: \(known.joined(separator: ", "))"
        case let .linkNotAllowed(link, family, allowed):
            return "link '\(link)' is not available for the \(family) family; allowed links: \(allowed.joined(separator: ", "))"
        case let .invalidOption(name, message):
            return "\(name): \(message)"
        case let .unsupportedArgument(function, argument):
            return "\(function)(): argument '\(TextElision.elided(argument))' is not supported"
        case let .invalidTerm(term, message):
            return "term '\(TextElision.elided(term))': \(message)"
        case let .invalidWeights(column, line, value, message):
            return "weights column '\(TextElision.elided(column))', line \(line): \(message) (value \(value))"
        case let .invalidFrequencyWeight(source, line, column, value, message):
            let shown = value.isEmpty ? "" : "'\(TextElision.elided(value))' "
            return "\(source), line \(line), frequency weights column '\(TextElision.elided(column))': \(shown)\(message)"
        case let .responseOutOfDomain(family, line, message):
            if let line { return "\(message) (line \(line)); the \(family) family cannot fit this response" }
            return "\(message); the \(family) family cannot fit this response"
        case let .nonFiniteValue(variable, line):
            return "'\(TextElision.elided(variable))' is infinite or not a number at line \(line)"
        case let .noCompleteRows(variables):
            return "every row has a missing value in at least one of: \(variables.map { TextElision.elided($0) }.joined(separator: ", ")); nothing is left to fit"
        case let .tooFewObservations(observations, coefficients):
            let rows = observations == 1 ? "1 observation is" : "\(observations) observations are"
            return "\(rows) too few to estimate \(coefficients) coefficients; the model needs at least as many complete rows as coefficients"
        case let .singleLevelFactor(variable, level):
            return "factor '\(TextElision.elided(variable))' has only one level ('\(TextElision.elided(level))') in the rows used; contrasts need 2 or more levels"
        case let .fitFailed(message):
            return message
        case let .strictWarning(messages):
            let noun = messages.count == 1 ? "a warning" : "\(messages.count) warnings"
            return "--strict: the fit gave \(noun), so no result is written: " + messages.joined(separator: "; ")
        case let .invalidCluster(column, line, message):
            return "cluster column '\(TextElision.elided(column))', line \(line): \(message)"
        case let .tooFewPositiveWeights(column, positive, coefficients):
            let source = column.map { "weights column '\(TextElision.elided($0))'" } ?? "the binomial totals"
            if positive == 0 { return "\(source): no row has a positive weight, so there is nothing to fit" }
            let rows = positive == 1 ? "only 1 row has" : "only \(positive) rows have"
            return "\(source): \(rows) a positive weight, too few to estimate \(coefficients) coefficients"
        case let .insufficientMemory(what, neededBytes, availableBytes, remedy):
            let need = neededBytes.map { MemoryBudget.describe(bytes: $0) } ?? "more than 9.2 EB"
            return "\(what) needs \(need); available \(MemoryBudget.describe(bytes: availableBytes)) (\(remedy))"
        case let .unknownCoefficient(name, suggestions):
            if suggestions.isEmpty { return "no coefficient named '\(TextElision.elided(name))' in the model" }
            let list = suggestions.map { "'\(TextElision.elided($0))'" }.joined(separator: ", ")
            return "no coefficient named '\(TextElision.elided(name))' in the model; did you mean \(list)?"
        case let .aliasedCoefficient(name):
            return "coefficient '\(TextElision.elided(name))' is aliased (not estimable, NA) in this fit and cannot be tested"
        case let .invalidRestriction(restriction, message):
            return "invalid restriction '\(TextElision.elided(restriction))': \(message)"
        case let .redundantRestriction(restriction, earlier):
            let list = earlier.map { "'\(TextElision.elided($0))'" }.joined(separator: ", ")
            return "restriction '\(TextElision.elided(restriction))' is a linear combination of \(list): the restrictions are redundant or contradictory; remove it"
        case let .modelsNotNested(reduced, full, reason):
            return "cannot compare '\(reduced)' with '\(full)': \(reason)"
        case let .profileFoundBetterFit(coefficient):
            return "profiling '\(TextElision.elided(coefficient))' has found a better solution, so the original fit had not converged"
        case let .singleCluster(column, value):
            return "the id column '\(TextElision.elided(column))' has the same value ('\(TextElision.elided(value))') on every row used: a GEE needs two or more clusters"
        case let .repeatedWave(column, wave, idColumn, cluster, lines):
            let where_ = lines.map(String.init).joined(separator: " and ")
            return "wave \(TextElision.elided(wave)) of '\(TextElision.elided(column))' occurs twice in cluster \(TextElision.elided(cluster)) of '\(TextElision.elided(idColumn))' (lines \(where_)); ar1 and unstructured correlations need each wave at most once per cluster"
        case let .clustersTooSmall(structure, column):
            return "every cluster of '\(column)' has a single observation: the \(structure) working correlation needs at least one cluster with two or more"
        case let .unobservedWavePair(column, first, second):
            let waves = column.map { "waves \(first) and \(second) of '\($0)'" } ?? "positions \(first) and \(second) (no --waves column)"
            return "\(waves) never occur together in one cluster, so their unstructured correlation cannot be estimated; every pair of waves needs a cluster observed at both"
        case let .invalidModelFile(path, reason):
            return "'\(path)' is not a usable glmfit model: \(reason)"
        case let .incompatibleModelFile(path, writtenBy, formatVersion, supported):
            return "'\(path)' was saved by glmfit \(writtenBy) in model format \(formatVersion); this glmfit "
                + "(\(GLMFitVersion)) reads model format \(supported) and older: refit the model with this "
                + "glmfit, or predict with the glmfit that saved it"
        case let .missingColumn(source, name, suggestions):
            let hint = suggestions.isEmpty ? "" : "; did you mean \(suggestions.map { "'\($0)'" }.joined(separator: ", "))?"
            return "\(source), line 1: no column named '\(TextElision.elided(name))', which the model needs\(hint)"
        case let .unseenLevel(source, line, column, level, known):
            let shown = known.prefix(10).map { "'\(TextElision.elided($0))'" }.joined(separator: ", ") + (known.count > 10 ? ", ..." : "")
            return "\(source), line \(line), column '\(TextElision.elided(column))': level '\(TextElision.elided(level))' was not in the data the model was "
                + "fitted to (its levels: \(shown)); the model cannot predict it"
        case let .missingValue(source, line, column, term):
            let place = column.map { "column '\(TextElision.elided($0))'" } ?? "'\(TextElision.elided(term))'"
            let what = column == nil ? "is not a number (NaN)" : "has a missing value"
            return "\(source), line \(line): \(place) \(what), which '\(TextElision.elided(term))' needs; fill it in, remove the row, "
                + "or give --na pass to write an empty prediction for such rows"
        case let .nonFiniteNewValue(source, line, column, term):
            let place = column.map { "column '\($0)' holds an infinite number (Inf, or beyond ±1.8e308 such as 1e400)" }
                ?? "'\(term)' is infinite"
            return "\(source), line \(line): \(place); the model predicts from finite values only, as it was fitted"
        case let .cannotWriteFile(path, reason):
            return "cannot write '\(path)': \(reason)"
        case let .writeFailed(destination, reason):
            return "writing \(destination) failed: \(reason); the output is incomplete or missing"
        }
    }
}

/// Text from the input shown in a message.
public enum MessageText {
    /// `text` with every character that would not show, or would move the cursor, written as
    /// `<U+XXXX>`: controls (NUL, tab, ESC; not the line feeds that separate a message's
    /// lines), format characters (a byte order mark, zero-width spaces), separators, private
    /// use and unassigned code points. Printable text is unchanged, so escaping twice is
    /// the same as once.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            if needsEscape(scalar) {
                let hex = String(scalar.value, radix: 16, uppercase: true)
                result += "<U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + ">"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x80 { return scalar.value != 0x0A && (scalar.value < 0x20 || scalar.value == 0x7F) }
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned:
            return true
        default:
            return false
        }
    }
}
