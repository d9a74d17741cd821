import Foundation

/// Powers of two per design column for columns of extreme magnitude, shared by the in-memory
/// and the chunked fits by blocks. The normal equations hold squares of the values, which
/// overflow or underflow for columns near 1e±154, where R's QR on X still estimates them; a
/// column whose largest magnitude is beyond 2^±400 (about 1e±120) is multiplied by a power of
/// two that brings it near 1 before the fit, and the fit's outputs are scaled back after. A
/// power of two scales exactly, so no rounding is added, and ordinary columns (a scale of
/// exactly 1) are untouched.
enum ColumnScaling {
    /// Magnitude exponents beyond this (either sign) are scaled.
    static let exponentLimit = 400

    /// The scale for a largest magnitude of 2^exponent: 2^-exponent beyond the limit, else 1.
    static func scale(exponent: Int) -> Double {
        guard abs(exponent) > exponentLimit else { return 1 }
        return Double(sign: .plus, exponent: (-exponent).clamped(to: -1000...1000), significand: 1)
    }

    /// The scale for a column whose largest |value| is `largest` (1 for 0, NaN or ±∞).
    static func scale(largest: Double) -> Double {
        guard largest.isFinite, largest > 0 else { return 1 }
        return scale(exponent: Int(largest.exponent))
    }

    /// The scales from each numeric variable's magnitude exponent (the chunked fit's pre-pass,
    /// keyed by `terms.variables`): a term's exponent is the sum of its variables'.
    static func columnScales(_ design: Design, exponents: [Int: Int]) -> [Double] {
        let terms = design.frame.terms
        return design.assign.map { term in
            guard term > 0, term <= terms.terms.count else { return 1 }
            var exponent = 0
            for variable in terms.terms[term - 1] {
                guard let variableExponent = exponents[variable] else { continue }
                exponent = (exponent + variableExponent).clamped(to: -4000...4000)
            }
            return scale(exponent: exponent)
        }
    }

    /// The scales from the structure's own values (the in-memory fit): a dense column's
    /// largest |value|, and a factor term's largest |multiplier| for all of its columns (a
    /// term's columns share a scale; an indicator's or a contrast's own values are ordinary).
    static func columnScales(_ structure: DesignStructure) -> [Double] {
        var scales = [Double](repeating: 1, count: structure.columnCount)
        func largest(_ values: [Double]) -> Double {
            values.reduce(0.0) { $1.isFinite ? Swift.max($0, abs($1)) : $0 }
        }
        for (column, values) in zip(structure.denseColumns, structure.denseValues) where column < scales.count {
            scales[column] = scale(largest: largest(values))
        }
        for block in structure.blocks {
            guard let multipliers = block.multipliers else { continue }
            let value = scale(largest: largest(multipliers))
            for column in block.columns where column < scales.count { scales[column] = value }
        }
        for block in structure.contrastBlocks {
            guard let multipliers = block.multipliers else { continue }
            let value = scale(largest: largest(multipliers))
            for column in block.columns where column < scales.count { scales[column] = value }
        }
        return scales
    }

    /// A structure with its columns multiplied by `scales`: the dense columns' values and the
    /// factor terms' multipliers (all of a term's columns share a scale).
    static func scaled(_ structure: DesignStructure, by scales: [Double]) -> DesignStructure {
        guard scales.contains(where: { $0 != 1 }) else { return structure }
        let denseValues = zip(structure.denseColumns, structure.denseValues).map { column, values in
            column < scales.count && scales[column] != 1 ? values.map { $0 * scales[column] } : values
        }
        let blocks = structure.blocks.map { block -> DesignStructure.IndicatorBlock in
            let scale = block.firstColumn < scales.count ? scales[block.firstColumn] : 1
            guard scale != 1 else { return block }
            let multipliers = block.multipliers?.map { $0 * scale }
                ?? [Double](repeating: scale, count: block.localColumns.count)
            return DesignStructure.IndicatorBlock(
                firstColumn: block.firstColumn, width: block.width, localColumns: block.localColumns, multipliers: multipliers)
        }
        let contrastBlocks = structure.contrastBlocks.map { block -> DesignStructure.ContrastBlock in
            let scale = block.firstColumn < scales.count ? scales[block.firstColumn] : 1
            guard scale != 1 else { return block }
            let multipliers = block.multipliers?.map { $0 * scale } ?? [Double](repeating: scale, count: block.levels.count)
            return DesignStructure.ContrastBlock(
                firstColumn: block.firstColumn, width: block.width, levels: block.levels, multipliers: multipliers,
                levelCount: block.levelCount, contrasts: block.contrasts)
        }
        return DesignStructure(
            columnCount: structure.columnCount, blocks: blocks, denseColumns: structure.denseColumns, denseValues: denseValues,
            contrastBlocks: contrastBlocks)
    }

    /// Coefficients of X from those of the scaled columns X' = X·S: b = S b'.
    static func unscaled(coefficients: [Double], by scales: [Double]) -> [Double] {
        coefficients.enumerated().map { column, value in column < scales.count ? value * scales[column] : value }
    }

    /// Coefficients of the scaled columns from those of X (a starting vector): b' = S⁻¹ b.
    static func scaled(coefficients: [Double], by scales: [Double]) -> [Double] {
        coefficients.enumerated().map { column, value in column < scales.count ? value / scales[column] : value }
    }

    /// The fit of the scaled columns as that of X: b = S b', the QR factor R = R'S⁻¹ (column
    /// j over its column's scale), and the block factor keeps the scaled columns' numbers with
    /// the scales (its D, B, S for X may overflow a double; `BlockCovariance` scales back
    /// entry by entry). η, μ, the weights and the deviance do not change (X'b' = Xb).
    static func unscaled(_ result: IRLSResult, by scales: [Double]) -> IRLSResult {
        guard scales.contains(where: { $0 != 1 }) else { return result }
        var result = result
        result.coefficients = unscaled(coefficients: result.coefficients, by: scales)
        if var solution = result.solution {
            solution.coefficients = unscaled(coefficients: solution.coefficients, by: scales)
            solution.blockFactor?.columnScales = scales
            solution.sparseFactor?.columnScales = scales
            let order = solution.blockFactor == nil && solution.sparseFactor == nil ? solution.rank : 0
            for j in 0..<order where j < solution.pivot.count && solution.pivot[j] < scales.count {
                for i in 0..<order where i + j * order < solution.rFactor.count {
                    solution.rFactor[i + j * order] /= scales[solution.pivot[j]]
                }
            }
            result.solution = solution
        }
        return result
    }
}

private extension Int {
    func clamped(to range: ClosedRange<Int>) -> Int { Swift.min(Swift.max(self, range.lowerBound), range.upperBound) }
}
