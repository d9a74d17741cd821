/// A token of an R formula, with its character offset for error carets.
struct FormulaToken: Equatable {
    enum Kind: Equatable {
        case name(String)        // a column or function name; backquoted names unquoted
        case number(Double, String)
        case op(String)          // ~ + - * / : ^ %in%
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
                if name.first == "_" {
                    throw GLMError.formulaSyntax(formula: formula, position: start, message: "a name cannot start with '_'; quote it with backticks")
                }
                result.append(FormulaToken(kind: .name(name), position: start))
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
                guard op == "%in%" else {
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
}
