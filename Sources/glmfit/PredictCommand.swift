import ArgumentParser
import GLMCore

extension PredictionScale: ExpressibleByArgument {}
extension MissingValuePolicy: ExpressibleByArgument {}

enum PredictionIntervalKind: String, ExpressibleByArgument, CaseIterable {
    case confidence
}

/// `glmfit predict MODEL INPUT`: scores new data with a model saved by `glmfit --save`.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glmfit predict",
        abstract: "Predict from a model saved with 'glmfit --save', as R's predict.glm(newdata = ...).",
        usage: """
            glmfit predict <model> <file> [--type <type>] [--se]
                     [--interval confidence] [--conf-level <level>] [--na fail|pass]
                     [--delimiter <char>] [--decimal <char>]
            """,
        discussion: """
            Writes the input's rows to standard output, each field exactly as it was, with the \
            prediction columns appended: fit, then se_fit (--se), then conf_low and conf_high \
            (--interval confidence).

            --type link (R's default) predicts the linear predictor, offsets included; --type \
            response predicts the mean. Standard errors are R's predict.glm(se.fit = TRUE): \
            sqrt(x' V x) with the saved covariance V (dispersion included), times |dmu/deta| on the \
            response scale. Intervals are Wald intervals on the link scale with the normal quantile, \
            mapped by the inverse link for --type response.

            A multinomial or ordinal model predicts --type probs (one prob_<level> column per \
            level, in level order, as R's predict(type = "probs")) or --type class (the most \
            probable level, the default for these models, as in R).

            A zero-inflated or hurdle model predicts --type response (the expected count, the \
            default, as pscl's predict), zero (zero-inflated: the probability of the zero \
            component; hurdle: P(y > 0) from the zero part over P(y > 0) from the count part, \
            pscl's type = "zero") or count (the count part's mean); no --se or --interval.

            New data needs every column the model's predictors and offsets use (not the response \
            or weights); offsets are computed from the new data. A factor level the model was not \
            fitted with is an error, and so is a missing value unless --na pass, which writes an \
            empty prediction for that row. Nothing is written to standard output unless every row \
            can be predicted.

            EXAMPLES:
              glmfit Examples/ships.csv --family poisson --save ships.json \\
                  --formula "incidents ~ type + offset(log(service))"
              glmfit predict ships.json Examples/ships.csv --type response --se
              cat new.csv | glmfit predict ships.json - --interval confidence
            """,
        version: "glmfit \(GLMFitVersion)")

    @Argument(help: ArgumentHelp("A model file written by glmfit --save.", valueName: "model"))
    var model: String

    @Argument(help: ArgumentHelp("The CSV file of new data, or - for standard input.", valueName: "file"))
    var file: String

    @Option(help: "The scale of the predictions: link (the linear predictor, the default) or response (the mean); for a multinomial or ordinal model, probs (prob_<level> columns) or class (the most probable level, the default); for a zero-inflated or hurdle model, response (the expected count, the default), zero or count.")
    var type: PredictionScale?

    @Flag(help: "Add the standard error of each prediction (se_fit).")
    var se = false

    @Option(help: ArgumentHelp("Add a confidence interval for the mean (conf_low, conf_high).", valueName: "confidence"))
    var interval: PredictionIntervalKind?

    // .unconditional: a negative number reaches the pipeline's check instead of reading as an option.
    @Option(name: .customLong("conf-level"), parsing: .unconditional, help: "Confidence level of the intervals.")
    var confidenceLevel: Double = 0.95

    @Option(name: .customLong("na"), help: "A row with a missing value in a variable the model needs: fail (an error) or pass (an empty prediction).")
    var missing: MissingValuePolicy = .fail

    @Option(help: ArgumentHelp("The new data's field delimiter: ',' (default), ';', '|' or a tab ('\\t' or 'tab'; the default for .tsv and .tab files).", valueName: "char"))
    var delimiter: String?

    @Option(help: ArgumentHelp("The new data's decimal mark: '.' (default) or ',' (the delimiter is then ';' unless given).", valueName: "char"))
    var decimal: String?

    func run() throws {
        // The predictions never go into the model or the data they come from.
        if let output = FileID.standardOutputFile {
            let inputs = [(model, FileID(path: model)), (file, file == "-" ? FileID.standardInputFile : FileID(path: file))]
            for (name, input) in inputs where input == output {
                throw GLMError.cannotWriteFile(
                    path: "<stdout>", reason: "standard output is '\(name)', an input of this prediction; write elsewhere")
            }
        }
        var options = PredictionOptions(
            scale: type ?? .link, standardErrors: se, confidenceInterval: interval != nil, confidenceLevel: confidenceLevel,
            missing: missing)
        options.scaleIsDefault = type == nil
        options.dialect = try CSVDialect.resolve(delimiter: delimiter, decimal: decimal, path: file)
        let outcome = try PredictPipeline.run(PredictRequest(modelPath: model, inputPath: file, options: options)) { bytes in
            try Console.writeOutput(bytes: bytes)
        }
        for warning in outcome.warnings { Console.warn(warning) }
    }
}
