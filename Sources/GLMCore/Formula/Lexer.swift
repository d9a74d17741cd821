/// A token of an R formula, with its character offset for error carets.
struct FormulaToken: Equatable {
    enum Kind: Equatable {
        case name(String)        // a column or function name; backquoted names unquoted
        case number(Double, String)
        /// A quoted string, `"a"` or `'a'`, unescaped.
        case string(String)
        /// `TRUE` or `FALSE` (a reserved word, unlike the backquoted name `` `TRUE` ``).
        case logical(Bool)
        case op(String)          // ~ + - * / : ^ %in% %% %/% < <= > >= == != & | !
        case leftParen, rightParen, comma
        /// `=` between an argument's name and its value, as in `log(x, base = 2)`.
        case equals
        case end
    }
    let kind: Kind
    let position: Int
}

/// Splits an R formula into tokens.
struct FormulaLexer {
    let formula: String

    func tokens() throws -> [FormulaToken] {
        let characters = Array(formula)
        var result: [FormulaToken] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let start = index
            if character.isWhitespace {
                index += 1
                continue
            }
            if character == "`" {
                index += 1
                var name = ""
                while index < characters.count, characters[index] != "`" {
                    name.append(characters[index])
                    index += 1
                }
                guard index < characters.count else {
                    throw GLMError.formulaSyntax(formula: formula, position: start, message: "unterminated backquoted name")
                }
                index += 1
                if name.isEmpty {
                    throw GLMError.formulaSyntax(formula: formula, position: start, message: "empty backquoted name")
                }
                result.append(FormulaToken(kind: .name(name), position: start))
                continue
            }
            if character.isNumber || (character == "." && index + 1 < characters.count && characters[index + 1].isNumber) {
                var text = ""
                while index < characters.count, characters[index].isNumber || characters[index] == "." {
                    text.append(characters[index])
                    index += 1
                }
                if index < characters.count, characters[index] == "e" || characters[index] == "E" {
                    var exponent = String(characters[index])
                    var lookahead = index + 1
                    if lookahead < characters.count, characters[lookahead] == "+" || characters[lookahead] == "-" {
                        exponent.append(characters[lookahead])
                        lookahead += 1
                    }
                    if lookahead < characters.count, characters[lookahead].isNumber {
                        while lookahead < characters.count, characters[lookahead].isNumber {
                            exponent.append(characters[lookahead])
                            lookahead += 1
                        }
                        text += exponent
                        index = lookahead
                    }
                }
                if index < characters.count, characters[index] == "L" { index += 1 }
                guard let value = Double(text) else {
                    throw GLMError.formulaSyntax(formula: formula, position: start, message: "malformed number '\(text)'")
                }
                result.append(FormulaToken(kind: .number(value, text), position: start))
                continue
            }
            if character.isLetter || character == "." || character == "_" {
                var name = ""
                while index < characters.count,
                      characters[index].isLetter || characters[index].isNumber || characters[index] == "." || characters[index] == "_" {
                    name.append(characters[index])
                    index += 1
                }
                // `splines::ns`: a function named with its package, one name as R deparses it.
                if index + 2 < characters.count, characters[index] == ":", characters[index + 1] == ":",
                   characters[index + 2].isLetter || characters[index + 2] == "." {
                    name += "::"
                    index += 2
                    while index < characters.count,
                          characters[index].isLetter || characters[index].isNumber || characters[index] == "."
                            || characters[index] == "_" {
                        name.append(characters[index])
                        index += 1
                    }
                }
                if name.first == "_" {
                    throw GLMError.formulaSyntax(formula: formula, position: start, message: "a name cannot start with '_'; quote it with backticks")
                }
                switch name {
                case "TRUE": result.append(FormulaToken(kind: .logical(true), position: start))
                case "FALSE": result.append(FormulaToken(kind: .logical(false), position: start))
                default: result.append(FormulaToken(kind: .name(name), position: start))
                }
                continue
            }
            if character == "\"" || character == "'" {
                let (text, next) = try stringLiteral(characters, from: index)
                result.append(FormulaToken(kind: .string(text), position: start))
                index = next
                continue
            }
            if let (op, length) = FormulaLexer.comparisonOrLogic(characters, at: index) {
                if op == "<", index + 1 < characters.count, characters[index + 1] == "-" {
                    throw GLMError.formulaSyntax(
                        formula: formula, position: start,
                        message: "'<-' is R's assignment, which a formula cannot hold; for a comparison write 'x < -1' with a space")
                }
                result.append(FormulaToken(kind: .op(op), position: start))
                index += length
                continue
            }
            switch character {
            case "~", "+", "-", "*", "/", ":", "^":
                result.append(FormulaToken(kind: .op(String(character)), position: start))
                index += 1
            case "(":
                result.append(FormulaToken(kind: .leftParen, position: start))
                index += 1
            case ")":
                result.append(FormulaToken(kind: .rightParen, position: start))
                index += 1
            case ",":
                result.append(FormulaToken(kind: .comma, position: start))
                index += 1
            case "=":
                result.append(FormulaToken(kind: .equals, position: start))
                index += 1
            case "%":
                var op = "%"
                index += 1
                while index < characters.count, characters[index] != "%" {
                    op.append(characters[index])
                    index += 1
                }
                guard index < characters.count else {
                    throw GLMError.formulaSyntax(formula: formula, position: start, message: "unterminated operator '\(op)'")
                }
                op.append("%")
                index += 1
                guard op == "%in%" || op == "%%" || op == "%/%" else {
                    throw GLMError.formulaSyntax(formula: formula, position: start, message: "unsupported operator '\(op)'")
                }
                result.append(FormulaToken(kind: .op(op), position: start))
            default:
                throw GLMError.formulaSyntax(formula: formula, position: start, message: "unexpected character '\(character)'")
            }
        }
        result.append(FormulaToken(kind: .end, position: characters.count))
        return result
    }

    /// R's comparison and logical operators at `index` (`==` before `=`, `<=` before `<`),
    /// with their length; `&&` and `||` are read as `&` and `|` would not be: they are refused
    /// by the parser as unknown operators.
    static func comparisonOrLogic(_ characters: [Character], at index: Int) -> (String, Int)? {
        let next: Character? = index + 1 < characters.count ? characters[index + 1] : nil
        switch characters[index] {
        case "<", ">": return next == "=" ? ("\(characters[index])=", 2) : (String(characters[index]), 1)
        case "=": return next == "=" ? ("==", 2) : nil
        case "!": return next == "=" ? ("!=", 2) : ("!", 1)
        case "&", "|": return next == characters[index] ? (String(characters[index]) + String(characters[index]), 2)
                                                         : (String(characters[index]), 1)
        default: return nil
        }
    }

    /// A string literal starting at `start` (its quote) with R's escapes `\\`, `\"`, `\'`,
    /// `\n`, `\t`; returns the text and the index after the closing quote.
    private func stringLiteral(_ characters: [Character], from start: Int) throws -> (String, Int) {
        let quote = characters[start]
        var index = start + 1
        var text = ""
        while index < characters.count, characters[index] != quote {
            if characters[index] == "\\", index + 1 < characters.count {
                index += 1
                switch characters[index] {
                case "n": text.append("\n")
                case "t": text.append("\t")
                default: text.append(characters[index])
                }
            } else {
                text.append(characters[index])
            }
            index += 1
        }
        guard index < characters.count else {
            throw GLMError.formulaSyntax(formula: formula, position: start, message: "unterminated string \(quote)...")
        }
        return (text, index + 1)
    }
}
